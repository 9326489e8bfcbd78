"""The Glue path of the resolve step: local Spark gives the same links, edges and history as DuckDB."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from cdp.engine.duckdb_engine import DuckDbEngine
from cdp.identity.overrides import IdentityOverride, OverrideAction, add_override
from cdp.lakefs import LakeFiles
from cdp.pipeline.runner import run_pipeline
from cdp.tables import IDENTITY_TABLES, LakeTable
from glue_jobs import resolve_identities as resolve_job
from tests.identity_data import publish_records, record, table_rows

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: Spark runs the ~60 small queries of a resolve run in about a minute and a half locally
pytestmark = pytest.mark.timeout(900)

PHONE = "+66812345678"
RECORDS = [
    # a chain over alternating emails and phones
    *(
        record(
            f"chain-{i:02d}",
            day=i,
            email_key=f"c{i // 2}@mail.com" if i % 2 == 0 else f"c{(i - 1) // 2}@mail.com",
            phone_e164=f"+6689000{(i + 1) // 2:04d}",
        )
        for i in range(12)
    ),
    # a household sharing a phone
    record("dad", first_name="somchai", date_of_birth="1960-02-01", phone_e164=PHONE),
    record("mum", first_name="malee", date_of_birth="1963-07-09", phone_e164=PHONE),
    record("mum-2", first_name="malee", phone_e164=PHONE, email_key="malee@mail.com", day=2),
    # two user_ids on one tablet
    record("app-a", origin="event", user_id="u-anna", anonymous_id="tablet"),
    record("app-b", origin="event", user_id="u-ben", anonymous_id="tablet"),
    record("anon", origin="event", anonymous_id="tablet"),
    # two birth dates joined through a sign-up without one
    record("father", first_name="somchai", date_of_birth="1960-02-01", email_key="somchai@mail.com"),
    record("signup", origin="event", email_key="somchai@mail.com", phone_e164="+66822222222", day=1),
    record("daughter", first_name="ploy", date_of_birth="1994-11-20", phone_e164="+66822222222"),
    # overrides
    record("twin-1", first_name="kan", email_key="twins@mail.com"),
    record("twin-2", first_name="kan", email_key="twins@mail.com"),
    record("nick-1", first_name="nok"),
    record("nick-2", first_name="pimchanok"),
]


def _sortable(row: dict[str, Any], table: LakeTable) -> tuple[str, ...]:
    return tuple("" if row[name] is None else str(row[name]) for name in table.schema.names)


@pytest.fixture(scope="module")
def parity_lakes(
    tmp_path_factory: pytest.TempPathFactory, spark: SparkSession
) -> tuple[LakeFiles, LakeFiles]:
    lakes = []
    for name in ("duck", "spark"):
        files = LakeFiles(tmp_path_factory.mktemp(name))
        publish_records(files, RECORDS, "std")
        add_override(
            files,
            IdentityOverride(
                action=OverrideAction.NEVER_MERGE,
                records=("twin-1", "twin-2"),
                reason="twins",
                created_at="t",
            ),
        )
        add_override(
            files,
            IdentityOverride(
                action=OverrideAction.FORCE_MERGE,
                records=("nick-1", "nick-2"),
                reason="nickname",
                created_at="t",
            ),
        )
        lakes.append(files)
    duck, on_spark = lakes
    for run_id in ("parity-1",):  # one run: Spark takes ~1 min a run on these tiny plans (see report)
        engine = DuckDbEngine()
        run_pipeline(duck, engine, steps=["resolve"], run_id=run_id)
        engine.close()
        # the Glue entry script itself, on the session-wide local Spark
        resolve_job.main(
            ["--lake_uri", str(Path(on_spark.path(""))), "--run_id", run_id, "--JOB_NAME", "resolve"]
        )
    return duck, on_spark


@pytest.mark.parametrize("table", IDENTITY_TABLES, ids=lambda t: t.name)
def test_resolve_gives_identical_tables_on_duckdb_and_spark(
    table: LakeTable, parity_lakes: tuple[LakeFiles, LakeFiles]
) -> None:
    duck, spark = parity_lakes
    duck_rows = sorted(table_rows(duck, table), key=lambda row: _sortable(row, table))
    spark_rows = sorted(table_rows(spark, table), key=lambda row: _sortable(row, table))
    assert len(duck_rows) == len(spark_rows) > 0
    assert duck_rows == spark_rows


def test_the_clusters_are_the_expected_ones(parity_lakes: tuple[LakeFiles, LakeFiles]) -> None:
    duck, _ = parity_lakes
    from tests.identity_data import clusters

    found = clusters(duck)
    assert frozenset(f"chain-{i:02d}" for i in range(12)) in found
    assert frozenset({"mum", "mum-2"}) in found
    assert frozenset({"dad"}) in found
    assert frozenset({"app-b"}) in found
    assert frozenset({"app-a", "anon"}) in found
    assert frozenset({"twin-1"}) in found
    assert frozenset({"nick-1", "nick-2"}) in found
    assert frozenset({"father", "signup"}) in found
    assert frozenset({"daughter"}) in found
