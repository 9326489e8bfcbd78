"""The :class:`~cdp.activation.ports.DeliveryLedger` in the lake: ``deliveries``
(:data:`cdp.tables.DELIVERIES`) as append-only Parquet files, local directory or ``s3://`` alike
(:class:`cdp.lakefs.LakeFiles`).

``exports/deliveries/<segment_id>/<destination_id>/<run_id>/part-<time>-<uuid>.parquet``: each checkpoint
of an export writes one new file (atomically: temp + rename locally, one PUT on S3) and nothing is ever
rewritten. Why not a snapshot per run with a pointer, like the pipeline's tables: the ledger is the
idempotency state, written by exports of different segments that may run at the same time. A snapshot
("previous rows + this run's", then swap the pointer) would let two concurrent exports each publish a
snapshot without the other's rows, and the lost ``sent`` rows would be sent again on the next re-run;
appending never loses a row, costs O(this run) rather than O(history) per export, and a crash leaves a
whole file or none. The table is the union of the files; the latest row of a change is its outcome.

The path's folders are plain names, not ``key=value``: the rows carry ``segment_id``, ``destination_id``
and ``run_id`` themselves, and a Hive-style folder of the same name would clash with those columns in
Athena and DuckDB. Reading one segment's and destination's history lists one prefix.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from cdp.activation.models import Change, DeliveryRecord, Outcome
from cdp.activation.ports import DeliveryHistory
from cdp.lakefs import LakeFiles
from cdp.tables import DELIVERIES

#: segment, destination and run ids become folder names: nothing that could climb out of the prefix
SAFE_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


def deliveries_prefix(segment_id: str, destination_id: str) -> str:
    for name in (segment_id, destination_id):
        if not SAFE_NAME.match(name) or ".." in name:
            raise ValueError(f"{name!r} cannot name a folder of the deliveries table")
    return f"{DELIVERIES.prefix}/{segment_id}/{destination_id}"


class LakeDeliveryLedger:
    def __init__(self, files: LakeFiles) -> None:
        self._files = files

    def history(self, run_id: str, segment_id: str, destination_id: str) -> DeliveryHistory:
        prefix = deliveries_prefix(segment_id, destination_id)
        paths = [
            self._files.path(name)
            for name in self._files.find(prefix, lambda name: name.endswith(".parquet"))
        ]
        history = DeliveryHistory()
        if not paths:
            return history
        table = ds.dataset(
            paths, filesystem=self._files.fs, format="parquet", schema=DELIVERIES.schema
        ).to_table(
            columns=["run_id", "profile_id", "change", "attempted_at"],
            filter=pc.field("outcome") == Outcome.SENT.value,
        )
        if table.num_rows == 0:
            return history
        this_run = table.filter(pc.equal(table["run_id"], run_id))
        history.sent = {
            (profile, Change(change))
            for profile, change in zip(
                this_run["profile_id"].to_pylist(), this_run["change"].to_pylist(), strict=True
            )
        }
        latest = (
            table.sort_by([("attempted_at", "ascending")])
            .group_by("profile_id", use_threads=False)
            .aggregate([("change", "last")])
        )
        history.holders = {
            profile
            for profile, change in zip(
                latest["profile_id"].to_pylist(), latest["change_last"].to_pylist(), strict=True
            )
            if change == Change.ENTERED.value
        }
        return history

    def record(self, rows: Sequence[DeliveryRecord]) -> None:
        if not rows:
            return
        by_folder: dict[tuple[str, str, str], list[DeliveryRecord]] = {}
        for row in rows:
            by_folder.setdefault((row.segment_id, row.destination_id, row.run_id), []).append(row)
        for (segment_id, destination_id, run_id), group in by_folder.items():
            if not SAFE_NAME.match(run_id):
                raise ValueError(f"{run_id!r} cannot name a folder of the deliveries table")
            table = pa.Table.from_pylist([_row(record) for record in group], schema=DELIVERIES.schema)
            buffer = io.BytesIO()
            pq.write_table(table, buffer, compression="zstd")
            moment = datetime.now(UTC)
            name = f"part-{moment:%Y%m%dT%H%M%S%f}Z-{uuid.uuid4().hex[:12]}.parquet"
            self._files.write_bytes(
                f"{deliveries_prefix(segment_id, destination_id)}/{run_id}/{name}", buffer.getvalue()
            )


def _row(record: DeliveryRecord) -> dict[str, object]:
    return {
        "run_id": record.run_id,
        "segment_id": record.segment_id,
        "destination_id": record.destination_id,
        "profile_id": record.profile_id,
        "change": record.change.value,
        "outcome": record.outcome.value,
        "detail": record.detail,
        "attempted_at": record.attempted_at,
    }
