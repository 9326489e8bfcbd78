"""The ingestion domain: one HTTP request in, stored and quarantined events out (SPEC 3.2, 3.3).

Transport-free: the Lambda handler and ``cdp serve`` both turn their request into an :class:`IngestRequest`
and the returned :class:`IngestResponse` back into HTTP. Nothing a client sends may raise out of
:meth:`IngestionService.handle`; only a sink failure maps to a 5xx (503, so SDKs retry).
"""

from __future__ import annotations

import base64
import logging
import math
import re
import uuid
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson

from cdp.ingestion.models import MESSAGE_TYPES, InvalidMessageError, consent_problem, parse_message
from cdp.ingestion.ports import EventSink, SinkUnavailableError
from cdp.ingestion.ratelimit import TokenBucketLimiter
from cdp.ingestion.records import QuarantinedEvent, RawEventRecord, iso_utc
from cdp.settings import IngestionLimits
from cdp.sources.keys import KeyIdentity, KeyStoreUnavailableError, WriteKeyStore

logger = logging.getLogger(__name__)

#: path segment after ``/v1/`` → Segment call; the one-letter aliases are what some SDKs post to.
CALLS: Mapping[str, str] = {
    **{name: name for name in (*MESSAGE_TYPES, "batch")},
    "t": "track",
    "i": "identify",
    "p": "page",
    "s": "screen",
    "g": "group",
    "a": "alias",
    "b": "batch",
}


@dataclass(frozen=True, slots=True)
class IngestRequest:
    """``headers`` names are lower-case (API Gateway payload v2 delivers them so)."""

    call: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IngestResponse:
    status: int
    body: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    #: events counted as accepted but not stored again: a ``messageId`` repeated inside one batch (the
    #: handler's ``EventsSuppressed`` metric; not part of the HTTP answer, which is Segment's)
    duplicates: int = 0


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int | None
    message_id: str | None
    code: str
    reason: str
    payload: object


class _ClientError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _new_message_id() -> str:
    return f"cdp-{uuid.uuid4()}"


