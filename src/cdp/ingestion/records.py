"""The raw event record of SPEC 3.3 and the quarantine record, as written to the lake.

Both are plain dicts of JSON-ready values (strings, ``None``) so every sink can serialize them with one
``orjson.dumps`` and the local lake, Firehose and Athena all see the same bytes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypedDict

RAW_EVENT_COLUMNS: tuple[str, ...] = (
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
)


class RawEventRecord(TypedDict):
    """One accepted event. JSON columns hold JSON text; times are ISO-8601 UTC strings."""

    message_id: str
    type: str
    event: str | None
    name: str | None
    user_id: str | None
    anonymous_id: str | None
    previous_id: str | None
    group_id: str | None
    traits: str | None
    properties: str | None
    context: str | None
    integrations: str | None
    timestamp: str
    original_timestamp: str | None
    sent_at: str | None
    received_at: str
    source_id: str
    write_key_id: str
    dt: str


class QuarantinedEvent(TypedDict):
    """One rejected event with the reason, kept so nothing a client sent is silently lost."""

    quarantined_at: str
    source_id: str
    write_key_id: str
    call: str
    event_index: int | None
    message_id: str | None
    code: str
    reason: str
    payload: str
    dt: str


def iso_utc(moment: datetime) -> str:
    """``2026-11-28T08:03:13.123456Z``: fixed width, so string order is time order."""
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
