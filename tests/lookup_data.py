"""Profiles, traits and memberships as the profiles and segments steps publish them, for lookup tests.

Rows follow the ``cdp.tables`` contracts; ``publish_snapshots`` writes them as a run's Parquet snapshots and
swaps the pointers, exactly what a reader of the lake sees after a pipeline run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from cdp.lakefs import LakeFiles
from cdp.lookup.documents import profile_document
from cdp.lookup.ports import ProfileDocument
from cdp.tables import PROFILE_TRAITS, PROFILES, SEGMENT_MEMBERSHIPS, LakeTable, publish, snapshot_path

RUN = "20260301T000000Z-aaaaaa"
NOW = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)


def profile_row(profile_id: str, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "profile_id": profile_id,
        "first_name": "สมชาย",
        "last_name": "ใจดี",
        "emails": [],
        "phones": [],
        "user_ids": [],
        "anonymous_ids": [],
        "sources": ["crm"],
        "first_seen": datetime(2025, 1, 5, 3, 0, tzinfo=UTC),
        "last_seen": datetime(2026, 2, 27, 9, 30, tzinfo=UTC),
        "record_count": 2,
        "order_count": 3,
        "total_spend": 4590.0,
        "rfm_score": "545",
        "r_score": 5,
        "consent": orjson.dumps(
            {"email": {"granted": True, "at": "2026-01-02T03:04:05Z", "source": "crm"}}
        ).decode(),
        "updated_at": NOW,
        "run_id": RUN,
    }
    row.update(fields)
    return row


def trait_row(
    profile_id: str,
    trait: str,
    value: Any,
    *,
    value_type: str | None = None,
    trait_set: str = "transactional",
) -> dict[str, Any]:
    if value_type is None:
        value_type = {bool: "boolean", int: "integer", float: "number"}.get(type(value), "string")
    number = float(value) if value_type in ("boolean", "integer", "number") and value is not None else None
    text = None if value is None else (str(value).lower() if isinstance(value, bool) else str(value))
    return {
        "profile_id": profile_id,
        "trait_set": trait_set,
        "trait": trait,
        "data_type": "behavioural",
        "value_type": value_type,
        "value": text,
        "number_value": number,
        "run_id": RUN,
    }


def membership_row(segment_id: str, profile_id: str, *, exited: bool = False) -> dict[str, Any]:
    return {
        "segment_id": segment_id,
        "profile_id": profile_id,
        "entered_at": datetime(2026, 2, 1, tzinfo=UTC),
        "exited_at": datetime(2026, 2, 20, tzinfo=UTC) if exited else None,
        "run_id": RUN,
    }


def publish_snapshots(
    lake: Path,
    *,
    profiles: Sequence[Mapping[str, Any]] | None,
    traits: Sequence[Mapping[str, Any]] | None = None,
    memberships: Sequence[Mapping[str, Any]] | None = None,
    run_id: str = RUN,
    files_per_table: int = 1,
) -> None:
    """Publish each table given (``None``: leave it unpublished) as ``run_id``'s snapshot."""
    files = LakeFiles(lake)
    for table, rows in ((PROFILES, profiles), (PROFILE_TRAITS, traits), (SEGMENT_MEMBERSHIPS, memberships)):
        if rows is not None:
            write_snapshot(
                files, table, pa.Table.from_pylist(list(rows), schema=table.schema), run_id, files_per_table
            )


def write_snapshot(files: LakeFiles, table: LakeTable, data: pa.Table, run_id: str, parts: int = 1) -> None:
    directory = snapshot_path(table, run_id)
    files.make_parent(f"{directory}/x")
    step = max(1, -(-data.num_rows // parts))
    for index, start in enumerate(range(0, max(data.num_rows, 1), step)):
        pq.write_table(data.slice(start, step), files.path(f"{directory}/part-{index:03d}.parquet"))
    publish(files, table, run_id, data.num_rows)


def documents(
    rows: Iterable[Mapping[str, Any]],
    traits: Mapping[str, Mapping[str, Any]] | None = None,
    segments: Mapping[str, Sequence[str]] | None = None,
) -> list[ProfileDocument]:
    traits = traits or {}
    segments = segments or {}
    return [
        profile_document(row, traits.get(row["profile_id"], {}), segments.get(row["profile_id"], ()))
        for row in rows
    ]
