"""The profiles step on DuckDB: the hard cases of SPEC 4, 6, 7, read back from the published snapshots."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest

from cdp.engine.duckdb_engine import DuckDbEngine
from cdp.lakefs import LakeFiles
from cdp.pipeline.profiles import RELATION_VIEWS
from cdp.pipeline.runner import run_pipeline
from cdp.profiles.errors import ProfilesConfigError
from cdp.profiles.salt import pseudonym
from cdp.profiles.traits import RELATIONS
from cdp.tables import (
    CONSENT,
    PROFILE_TABLES,
    PROFILE_TRAITS,
    PROFILES,
    PROFILES_PSEUDONYMIZED,
    current,
    snapshot_files,
)
from tests.identity_data import T0, record, table_rows
from tests.profiles_data import (
    AS_OF,
    SALT,
    build_lake,
    build_profiles,
    by_profile,
    consent_row,
    event,
    order_line,
    traits_of,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture
def files(tmp_path: Path) -> LakeFiles:
    return LakeFiles(tmp_path / "lake")


# -- who and what ----------------------------------------------------------------------------------


def test_default_survivorship_most_frequent_and_most_recent_with_their_ties(files: LakeFiles) -> None:
    records = [
        record("r1", day=1, source_id="crm", first_name="somchai", city="Bang Rak", gender="male"),
        record("r2", day=2, source_id="shop", first_name="somchai", city="Sathon"),
        record("r3", day=5, source_id="app", first_name="somchay", city="Pathum Wan"),
        # most_frequent tie (one record each): the most recent value wins
        record("t1", day=3, last_name="aaa"),
        record("t2", day=4, last_name="bbb"),
        # most_recent tie (same last_seen): the smaller record_id wins
        record("tie-b", day=7, city="Yannawa"),
        record("tie-a", day=7, city="Bang Kho Laem"),
        # most_frequent tie on count and on time: the smaller value wins
        record("u1", day=2, gender="male"),
        record("u2", day=2, gender="female"),
    ]
    build_lake(
        files,
        records=records,
        profiles={"p1": ["r1", "r2", "r3"], "p2": ["t1", "t2", "tie-a", "tie-b"], "p3": ["u1", "u2"]},
    )
    build_profiles(files)
    profiles = by_profile(files, PROFILES)
    assert profiles["p1"]["first_name"] == "somchai"  # two records against one, though older
    assert profiles["p1"]["city"] == "Pathum Wan"  # the latest record
    assert profiles["p1"]["gender"] == "male"
    assert profiles["p2"]["last_name"] == "bbb"
    assert profiles["p2"]["city"] == "Bang Kho Laem"
    assert profiles["p3"]["gender"] == "female"


def test_a_trusted_source_wins_over_a_more_recent_one(files: LakeFiles) -> None:
    Path(files.path("")).mkdir(parents=True, exist_ok=True)
    files.write_bytes(
        "profiles/config/profiles.yaml",
        b"trusted_sources: [crm, pos]\n"
        b"survivorship:\n"
        b"  postcode: most_trusted\n"
        b"  primary_phone: {rule: most_trusted, sources: [shop]}\n",
    )
    records = [
        record("c1", day=1, source_id="crm", postcode="10110", phone_e164="+66822222222"),
        record("c2", day=3, source_id="crm", postcode="10120"),
        record("a1", day=9, source_id="app", postcode="10200", phone_e164="+66833333333"),
        record("s1", day=2, source_id="shop", phone_e164="+66811111111"),
        # no trusted source at all: the most recent of the others
        record("q1", day=1, source_id="app", postcode="20000"),
        record("q2", day=2, source_id="shop", postcode="20100"),
    ]
    build_lake(files, records=records, profiles={"p": ["c1", "c2", "a1", "s1"], "q": ["q1", "q2"]})
    build_profiles(files)
    profiles = by_profile(files, PROFILES)
    assert profiles["p"]["postcode"] == "10120"  # crm before app; the more recent of the two crm records
    assert profiles["p"]["primary_phone"] == "+66811111111"  # shop, the attribute's own list
    assert profiles["p"]["phones"] == ["+66811111111", "+66822222222", "+66833333333"]
    assert profiles["q"]["postcode"] == "20100"


def test_a_bad_profiles_yaml_fails_before_anything_is_written(files: LakeFiles) -> None:
    build_lake(files, records=[record("r1")], profiles={"p": ["r1"]})
    files.write_bytes("profiles/config/profiles.yaml", b"survivorship:\n  city: most_popular\n")
    with pytest.raises(ProfilesConfigError) as raised:
        build_profiles(files)
    assert str(raised.value) == (
        "profiles/config/profiles.yaml: survivorship.city.rule: "
        "must be one of 'most_recent', 'most_frequent' or 'most_trusted'"
    )
    assert current(files, PROFILES) is None


def test_every_profile_of_the_links_appears_exactly_once(files: LakeFiles) -> None:
    records = [record(f"r{i}", email=f"p{i % 3}@mail.com", source_id=("crm", "app")[i % 2]) for i in range(7)]
    profiles = {"p0": ["r0", "r3", "r6"], "p1": ["r1", "r4"], "p2": ["r2", "r5"], "ghost": ["not-in-records"]}
    build_lake(files, records=records, profiles=profiles)
    report = build_profiles(files)
    rows = table_rows(files, PROFILES)
    assert sorted(row["profile_id"] for row in rows) == sorted(profiles)
    assert report.steps[0].rows == {
        "profiles": 4,
        "profile_traits": report.steps[0].rows["profile_traits"],
        "profiles_pseudonymized": 4,
        "consent": 0,  # nobody decided anything
    }
    found = {row["profile_id"]: row for row in rows}
    assert found["p0"]["record_count"] == 3
    assert found["p0"]["sources"] == ["app", "crm"]
    assert found["p0"]["emails"] == ["p0@mail.com"]
    assert found["ghost"]["record_count"] == 1
    assert found["ghost"]["emails"] == []
    assert found["ghost"]["first_seen"] is None


# -- orders, RFM, windows --------------------------------------------------------------------------


def test_multi_line_orders_and_orders_reported_twice_count_once(files: LakeFiles) -> None:
    when = at("2026-03-20T03:00:00+00:00")
    orders = [
        # the shop's three lines repeat the order total
        order_line("SO-1", "shop-1", when, total=1000.0, quantity=1, price=500.0, category="fan"),
        order_line("SO-1", "shop-1", when, total=1000.0, quantity=2, price=200.0, category="tea"),
        order_line("SO-1", "shop-1", when, total=1000.0, quantity=1, price=100.0, category="tea"),
        # the app reported the same order as an Order Completed event
        order_line("SO-1", "app-1", when + timedelta(seconds=1), total=1000.0, source_id="app"),
        # no total: the sum of its lines
        order_line("SO-2", "shop-1", when - timedelta(days=40), quantity=2, price=150.0, category="rice"),
        order_line("SO-2", "shop-1", when - timedelta(days=40), quantity=1, price=100.0, category="rice"),
    ]
    records = [record("shop-1", source_id="shop"), record("app-1", source_id="app", origin="event")]
    build_lake(files, records=records, profiles={"p": ["shop-1", "app-1"]}, orders=orders)
    build_profiles(files)
    profile = by_profile(files, PROFILES)["p"]
    assert profile["order_count"] == 2
    assert profile["total_spend"] == 1400.0
    assert profile["avg_order_value"] == 700.0
    assert profile["last_order_at"] == when
    traits = traits_of(files, "p")
    assert traits["ltv"] == "1400"
    assert traits["aov"] == "700"
    assert traits["items_purchased"] == "7"  # lines, so the app's copy adds no quantity
    assert traits["favourite_category"] == "tea"  # two lines each: tea's are more recent


def test_favourite_category_ties_go_to_the_most_recent(files: LakeFiles) -> None:
    orders = [
        order_line("O-1", "r", at("2026-02-01T03:00:00+00:00"), total=10.0, category="rice"),
        order_line("O-1", "r", at("2026-02-01T03:00:00+00:00"), total=10.0, category="rice"),
        order_line("O-2", "r", at("2026-03-01T03:00:00+00:00"), total=10.0, category="tea"),
        order_line("O-3", "r", at("2026-03-02T03:00:00+00:00"), total=10.0, category="tea"),
        order_line("O-4", "r", at("2026-01-01T03:00:00+00:00"), total=10.0, category="fan"),
    ]
    build_lake(files, records=[record("r")], profiles={"p": ["r"]}, orders=orders)
    build_profiles(files)
    assert traits_of(files, "p")["favourite_category"] == "tea"


def test_rfm_quintiles_of_ten_customers_and_none_without_orders(files: LakeFiles) -> None:
    records, orders, profiles = [record("nobody-r")], [], {"nobody": ["nobody-r"]}
    for k in range(10):
        records.append(record(f"r{k}"))
        profiles[f"c{k}"] = [f"r{k}"]
        for j in range(k + 1):  # k + 1 orders; the latest 3k days before as_of; spend 1000 × (10 - k)
            total = 1000.0 * (10 - k) - k if j == 0 else 1.0
            orders.append(order_line(f"O-{k}-{j}", f"r{k}", AS_OF - timedelta(days=3 * k + j), total=total))
    build_lake(files, records=records, profiles=profiles, orders=orders)
    build_profiles(files)
    found = by_profile(files, PROFILES)
    for k in range(10):
        row = found[f"c{k}"]
        r, f, m = 5 - k // 2, k // 2 + 1, 5 - k // 2
        assert (row["recency_days"], row["order_count"], row["total_spend"]) == (
            3 * k,
            k + 1,
            1000.0 * (10 - k),
        )
        assert (row["r_score"], row["f_score"], row["m_score"], row["rfm_score"]) == (
            r,
            f,
            m,
            f"{r}{f}{m}",
        ), k
    nobody = found["nobody"]
    assert (nobody["r_score"], nobody["f_score"], nobody["m_score"], nobody["rfm_score"]) == (None,) * 4
    assert (
        nobody["order_count"],
        nobody["total_spend"],
        nobody["frequency_90d"],
        nobody["monetary_90d"],
    ) == (0, 0.0, 0, 0.0)
    assert nobody["avg_order_value"] is None
    assert nobody["recency_days"] is None
    assert nobody["last_order_at"] is None


def test_windows_count_business_days_in_bangkok(files: LakeFiles) -> None:
    # as_of is 12:00 on 31 March in Bangkok: the 90-day window starts at 00:00 on 1 January, Bangkok time
    orders = [
        order_line("in-edge", "r", at("2025-12-31T17:30:00+00:00"), total=100.0),  # 00:30, 1 Jan in Bangkok
        order_line("out-edge", "r", at("2025-12-31T16:30:00+00:00"), total=200.0),  # 23:30, 31 Dec in Bangkok
        order_line("old", "r", at("2025-06-01T03:00:00+00:00"), total=400.0),
        order_line("recent", "r", at("2026-03-30T18:00:00+00:00"), total=50.0),  # 01:00, 31 March in Bangkok
    ]
    build_lake(files, records=[record("r")], profiles={"p": ["r"]}, orders=orders)
    build_profiles(files)
    profile = by_profile(files, PROFILES)["p"]
    assert (profile["order_count"], profile["total_spend"]) == (4, 750.0)
    assert (profile["frequency_90d"], profile["monetary_90d"]) == (2, 150.0)
    assert profile["recency_days"] == 0  # the same business day as as_of (the UTC dates differ)
    traits = traits_of(files, "p")
    assert (traits["orders_90d"], traits["spend_90d"]) == ("2", "150")
    assert (traits["orders_30d"], traits["spend_30d"]) == ("1", "50")
    assert (traits["orders_365d"], traits["spend_365d"]) == ("4", "750")
    assert traits["last_order_at"] == "2026-03-30T18:00:00.000000Z"


# -- consent ---------------------------------------------------------------------------------------


def test_consent_latest_decision_wins_across_identify_traits_and_imports(files: LakeFiles) -> None:
    records = [
        record("crm:C1", source_id="crm"),
        record("evt-a", source_id="app", origin="event"),
        record("crm:C2", source_id="crm"),
        record("evt-b", source_id="app", origin="event"),
        record("evt-c", source_id="app", origin="event"),
        record("none", source_id="crm"),
    ]
    events = [
        event(
            "i-a",
            "evt-a",
            at("2025-06-01T00:00:00+00:00"),
            kind="identify",
            traits={"consent": {"email": False, "sms": True}},
        ),
        event(
            "i-b", "evt-b", at("2025-06-01T00:00:00+00:00"), kind="identify", traits={"email_opt_in": True}
        ),
        event(
            "i-c",
            "evt-c",
            at("2025-07-01T00:00:00+00:00"),
            kind="identify",
            traits={},
            context={"traits": {"consent": {"push": "yes"}}},
        ),
        # not an identify call: not a consent decision
        event(
            "t-c",
            "evt-c",
            at("2025-08-01T00:00:00+00:00"),
            traits={"consent": {"push": False}},
            name="Clicked",
        ),
    ]
    import_rows = [
        consent_row("crm", "C1", updated_at="2025-01-01T00:00:00.000000Z", email=True, row_number=1),
        consent_row("crm", "C2", updated_at="2026-02-01T00:00:00.000000Z", email=False, row_number=2),
    ]
    build_lake(
        files,
        records=records,
        profiles={"a": ["crm:C1", "evt-a"], "b": ["crm:C2", "evt-b"], "c": ["evt-c"], "d": ["none"]},
        events=events,
        import_rows=import_rows,
    )
    build_profiles(files)
    consent = {
        profile_id: orjson.loads(row["consent"]) for profile_id, row in by_profile(files, PROFILES).items()
    }
    assert consent["a"] == {
        "email": {"granted": False, "at": "2025-06-01T00:00:00.000000Z", "source": "app"},  # the app, later
        "sms": {"granted": True, "at": "2025-06-01T00:00:00.000000Z", "source": "app"},
    }
    assert consent["b"] == {"email": {"granted": False, "at": "2026-02-01T00:00:00.000000Z", "source": "crm"}}
    assert consent["c"] == {"push": {"granted": True, "at": "2025-07-01T00:00:00.000000Z", "source": "app"}}
    assert consent["d"] == {}
    assert by_profile(files, PROFILES)["d"]["consent"] == "{}"


def test_segment_category_preferences_are_read_through_the_lakes_mapping(files: LakeFiles) -> None:
    preferences = {"Advertising": True, "EMAIL": False, "Functional": True}
    build_lake(
        files,
        records=[record("evt-a", source_id="web", origin="event")],
        profiles={"a": ["evt-a"]},
        events=[
            event(
                "t-a",
                "evt-a",
                at("2026-02-01T00:00:00+00:00"),
                name="Segment Consent Preference Updated",
                source_id="web",
                context={"consent": {"categoryPreferences": preferences}},
            )
        ],
    )
    build_profiles(files)  # the default mapping: a purpose's own name, and Advertising for ads
    assert orjson.loads(by_profile(files, PROFILES)["a"]["consent"]) == {
        "ads": {"granted": True, "at": "2026-02-01T00:00:00.000000Z", "source": "web"},
        "email": {"granted": False, "at": "2026-02-01T00:00:00.000000Z", "source": "web"},
    }
    assert [(row["purpose"], row["record_id"], row["is_latest"]) for row in table_rows(files, CONSENT)] == [
        ("ads", "t-a", True),
        ("email", "t-a", True),
    ]
    files.write_bytes("profiles/config/profiles.yaml", b"consent:\n  categories: {Functional: push}\n")
    build_profiles(files, "p-2")
    assert orjson.loads(by_profile(files, PROFILES)["a"]["consent"]) == {
        "push": {"granted": True, "at": "2026-02-01T00:00:00.000000Z", "source": "web"},
    }
    files.write_bytes("profiles/config/profiles.yaml", b"consent:\n  categories: {}\n")
    build_profiles(files, "p-3")
    assert by_profile(files, PROFILES)["a"]["consent"] == "{}"
    assert table_rows(files, CONSENT) == []


# -- pseudonymization ------------------------------------------------------------------------------

PERSON: dict[str, Any] = {
    "email": "somchai.jaidee@mail.co.th",
    "phone_e164": "+66812345678",
    "first_name": "Somchai",
    "last_name": "Jaidee",
    "date_of_birth": "1987-05-12",
}


def _snapshot_bytes(files: LakeFiles, table: Any) -> bytes:
    return b"".join(Path(path).read_bytes() for path in snapshot_files(files, current(files, table)))


def test_the_pseudonymized_table_holds_no_plaintext_and_hashes_with_the_salt(tmp_path: Path) -> None:
    hashed: dict[bytes, dict[str, Any]] = {}
    for name, salt in (("one", SALT), ("two", SALT), ("other", bytes(32))):
        files = LakeFiles(tmp_path / name)
        build_lake(files, records=[record("r", **PERSON)], profiles={"p": ["r"]})
        build_profiles(files, salt=salt)
        [row] = table_rows(files, PROFILES_PSEUDONYMIZED)
        if name == "one":
            plaintext = [PERSON[key] for key in PERSON] + ["somchai", "jaidee"]
            stored = _snapshot_bytes(files, PROFILES_PSEUDONYMIZED)
            decoded = orjson.dumps(table_rows(files, PROFILES_PSEUDONYMIZED), default=str)
            for text in plaintext:
                assert text.encode() not in stored, text
                assert text.encode() not in decoded, text
            # the same scan finds them in profiles (column statistics are stored uncompressed)
            assert PERSON["email"].encode() in _snapshot_bytes(files, PROFILES)
            assert row["birth_year"] == 1987
            assert row["first_name_hash"] == pseudonym("somchai", SALT)
            assert row["last_name_hash"] == pseudonym("jaidee", SALT)
            assert row["email_hashes"] == [pseudonym(PERSON["email"], SALT)]
            assert row["phone_hashes"] == [pseudonym(PERSON["phone_e164"], SALT)]
        hashed[name.encode()] = row
    keys = ("first_name_hash", "last_name_hash", "email_hashes", "phone_hashes")
    assert all(hashed[b"one"][key] == hashed[b"two"][key] for key in keys)
    assert all(hashed[b"one"][key] != hashed[b"other"][key] for key in keys)


# -- traits ----------------------------------------------------------------------------------------


def test_traits_from_templates_and_the_lakes_own_files(files: LakeFiles) -> None:
    Path(files.path("")).mkdir(parents=True, exist_ok=True)
    files.write_bytes(
        "profiles/config/traits/shop.yaml",
        b"""
