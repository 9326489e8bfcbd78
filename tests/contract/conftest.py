"""Every adapter of a port passes the same contract (STYLE 2).

Each port's fixture is parametrized over its implementations; the AWS adapters join these lists with
moto-backed factories, so one test body checks them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from cdp.adapters.local_keys import LocalWriteKeyStore
from cdp.adapters.local_sink import LocalLakeEventSink
from cdp.adapters.memory import InMemoryEventSink, InMemoryWriteKeyStore
from cdp.ingestion.ports import EventSink
from cdp.ingestion.records import QuarantinedEvent, RawEventRecord
from cdp.lake import LocalLake
from cdp.query.catalog import run_query
from cdp.sources.keys import WriteKeyStore


class SinkUnderTest:
    """A sink plus a way to read back what it durably stored (the contract is about stored rows)."""

    def __init__(
        self,
        sink: EventSink,
        stored_events: Callable[[], list[dict[str, Any]]],
        stored_rejections: Callable[[], list[dict[str, Any]]],
    ) -> None:
        self.sink = sink
        self.stored_events = stored_events
        self.stored_rejections = stored_rejections


@contextmanager
def _memory_sink(_: Path) -> Iterator[SinkUnderTest]:
    sink = InMemoryEventSink()
    yield SinkUnderTest(
        sink,
        lambda: [{k: v for k, v in e.items() if k != "dt"} | {"dt": e["dt"]} for e in sink.events],
        lambda: [dict(r) for r in sink.rejections],
    )


@contextmanager
def _local_sink(tmp: Path) -> Iterator[SinkUnderTest]:
    lake = LocalLake.at(tmp / "lake")
    yield SinkUnderTest(
        LocalLakeEventSink(lake),
        lambda: run_query(lake, "SELECT * FROM raw_events ORDER BY received_at, message_id").to_pylist(),
        lambda: run_query(lake, "SELECT * FROM quarantine_events ORDER BY event_index").to_pylist(),
    )


@contextmanager
def _memory_keys(_: Path) -> Iterator[WriteKeyStore]:
    yield InMemoryWriteKeyStore()


@contextmanager
def _local_keys(tmp: Path) -> Iterator[WriteKeyStore]:
    yield LocalWriteKeyStore(LocalLake.at(tmp / "lake"))


# Factories are context managers so an adapter can hold a moto mock (or a server) for one test.
SINK_FACTORIES: dict[str, Callable[[Path], AbstractContextManager[SinkUnderTest]]] = {
    "memory": _memory_sink,
    "local-lake": _local_sink,
}
KEY_STORE_FACTORIES: dict[str, Callable[[Path], AbstractContextManager[WriteKeyStore]]] = {
    "memory": _memory_keys,
    "local-lake": _local_keys,
}


@pytest.fixture(params=sorted(SINK_FACTORIES))
def sink_under_test(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SinkUnderTest]:
    with SINK_FACTORIES[request.param](tmp_path) as under_test:
        yield under_test


@pytest.fixture(params=sorted(KEY_STORE_FACTORIES))
def key_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WriteKeyStore]:
    with KEY_STORE_FACTORIES[request.param](tmp_path) as store:
        yield store


def raw_event(
    message_id: str, *, dt: str = "2026-03-02", received_at: str = "2026-03-01T17:30:00.000000Z"
) -> RawEventRecord:
    return RawEventRecord(
        message_id=message_id,
        type="track",
        event="Order Completed",
        name=None,
        user_id="u1",
        anonymous_id=None,
        previous_id=None,
        group_id=None,
        traits=None,
        properties='{"revenue":450.5,"สินค้า":"ข้าว"}',
        context='{"traits":{"email":"a@example.com"}}',
        integrations=None,
        timestamp=received_at,
        original_timestamp=None,
        sent_at=None,
        received_at=received_at,
        source_id="web",
        write_key_id="wk_0123456789ab",
        dt=dt,
    )


def quarantined(index: int) -> QuarantinedEvent:
    return QuarantinedEvent(
        quarantined_at="2026-03-01T17:30:00.000000Z",
        source_id="web",
        write_key_id="wk_0123456789ab",
        call="batch",
        event_index=index,
        message_id=None,
        code="invalid_event",
        reason="event is required",
        payload='{"type":"track","userId":"u1"}',
        dt="2026-03-02",
    )
