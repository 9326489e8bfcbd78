"""Glue 5.1 job ``evaluate_segments``: profiles, traits, events, orders, links → segment_memberships.

Thin by design (STYLE 7): the step is ``cdp.pipeline.segments``, the same code ``cdp run --steps segments``
runs on DuckDB; the definitions are the lake's ``segments/definitions/*.yaml``, validated before Spark does
any work. Job parameters: ``--lake_uri s3://<lake bucket>``, optionally ``--run_id`` (the orchestrator's,
so a retried run replaces its own deltas) and ``--catalog_database``. The Athena SQL that was evaluated and
the run's manifest land in ``segments/evaluations/run_id=<id>/``.
"""

from __future__ import annotations

import sys

from pyspark.sql import SparkSession

from cdp.pipeline.jobs import run_glue_step
from cdp.pipeline.runner import RunReport


def main(argv: list[str]) -> RunReport:
    return run_glue_step("segments", argv, SparkSession.builder.getOrCreate())


if __name__ == "__main__":
    main(sys.argv[1:])
