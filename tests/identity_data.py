"""Identity records written straight into a lake as a published snapshot, for resolve-step tests, and a
small deterministic pair scorer that stands in for the probabilistic matcher."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from cdp.engine.duckdb_engine import DuckDbEngine
from cdp.engine.port import Engine
from cdp.identity.resolution import PairScorer
from cdp.lakefs import LakeFiles
from cdp.pipeline.runner import RunReport, run_pipeline
from cdp.tables import (
    IDENTITY_LINKS,
    IDENTITY_RECORDS,
    LakeTable,
    current,
    publish,
    snapshot_files,
    snapshot_path,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def record(record_id: str, *, day: int = 0, **values: Any) -> dict[str, Any]:
    """An identity record with standardized values (``first_seen`` = T0 + ``day`` days)."""
    row: dict[str, Any] = dict.fromkeys(IDENTITY_RECORDS.schema.names)
    row.update(
        record_id=record_id,
        source_id=values.pop("source_id", "crm"),
        origin=values.pop("origin", "import"),
        kind="customers",
        source_record_key=values.pop("source_record_key", record_id),
        first_seen=T0 + timedelta(days=day),
        last_seen=T0 + timedelta(days=day),
        run_id="std",
    )
    if "first_name" in values and "name_script" not in values:
        values["name_script"] = (
            "thai" if any("\u0e00" <= c <= "\u0e7f" for c in values["first_name"]) else "latin"
        )
    row.update(values)
    return row


def publish_records(files: LakeFiles, rows: list[dict[str, Any]], run_id: str) -> None:
    directory = snapshot_path(IDENTITY_RECORDS, run_id)
    files.delete_dir(directory)
    target = Path(files.path(directory))
    target.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=IDENTITY_RECORDS.schema), target / "part-00000.parquet")
    publish(files, IDENTITY_RECORDS, run_id, len(rows))


def resolve_lake(
    files: LakeFiles,
    run_id: str,
    *,
    engine: Engine | None = None,
    scorer: PairScorer | None = None,
) -> RunReport:
    runner = engine or DuckDbEngine()
    try:
        return run_pipeline(files, runner, steps=["resolve"], run_id=run_id, scorer=scorer)
    finally:
        if engine is None:
            runner.close()


def table_rows(files: LakeFiles, table: LakeTable) -> list[dict[str, Any]]:
    paths = snapshot_files(files, current(files, table))
    return [row for path in paths for row in pq.read_table(path).to_pylist()]


def profiles(files: LakeFiles) -> dict[str, str]:
    """record_id → profile_id of the published links."""
    return {row["record_id"]: row["profile_id"] for row in table_rows(files, IDENTITY_LINKS)}


def clusters(files: LakeFiles) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for record_id, profile_id in profiles(files).items():
        groups.setdefault(profile_id, set()).add(record_id)
    return {frozenset(group) for group in groups.values()}


def same_last_name_and_postcode_scorer(records: pa.Table) -> pa.Table:
    """A real (if naive) scorer: records with the same last name and postcode score 0.97, plus 0.02 when
    their first names share an initial. Pairs are scored over the rows it is given, never canned."""
    rows = records.select(["record_id", "first_name", "last_name", "postcode"]).to_pylist()
    pairs: list[dict[str, Any]] = []
    for index, left in enumerate(rows):
        for right in rows[index + 1 :]:
            if not left["last_name"] or left["last_name"] != right["last_name"]:
                continue
            if not left["postcode"] or left["postcode"] != right["postcode"]:
                continue
            initial = (left["first_name"] or "?")[:1] == (right["first_name"] or "!")[:1]
            probability = 0.97 + (0.02 if initial else 0.0)
            low, high = sorted((left["record_id"], right["record_id"]))
            pairs.append(
                {
                    "record_id_l": low,
                    "record_id_r": high,
                    "match_probability": probability,
                    "match_weight": 5.0,
                    "evidence": '{"last_name": "exact", "postcode": "exact"}',
                }
            )
    schema = pa.schema(
        [
            ("record_id_l", pa.string()),
            ("record_id_r", pa.string()),
            ("match_probability", pa.float64()),
            ("match_weight", pa.float64()),
            ("evidence", pa.string()),
        ]
    )
    return pa.Table.from_pylist(pairs, schema=schema)