class IngestionService:
    """Authenticates, limits, validates, corrects clock skew and hands records to the sink."""

    def __init__(
        self,
        *,
        sink: EventSink,
        keys: WriteKeyStore,
        limiter: TokenBucketLimiter,
        limits: IngestionLimits,
        zone: ZoneInfo,
        clock: Callable[[], datetime] = _utc_now,
        new_message_id: Callable[[], str] = _new_message_id,
    ) -> None:
        self._sink = sink
        self._keys = keys
        self._limiter = limiter
        self._limits = limits
        self._zone = zone
        self._clock = clock
        self._new_message_id = new_message_id

    def handle(self, request: IngestRequest) -> IngestResponse:
        try:
            return self._handle(request)
        except _RateLimitedError as error:
            return IngestResponse(
                429,
                {"code": error.code, "message": error.message},
                {"Retry-After": str(error.retry_after)},
            )
        except _ClientError as error:
            return IngestResponse(error.status, {"code": error.code, "message": error.message})
        except SinkUnavailableError as error:
            logger.error("event sink unavailable: %s", error)
            return _unavailable("sink_unavailable", "events could not be stored; retry later")
        except KeyStoreUnavailableError as error:
            logger.error("write-key store unavailable: %s", error)
            return _unavailable("service_unavailable", "write keys cannot be checked now; retry later")

    def _handle(self, request: IngestRequest) -> IngestResponse:
        call = CALLS.get(request.call)
        if call is None:
            raise _ClientError(404, "not_found", f"unknown call /v1/{request.call[:64]}")
        identity = self._basic_auth(request.headers.get("authorization"))
        if identity is not None:
            self._throttle(identity)
        payload = self._payload(request)
        if identity is None:
            identity = self._body_auth(payload)
            self._throttle(identity)
        received_at = self._clock()
        if call == "batch":
            return self._batch(payload, identity, received_at)
        return self._single(call, payload, identity, received_at)

    # -- authentication and limits -------------------------------------------------------------------

    def _basic_auth(self, header: str | None) -> KeyIdentity | None:
        """The identity from ``Authorization: Basic base64(key:)``; ``None`` when no key is given there."""
        if not header:
            return None
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")[0]
        except ValueError:  # bad base64 (binascii.Error), non-ASCII text, or not UTF-8 underneath
            raise _ClientError(401, "unauthorized", "malformed Basic authorization header") from None
        if not user:
            return None
        return self._authenticate(user)

    def _body_auth(self, payload: dict[str, Any]) -> KeyIdentity:
        write_key = payload.get("writeKey")
        if not isinstance(write_key, str) or not write_key:
            raise _ClientError(
                401, "unauthorized", "missing write key: use Basic auth (key as user) or writeKey"
            )
        return self._authenticate(write_key)

    def _authenticate(self, write_key: str) -> KeyIdentity:
        identity = self._keys.authenticate(write_key)
        if identity is None:
            raise _ClientError(401, "unauthorized", "unknown or revoked write key")
        return identity

    def _throttle(self, identity: KeyIdentity) -> None:
        wait = self._limiter.acquire(identity.key_id)
        if wait > 0:
            raise _RateLimitedError(math.ceil(wait))

    # -- body ---------------------------------------------------------------------------------------

    def _payload(self, request: IngestRequest) -> dict[str, Any]:
        encoding = request.headers.get("content-encoding", "").strip().lower()
        limit = self._limits.max_request_bytes
        if encoding in ("gzip", "x-gzip"):
            decoded = _gunzip(request.body, limit)
        elif encoding in ("", "identity"):
            decoded = request.body
        else:
            raise _ClientError(400, "invalid_encoding", f"unsupported Content-Encoding {encoding[:32]!r}")
        if len(decoded) > limit:
            raise _ClientError(
                413, "request_too_large", f"request body exceeds {self._limits.max_request_kib} KiB"
            )
        payload = _parse_json(decoded)
        if not isinstance(payload, dict):
            raise _ClientError(400, "invalid_body", "request body must be a JSON object")
        return payload

    # -- calls --------------------------------------------------------------------------------------

    def _single(
        self, call: str, payload: dict[str, Any], identity: KeyIdentity, received_at: datetime
    ) -> IngestResponse:
        outcome = self._accept(payload, call, None, None, identity, received_at, None)
        if isinstance(outcome, Rejection):
            self._quarantine([outcome], call, identity, received_at)
            status = 413 if outcome.code == "event_too_large" else 400
            return IngestResponse(status, {"code": outcome.code, "message": outcome.reason})
        self._sink.write_events([outcome])
        return IngestResponse(200, {"success": True, "accepted": 1, "rejected": []})

    def _batch(self, payload: dict[str, Any], identity: KeyIdentity, received_at: datetime) -> IngestResponse:
        items = payload.get("batch")
        if not isinstance(items, list):
            raise _ClientError(400, "invalid_body", "batch must be a JSON array of events")
        if len(items) > self._limits.max_batch_events:
            raise _ClientError(
                413,
                "batch_too_large",
                f"batch has {len(items)} events; the limit is {self._limits.max_batch_events}",
            )
        batch_sent_at = _optional_time(payload.get("sentAt"))
        batch_context = payload.get("context") if isinstance(payload.get("context"), dict) else None
        if batch_context is not None and not _encodable(batch_context):
            raise _ClientError(400, "invalid_body", "batch context is nested too deeply")
        consent = consent_problem(batch_context) if batch_context else None
        if consent:  # merged into every event's context, where each event's own is validated
            raise _ClientError(400, "invalid_body", f"batch context: {consent}")
        accepted: list[RawEventRecord] = []
        rejected: list[Rejection] = []
        seen: set[str] = set()
        for index, item in enumerate(items):
            outcome = self._accept(item, None, batch_sent_at, batch_context, identity, received_at, index)
            if isinstance(outcome, Rejection):
                rejected.append(outcome)
            elif outcome["message_id"] not in seen:  # a retry inside one batch is still one message
                seen.add(outcome["message_id"])
                accepted.append(outcome)
        if accepted:
            self._sink.write_events(accepted)
        self._quarantine(rejected, "batch", identity, received_at)
        return IngestResponse(
            200,
            {
                "success": True,
                "accepted": len(items) - len(rejected),
                "rejected": [
                    {"index": r.index, "messageId": r.message_id, "error": f"{r.code}: {r.reason}"}
                    for r in rejected
                ],
            },
            duplicates=len(items) - len(rejected) - len(accepted),
        )

    def _accept(
        self,
        item: object,
        call: str | None,
        batch_sent_at: datetime | None,
        batch_context: dict[str, Any] | None,
        identity: KeyIdentity,
        received_at: datetime,
        index: int | None,
    ) -> RawEventRecord | Rejection:
        if not isinstance(item, dict):
            return Rejection(index, None, "invalid_event", "event must be a JSON object", item)
        raw_id = item.get("messageId")
        client_id = raw_id if isinstance(raw_id, str) else None
        try:
            size = len(orjson.dumps(item))
        except orjson.JSONEncodeError:
            return Rejection(
                index, client_id, "invalid_event", "event is nested too deeply or has an invalid value", item
            )
        if size > self._limits.max_event_bytes:
            return Rejection(
                index,
                client_id,
                "event_too_large",
                f"event is {size / 1024:.1f} KiB; the limit is {self._limits.max_event_kib} KiB",
                item,
            )
        if call is not None:
            item = {**item, "type": call}
        elif not isinstance(item.get("type"), str) or item["type"] not in MESSAGE_TYPES:
            return Rejection(
                index,
                client_id,
                "invalid_event",
                f"type must be one of {', '.join(sorted(MESSAGE_TYPES))}",
                item,
            )
        try:
            message = parse_message(item)
        except InvalidMessageError as error:
            return Rejection(index, client_id, "invalid_event", str(error), item)

        original = message.original_timestamp or message.timestamp
        sent_at = message.sent_at or batch_sent_at
        try:
            if original is not None and sent_at is not None:
                timestamp = received_at - (sent_at - original)
            else:
                timestamp = original or received_at
            timestamp_text = iso_utc(timestamp)
            # a time near year 1 or 9999 with an offset may have no UTC equivalent
            original_text = iso_utc(original) if original is not None else None
            sent_at_text = iso_utc(sent_at) if sent_at is not None else None
        except (OverflowError, ValueError):
            return Rejection(index, client_id, "invalid_event", "timestamp is out of range", item)
        context = message.context
        if batch_context:
            context = {**batch_context, **(context or {})}
        return RawEventRecord(
            message_id=message.message_id or self._new_message_id(),
            type=item["type"],
            event=getattr(message, "event", None),
            name=getattr(message, "name", None),
            user_id=message.user_id,
            anonymous_id=message.anonymous_id,
            previous_id=getattr(message, "previous_id", None),
            group_id=getattr(message, "group_id", None),
            traits=_json_text(message.traits),
            properties=_json_text(message.properties),
            context=_json_text(context),
            integrations=_json_text(message.integrations),
            timestamp=timestamp_text,
            original_timestamp=original_text,
            sent_at=sent_at_text,
            received_at=iso_utc(received_at),
            source_id=identity.source_id,
            write_key_id=identity.key_id,
            dt=received_at.astimezone(self._zone).date().isoformat(),
        )

    def _quarantine(
        self, rejected: list[Rejection], call: str, identity: KeyIdentity, received_at: datetime
    ) -> None:
        if not rejected:
            return
        records = [
            QuarantinedEvent(
                quarantined_at=iso_utc(received_at),
                source_id=identity.source_id,
                write_key_id=identity.key_id,
                call=call,
                event_index=r.index,
                message_id=r.message_id,
                code=r.code,
                reason=r.reason,
                payload=_payload_text(r.payload),
                dt=received_at.astimezone(self._zone).date().isoformat(),
            )
            for r in rejected
        ]
        try:
            self._sink.write_rejections(records)
        except SinkUnavailableError:
            # The client already has every rejection reason in the response; losing the quarantine copy
            # must not turn the accepted events' 200 into a retry that would store them again.
            logger.exception("could not quarantine %d rejected events", len(records))


