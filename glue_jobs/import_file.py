"""Glue 5.1 job ``import-file``: one large upload from ``landing/{source}/`` → the same import as the Lambda.

Thin by design (STYLE 7): parse the job arguments and call
:meth:`cdp.imports.landing.LandingImporter.import_landed`, the function the import Lambda runs for small
files, wired to the same S3 store (:func:`cdp.import_wiring.build_landing_importer`). Job parameters:
``--lake_uri s3://<lake bucket>``, ``--source <source>``, ``--key landing/<source>/…`` and, on a versioned
bucket, ``--version_id``; the import function passes all four. Glue's own arguments (``--JOB_NAME`` …) are
ignored.

The import runs in the driver, not distributed, for now: the mapping code is pure Python over Arrow record
batches (one file read, mapped and written as one Parquet object), and a G.2X driver holds files of a few
GiB with their rows. A later change can spread the mapping over executors with ``mapInArrow``; the
functions it would call are the ones used here. No Spark session is built until then.

A file that cannot be imported as it is ends the run successfully with a failure record under
``quarantine/import_failures/`` (as in the Lambda); anything else fails the run, which the job-failure
alarm reports.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from cdp.import_wiring import UploadPathSettings, build_landing_importer
from cdp.imports.landing import LandedFile, LandingOutcome


def parse_job_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="import-file", allow_abbrev=False)
    parser.add_argument("--lake_uri", required=True, help="the lake bucket, s3://<bucket>")
    parser.add_argument("--source", required=True, help="the source folder the upload is in")
    parser.add_argument("--key", required=True, help="the upload's key, landing/<source>/…")
    parser.add_argument("--version_id", default=None, help="the upload's object version")
    arguments, _glue_own = parser.parse_known_args(list(argv))
    return arguments


def main(argv: Sequence[str]) -> LandingOutcome:
    arguments = parse_job_arguments(argv)
    landed = LandedFile(key=arguments.key, version_id=arguments.version_id or None)
    if landed.folder != arguments.source:
        raise SystemExit(f"--key {arguments.key!r} is not in the folder of --source {arguments.source!r}")
    importer = build_landing_importer(UploadPathSettings.from_lake_uri(arguments.lake_uri))
    outcome = importer.import_landed(landed)
    print(json.dumps(outcome.log_fields(), ensure_ascii=False))  # one line, CloudWatch-friendly
    return outcome


if __name__ == "__main__":
    main(sys.argv[1:])
