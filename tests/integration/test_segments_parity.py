"""The Glue path of the segments step: ``glue_jobs/evaluate_segments.py`` on local Spark writes the same
membership spans and the same audit SQL as DuckDB, over two runs (entries, then exits and a merge)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from cdp.lakefs import LakeFiles
from cdp.pipeline.segments import evaluation_path
from glue_jobs import evaluate_segments as segments_job
from tests.segments_data import AS_OF, SegmentLake, memberships, profile, publish_mixed_lake, run_segments

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.timeout(300)


def _second_run_inputs(files: LakeFiles) -> None:
    """A day later: p2 merged into p1 (p2's record now links to p1), p3 erased, p4 spends."""
    later = AS_OF + timedelta(days=1)
    SegmentLake(
        profiles=[
            profile(
                "p1", gender="female", province="TH-10", total_spend=5100.0, order_count=4, last_seen=later
            ),
            profile("p4", order_count=1, total_spend=1200.0, emails=["x@mail.com"], last_seen=AS_OF),
            profile(
                "p5", gender="female", province="TH-10", order_count=0, last_seen=AS_OF - timedelta(days=30)
            ),
        ],
        links={"r-p2": "p1"},
    ).publish(files, "up-2", as_of=later)


def test_spark_writes_the_same_memberships_as_duckdb(
    tmp_path_factory: pytest.TempPathFactory, spark: SparkSession
) -> None:
    duck = LakeFiles(tmp_path_factory.mktemp("duck"))
    on_spark = LakeFiles(tmp_path_factory.mktemp("spark"))
    for files in (duck, on_spark):
        publish_mixed_lake(files)

    run_segments(duck, "r1")
    segments_job.main(["--lake_uri", on_spark.base, "--run_id", "r1", "--JOB_NAME", "evaluate_segments"])
    first = memberships(duck)
    assert len(first) == 10
    assert memberships(on_spark) == first

    for files in (duck, on_spark):
        _second_run_inputs(files)
    run_segments(duck, "r2")
    segments_job.main(["--lake_uri", on_spark.base, "--run_id", "r2"])
    second = memberships(duck)
    assert {run for *_, run in second} == {"r1", "r2"}
    assert any(exited is not None for _, _, _, exited, _ in second)
    assert memberships(on_spark) == second
    for run in ("r1", "r2"):
        assert on_spark.read_bytes(evaluation_path(run, "evaluation.sql")) == duck.read_bytes(
            evaluation_path(run, "evaluation.sql")
        )
    # the job's scratch is gone
    assert not on_spark.find("tmp", lambda name: True)
