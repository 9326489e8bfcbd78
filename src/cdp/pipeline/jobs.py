"""What every Glue entry script shares: job arguments in, the same pipeline run out.

Glue passes ``--name value`` pairs plus its own (``--JOB_NAME`` …); ``awsglue`` is not pip-installable, so
arguments are parsed here and Glue's own are ignored.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

from cdp.engine.spark_engine import SparkEngine
from cdp.lakefs import LakeFiles
from cdp.pipeline.runner import RunReport, run_pipeline

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def parse_job_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="glue-job", allow_abbrev=False)
    parser.add_argument("--lake_uri", required=True, help="s3://bucket (or a local directory in tests)")
    parser.add_argument("--run_id", default=None, help="the orchestrator's run id, threaded through steps")
    arguments, _glue_own = parser.parse_known_args(list(argv))
    return arguments


def run_glue_step(step: str, argv: Sequence[str], spark: SparkSession) -> RunReport:
    """Run one step on Spark and print its report as one JSON line (CloudWatch-friendly)."""
    arguments = parse_job_arguments(argv)
    report = run_pipeline(
        LakeFiles(arguments.lake_uri), SparkEngine(spark), steps=[step], run_id=arguments.run_id
    )
    print(json.dumps(asdict(report)))
    return report
