"""Regressions found by fuzzing the ingest API (tests/integration/test_ingest_fuzz.py): client input that
raised out of the service (a 5xx from API Gateway, 502 from ``cdp serve``) or cost a batch its valid events.

The local server's own regressions (concurrent invocations, short bodies, unknown methods) need real
sockets and live in tests/e2e/test_ingest_fuzz_http.py.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from cdp.adapters.memory import InMemoryEventSink, InMemoryWriteKeyStore
from cdp.ingestion.ratelimit import TokenBucketLimiter
from cdp.ingestion.service import IngestionService, IngestRequest, IngestResponse
from cdp.settings import IngestionLimits


class World:
    def __init__(self) -> None:
        self.sink = InMemoryEventSink()
        keys = InMemoryWriteKeyStore()
        self.key = keys.create_source("web").write_key
        self.service = IngestionService(
            sink=self.sink,
            keys=keys,
            limiter=TokenBucketLimiter(rate_per_second=1000.0, burst=5000, clock=lambda: 0.0),
            limits=IngestionLimits(),
            zone=ZoneInfo("Asia/Bangkok"),
            clock=lambda: datetime(2026, 3, 1, 17, 30, tzinfo=UTC),
        )

    def post(self, call: str, body: bytes, authorization: str | None = None) -> IngestResponse:
        token = base64.b64encode(f"{self.key}:".encode()).decode()
        headers = {"authorization": f"Basic {token}" if authorization is None else authorization}
        return self.service.handle(IngestRequest(call=call, body=body, headers=headers))


@pytest.fixture
def world() -> World:
    return World()


GOOD = b'{"type": "track", "event": "Kept", "userId": "u"}'


def batch(*events: bytes) -> bytes:
    return b'{"batch": [' + b", ".join(events) + b"]}"


@pytest.mark.parametrize("credentials", ["é", "\x80abc", "\ud800", "ｗｋ＿ｋｅｙ"])
def test_non_ascii_basic_credentials_are_401_not_an_exception(world: World, credentials: str) -> None:
    # base64.b64decode raises a plain ValueError (not binascii.Error) for non-ASCII text
    response = world.post("track", GOOD, authorization=f"Basic {credentials}")
    assert (response.status, response.body["code"]) == (401, "unauthorized")


@pytest.mark.parametrize("kind", [b"[]", b'["track"]', b'{"a": 1}'])
def test_a_type_that_is_an_array_or_object_rejects_only_its_event(world: World, kind: bytes) -> None:
    # ``[] in frozenset(...)`` raises TypeError: unhashable type
    response = world.post("batch", batch(b'{"type": ' + kind + b', "userId": "u"}', GOOD))
    assert response.status == 200
    assert response.body["accepted"] == 1
    assert [r["index"] for r in response.body["rejected"]] == [0]
    assert response.body["rejected"][0]["error"].startswith("invalid_event: type must be one of")
    assert [e["event"] for e in world.sink.events] == ["Kept"]


@pytest.mark.parametrize(
    "times",
    [
        # the corrected timestamp is fine, but originalTimestamp itself has no UTC equivalent
        b'"originalTimestamp": "0001-01-01T00:00:00+05:00", "sentAt": "0001-01-01T00:00:01+05:00"',
        # ... or sentAt has none
        b'"timestamp": "9999-12-31T18:00:00Z", "sentAt": "9999-12-31T23:59:59-05:00"',
        b'"timestamp": "9999-12-31T23:00:00-05:00", "sentAt": "9999-12-31T23:00:01-05:00"',
    ],
)
def test_times_with_no_utc_equivalent_reject_their_event(world: World, times: bytes) -> None:
    odd = b'{"type": "track", "event": "Odd", "userId": "u", ' + times + b"}"
    response = world.post("batch", batch(odd, GOOD))
    assert response.status == 200
    assert [(r["index"], r["error"]) for r in response.body["rejected"]] == [
        (0, "invalid_event: timestamp is out of range")
    ]
    assert [e["event"] for e in world.sink.events] == ["Kept"]


def test_a_batch_sent_at_with_no_utc_equivalent_rejects_events_not_the_request(world: World) -> None:
    event = b'{"type": "track", "event": "E", "userId": "u", "timestamp": "0001-01-01T00:00:00+01:00"}'
    body = b'{"sentAt": "0001-01-01T00:00:00+01:00", "batch": [' + event + b"]}"
    response = world.post("batch", body)
    assert response.status == 200
    assert response.body["rejected"][0]["error"] == "invalid_event: timestamp is out of range"


def test_a_batch_context_too_deep_to_store_is_400(world: World) -> None:
    # it is merged into every event's context; orjson writes at most 254 levels
    deep = b'{"d": ' * 260 + b"1" + b"}" * 260
    response = world.post("batch", b'{"context": ' + deep + b', "batch": [' + GOOD + b"]}")
    assert response.status == 400
    assert response.body == {"code": "invalid_body", "message": "batch context is nested too deeply"}
    assert world.sink.events == []


@pytest.mark.parametrize("depth", [300, 1000, 1020])
def test_an_event_nested_deeper_than_repr_can_go_is_quarantined_alone(world: World, depth: int) -> None:
    # orjson reads up to 1,024 levels; the quarantine copy fell back to repr(), which raised RecursionError
    deep = b"[" * depth + b"1" + b"]" * depth
    response = world.post("batch", batch(deep, GOOD))
    assert response.status == 200
    assert [r["index"] for r in response.body["rejected"]] == [0]
    assert [e["event"] for e in world.sink.events] == ["Kept"]
    [kept] = world.sink.rejections
    assert kept["event_index"] == 0
    assert kept["payload"]


def test_a_lone_surrogate_escape_costs_nothing_and_reads_as_a_replacement_character(world: World) -> None:
    # JSON.stringify writes a string cut inside an emoji as "\ud83d"; orjson refused the whole body
    cut = b'{"type": "track", "event": "Cut \\ud83d", "userId": "u", "properties": {"k\\udc00": "\\ud800x"}}'
    response = world.post("batch", batch(cut, GOOD))
    assert response.body == {"success": True, "accepted": 2, "rejected": []}
    first, second = world.sink.events
    assert first["event"] == "Cut \ufffd"
    assert json.loads(first["properties"] or "") == {"k\ufffd": "\ufffdx"}
    assert second["event"] == "Kept"


@pytest.mark.parametrize(
    ("escaped", "read"),
    [
        (b"\\ud83d\\ude00", "\U0001f600"),  # a proper pair is one character
        (b"\\\\ud800", "\\ud800"),  # an escaped backslash then text, not an escape
        (b"\\\\\\ud800", "\\\ufffd"),  # a backslash, then a lone surrogate
        (b"\\ud800\\ud800", "\ufffd\ufffd"),  # two highs are two lone surrogates
        (b"\\uDBFF\\uDFFF", "\U0010ffff"),  # upper case, the last pair
    ],
)
def test_surrogate_repair_touches_only_lone_surrogates(world: World, escaped: bytes, read: str) -> None:
    body = b'{"event": "E", "userId": "u", "properties": {"s": "' + escaped + b'"}, "x": "\\ud800"}'
    assert world.post("track", body).status == 200
    assert json.loads(world.sink.events[0]["properties"] or "") == {"s": read}


@pytest.mark.parametrize("body", [b'{"a": "\\ud800', b'{"a": "\\ud800"', b"\xed\xa0\x80", b'"\\ud800"'])
def test_bodies_still_broken_after_the_repair_are_400(world: World, body: bytes) -> None:
    response = world.post("track", body)
    assert response.status == 400
    assert response.body["code"] in ("invalid_json", "invalid_body")
