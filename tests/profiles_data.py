"""A small lake for the profiles step: records, links, events, orders and consent rows written straight in as
published snapshots (the step's inputs), so each test states exactly the case it checks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from cdp.engine.duckdb_engine import DuckDbEngine
from cdp.engine.port import Engine
from cdp.imports.fields import IMPORT_ROWS_SCHEMA
from cdp.imports.layout import manifest_key, rows_key
from cdp.lakefs import LakeFiles
from cdp.pipeline.runner import RunReport, run_pipeline
from cdp.profiles.windows import business_date
from cdp.tables import EVENTS, IDENTITY_LINKS, ORDERS, PROFILE_TRAITS, LakeTable, publish, snapshot_path
from tests.identity_data import publish_records, table_rows

#: the runs' reference time: 12:00 in Bangkok on 31 March 2026
AS_OF = datetime(2026, 3, 31, 5, 0, tzinfo=UTC)
SALT = bytes(range(32))


def publish_rows(files: LakeFiles, table: LakeTable, rows: list[dict[str, Any]], run_id: str = "in") -> None:
    directory = snapshot_path(table, run_id)
    files.delete_dir(directory)
    target = Path(files.path(directory))
    target.mkdir(parents=True)
    full = [{**dict.fromkeys(table.schema.names), **row} for row in rows]
    pq.write_table(pa.Table.from_pylist(full, schema=table.schema), target / "part-00000.parquet")
    publish(files, table, run_id, len(rows))


def links(profiles: dict[str, list[str]]) -> list[dict[str, Any]]:
    return [
        {"record_id": record_id, "profile_id": profile_id, "matched_by": "email", "match_probability": 1.0}
        for profile_id, records in profiles.items()
        for record_id in records
    ]


def event(
    message_id: str,
    record_id: str,
    at: datetime,
    *,
    kind: str = "track",
    name: str | None = None,
    traits: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
    channel: str | None = None,
    source_id: str = "app",
) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "type": kind,
        "event": name if kind == "track" else None,
        "name": name if kind in {"page", "screen"} else None,
        "traits": orjson.dumps(traits).decode() if traits is not None else None,
        "context": orjson.dumps(context).decode() if context is not None else None,
        "properties": "{}",
        "event_time": at,
        "received_at": at,
        "source_id": source_id,
        "channel": channel,
        "identity_record_id": record_id,
        "dt": business_date(at).isoformat(),
    }


def order_line(
    order_id: str,
    record_id: str,
    at: datetime,
    *,
    total: float | None = None,
    quantity: int | None = None,
    price: float | None = None,
    category: str | None = None,
    channel: str | None = None,
    source_id: str = "shop",
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "source_id": source_id,
        "origin": "event" if source_id == "app" else "import",
        "identity_record_id": record_id,
        "order_time": at,
        "order_total": total,
        "currency": "THB",
        "category": category,
        "quantity": quantity,
        "unit_price": price,
        "channel": channel,
    }


def consent_row(
    source_id: str, row_key: str, *, updated_at: str, row_number: int = 1, **consent: bool
) -> dict[str, Any]:
    """An imported row carrying ``consent_<purpose>`` columns (the record ``<source>:<row_key>``)."""
    row: dict[str, Any] = dict.fromkeys(IMPORT_ROWS_SCHEMA.names)
    row.update(
        source_id=source_id,
        import_id="feed000000000001",
        file_name="consent.csv",
        row_number=row_number,
        row_key=row_key,
        kind="consent",
        imported_at="2026-03-30T00:00:00.000000Z",
        updated_at=updated_at,
        **{f"consent_{purpose}": value for purpose, value in consent.items()},
    )
    return row


def write_import_rows(files: LakeFiles, rows: list[dict[str, Any]]) -> None:
    """Rows of one completed import (the manifest is what makes it visible to the pipeline)."""
    source, import_id = rows[0]["source_id"], rows[0]["import_id"]
    target = Path(files.path(rows_key(source, import_id)))
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=IMPORT_ROWS_SCHEMA), target)
    files.write_bytes(manifest_key(source, import_id), b"{}")


def build_lake(
    files: LakeFiles,
    *,
    records: list[dict[str, Any]],
    profiles: dict[str, list[str]],
    events: Sequence[dict[str, Any]] = (),
    orders: Sequence[dict[str, Any]] = (),
    import_rows: Sequence[dict[str, Any]] = (),
) -> None:
    publish_records(files, records, "in")
    publish_rows(files, IDENTITY_LINKS, links(profiles))
    publish_rows(files, EVENTS, list(events))
    publish_rows(files, ORDERS, list(orders))
    if import_rows:
        write_import_rows(files, list(import_rows))


def build_profiles(
    files: LakeFiles,
    run_id: str = "p-1",
    *,
    as_of: datetime = AS_OF,
    salt: bytes = SALT,
    engine: Engine | None = None,
) -> RunReport:
    runner = engine or DuckDbEngine()
    try:
        return run_pipeline(files, runner, steps=["profiles"], run_id=run_id, as_of=as_of, salt=salt)
    finally:
        if engine is None:
            runner.close()


def by_profile(files: LakeFiles, table: LakeTable) -> dict[str, dict[str, Any]]:
    return {row["profile_id"]: row for row in table_rows(files, table)}


def traits_of(files: LakeFiles, profile_id: str) -> dict[str, Any]:
    return {
        row["trait"]: row["value"]
        for row in table_rows(files, PROFILE_TRAITS)
        if row["profile_id"] == profile_id
    }
