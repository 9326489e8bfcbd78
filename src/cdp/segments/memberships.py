"""Reading ``segment_memberships``: current members and the latest run's deltas per segment."""

from __future__ import annotations

from dataclasses import dataclass

from cdp.engine.duckdb_engine import DuckDbEngine
from cdp.lakefs import LakeFiles
from cdp.pipeline.segments import counts_sql
from cdp.tables import SEGMENT_MEMBERSHIPS, current, snapshot_files


@dataclass(frozen=True, slots=True)
class MembershipCounts:
    members: int  # open spans
    entered: int  # opened by the snapshot's run
    exited: int  # closed by the snapshot's run


def membership_counts(files: LakeFiles) -> dict[str, MembershipCounts]:
    """Per segment id, from the published snapshot (empty before the first segments run)."""
    snapshot = current(files, SEGMENT_MEMBERSHIPS)
    if snapshot is None:
        return {}
    engine = DuckDbEngine()
    try:
        engine.register_parquet("memberships", snapshot_files(files, snapshot), SEGMENT_MEMBERSHIPS.schema)
        engine.create_view("membership_counts", counts_sql("memberships", snapshot.run_id))
        rows = engine.to_arrow("membership_counts").to_pylist()
    finally:
        engine.close()
    return {
        row["segment_id"]: MembershipCounts(int(row["members"]), int(row["entered"]), int(row["exited"]))
        for row in rows
    }
