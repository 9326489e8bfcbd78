"""The Glue path of the profiles step: local Spark writes the same profiles, traits and pseudonymized rows as
DuckDB, on a small lake that touches every rule (survivorship, double-reported and multi-line orders, RFM,
windows across the Bangkok day boundary, consent from identify traits, Segment's categoryPreferences and
imports with a restatement and a same-moment tie, every template trait and the lake's own)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pytest

from cdp.engine.duckdb_engine import DuckDbEngine
from cdp.lakefs import LakeFiles
from cdp.pipeline.jobs import run_glue_step
from cdp.pipeline.runner import run_pipeline
from cdp.tables import CONSENT, PROFILE_TABLES, PROFILE_TRAITS, PROFILES, LakeTable
from tests.identity_data import record, table_rows
from tests.profiles_data import AS_OF, SALT, build_lake, consent_row, event, order_line

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: Spark runs the step's ~40 small queries in under a minute locally
pytestmark = pytest.mark.timeout(600)

PROFILES_YAML = b"""
trusted_sources: [crm]
survivorship:
  postcode: most_trusted
  company: {rule: most_trusted, sources: [crm, shop]}
consent:
  categories: {C0004: ads, Marketing: email, sms: sms}
"""

LAKE_TRAITS = b"""
description: aggregates the templates do not use, on both engines
traits:
  - name: cheapest_order_channel
    description: channel of the smallest order
    relation: orders
    expression: arg_min(channel, order_value)
    type: string
    data_type: behavioural
  - name: median_order_value
    description: median order value
    relation: orders
    expression: median(order_value)
    type: number
    data_type: behavioural
  - name: big_orders
    description: orders of 500 or more
    relation: orders
    expression: count_if(order_value >= 500)
    type: integer
    data_type: behavioural
  - name: always_web
    description: every order on the web
    relation: orders
    expression: bool_and(channel = 'web')
    type: boolean
    data_type: behavioural
  - name: mean_line_value
    description: average line value, rounded
    relation: order_lines
    expression: round(avg(DISTINCT line_value), 2)
    type: number
    data_type: behavioural