description: the shop's own
traits:
  - name: aov                      # replaces the template's: POS orders excluded
    description: AOV online
    relation: orders
    expression: avg(order_value)
    where: channel <> 'pos'
    type: number
    data_type: behavioural
  - name: pos_orders
    description: Orders in a store
    relation: orders
    expression: count(*)
    where: channel = 'pos'
    type: integer
    data_type: behavioural
  - name: web_share
    description: switched off
    relation: events
    expression: count(*)
    type: integer
    data_type: interaction
    enabled: false
""",
    )
    when = at("2026-03-25T03:00:00+00:00")
    records = [
        record("r", source_id="crm", date_of_birth="1990-04-01", gender="female", province_code="TH-12"),
        record(
            "s1",
            source_id="survey",
            attributes='{"nps": 9, "would_recommend": true, "price_sensitivity": 2}',
            day=1,
        ),
        record("s2", source_id="survey", attributes='{"nps": 4, "would_recommend": false}', day=2),
        record("e", source_id="app", origin="event"),
    ]
    for survey in records[1:3]:
        survey["kind"] = "survey"
    events = [
        event("e1", "e", when, kind="screen", name="Home", channel="app"),
        event("e2", "e", when + timedelta(minutes=10), kind="screen", name="Cart", channel="app"),
        event("e3", "e", when + timedelta(hours=2), kind="page", name="Home", channel="web"),
        event("e4", "e", when + timedelta(hours=2, minutes=1), name="Product Viewed", channel="web"),
    ]
    orders = [
        order_line("O-1", "r", when, total=300.0, channel="pos"),
        order_line("O-2", "r", when, total=100.0, channel="web"),
        order_line("O-3", "r", when, total=200.0, channel="web"),
    ]
    build_lake(files, records=records, profiles={"p": ["r", "s1", "s2", "e"]}, events=events, orders=orders)
    build_profiles(files)
    rows = {row["trait"]: row for row in table_rows(files, PROFILE_TRAITS)}
    values = {name: row["value"] for name, row in rows.items()}
    assert values["aov"] == "150"
    assert rows["aov"]["trait_set"] == "shop"
    assert values["pos_orders"] == "1"
    assert rows["pos_orders"]["number_value"] == 1.0
    assert "web_share" not in values
    assert values["app_share"] == "0.5"
    assert values["sessions_30d"] == "2"  # 10 minutes apart: one session; two hours later: another
    assert values["screen_views_30d"] == "2"
    assert values["page_views_30d"] == "1"
    assert values["product_views_30d"] == "1"
    assert values["favourite_channel"] == "web"
    assert values["last_event_at"] == "2026-03-25T05:01:00.000000Z"
    assert values["age"] == "35"
    assert values["age_band"] == "35-44"
    assert values["gender"] == "female"
    assert values["province"] == "TH-12"
    assert values["bangkok_metro"] == "true"
    assert rows["bangkok_metro"]["number_value"] == 1.0
    assert values["nps"] == "4"
    assert values["nps_group"] == "detractor"
    assert values["would_recommend"] == "false"
    assert values["price_sensitivity"] == "2"  # the only answer that gives it
    assert values["surveys_answered"] == "2"
    assert rows["nps"]["data_type"] == "attitudinal"
    assert rows["nps"]["value_type"] == "integer"
    assert rows["aov"]["number_value"] == 150.0


def test_the_base_relations_have_the_documented_columns(files: LakeFiles) -> None:
    build_lake(files, records=[record("r")], profiles={"p": ["r"]})
    engine = DuckDbEngine()
    try:
        run_pipeline(files, engine, steps=["profiles"], run_id="p-1", as_of=AS_OF, salt=SALT)
        for relation, view in RELATION_VIEWS.items():
            assert engine.to_arrow(view).column_names == list(RELATIONS[relation].columns), relation
    finally:
        engine.close()


def test_the_tables_have_the_contract_schemas(files: LakeFiles) -> None:
    build_lake(files, records=[record("r", **PERSON)], profiles={"p": ["r"]})
    build_profiles(files)
    for table in PROFILE_TABLES:
        [path] = snapshot_files(files, current(files, table))
        written = pq.read_schema(path)
        assert [(f.name, f.type) for f in written] == [(f.name, f.type) for f in table.schema], table.name


def test_a_rerun_with_the_same_inputs_and_as_of_gives_identical_tables(files: LakeFiles) -> None:
    records = [record(f"r{i}", day=i, email=f"p{i % 4}@mail.com", first_name=f"n{i % 3}") for i in range(12)]
    profiles = {f"p{g}": [f"r{i}" for i in range(12) if i % 4 == g] for g in range(4)}
    orders = [
        order_line(f"O-{i}", f"r{i}", T0 + timedelta(days=10 * i), total=10.0 * i, category=("a", "b")[i % 2])
        for i in range(12)
    ]
    build_lake(files, records=records, profiles=profiles, orders=orders)
    build_profiles(files, "run-1")
    first = {table.name: table_rows(files, table) for table in PROFILE_TABLES}
    build_profiles(files, "run-2")
    second = {table.name: table_rows(files, table) for table in PROFILE_TABLES}
    for table in PROFILE_TABLES:
        assert [row.pop("run_id") for row in first[table.name]] == ["run-1"] * len(first[table.name])
        assert [row.pop("run_id") for row in second[table.name]] == ["run-2"] * len(second[table.name])
        if table is PROFILE_TRAITS:  # the long table is not sorted: the same rows, in any order
            key = ("profile_id", "trait")
            first[table.name].sort(key=lambda row: tuple(row[k] for k in key))
            second[table.name].sort(key=lambda row: tuple(row[k] for k in key))
        else:  # sorted by profile_id
            ids = [row["profile_id"] for row in first[table.name]]
            assert ids == sorted(ids)
        assert first[table.name] == second[table.name], table.name
