"""The ingestion domain with in-memory adapters: status codes, partial acceptance, skew, limits."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from cdp.adapters.memory import InMemoryEventSink, InMemoryWriteKeyStore
from cdp.ingestion.ratelimit import TokenBucketLimiter
from cdp.ingestion.service import IngestionService, IngestRequest, IngestResponse
from cdp.settings import IngestionLimits

RECEIVED = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)  # 00:30 on 2 March in Bangkok


class World:
    def __init__(
        self, limits: IngestionLimits | None = None, rate: float = 1000.0, burst: int = 5000
    ) -> None:
        self.sink = InMemoryEventSink()
        self.keys = InMemoryWriteKeyStore()
        self.key = self.keys.create_source("web").write_key
        self.service = IngestionService(
            sink=self.sink,
            keys=self.keys,
            limiter=TokenBucketLimiter(rate_per_second=rate, burst=burst, clock=lambda: 0.0),
            limits=limits or IngestionLimits(),
            zone=ZoneInfo("Asia/Bangkok"),
            clock=lambda: RECEIVED,
        )

    def basic(self, key: str | None = None) -> dict[str, str]:
        token = base64.b64encode(f"{key or self.key}:".encode()).decode()
        return {"authorization": f"Basic {token}"}

    def post(self, call: str, body: object, headers: dict[str, str] | None = None) -> IngestResponse:
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        return self.service.handle(
            IngestRequest(call=call, body=raw, headers=self.basic() if headers is None else headers)
        )


@pytest.fixture
def world() -> World:
    return World()


def test_track_is_stored_with_the_raw_record_columns(world: World) -> None:
    response = world.post(
        "track",
        {
            "event": "Order Completed",
            "userId": "u1",
            "messageId": "m-1",
            "properties": {"revenue": 450.5, "สินค้า": "ข้าวหอมมะลิ"},
            "context": {"traits": {"email": "a@example.com"}},
        },
    )
    assert response.status == 200
    assert response.body == {"success": True, "accepted": 1, "rejected": []}
    [record] = world.sink.events
    assert record["message_id"] == "m-1"
    assert record["type"] == "track"
    assert record["event"] == "Order Completed"
    assert json.loads(record["properties"] or "") == {"revenue": 450.5, "สินค้า": "ข้าวหอมมะลิ"}
    assert "ข้าวหอมมะลิ" in (record["properties"] or "")  # stored as UTF-8, not \u escapes
    assert json.loads(record["context"] or "") == {"traits": {"email": "a@example.com"}}
    assert record["source_id"] == "web"
    assert record["write_key_id"].startswith("wk_")
    assert record["received_at"] == "2026-03-01T17:30:00.000000Z"
    assert record["timestamp"] == record["received_at"]  # no client time: server time
    assert record["dt"] == "2026-03-02"  # business time zone, not UTC


@pytest.mark.parametrize(
    ("alias", "call"), [("t", "track"), ("i", "identify"), ("p", "page"), ("s", "screen"), ("g", "group")]
)
def test_short_aliases_route_to_their_call(world: World, alias: str, call: str) -> None:
    body = {"userId": "u1", "event": "E", "groupId": "g1"}
    assert world.post(alias, body).status == 200
    assert world.sink.events[-1]["type"] == call


def test_alias_call_keeps_previous_id(world: World) -> None:
    assert world.post("a", {"userId": "u1", "previousId": "anon-9"}).status == 200
    assert world.sink.events[-1]["previous_id"] == "anon-9"
    assert world.sink.events[-1]["type"] == "alias"


def test_unknown_call_is_404(world: World) -> None:
    response = world.post("purchase", {"userId": "u1"})
    assert response.status == 404
    assert response.body["code"] == "not_found"


def test_clock_skew_is_corrected_the_segment_way(world: World) -> None:
    # the device clock is 2 hours fast: it says it sent at 12:00 an event from 11:59
    world.post(
        "track",
        {
            "event": "E",
            "userId": "u",
            "timestamp": "2026-03-01T12:00:00+00:00",
            "sentAt": "2026-03-01T12:01:00+00:00",
        },
    )
    record = world.sink.events[-1]
    assert record["timestamp"] == "2026-03-01T17:29:00.000000Z"  # received_at - 1 minute
    assert record["original_timestamp"] == "2026-03-01T12:00:00.000000Z"
    assert record["sent_at"] == "2026-03-01T12:01:00.000000Z"


def test_batch_sent_at_applies_to_events_without_their_own(world: World) -> None:
    world.post(
        "batch",
        {
            "sentAt": "2026-03-01T10:00:10Z",
            "batch": [
                {"type": "track", "event": "A", "userId": "u", "timestamp": "2026-03-01T10:00:00Z"},
                {
                    "type": "track",
                    "event": "B",
                    "userId": "u",
                    "originalTimestamp": "2026-03-01T10:00:00Z",
                    "sentAt": "2026-03-01T10:00:05Z",
                },
            ],
        },
    )
    first, second = world.sink.events
    assert first["timestamp"] == "2026-03-01T17:29:50.000000Z"
    assert second["timestamp"] == "2026-03-01T17:29:55.000000Z"


def test_client_time_without_sent_at_is_kept(world: World) -> None:
    world.post("track", {"event": "E", "userId": "u", "timestamp": "2025-12-31T23:00:00+07:00"})
    assert world.sink.events[-1]["timestamp"] == "2025-12-31T16:00:00.000000Z"


def test_a_mixed_batch_keeps_the_valid_events_and_quarantines_the_rest(world: World) -> None:
    response = world.post(
        "batch",
        {
            "batch": [
                {"type": "track", "event": "Good", "userId": "u1", "messageId": "ok-1"},
                {"type": "track", "userId": "u1", "messageId": "bad-1"},
                "not an object",
                {"type": "purchase", "userId": "u1"},
                {"type": "identify", "anonymousId": "a1", "traits": {"name": "สมหญิง"}},
            ]
        },
    )
    assert response.status == 200
    assert response.body["accepted"] == 2
    assert [(r["index"], r["messageId"]) for r in response.body["rejected"]] == [
        (1, "bad-1"),
        (2, None),
        (3, None),
    ]
    assert "event is required" in response.body["rejected"][0]["error"]
    assert [e["event"] for e in world.sink.events] == ["Good", None]
    assert [(q["event_index"], q["code"]) for q in world.sink.rejections] == [
        (1, "invalid_event"),
        (2, "invalid_event"),
        (3, "invalid_event"),
    ]
    assert json.loads(world.sink.rejections[0]["payload"])["messageId"] == "bad-1"


def test_invalid_single_event_is_400_and_quarantined(world: World) -> None:
    response = world.post("identify", {"traits": {"x": 1}})
    assert response.status == 400
    assert response.body == {"code": "invalid_event", "message": "userId or anonymousId is required"}
    assert world.sink.events == []
    assert world.sink.rejections[0]["call"] == "identify"


def test_message_id_is_generated_when_absent_and_duplicates_in_a_batch_collapse(world: World) -> None:
    world.post(
        "batch",
        {
            "batch": [
                {"type": "track", "event": "A", "userId": "u"},
                {"type": "track", "event": "B", "userId": "u", "messageId": "same"},
                {"type": "track", "event": "C", "userId": "u", "messageId": "same"},
            ]
        },
    )
    ids = [e["message_id"] for e in world.sink.events]
    assert len(ids) == 2
    assert ids[1] == "same"
    assert world.sink.events[1]["event"] == "B"  # the first copy wins
    assert ids[0].startswith("cdp-")


@pytest.mark.parametrize("encoding", ["gzip", "GZIP", "x-gzip"])
def test_gzip_bodies_are_accepted(world: World, encoding: str) -> None:
    body = gzip.compress(json.dumps({"batch": [{"type": "track", "event": "Z", "userId": "u"}]}).encode())
    response = world.post("batch", body, {**world.basic(), "content-encoding": encoding})
    assert response.status == 200
    assert world.sink.events[-1]["event"] == "Z"


def test_bad_gzip_and_unknown_encoding_are_400(world: World) -> None:
    assert (
        world.post("track", b"\x1f\x8bnot gzip", {**world.basic(), "content-encoding": "gzip"}).status == 400
    )
    truncated = gzip.compress(b'{"event": "x", "userId": "u"}')[:-6]
    assert world.post("track", truncated, {**world.basic(), "content-encoding": "gzip"}).status == 400
    assert world.post("track", b"{}", {**world.basic(), "content-encoding": "br"}).status == 400


def test_limits_count_decoded_bytes(world: World) -> None:
    # 600 KiB of JSON that gzips to a few KiB is still too large
    big = {"batch": [{"type": "track", "event": "E", "userId": "u", "properties": {"p": "x" * 600 * 1024}}]}
    body = gzip.compress(json.dumps(big).encode())
    assert len(body) < 10 * 1024
    response = world.post("batch", body, {**world.basic(), "content-encoding": "gzip"})
    assert response.status == 413
    assert response.body["code"] == "request_too_large"


def test_gzip_bomb_is_cut_at_the_limit(world: World) -> None:
    bomb = gzip.compress(b"[" + b" " * (200 * 1024 * 1024) + b"]")
    response = world.post("batch", bomb, {**world.basic(), "content-encoding": "gzip"})
    assert response.status == 413


def test_an_oversized_event_in_a_batch_is_rejected_alone(world: World) -> None:
    response = world.post(
        "batch",
        {
            "batch": [
                {"type": "track", "event": "Big", "userId": "u", "properties": {"p": "x" * 33 * 1024}},
                {"type": "track", "event": "Small", "userId": "u"},
            ]
        },
    )
    assert response.status == 200
    assert response.body["accepted"] == 1
    assert response.body["rejected"][0]["error"].startswith("event_too_large")
    assert [e["event"] for e in world.sink.events] == ["Small"]


def test_an_oversized_single_event_is_413(world: World) -> None:
    response = world.post("track", {"event": "Big", "userId": "u", "properties": {"p": "x" * 33 * 1024}})
    assert response.status == 413
    assert response.body["code"] == "event_too_large"


def test_too_many_events_in_a_batch_is_413() -> None:
    world = World(limits=IngestionLimits(max_batch_events=3))
    response = world.post("batch", {"batch": [{"type": "track", "event": "E", "userId": "u"}] * 4})
    assert response.status == 413
    assert response.body["code"] == "batch_too_large"
    assert world.sink.events == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"{not json", "invalid_json"),
        (b"", "invalid_json"),
        (b"[1, 2]", "invalid_body"),
        (b'"text"', "invalid_body"),
        (b'{"batch": {"type": "track"}}', "invalid_body"),
        (b"\xff\xfe\x00", "invalid_json"),
        (b'{"a": NaN}', "invalid_json"),
    ],
)
def test_malformed_bodies_are_400_with_code_and_message(world: World, body: bytes, code: str) -> None:
    call = "batch" if b"batch" in body else "track"
    response = world.post(call, body)
    assert response.status == 400
    assert response.body["code"] == code
    assert isinstance(response.body["message"], str)


def test_huge_integers_are_read_as_doubles_like_javascript(world: World) -> None:
    body = (
        b'{"batch": [{"type": "track", "event": "Big", "userId": "u", "properties": {"n": '
        + b"9" * 40
        + b'}}, {"type": "track", "event": "Fine", "userId": "u"}]}'
    )
    response = world.post("batch", body)
    assert response.status == 200
    assert [e["event"] for e in world.sink.events] == ["Big", "Fine"]
    assert json.loads(world.sink.events[0]["properties"] or "") == {"n": float("9" * 40)}


def test_auth_basic_or_body_write_key(world: World) -> None:
    assert world.post("track", {"event": "E", "userId": "u"}, headers={}).status == 401
    assert world.post("track", {"event": "E", "userId": "u", "writeKey": world.key}, headers={}).status == 200
    assert world.post("track", {"event": "E", "userId": "u"}, world.basic("wk_wrong")).status == 401
    assert world.post("track", {"event": "E", "userId": "u"}, {"authorization": "Basic %%%"}).status == 401
    assert world.post("track", {"event": "E", "userId": "u"}, {"authorization": "Bearer abc"}).status == 401


def test_revoked_and_rotated_keys_stop_working(world: World) -> None:
    new_key = world.keys.rotate("web").write_key
    assert world.post("track", {"event": "E", "userId": "u"}).status == 401
    assert world.post("track", {"event": "E", "userId": "u"}, world.basic(new_key)).status == 200
    world.keys.revoke("web")
    assert world.post("track", {"event": "E", "userId": "u"}, world.basic(new_key)).status == 401


def test_rate_limit_is_429_with_retry_after() -> None:
    world = World(rate=1.0, burst=2)
    assert world.post("track", {"event": "E", "userId": "u"}).status == 200
    assert world.post("track", {"event": "E", "userId": "u"}).status == 200
    response = world.post("track", {"event": "E", "userId": "u"})
    assert response.status == 429
    assert response.headers["Retry-After"] == "1"
    assert response.body["code"] == "rate_limited"


def test_sink_failure_is_503_so_sdks_retry(world: World) -> None:
    world.sink.fail_next = True
    response = world.post("track", {"event": "E", "userId": "u"})
    assert response.status == 503
    assert response.body["code"] == "sink_unavailable"
    assert world.sink.events == []


def test_a_quarantine_failure_does_not_undo_accepted_events(world: World) -> None:
    class QuarantineDown(InMemoryEventSink):
        def write_rejections(self, rejections: object) -> None:
            from cdp.ingestion.ports import SinkUnavailableError

            raise SinkUnavailableError("quarantine down")

    world.service._sink = sink = QuarantineDown()
    response = world.post(
        "batch", {"batch": [{"type": "track", "event": "E", "userId": "u"}, {"type": "track", "userId": "u"}]}
    )
    assert response.status == 200
    assert [e["event"] for e in sink.events] == ["E"]


def test_batch_context_is_a_default_for_each_event(world: World) -> None:
    world.post(
        "batch",
        {
            "context": {"library": {"name": "analytics-x"}, "locale": "th-TH"},
            "batch": [{"type": "track", "event": "E", "userId": "u", "context": {"locale": "en-US"}}],
        },
    )
    assert json.loads(world.sink.events[0]["context"] or "") == {
        "library": {"name": "analytics-x"},
        "locale": "en-US",
    }


def test_deeply_nested_properties_cost_only_their_event(world: World) -> None:
    deep: object = "leaf"
    for _ in range(300):
        deep = {"d": deep}
    response = world.post(
        "batch",
        {
            "batch": [
                {"type": "track", "event": "Deep", "userId": "u", "properties": deep},
                {"type": "track", "event": "Flat", "userId": "u"},
            ]
        },
    )
    assert response.status == 200
    assert [e["event"] for e in world.sink.events] == ["Flat"]


def test_a_key_store_outage_is_503_not_401(world: World) -> None:
    from cdp.sources.keys import KeyIdentity, KeyStoreUnavailableError

    class KeyStoreDown(InMemoryWriteKeyStore):
        def authenticate(self, write_key: str) -> KeyIdentity | None:
            raise KeyStoreUnavailableError("table unreachable")

    world.service._keys = KeyStoreDown()
    response = world.post("track", {"event": "E", "userId": "u"})
    assert response.status == 503
    assert response.body["code"] == "service_unavailable"
    assert response.headers["Retry-After"] == "1"
    assert world.sink.events == []


def test_segment_consent_preferences_are_stored_on_any_call(world: World) -> None:
    preferences = {"Advertising": True, "Analytics": False, "C0004": True}
    for call in ("track", "page", "identify"):
        body: dict[str, object] = {
            "userId": "u",
            "context": {"consent": {"categoryPreferences": preferences}},
        }
        if call == "track":
            body["event"] = "Segment Consent Preference Updated"
        assert world.post(call, body).status == 200
    assert [json.loads(e["context"] or "") for e in world.sink.events] == [
        {"consent": {"categoryPreferences": preferences}}
    ] * 3


@pytest.mark.parametrize(
    ("consent", "reason"),
    [
        ("yes", "context: consent must be an object"),
        (
            {"categoryPreferences": ["Advertising"]},
            "context: consent.categoryPreferences must be an object of category: true|false",
        ),
        (
            {"categoryPreferences": {"Advertising": "true"}},
            "context: consent.categoryPreferences.Advertising must be true or false",
        ),
        (
            {"categoryPreferences": {"Advertising": 1}},
            "context: consent.categoryPreferences.Advertising must be true or false",
        ),
        (
            {"categoryPreferences": {"Ads": True, "ads": False}},
            "context: consent.categoryPreferences: 'Ads' and 'ads' differ only in case",
        ),
        (
            {"categoryPreferences": {" ": True}},
            "context: consent.categoryPreferences: a category must be 1 to 128 characters",
        ),
    ],
)
def test_a_malformed_consent_object_rejects_its_event_with_the_reason(
    world: World, consent: object, reason: str
) -> None:
    response = world.post(
        "batch",
        {
            "batch": [
                {"type": "track", "event": "E", "userId": "u", "context": {"consent": consent}},
                {"type": "track", "event": "E", "userId": "u", "context": {"consent": {}}},
            ]
        },
    )
    assert response.status == 200
    assert response.body["accepted"] == 1
    assert [r["error"] for r in response.body["rejected"]] == [f"invalid_event: {reason}"]
    assert world.sink.rejections[0]["reason"] == reason


def test_a_malformed_consent_object_in_the_batch_context_is_400(world: World) -> None:
    response = world.post(
        "batch",
        {
            "context": {"consent": {"categoryPreferences": {"Advertising": None}}},
            "batch": [{"type": "track", "event": "E", "userId": "u"}],
        },
    )
    assert response.status == 400
    assert response.body == {
        "code": "invalid_body",
        "message": "batch context: consent.categoryPreferences.Advertising must be true or false",
    }
    assert world.sink.events == []
