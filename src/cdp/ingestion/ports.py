"""Ports the ingestion domain needs; adapters live in :mod:`cdp.adapters`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from cdp.ingestion.records import QuarantinedEvent, RawEventRecord


class SinkUnavailableError(RuntimeError):
    """The sink could not durably take the records; the client should retry (HTTP 503)."""


class EventSink(Protocol):
    """Where accepted events and rejected ones go. Writes are all-or-nothing per call.

    Records carry ``dt`` (the business-time-zone date partition); a sink stores it as the partition, not as a
    column.
    """

    def write_events(self, records: Sequence[RawEventRecord]) -> None: ...

    def write_rejections(self, rejections: Sequence[QuarantinedEvent]) -> None: ...
