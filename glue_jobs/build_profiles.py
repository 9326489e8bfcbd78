"""Glue 5.1 job ``build_profiles``: links, records, events, orders → ``profiles``, ``profile_traits`` and
``profiles_pseudonymized``.

Thin by design (STYLE 7): the step is ``cdp.pipeline.profiles``, the same code ``cdp run --steps profiles``
runs on DuckDB; survivorship rules and trait files come from the lake's ``profiles/config/``. Job parameters:
``--lake_uri s3://<lake bucket>``, ``--pseudonymized_root s3://<zone bucket>/pseudonymized`` (the analysts'
zone, a bucket with its own key, where ``profiles_pseudonymized`` is written), ``--salt_secret_arn``
(required: the Secrets Manager secret holding the pseudonymization salt), optionally ``--run_id`` and
``--as_of`` (ISO-8601 with an offset, e.g. ``2026-03-31T00:00:00Z``: the reference time of windows and
recency; default now).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime

from pyspark.sql import SparkSession

from cdp.adapters.aws_secrets import read_salt
from cdp.pipeline.jobs import run_glue_step


def parse_profile_arguments(argv: Sequence[str]) -> argparse.Namespace:
    """This job's own parameters (``run_glue_step`` parses the common ones); exits with one line when the
    salt's secret is not named."""
    parser = argparse.ArgumentParser(prog="build_profiles", allow_abbrev=False)
    parser.add_argument("--salt_secret_arn", default=None)
    parser.add_argument("--as_of", default=None)
    arguments, _others = parser.parse_known_args(list(argv))
    if not arguments.salt_secret_arn:
        raise SystemExit(
            "build_profiles: --salt_secret_arn is required (the Secrets Manager secret holding the "
            "pseudonymization salt)"
        )
    return arguments


def main(argv: list[str]) -> None:
    arguments = parse_profile_arguments(argv)
    as_of = datetime.fromisoformat(arguments.as_of) if arguments.as_of else None
    salt = read_salt(arguments.salt_secret_arn)
    run_glue_step("profiles", argv, SparkSession.builder.getOrCreate(), as_of=as_of, salt=salt)


if __name__ == "__main__":
    main(sys.argv[1:])