def _unavailable(code: str, message: str) -> IngestResponse:
    return IngestResponse(503, {"code": code, "message": message}, {"Retry-After": "1"})


class _RateLimitedError(_ClientError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429, "rate_limited", f"too many requests for this write key; retry in {retry_after}s"
        )
        self.retry_after = retry_after


def _gunzip(body: bytes, limit: int) -> bytes:
    """Decompress every gzip member, stopping one byte past ``limit`` (a gzip bomb costs nothing)."""
    out = bytearray()
    data = body
    while data:
        inflater = zlib.decompressobj(wbits=31)
        try:
            out += inflater.decompress(data, limit + 1 - len(out))
        except zlib.error:
            raise _ClientError(400, "invalid_encoding", "body is not valid gzip") from None
        if len(out) > limit:
            return bytes(out)
        if not inflater.eof:
            raise _ClientError(400, "invalid_encoding", "gzip body is truncated")
        data = inflater.unused_data
    return bytes(out)


#: one JSON escape; a surrogate pair as one match, so a lone surrogate is a match of exactly six bytes
_ESCAPE = re.compile(
    rb"\\(?:u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|u[dD][89a-fA-F][0-9a-fA-F]{2}|.)",
    re.DOTALL,
)


def _parse_json(body: bytes) -> object:
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    try:
        # like JavaScript, integers beyond 64 bits are read as doubles rather than refused
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    # orjson refuses a whole body for one lone UTF-16 surrogate escape (a string cut inside an emoji, which
    # JSON.stringify and Python's json.dumps both write as \ud83d); Segment's Go parser reads it as U+FFFD,
    # and so do we: one broken string must not cost a batch its valid events
    repaired = _ESCAPE.sub(lambda match: rb"\ufffd" if len(match[0]) == 6 else match[0], body)
    try:
        return orjson.loads(repaired)
    except orjson.JSONDecodeError:
        raise _ClientError(400, "invalid_json", "request body is not valid JSON") from None


def _encodable(value: object) -> bool:
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError:
        return False
    return True


def _optional_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _json_text(value: dict[str, Any] | None) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def _payload_text(payload: object) -> str:
    try:
        return orjson.dumps(payload).decode()
    except orjson.JSONEncodeError:
        pass
    try:
        return repr(payload)[: 64 * 1024]
    except RecursionError:  # orjson reads 1,024 levels, repr gives up sooner
        return "<payload nested too deeply to keep>"
