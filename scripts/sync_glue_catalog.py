"""Point every Glue table of a stage at its published snapshot (the lake's ``_current.json`` pointers).

Run it after a deploy of ``cdp-<stage>-analytics`` that created or changed tables: CloudFormation writes each
changed table's initial location (``<prefix>/unpublished/``, empty) back, and the pipeline only moves a
table when it next publishes it. Needs ``s3:GetObject`` on the pointers and ``glue:GetTable`` /
``glue:UpdateTable`` on the tables; prints what it moved. ``--pseudonymized-root`` is where the lake's
``pseudonymized/`` prefix lives (the data stack's output ``PseudonymizedRoot``: a bucket of its own), so
``profiles_pseudonymized`` is read and pointed there; without it that table is looked for in the lake.

    .venv/bin/python scripts/sync_glue_catalog.py --lake s3://$BUCKET --database cdp_dev \
        --pseudonymized-root s3://$ZONE_BUCKET/pseudonymized
"""

from __future__ import annotations

import argparse
import sys

from cdp.adapters.glue_catalog import GlueCatalogPublisher
from cdp.catalog_port import CatalogError, sync_catalog
from cdp.lake import zone_mounts
from cdp.lakefs import LakeFiles
from cdp.query.glue_tables import SNAPSHOT_TABLES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", required=True, help="the lake bucket, s3://BUCKET")
    parser.add_argument("--database", required=True, help="the stage's Glue database, cdp_<stage>")
    parser.add_argument(
        "--pseudonymized-root",
        default=None,
        help="s3://ZONE_BUCKET/pseudonymized: where the pseudonymized zone lives (output PseudonymizedRoot)",
    )
    args = parser.parse_args(argv)
    if not args.lake.startswith("s3://"):
        parser.error("--lake must be s3://BUCKET: Glue tables point at S3")
    if args.pseudonymized_root is not None and not args.pseudonymized_root.startswith("s3://"):
        parser.error("--pseudonymized-root must be s3://BUCKET/pseudonymized")
    try:
        moved = sync_catalog(
            LakeFiles(args.lake, mounts=zone_mounts(pseudonymized_root=args.pseudonymized_root)),
            GlueCatalogPublisher(database=args.database),
            SNAPSHOT_TABLES,
        )
    except CatalogError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for table, location in moved.items():
        print(f"{args.database}.{table} -> {location}")
    print(f"{len(moved)} table(s) re-pointed; the others point at their snapshot or were never published")
    return 0


if __name__ == "__main__":
    sys.exit(main())
