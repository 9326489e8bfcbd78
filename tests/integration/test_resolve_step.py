"""The resolve step on DuckDB: the hard cases of SPEC 6, read back from the published snapshots."""

from __future__ import annotations

import string
from pathlib import Path

import pytest

from cdp.identity.explain import explain_profile
from cdp.identity.overrides import IdentityOverride, OverrideAction, add_override
from cdp.lakefs import LakeFiles
from cdp.tables import IDENTITY_EDGES, IDENTITY_HISTORY, IDENTITY_LINKS
from tests.identity_data import (
    clusters,
    profiles,
    publish_records,
    record,
    resolve_lake,
    same_last_name_and_postcode_scorer,
    table_rows,
)


@pytest.fixture
def files(tmp_path: Path) -> LakeFiles:
    return LakeFiles(tmp_path / "lake")


def test_a_long_chain_of_alternating_emails_and_phones_is_one_profile(files: LakeFiles) -> None:
    letters = string.ascii_uppercase  # A-B-C-…-Z: neighbours share an email, then a phone, alternately
    rows = []
    for index, letter in enumerate(letters):
        values = {}
        if index > 0:
            shared = (
                ("email_key", f"p{index - 1}@mail.com")
                if index % 2
                else ("phone_e164", f"+6681000{index:04d}")
            )
            values[shared[0]] = shared[1]
        if index < len(letters) - 1:
            own = (
                ("email_key", f"p{index}@mail.com")
                if (index + 1) % 2
                else ("phone_e164", f"+6681000{index + 1:04d}")
            )
            values[own[0]] = own[1]
        rows.append(record(f"r{letter}", day=index, **values))
    publish_records(files, rows, "std-1")
    report = resolve_lake(files, "run-1")
    assert clusters(files) == {frozenset(f"r{letter}" for letter in letters)}
    assert report.steps[0].guards["propagation_rounds"] < len(letters)  # pointer jumping, not one hop a round


def test_a_household_sharing_a_phone_stays_two_people(files: LakeFiles) -> None:
    phone = "+66812345678"
    rows = [
        record("dad", first_name="somchai", date_of_birth="1960-02-01", gender="male", phone_e164=phone),
        record("mum", first_name="malee", date_of_birth="1963-07-09", gender="female", phone_e164=phone),
        record("mum-2", first_name="malee", phone_e164=phone, email_key="malee@mail.com"),
        record(
            "dad-2", first_name="somchai", date_of_birth="1960-01-02", phone_e164=phone
        ),  # day/month swapped
    ]
    publish_records(files, rows, "std-1")
    report = resolve_lake(files, "run-1")
    assert clusters(files) == {frozenset({"dad", "dad-2"}), frozenset({"mum", "mum-2"})}
    refused = [e for e in table_rows(files, IDENTITY_EDGES) if e["status"] == "refused"]
    assert {e["reason"] for e in refused} >= {"dob_conflict"}
    assert report.steps[0].guards["refused_dob_conflict"] >= 1


def test_a_shared_corporate_inbox_and_a_crowded_phone_never_merge(files: LakeFiles) -> None:
    (files_root := Path(files.path(""))).mkdir(parents=True, exist_ok=True)
    files.write_bytes(
        "identity/identity.yaml", b"blocklist:\n  emails: [Info@Shop.co.th]\ncardinality_limits: {phone: 3}\n"
    )
    rows = [record(f"staff-{i}", first_name=f"name{i}x", email_key="info@shop.co.th") for i in range(2)]
    desk = "+6621234567"  # a branch's front desk typed for every walk-in member
    rows += [
        record(f"walkin-{i}", first_name=n, date_of_birth=f"19{70 + i}-01-01", phone_e164=desk)
        for i, n in enumerate(["anan", "boonmee", "chai", "dara"])
    ]
    rows += [record("walkin-0b", first_name="anan", date_of_birth="1970-01-01", phone_e164=desk)]
    publish_records(files, rows, "std-1")
    report = resolve_lake(files, "run-1")
    assert all(len(group) == 1 for group in clusters(files))
    guards = report.steps[0].guards
    assert guards["blocklisted_identifier_values"] == 2
    assert guards["over_cardinality_identifier_values"] == 1
    assert files_root.exists()


