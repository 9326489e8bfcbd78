"""The Glue path: the same steps on local Spark give the same tables as on DuckDB (SPEC 2, 10)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq
import pytest

from cdp.engine.duckdb_engine import DuckDbEngine
from cdp.lakefs import LakeFiles
from cdp.pipeline.runner import run_pipeline
from cdp.tables import CLEAN_TABLES, LakeTable, current, snapshot_files
from glue_jobs import standardize as standardize_job
from tests.pipeline_data import build_lake

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def table_rows(files: LakeFiles, table: LakeTable) -> list[dict[str, Any]]:
    paths = snapshot_files(files, current(files, table))
    rows = [row for path in paths for row in pq.read_table(path).to_pylist()]
    assert all(set(row) == set(table.schema.names) for row in rows)
    return sorted(rows, key=lambda row: tuple(_sortable(row[name]) for name in table.schema.names))


def _sortable(value: Any) -> tuple[int, str]:
    return (0, "") if value is None else (1, str(value))


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=1e-12)
    return bool(left == right)


@pytest.mark.parametrize("table", CLEAN_TABLES, ids=lambda t: t.name)
def test_standardize_gives_identical_tables_on_duckdb_and_spark(
    table: LakeTable, parity_lakes: tuple[LakeFiles, LakeFiles]
) -> None:
    duck, spark = parity_lakes
    duck_rows, spark_rows = table_rows(duck, table), table_rows(spark, table)
    assert len(duck_rows) == len(spark_rows) > 0
    for duck_row, spark_row in zip(duck_rows, spark_rows, strict=True):
        differing = {
            name: (duck_row[name], spark_row[name])
            for name in table.schema.names
            if not _same(duck_row[name], spark_row[name])
        }
        assert differing == {}, f"{table.name} row {duck_row.get('record_id') or duck_row.get('message_id')}"


@pytest.fixture(scope="module")
def parity_lakes(
    tmp_path_factory: pytest.TempPathFactory, spark: SparkSession
) -> tuple[LakeFiles, LakeFiles]:
    duck_root: Path = tmp_path_factory.mktemp("duck")
    spark_root: Path = tmp_path_factory.mktemp("spark")
    build_lake(duck_root)
    build_lake(spark_root)
    duck = LakeFiles(duck_root)
    engine = DuckDbEngine()
    run_pipeline(duck, engine, steps=["standardize"], run_id="parity")
    engine.close()
    # the Glue entry script itself, on the session-wide local Spark (getOrCreate picks it up)
    standardize_job.main(["--lake_uri", str(spark_root), "--run_id", "parity", "--JOB_NAME", "standardize"])
    return duck, LakeFiles(spark_root)
