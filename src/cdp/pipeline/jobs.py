"""What every Glue entry script shares: job arguments in, the same pipeline run out, its metrics published.

Glue passes ``--name value`` pairs plus its own (``--JOB_NAME`` …); ``awsglue`` is not pip-installable, so
arguments are parsed here and Glue's own are ignored. A job deployed by ``infra/`` is given
``--metrics_namespace CDP`` and ``--stage <stage>``: the step's report then becomes CloudWatch metrics
(:mod:`cdp.pipeline.metrics`); without them (tests, a local Spark run) nothing is published.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING

from cdp.catalog_port import CatalogPublisher
from cdp.engine.spark_engine import SparkEngine
from cdp.lake import SCRATCH, zone_mounts
from cdp.lakefs import LakeFiles
from cdp.pipeline.metrics import (
    LOCAL_STAGE,
    MetricsSink,
    MetricsUnavailableError,
    NoMetrics,
    pipeline_dimensions,
    run_metrics,
)
from cdp.pipeline.runner import RunReport, run_pipeline
from cdp.privacy.lock import LakeLock
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
    parser.add_argument(
        "--pseudonymized_root",
        default=None,
        help="where the pseudonymized zone lives when apart from the lake (s3://<zone bucket>/pseudonymized: "
        "its own bucket and KMS key on AWS); default: the lake's own pseudonymized/ folder",
    )
    parser.add_argument(
        "--metrics_namespace",
        default=None,
        help="the CloudWatch namespace of the step's metrics (CDP); none: the metrics are not published",
    )
    parser.add_argument("--stage", default=LOCAL_STAGE, help="the stage dimension of the metrics")
    arguments, _glue_own = parser.parse_known_args(list(argv))
    pipeline_dimensions(arguments.stage)  # a bad stage fails before Spark does any work
    return arguments


def metrics_sink(arguments: argparse.Namespace) -> MetricsSink:
    """CloudWatch when the job names a namespace (on AWS), else :class:`NoMetrics`."""
    if not arguments.metrics_namespace:
        return NoMetrics()
    from cdp.adapters.cloudwatch_metrics import CloudWatchMetricsSink

    return CloudWatchMetricsSink(
        namespace=arguments.metrics_namespace, dimensions=pipeline_dimensions(arguments.stage)
    )


def publish_run_metrics(sink: MetricsSink, report: RunReport) -> bool:
    """Publish the run's metrics; ``False`` (and one line on stderr) when CloudWatch refused them: the
    step has published its snapshots already, and a missing data point is what the dashboard shows."""
    try:
        sink.publish(run_metrics(report))
    except MetricsUnavailableError as error:
        print(json.dumps({"warning": "metrics not published", "reason": str(error)}), file=sys.stderr)
        return False
    return True


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
    sink = metrics_sink(arguments)
    run_id = arguments.run_id or new_run_id()
    scratch = scratch_uri(arguments.lake_uri, step, run_id)
    # Splink's Spark backend checkpoints; Glue has no HDFS, so its checkpoints go beside the engine's
    spark.sparkContext.setCheckpointDir(f"{scratch}/checkpoints")
    engine = SparkEngine(spark, scratch=scratch)
    try:
        report = run_pipeline(
            LakeFiles(
                arguments.lake_uri, mounts=zone_mounts(pseudonymized_root=arguments.pseudonymized_root)
            ),
            engine,
            steps=[step],
            run_id=run_id,
            as_of=as_of,
            salt=salt,
            catalog=_catalog(arguments.catalog_database),
            lock=lake_lock(arguments.lake_uri),
        )
    finally:
        engine.close()
    print(json.dumps(asdict(report)))
    publish_run_metrics(sink, report)
    return report


def lake_lock(lake_uri: str) -> LakeLock | None:
    """On S3 the lake's lock object (``_lock/lake.json``, :mod:`cdp.privacy.lock`): a step never overlaps
    an erasure, nor another run's step; a local lake gets ``run_pipeline``'s file lock."""
    if not lake_uri.startswith("s3://"):
        return None
    import boto3

    from cdp.privacy.lock import S3LakeLock

    bucket = lake_uri.removeprefix("s3://").split("?", 1)[0].split("/", 1)[0]
    return S3LakeLock(boto3.client("s3"), bucket)


def _catalog(database: str | None) -> CatalogPublisher | None:
    if database is None:
        return None
    from cdp.adapters.glue_catalog import GlueCatalogPublisher

    return GlueCatalogPublisher(database=database)