def test_two_user_ids_never_share_a_profile(files: LakeFiles) -> None:
    tablet = "device-family-tablet"
    rows = [
        record("app-a", origin="event", user_id="u-anna", anonymous_id=tablet),
        record("app-b", origin="event", user_id="u-ben", anonymous_id=tablet),
        record("anon", origin="event", anonymous_id=tablet, day=1),
        record("crm-anna", email_key="anna@mail.com"),
        record("app-a-mail", origin="event", user_id="u-anna", email_key="anna@mail.com"),
    ]
    publish_records(files, rows, "std-1")
    report = resolve_lake(files, "run-1")
    found = clusters(files)
    assert frozenset({"app-b"}) in found
    assert frozenset({"app-a", "app-a-mail", "crm-anna", "anon"}) in found  # ties: the smaller anchor
    assert report.steps[0].guards["split_two_user_ids"] == 1


def test_an_oversized_component_falls_back_to_email_components_then_singletons(files: LakeFiles) -> None:
    files.write_bytes("identity/identity.yaml", b"max_profile_records: 3\ncardinality_limits: {}\n")
    rows = [record(f"m{i}", email_key="one@mail.com", phone_e164="+66811111111") for i in range(2)]
    rows += [record(f"n{i}", email_key="two@mail.com", phone_e164="+66811111111") for i in range(2)]
    rows += [record(f"o{i}", email_key="three@mail.com", phone_e164="+66811111111") for i in range(4)]
    publish_records(files, rows, "std-1")
    report = resolve_lake(files, "run-1")
    found = clusters(files)
    assert frozenset({"m0", "m1"}) in found
    assert frozenset({"n0", "n1"}) in found
    assert {frozenset({f"o{i}"}) for i in range(4)} <= found  # four on one email: still over the limit
    assert report.steps[0].guards["oversized_profiles_split"] == 1


def test_ids_are_stable_on_rerun_and_merge_keeps_the_oldest(files: LakeFiles) -> None:
    rows = [
        record("old", day=0, email_key="a@mail.com"),
        record("old-2", day=3, email_key="a@mail.com"),
        record("new", day=5, phone_e164="+66822222222"),
    ]
    publish_records(files, rows, "std-1")
    resolve_lake(files, "run-1")
    first = profiles(files)
    resolve_lake(files, "run-2")
    assert profiles(files) == first  # identical input: no ID changes
    assert first["old"] == first["old-2"] != first["new"]

    rows.append(record("bridge", day=9, email_key="a@mail.com", phone_e164="+66822222222"))
    publish_records(files, rows, "std-2")
    resolve_lake(files, "run-3")
    merged = profiles(files)
    assert set(merged.values()) == {first["old"]}  # the older profile survives
    history = [h for h in table_rows(files, IDENTITY_HISTORY) if h["run_id"] == "run-3"]
    assert [(h["event"], h["profile_id"], h["other_profile_id"], h["record_count"]) for h in history] == [
        ("merge", first["old"], first["new"], 1)
    ]
    assert history[0]["reason"] in {"joined by email", "joined by phone"}


def test_on_a_split_the_larger_part_keeps_the_id(files: LakeFiles) -> None:
    rows = [
        record("a", day=0, email_key="x@mail.com"),
        record("b", day=1, email_key="x@mail.com", phone_e164="+66833333333"),
        record("c", day=2, phone_e164="+66833333333"),
        record("d", day=3, phone_e164="+66833333333"),
    ]
    publish_records(files, rows, "std-1")
    resolve_lake(files, "run-1")
    before = profiles(files)
    assert len(set(before.values())) == 1
    add_override(
        files,
        IdentityOverride(action=OverrideAction.SPLIT, records=("a",), reason="a is the shop's test account"),
    )
    resolve_lake(files, "run-2")
    after = profiles(files)
    assert after["b"] == after["c"] == after["d"] == before["a"]  # three of four keep the id
    assert after["a"] != before["a"]
    history = [h for h in table_rows(files, IDENTITY_HISTORY) if h["run_id"] == "run-2"]
    events = {(h["event"], h["profile_id"], h["other_profile_id"]) for h in history}
    assert ("split", before["a"], after["a"]) in events
    assert any(h["event"] == "override" and h["reason"] == "a is the shop's test account" for h in history)
    links = {row["record_id"]: row for row in table_rows(files, IDENTITY_LINKS)}
    assert links["a"]["matched_by"] == "singleton"
    # a third run with the same override records no second override event, and keeps every id
    resolve_lake(files, "run-3")
    assert profiles(files) == after
    overrides = [h for h in table_rows(files, IDENTITY_HISTORY) if h["event"] == "override"]
    assert len(overrides) == 1


