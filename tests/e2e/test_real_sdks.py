"""Unmodified Segment and RudderStack SDKs, only the host changed, against ``cdp serve``."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from rudderstack.analytics.client import Client as RudderClient
from segment.analytics import Client as SegmentClient

from tests.e2e.conftest import RunningServer, cdp, query_json


def _key(server: RunningServer, source: str) -> str:
    result = cdp("sources", "add", source, lake=server.lake)
    assert result.code == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def _rows_for(server: RunningServer, source: str, expected: int) -> list[dict[str, Any]]:
    """Poll ``cdp query`` (a separate process, while the server runs) for up to 5 s (SPEC 3.2)."""
    deadline = time.monotonic() + 5
    while True:
        rows = query_json(
            f"SELECT * FROM raw_events WHERE source_id = '{source}' ORDER BY message_id", server.lake
        )
        if len(rows) >= expected or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_segment_python_sdk_events_land_once_each(server: RunningServer) -> None:
    errors: list[str] = []
    client = SegmentClient(
        write_key=_key(server, "web"),
        host=server.url,
        on_error=lambda error, _batch: errors.append(repr(error)),
        gzip=True,
    )
    when = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
    client.identify(
        "user-1",
        {"first_name": "สมชาย", "last_name": "ใจดี", "email": "somchai@example.co.th"},
        anonymous_id="anon-1",
        message_id="seg-identify-1",
    )
    client.track(
        "user-1",
        "Order Completed",
        {"order_id": "ORD-1", "revenue": 1290.0, "currency": "THB", "products": [{"sku": "SKU-FAN-16"}]},
        timestamp=when,
        message_id="seg-track-1",
    )
    client.page("user-1", "Shop", "หน้าแรก", {"path": "/"}, message_id="seg-page-1")
    client.screen("user-1", "App", "Home", message_id="seg-screen-1")
    client.group(
        "user-1", "company-9", {"name": "บริษัท ตัวอย่าง จำกัด", "employees": 120}, message_id="seg-group-1"
    )
    client.alias("anon-1", "user-1", message_id="seg-alias-1")
    client.track("user-1", "Order Completed", {"order_id": "ORD-1"}, message_id="seg-track-1")  # a retry
    client.flush()
    client.shutdown()
    assert errors == []

    rows = _rows_for(server, "web", 6)
    assert [row["message_id"] for row in rows] == [
        "seg-alias-1",
        "seg-group-1",
        "seg-identify-1",
        "seg-page-1",
        "seg-screen-1",
        "seg-track-1",
    ]
    by_id = {row["message_id"]: row for row in rows}
    assert json.loads(by_id["seg-identify-1"]["traits"])["first_name"] == "สมชาย"
    assert by_id["seg-identify-1"]["anonymous_id"] == "anon-1"
    track = by_id["seg-track-1"]
    assert json.loads(track["properties"])["revenue"] == 1290.0  # the first copy won
    assert json.loads(track["properties"])["products"] == [{"sku": "SKU-FAN-16"}]
    assert json.loads(track["context"])["library"]["name"] == "analytics-python"
    # client and server clocks agree here, so the corrected time is the client's, to within a second
    corrected = datetime.fromisoformat(track["timestamp"].replace("Z", "+00:00"))
    assert abs(corrected - when) < timedelta(seconds=5) or track["sent_at"] is not None
    assert by_id["seg-group-1"]["group_id"] == "company-9"
    assert json.loads(by_id["seg-group-1"]["traits"])["name"] == "บริษัท ตัวอย่าง จำกัด"
    assert by_id["seg-alias-1"]["previous_id"] == "anon-1"
    assert by_id["seg-page-1"]["name"] == "หน้าแรก"
    assert all(row["source_id"] == "web" and row["write_key_id"].startswith("wk_") for row in rows)


def test_rudderstack_python_sdk_gzip_events_land_with_context_traits(server: RunningServer) -> None:
    errors: list[str] = []
    client = RudderClient(
        write_key=_key(server, "app"),
        host=server.url,
        on_error=lambda error, _batch: errors.append(repr(error)),
        gzip=True,
    )
    client.identify("user-2", {"first_name": "ศิริพร", "phone": "+66812345678"}, message_id="rs-identify-1")
    client.track("user-2", "Product Viewed", {"name": "ข้าวหอมมะลิ 5 กก."}, message_id="rs-track-1")
    client.screen("user-2", name="Home", properties={"variant": "th"}, message_id="rs-screen-1")
    client.flush()
    client.shutdown()
    assert errors == []

    rows = _rows_for(server, "app", 3)
    by_id = {row["message_id"]: row for row in rows}
    assert sorted(by_id) == ["rs-identify-1", "rs-screen-1", "rs-track-1"]
    # RudderStack puts identify traits in context.traits: kept intact in the raw record
    context = json.loads(by_id["rs-identify-1"]["context"])
    assert context["traits"] == {"first_name": "ศิริพร", "phone": "+66812345678"}
    assert json.loads(by_id["rs-track-1"]["properties"]) == {"name": "ข้าวหอมมะลิ 5 กก."}
    assert by_id["rs-screen-1"]["name"] == "Home"
