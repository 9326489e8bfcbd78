"""What every Glue entry script shares: job arguments in, the same pipeline run out.

Glue passes ``--name value`` pairs plus its own (``--JOB_NAME`` …); ``awsglue`` is not pip-installable, so
arguments are parsed here and Glue's own are ignored.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING

from cdp.catalog_port import CatalogPublisher
from cdp.engine.spark_engine import SparkEngine
from cdp.lake import SCRATCH
from cdp.lakefs import LakeFiles
from cdp.pipeline.runner import RunReport, run_pipeline
from cdp.tables import new_run_id

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

#: the lake prefix under which Spark jobs keep intermediate results (SparkEngine.materialize, checkpoints)
SCRATCH_PREFIX = SCRATCH


def parse_job_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="glue-job", allow_abbrev=False)
    parser.add_argument("--lake_uri", required=True, help="s3://bucket (or a local directory in tests)")
    parser.add_argument("--run_id", default=None, help="the orchestrator's run id, threaded through steps")
    parser.add_argument(
        "--catalog_database",
        default=None,
        help="the Glue database whose tables follow each published snapshot (cdp_<stage>); none in tests",
    )
    arguments, _glue_own = parser.parse_known_args(list(argv))
    return arguments


def scratch_uri(lake_uri: str, step: str, run_id: str) -> str:
    """The job's private working prefix in the lake (``tmp/<step>/<run id>/``; deleted at the end, and
    expired by the bucket's lifecycle rule if a crash leaves it behind)."""
    return f"{lake_uri.rstrip('/')}/{SCRATCH_PREFIX}/{step}/{run_id}"


def run_glue_step(
    step: str,
    argv: Sequence[str],
    spark: SparkSession,
    *,
    as_of: datetime | None = None,
    salt: bytes | None = None,
) -> RunReport:
    """Run one step on Spark and print its report as one JSON line (CloudWatch-friendly); ``as_of`` and
    ``salt`` are the profiles step's (:func:`cdp.pipeline.runner.run_pipeline`)."""
    arguments = parse_job_arguments(argv)
    run_id = arguments.run_id or new_run_id()
    scratch = scratch_uri(arguments.lake_uri, step, run_id)
    # Splink's Spark backend checkpoints; Glue has no HDFS, so its checkpoints go beside the engine's
    spark.sparkContext.setCheckpointDir(f"{scratch}/checkpoints")
    engine = SparkEngine(spark, scratch=scratch)
    try:
        report = run_pipeline(
            LakeFiles(arguments.lake_uri),
            engine,
            steps=[step],
            run_id=run_id,
            as_of=as_of,
            salt=salt,
            catalog=_catalog(arguments.catalog_database),
        )
    finally:
        engine.close()
    print(json.dumps(asdict(report)))
    return report


def _catalog(database: str | None) -> CatalogPublisher | None:
    if database is None:
        return None
    from cdp.adapters.glue_catalog import GlueCatalogPublisher

    return GlueCatalogPublisher(database=database)