def test_overrides_win_over_the_rules(files: LakeFiles) -> None:
    rows = [
        record("twin-1", first_name="kan", date_of_birth="1995-04-04", email_key="twins@mail.com"),
        record("twin-2", first_name="kan", date_of_birth="1995-04-04", email_key="twins@mail.com"),
        record("alias-1", first_name="nok", phone_e164="+66844444444"),
        record("alias-2", first_name="pimchanok"),
    ]
    publish_records(files, rows, "std-1")
    resolve_lake(files, "run-1")
    assert frozenset({"twin-1", "twin-2"}) in clusters(files)
    add_override(
        files,
        IdentityOverride(action=OverrideAction.NEVER_MERGE, records=("twin-1", "twin-2"), reason="twins"),
    )
    add_override(
        files,
        IdentityOverride(
            action=OverrideAction.FORCE_MERGE, records=("alias-1", "alias-2"), reason="nickname, confirmed"
        ),
    )
    resolve_lake(files, "run-2")
    found = clusters(files)
    assert frozenset({"twin-1"}) in found
    assert frozenset({"twin-2"}) in found
    assert frozenset({"alias-1", "alias-2"}) in found
    links = {row["record_id"]: row for row in table_rows(files, IDENTITY_LINKS)}
    assert links["alias-2"]["matched_by"] == "force_merge"

    explained = explain_profile(files, links["alias-1"]["profile_id"])
    assert [r["record_id"] for r in explained.records] == ["alias-1", "alias-2"]
    assert [(e["rule"], e["reason"]) for e in explained.edges] == [("force_merge", "nickname, confirmed")]
    twin = explain_profile(files, links["twin-1"]["profile_id"])
    assert [(e["rule"], e["reason"]) for e in twin.refused] == [("email", "override_never_merge")]


def test_scored_pairs_join_records_and_hard_conflicts_still_refuse(files: LakeFiles) -> None:
    rows = [
        record("s1", first_name="somsak", last_name="rakthai", postcode="10110"),
        record("s2", first_name="somsak", last_name="rakthai", postcode="10110"),
        record("s3", first_name="sunee", last_name="rakthai", postcode="10120", gender="female"),
        record("s4", first_name="sakda", last_name="rakthai", postcode="10120", gender="male"),
        record("other", first_name="somsak", last_name="dee", postcode="10110"),
    ]
    publish_records(files, rows, "std-1")
    resolve_lake(files, "run-1", scorer=same_last_name_and_postcode_scorer)
    found = clusters(files)
    assert frozenset({"other"}) in found
    assert frozenset({"s3"}) in found
    assert frozenset({"s4"}) in found
    refused = [e for e in table_rows(files, IDENTITY_EDGES) if e["status"] == "refused"]
    assert [(e["record_id_l"], e["rule"], e["reason"]) for e in refused] == [
        ("s3", "probabilistic", "gender_conflict")
    ]
    assert any({"s1", "s2"} <= group for group in found)
    links = {row["record_id"]: row for row in table_rows(files, IDENTITY_LINKS)}
    assert links["s1"]["matched_by"] == "probabilistic"
    assert links["s1"]["match_probability"] == pytest.approx(0.99)
    assert links["other"]["matched_by"] == "singleton"


def test_never_merge_wins_over_a_shared_user_id(files: LakeFiles) -> None:
    rows = [
        record("login-1", origin="event", user_id="u-shared"),
        record("login-2", origin="event", user_id="u-shared", day=1),
        record("login-3", origin="event", user_id="u-shared", day=2),
    ]
    publish_records(files, rows, "std-1")
    add_override(
        files,
        IdentityOverride(
            action=OverrideAction.NEVER_MERGE, records=("login-2", "login-3"), reason="account sharing"
        ),
    )
    resolve_lake(files, "run-1")
    found = clusters(files)
    assert not any({"login-2", "login-3"} <= group for group in found)
    assert sum(len(group) for group in found) == 3


def test_two_birth_dates_joined_through_a_record_without_one_are_split(files: LakeFiles) -> None:
    """Father and daughter never share an identifier directly: an old web sign-up carries the father's
    e-mail and the daughter's phone. Each pair looks fine; the profile would hold two birth dates."""
    rows = [
        record("father", first_name="somchai", date_of_birth="1960-02-01", email_key="somchai@mail.com"),
        record("signup", origin="event", email_key="somchai@mail.com", phone_e164="+66822222222", day=1),
        record("daughter", first_name="ploy", date_of_birth="1994-11-20", phone_e164="+66822222222"),
        # the same person with day and month swapped in one source is one birth date, not two
        record("mali-a", first_name="malee", date_of_birth="1971-03-04", email_key="malee@mail.com"),
        record("mali-web", origin="event", email_key="malee@mail.com", phone_e164="+66833333333", day=1),
        record("mali-b", first_name="malee", date_of_birth="1971-04-03", phone_e164="+66833333333"),
    ]
    publish_records(files, rows, "std-1")
    report = resolve_lake(files, "run-1")
    found = clusters(files)
    assert frozenset({"father", "signup"}) in found  # e-mail outranks phone: the sign-up goes with it
    assert frozenset({"daughter"}) in found
    assert frozenset({"mali-a", "mali-web", "mali-b"}) in found
    assert report.steps[0].guards["split_conflicting_birth_dates"] == 1


