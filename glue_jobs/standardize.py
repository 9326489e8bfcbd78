"""Glue 5.1 job ``standardize``: raw events + imported rows → events, identity_records, orders.

Thin by design (STYLE 7): the step itself is ``cdp.pipeline.standardize``, the same code ``cdp run`` runs on
DuckDB. Job parameters: ``--lake_uri s3://<lake bucket>`` and optionally ``--run_id``.
"""

from __future__ import annotations

import sys

from pyspark.sql import SparkSession

from cdp.pipeline.jobs import run_glue_step


def main(argv: list[str]) -> None:
    run_glue_step("standardize", argv, SparkSession.builder.getOrCreate())


if __name__ == "__main__":
    main(sys.argv[1:])
