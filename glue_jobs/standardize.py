"""Glue 5.1 job ``standardize``: raw events + imported rows → events, identity_records, orders.

Thin by design (STYLE 7): the step itself is ``cdp.pipeline.standardize``, the same code ``cdp run`` runs on
DuckDB. Job parameters: ``--lake_uri s3://<lake bucket>``, ``--salt_secret_arn`` (the pseudonymization salt:
erased people's tombstones are salted hashes, and the step drops their records; a lake with tombstones and
no salt fails the step rather than let them back) and optionally ``--run_id``.
"""

from __future__ import annotations

import argparse
import sys

from pyspark.sql import SparkSession

from cdp.adapters.aws_secrets import read_salt
from cdp.pipeline.jobs import run_glue_step


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="standardize", allow_abbrev=False)
    parser.add_argument("--salt_secret_arn", default=None)
    arguments, _others = parser.parse_known_args(argv)
    salt = read_salt(arguments.salt_secret_arn) if arguments.salt_secret_arn else None
    run_glue_step("standardize", argv, SparkSession.builder.getOrCreate(), salt=salt)


if __name__ == "__main__":
    main(sys.argv[1:])
