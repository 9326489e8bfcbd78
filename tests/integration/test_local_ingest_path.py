"""The real Lambda handler, wired to the local lake, read back with the Athena twin."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cdp.adapters.local_keys import LocalWriteKeyStore
from cdp.lake import LocalLake
from cdp.query.catalog import run_query
from cdp.settings import IngestionSettings
from cdp.wiring import build_ingestion_service
from tests.segment_calls import call_ingest_handler

os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
from lambdas.ingest import handler


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[LocalLake]:
    lake = LocalLake.at(tmp_path / "lake")
    handler.use_service(build_ingestion_service(IngestionSettings(lake=str(lake.root))))
    yield lake
    handler.use_service(None)


@pytest.fixture
def write_key(lake: LocalLake) -> str:
    return LocalWriteKeyStore(lake).create_source("web").write_key


def invoke(path: str, body: object, key: str) -> tuple[int, dict[str, Any]]:
    result = call_ingest_handler(path, body, key)
    return result["statusCode"], json.loads(result["body"])


def test_events_posted_through_the_handler_are_queryable(lake: LocalLake, write_key: str) -> None:
    status, body = invoke(
        "/v1/identify",
        {
            "userId": "u-1",
            "traits": {"first_name": "สมชาย", "email": "somchai@example.co.th"},
            "messageId": "i-1",
        },
        write_key,
    )
    assert (status, body["accepted"]) == (200, 1)
    [row] = run_query(lake, "SELECT * FROM raw_events").to_pylist()
    assert row["message_id"] == "i-1"
    assert row["type"] == "identify"
    assert row["source_id"] == "web"
    assert json.loads(row["traits"])["first_name"] == "สมชาย"
    files = list(lake.path("raw/events").glob("dt=*/*.jsonl"))
    assert len(files) == 1
    assert files[0].parent.name == f"dt={row['dt']}"


def test_a_message_stored_twice_is_one_row_and_the_first_wins(lake: LocalLake, write_key: str) -> None:
    invoke("/v1/track", {"event": "First", "userId": "u", "messageId": "dup"}, write_key)
    invoke(
        "/v1/batch",
        {"batch": [{"type": "track", "event": "Retry", "userId": "u", "messageId": "dup"}]},
        write_key,
    )
    invoke("/v1/t", {"event": "Other", "userId": "u", "messageId": "other"}, write_key)
    rows = run_query(lake, "SELECT message_id, event FROM raw_events ORDER BY message_id").to_pylist()
    assert rows == [{"message_id": "dup", "event": "First"}, {"message_id": "other", "event": "Other"}]
    assert len(list(lake.path("raw/events").glob("dt=*/*.jsonl"))) == 3  # the files keep both copies


def test_rejected_events_are_queryable_in_quarantine(lake: LocalLake, write_key: str) -> None:
    status, body = invoke(
        "/v1/batch",
        {"batch": [{"type": "track", "event": "Ok", "userId": "u"}, {"type": "alias", "userId": "u"}]},
        write_key,
    )
    assert status == 200
    assert body["rejected"][0]["index"] == 1
    [row] = run_query(lake, "SELECT source_id, event_index, code, reason FROM quarantine_events").to_pylist()
    assert row == {
        "source_id": "web",
        "event_index": 1,
        "code": "invalid_event",
        "reason": "previousId is required",
    }


def test_athena_sql_is_transpiled_for_duckdb(lake: LocalLake, write_key: str) -> None:
    invoke(
        "/v1/track", {"event": "Order Completed", "userId": "u", "properties": {"revenue": 99.5}}, write_key
    )
    rows = run_query(
        lake,
        "SELECT CAST(json_extract_scalar(properties, '$.revenue') AS DOUBLE) AS revenue, "
        "date_format(from_iso8601_timestamp(received_at), '%Y') AS year FROM raw_events",
    ).to_pylist()
    assert rows[0]["revenue"] == 99.5
    assert len(rows[0]["year"]) == 4


def test_readers_never_see_partial_files_while_writers_write(lake: LocalLake, write_key: str) -> None:
    batch = [
        {"type": "track", "event": "E", "userId": f"u{i}", "properties": {"pad": "ข" * 500}}
        for i in range(200)
    ]
    errors: list[BaseException] = []
    counts: list[int] = []
    done = threading.Event()

    def write() -> None:
        try:
            for _ in range(15):
                invoke("/v1/batch", {"batch": batch}, write_key)
        finally:
            done.set()

    writer = threading.Thread(target=write)
    writer.start()
    while not done.is_set():
        try:
            counts.append(run_query(lake, "SELECT count(*) AS n FROM raw_events").column("n")[0].as_py())
        except Exception as error:  # pragma: no cover - this is the failure being tested for
            errors.append(error)
    writer.join()
    assert errors == []
    assert all(count % 200 == 0 for count in counts)  # whole files only
    assert counts == sorted(counts)
    assert run_query(lake, "SELECT count(*) AS n FROM raw_events").column("n")[0].as_py() == 3000


def test_an_empty_lake_has_empty_tables_with_the_spec_columns(lake: LocalLake) -> None:
    table = run_query(lake, "SELECT * FROM raw_events")
    assert table.num_rows == 0
    assert table.column_names[:18] == [
        "message_id",
        "type",
        "event",
        "name",
        "user_id",
        "anonymous_id",
        "previous_id",
        "group_id",
        "traits",
        "properties",
        "context",
        "integrations",
        "timestamp",
        "original_timestamp",
        "sent_at",
        "received_at",
        "source_id",
        "write_key_id",
    ]
