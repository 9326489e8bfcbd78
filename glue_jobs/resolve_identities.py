"""Glue 5.1 job ``resolve_identities``: identity_records → identity_links, identity_edges, identity_history.

Thin by design (STYLE 7): the step is ``cdp.pipeline.resolve``, the same code ``cdp run --steps resolve``
runs on DuckDB; rules and overrides come from the lake's ``identity/`` zone. Job parameters:
``--lake_uri s3://<lake bucket>`` and optionally ``--run_id``.
"""

from __future__ import annotations

import sys

from pyspark.sql import SparkSession

from cdp.pipeline.jobs import run_glue_step


def main(argv: list[str]) -> None:
    run_glue_step("resolve", argv, SparkSession.builder.getOrCreate())


if __name__ == "__main__":
    main(sys.argv[1:])