"""


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _inputs() -> dict[str, Any]:
    records = [
        record(
            "crm:C1",
            day=1,
            source_id="crm",
            first_name="somchai",
            last_name="jaidee",
            postcode="10110",
            date_of_birth="1987-05-12",
            gender="male",
            email="somchai@mail.com",
            phone_e164="+66811111111",
            province_code="TH-10",
            city="Bang Rak",
            company="Siam Co",
        ),
        record(
            "shop-1",
            day=5,
            source_id="shop",
            first_name="somchay",
            postcode="10200",
            company="Siam Trading",
            email="somchai.j@gmail.com",
        ),
        record(
            "evt-1",
            day=9,
            source_id="app",
            origin="event",
            first_name="somchai",
            user_id="u-1",
            anonymous_id="a-1",
            city="Sathon",
            attributes='{"industry": "retail", "employees": "40"}',
        ),
        record(
            "survey:1",
            day=3,
            source_id="survey",
            email="somchai@mail.com",
            attributes='{"nps": 10, "would_recommend": true, "preferred_channel": "app"}',
        ),
        record(
            "survey:2",
            day=7,
            source_id="survey",
            email="somchai@mail.com",
            attributes='{"nps": 6, "would_recommend": false, "favourite_category": "tea"}',
        ),
        record(
            "crm:C2",
            day=2,
            source_id="crm",
            first_name="malee",
            phone_e164="+66822222222",
            province_code="TH-50",
            date_of_birth="2001-12-01",
            gender="female",
        ),
        record("crm:C3", day=2, source_id="crm", first_name="ploy"),
    ]
    for survey in records[3:5]:
        survey["kind"] = "survey"
    profiles = {
        "p-somchai": ["crm:C1", "shop-1", "evt-1", "survey:1", "survey:2"],
        "p-malee": ["crm:C2"],
        "p-ploy": ["crm:C3"],
        "p-ghost": ["missing"],
    }
    orders = [
        order_line(
            "SO-1",
            "shop-1",
            at("2026-03-20T03:00:00+00:00"),
            total=1000.0,
            quantity=1,
            price=600.0,
            category="fan",
            channel="web",
        ),
        order_line(
            "SO-1",
            "shop-1",
            at("2026-03-20T03:00:00+00:00"),
            total=1000.0,
            quantity=2,
            price=200.0,
            category="tea",
            channel="web",
        ),
        order_line("SO-1", "evt-1", at("2026-03-20T03:00:01+00:00"), total=1000.0, source_id="app"),
        order_line(
            "SO-2",
            "shop-1",
            at("2025-12-31T17:30:00+00:00"),
            quantity=3,
            price=33.33,
            category="tea",
            channel="pos",
        ),
        order_line(
            "SO-3", "shop-1", at("2025-12-31T16:30:00+00:00"), total=0.1, category="rice", channel="web"
        ),
        order_line(
            "SO-4", "crm:C2", at("2026-03-30T18:00:00+00:00"), total=259.5, category="rice", channel="line"
        ),
    ]
    for k in range(6):  # customers for the quintiles
        records.append(record(f"rfm-{k}", day=k))
        profiles[f"p-rfm-{k}"] = [f"rfm-{k}"]
        for j in range(k % 3 + 1):
            orders.append(
                order_line(
                    f"R-{k}-{j}",
                    f"rfm-{k}",
                    AS_OF - timedelta(days=7 * k + j, hours=k),
                    total=100.0 * (k + 1) / 3,
                    channel=("web", "app")[j % 2],
                )
            )
    base = at("2026-03-25T03:00:00+00:00")
    events = [
        event("e1", "evt-1", base, kind="screen", name="Home", channel="app"),
        event("e2", "evt-1", base + timedelta(minutes=10), name="Product Viewed", channel="app"),
        event("e3", "evt-1", base + timedelta(hours=3), kind="page", name="Home", channel="web"),
        event(
            "e4",
            "evt-1",
            base - timedelta(days=60),
            kind="identify",
            traits={"consent": {"email": False, "sms": True}},
        ),
        event(
            "e5",
            "evt-1",
            base - timedelta(days=200),
            kind="identify",
            traits={"push_opt_in": "yes"},
            context={"traits": {"consent": {"ads": True}}},
        ),
        event("e6", "evt-1", base + timedelta(hours=3, minutes=5), name="Order Completed", channel="web"),
        # Segment's consent object (categories mapped by PROFILES_YAML, case ignored), then restated
        event(
            "e7",
            "evt-1",
            base - timedelta(days=30),
            name="Segment Consent Preference Updated",
            context={
                "consent": {"categoryPreferences": {"c0004": False, "MARKETING": True, "Analytics": True}}
            },
        ),
        event(
            "e8",
            "evt-1",
            base - timedelta(days=20),
            kind="page",
            name="Home",
            context={"consent": {"categoryPreferences": {"C0004": False, "Marketing": True}}},
        ),
        # one moment, two answers for e-mail: the refusal wins
        event(
            "e9",
            "evt-1",
            base - timedelta(days=10),
            kind="identify",
            traits={"email_opt_in": "no"},
            context={"consent": {"categoryPreferences": {"Marketing": True, "SMS": False}}},
        ),
    ]
    import_rows = [
        consent_row(
            "crm", "C1", updated_at="2025-01-01T00:00:00.000000Z", email=True, sms=False, row_number=1
        ),
        consent_row("crm", "C2", updated_at="2026-02-01T00:00:00.000000Z", email=False, row_number=2),
    ]
    return {
        "records": records,
        "profiles": profiles,
        "orders": orders,
        "events": events,
        "import_rows": import_rows,
    }


def _sortable(row: dict[str, Any], table: LakeTable) -> tuple[str, ...]:
    return tuple("" if row[name] is None else str(row[name]) for name in table.schema.names)


@pytest.fixture(scope="module")
def parity_lakes(
    tmp_path_factory: pytest.TempPathFactory, spark: SparkSession
) -> tuple[LakeFiles, LakeFiles]:
    lakes = []
    for name in ("duck", "spark"):
        files = LakeFiles(tmp_path_factory.mktemp(name))
        build_lake(files, **_inputs())
        files.write_bytes("profiles/config/profiles.yaml", PROFILES_YAML)
        files.write_bytes("profiles/config/traits/shop.yaml", LAKE_TRAITS)
        lakes.append(files)
    duck, on_spark = lakes
    engine = DuckDbEngine()
    try:
        run_pipeline(duck, engine, steps=["profiles"], run_id="parity-1", as_of=AS_OF, salt=SALT)
    finally:
        engine.close()
    # what glue_jobs/build_profiles.py runs once it has read the salt's secret
    arguments = ["--lake_uri", str(Path(on_spark.path(""))), "--run_id", "parity-1", "--JOB_NAME", "profiles"]
    run_glue_step("profiles", arguments, spark, as_of=AS_OF, salt=SALT)
    return duck, on_spark


@pytest.mark.parametrize("table", PROFILE_TABLES, ids=lambda t: t.name)
def test_profiles_give_identical_tables_on_duckdb_and_spark(
    table: LakeTable, parity_lakes: tuple[LakeFiles, LakeFiles]
) -> None:
    duck, spark = parity_lakes
    duck_rows = sorted(table_rows(duck, table), key=lambda row: _sortable(row, table))
    spark_rows = sorted(table_rows(spark, table), key=lambda row: _sortable(row, table))
    assert len(duck_rows) == len(spark_rows) > 0
    assert duck_rows == spark_rows


def test_every_trait_ran_on_spark(parity_lakes: tuple[LakeFiles, LakeFiles]) -> None:
    _, spark = parity_lakes
    computed = {row["trait"] for row in table_rows(spark, PROFILE_TRAITS) if row["profile_id"] == "p-somchai"}
    assert {
        "aov",
        "favourite_category",
        "sessions_30d",
        "nps",
        "industry",
        "employees",
        "age_band",
    } <= computed
    assert {
        "cheapest_order_channel",
        "median_order_value",
        "big_orders",
        "always_web",
        "mean_line_value",
    } <= computed


def test_consent_on_spark_keeps_the_changes_and_a_tie_goes_to_the_refusal(
    parity_lakes: tuple[LakeFiles, LakeFiles],
) -> None:
    _, spark = parity_lakes
    history = sorted(
        (row["purpose"], row["decided_at"], row["record_id"], row["granted"], row["is_latest"])
        for row in table_rows(spark, CONSENT)
        if row["profile_id"] == "p-somchai"
    )
    base = at("2026-03-25T03:00:00+00:00")
    imported = at("2025-01-01T00:00:00+00:00")
    assert history == sorted(
        [
            ("ads", base - timedelta(days=200), "e5", True, False),
            ("ads", base - timedelta(days=30), "e7", False, True),  # e8 restates it: no row
            ("email", imported, "crm:C1", True, False),
            ("email", base - timedelta(days=60), "e4", False, False),
            ("email", base - timedelta(days=30), "e7", True, False),  # e9's grant restates it: no row
            ("email", base - timedelta(days=10), "e9", False, True),  # e9's refusal beats its grant
            ("push", base - timedelta(days=200), "e5", True, True),
            ("sms", imported, "crm:C1", False, False),
            ("sms", base - timedelta(days=60), "e4", True, False),
            ("sms", base - timedelta(days=10), "e9", False, True),
        ]
    )
    [somchai] = [row for row in table_rows(spark, PROFILES) if row["profile_id"] == "p-somchai"]
    assert {
        purpose: decision["granted"] for purpose, decision in orjson.loads(somchai["consent"]).items()
    } == {
        "ads": False,
        "email": False,
        "push": True,
        "sms": False,
    }