def test_a_shared_address_is_evidence_not_identity(files: LakeFiles) -> None:
    """The real probabilistic matcher: housemates at one address stay apart; the same person written in
    Thai and in English at that address, with the same birth date, is one profile."""
    from cdp.engine.duckdb_engine import DuckDbEngine
    from cdp.identity.config import load_identity_config
    from cdp.pipeline.resolve import probabilistic_scorer

    address = "99/1 soi sukhumvit 24"
    rows = [
        record(
            "housemate-1",
            first_name="somchai",
            last_name="jaidee",
            date_of_birth="1980-01-15",
            address_line=address,
            postcode="10110",
        ),
        record(
            "housemate-2",
            first_name="wichai",
            last_name="srisuk",
            date_of_birth="1985-06-30",
            address_line=address,
            postcode="10110",
        ),
        record(
            "sister",
            first_name="suda",
            last_name="jaidee",
            date_of_birth="1983-09-09",
            address_line=address,
            postcode="10110",
        ),
        record(
            "somchai-th",
            first_name="สมชาย",
            last_name="ใจดี",
            date_of_birth="1980-01-15",
            address_line=address,
            postcode="10110",
            day=3,
        ),
        *(
            record(
                f"filler-{i}",
                first_name=f"name{i}",
                last_name=f"family{i}",
                postcode=f"{10200 + i}",
                date_of_birth=f"19{50 + i}-0{1 + i % 9}-1{i % 9}",
            )
            for i in range(30)
        ),
    ]
    publish_records(files, rows, "std-1")
    engine = DuckDbEngine()
    try:
        resolve_lake(
            files, "run-1", engine=engine, scorer=probabilistic_scorer(engine, load_identity_config(None))
        )
    finally:
        engine.close()
    found = clusters(files)
    assert frozenset({"housemate-2"}) in found
    assert frozenset({"sister"}) in found
    assert frozenset({"housemate-1", "somchai-th"}) in found


def test_a_scored_pair_across_a_replaced_birth_date_holds_when_the_score_is_overwhelming(
    files: LakeFiles,
) -> None:
    """A source that replaced one customer's birth date: the model still scores the pair near certain, so
    the pair joins, and the group (with an undated record beside it) is not split over the two dates."""
    rows = [
        record(
            "crm",
            first_name="somsak",
            last_name="rakthai",
            postcode="10110",
            date_of_birth="1980-05-06",
            email_key="somsak@mail.com",
        ),
        record(
            "shop", first_name="somsak", last_name="rakthai", postcode="10110", date_of_birth="1981-07-08"
        ),
        record("web", origin="event", email_key="somsak@mail.com", day=1),
    ]
    publish_records(files, rows, "std-1")
    report = resolve_lake(files, "run-1", scorer=same_last_name_and_postcode_scorer)  # 0.99: below 0.999
    assert frozenset({"crm", "web"}) in clusters(files)
    assert frozenset({"shop"}) in clusters(files)
    files.write_bytes("identity/identity.yaml", b"probabilistic: {dob_conflict_threshold: 0.98}\n")
    report = resolve_lake(files, "run-2", scorer=same_last_name_and_postcode_scorer)
    assert clusters(files) == {frozenset({"crm", "shop", "web"})}
    assert report.steps[0].guards["split_conflicting_birth_dates"] == 0


def test_every_published_table_moves_its_catalog_location_with_the_pointer(files: LakeFiles) -> None:
    """On AWS the Glue table's location is Athena's pointer: the runner moves it right after the file."""
    from cdp.catalog_port import snapshot_location
    from cdp.engine.duckdb_engine import DuckDbEngine
    from cdp.pipeline.runner import run_pipeline
    from cdp.tables import IDENTITY_TABLES, current
    from tests.contract.test_catalog_publisher_contract import InMemoryCatalogPublisher

    publish_records(files, [record("a", email_key="a@mail.com"), record("b", email_key="a@mail.com")], "s")
    catalog = InMemoryCatalogPublisher()
    engine = DuckDbEngine()
    try:
        run_pipeline(files, engine, steps=["resolve"], run_id="run-1", scorer=None, catalog=catalog)
    finally:
        engine.close()
    for table in IDENTITY_TABLES:
        snapshot = current(files, table)
        assert snapshot is not None
        assert catalog.location(table) == snapshot_location(files, snapshot)
        assert catalog.location(table).endswith("/run_id=run-1/")
