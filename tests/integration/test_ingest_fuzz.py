"""Fuzzing the real ingest Lambda handler in-process (SPEC 3.2, 3.3).

Two promises are checked on generated input: nothing a client sends gets a 5xx (or an answer outside
200/400/401/404/413/429, or an error body other than exactly ``{"code", "message"}``), and in a batch mixing
valid and invalid events every valid event lands in ``raw_events`` exactly once while every invalid one is
named in ``rejected`` and kept in ``quarantine_events``.

Bounded for CI: a fixed number of examples per test, ``derandomize`` (the same examples on every run), no
example database in the working tree.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdp.adapters.local_keys import LocalWriteKeyStore
from cdp.lake import RAW_EVENTS, LocalLake
from cdp.localapi.apigw import LocalLambdaContext, http_api_event
from cdp.query.catalog import run_query
from cdp.settings import IngestionSettings, RateLimit
from cdp.wiring import build_ingestion_service

os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
from lambdas.ingest import handler

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

ALLOWED_STATUSES = frozenset({200, 400, 401, 404, 413, 429})
TYPES = ("track", "identify", "page", "screen", "group", "alias")
SHORT = {"track": "t", "identify": "i", "page": "p", "screen": "s", "group": "g", "alias": "a"}
CALLS = (*TYPES, "batch", *SHORT.values(), "b")
MAX_REQUEST_BYTES = 500 * 1024
MAX_EVENT_BYTES = 32 * 1024
#: the rate limiter is not under test here (one test below checks the 429 shape)
UNLIMITED = RateLimit(requests_per_second=1e9, burst=10**9)


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# -- the handler, in-process ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    headers: Mapping[str, str]


def checked(result: dict[str, Any]) -> Reply:
    """The answer, after asserting what holds for every answer to every request."""
    status = result["statusCode"]
    assert status < 500, result
    assert status in ALLOWED_STATUSES, result
    raw = result.get("body") or ""
    body = json.loads(base64.b64decode(raw) if result.get("isBase64Encoded") else raw)
    headers = {str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    assert headers.get("content-type") == "application/json", result
    assert isinstance(body, dict), result
    if status == 200:
        assert body["success"] is True
        assert type(body["accepted"]) is int
        assert body["accepted"] >= 0
        for rejection in body["rejected"]:
            assert set(rejection) == {"index", "messageId", "error"}, rejection
            assert type(rejection["index"]) is int
            assert rejection["messageId"] is None or isinstance(rejection["messageId"], str)
            assert isinstance(rejection["error"], str)
            assert rejection["error"]
    else:
        assert set(body) == {"code", "message"}, result
        assert isinstance(body["code"], str)
        assert body["code"]
        assert isinstance(body["message"], str)
        assert body["message"]
    if status == 429:
        assert int(headers["retry-after"]) >= 1
    return Reply(status, body, headers)


class Api:
    """One lake with one source, and the real handler wired to it."""

    def __init__(self, lake_dir: Path, rate_limit: RateLimit = UNLIMITED) -> None:
        self.lake = LocalLake.at(lake_dir)
        self.key = LocalWriteKeyStore(self.lake).create_source("web").write_key
        self.service = build_ingestion_service(IngestionSettings(lake=str(lake_dir), rate_limit=rate_limit))

    @property
    def basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.key}:".encode()).decode()

    def invoke(self, event: dict[str, Any]) -> Reply:
        handler.use_service(self.service)  # several lakes live in this module; each call uses its own
        return checked(handler.lambda_handler(event, LocalLambdaContext(function_name="cdp-ingest")))

    def post(
        self,
        path: str,
        body: bytes,
        headers: Mapping[str, str] | None = None,
        *,
        method: str = "POST",
        text_body: str | None = None,
    ) -> Reply:
        """``text_body`` replaces the body with a (non-base64) string, lone surrogates and all."""
        sent = {"authorization": self.basic} if headers is None else headers
        event = http_api_event(
            method=method, path=path, query="", headers=list(sent.items()), body=body, source_ip="127.0.0.1"
        )
        if text_body is not None:
            event["body"], event["isBase64Encoded"] = text_body, False
        return self.invoke(event)


@pytest.fixture(scope="module", autouse=True)
def quiet_handler() -> Iterator[None]:
    """Refusals are logged at INFO; thousands of them only slow the run down."""
    level = handler.logger.log_level
    handler.logger.setLevel("WARNING")
    yield
    handler.logger.setLevel(level)
    handler.use_service(None)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Api:
    return Api(tmp_path_factory.mktemp("fuzz-lake"))


# -- generators ---------------------------------------------------------------------------------------

ZONES = st.sampled_from([None, UTC, timezone(timedelta(hours=7)), timezone(-timedelta(hours=5, minutes=30))])
iso_times = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31), timezones=ZONES
).map(datetime.isoformat)
#: every JSON value (orjson reads integers beyond 64 bits as doubles, so those are included too)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=24)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=16,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=5)
identifiers = st.text(max_size=40).filter(lambda s: "\x00" not in s and s.strip() != "") | st.integers(
    min_value=-(2**63), max_value=2**63 - 1
)
FIELDS = (
    "type",
    "messageId",
    "userId",
    "anonymousId",
    "previousId",
    "groupId",
    "event",
    "name",
    "timestamp",
    "originalTimestamp",
    "sentAt",
    "context",
    "properties",
    "traits",
    "integrations",
    "writeKey",
    "batch",
)
#: the spec's fields, each either plausible or any JSON value at all
shaped_values = st.one_of(
    json_values,
    st.sampled_from(TYPES),
    iso_times,
    identifiers,
    st.just("0001-01-01T00:00:00+05:00"),
    st.just("9999-12-31T23:59:59-05:00"),
)
event_shapes = st.dictionaries(st.sampled_from(FIELDS), shaped_values, max_size=9)
event_like = event_shapes | st.builds(
    lambda base, extra: {**base, **extra}, st.fixed_dictionaries({"userId": identifiers}), event_shapes
)
paths = st.one_of(
    st.sampled_from(CALLS).map(lambda call: f"/v1/{call}"),
    st.sampled_from(["/", "/v1", "/v1/", "/v1/track/", "/v1/TRACK", "/v2/track", "/v1/import", "/v1/b/x"]),
    st.text(max_size=16).map(lambda tail: f"/v1/{tail}"),
)


def encode_json(value: object, *, ascii_only: bool = True) -> bytes:
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def _refuse(text: str) -> float:
    raise ValueError(f"not JSON: {text}")


def _finite(text: str) -> float:
    number = float(text)
    return number if abs(number) != float("inf") else _refuse(text)


def is_strict_json(text: str) -> bool:
    """JSON whose numbers all fit a double (orjson reads big integers as doubles, refuses infinities)."""
    try:
        json.loads(text, parse_constant=_refuse, parse_float=_finite, parse_int=_finite)
    except (ValueError, RecursionError):
        return False
    return True


def nested(depth: int, leaf: str = '"leaf"', *, arrays: bool = False) -> str:
    """JSON text ``depth`` containers deep, built as text (``json.dumps`` recurses)."""
    return ("[" * depth + leaf + "]" * depth) if arrays else ('{"d":' * depth + leaf + "}" * depth)


# -- anything at all ----------------------------------------------------------------------------------


@fuzz(300)
@given(
    path=paths,
    body=st.binary(max_size=512) | st.text(max_size=256).map(str.encode),
    method=st.sampled_from(["POST", "POST", "POST", "GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]),
    encoding=st.sampled_from([None, "gzip", "x-gzip", "identity", "br", "deflate", "gzip, gzip", "ｇｚｉｐ"]),
    auth=st.sampled_from(["key", "none", "garbage"]),
)
def test_any_bytes_on_any_path_and_method_get_a_json_answer(
    api: Api, path: str, body: bytes, method: str, encoding: str | None, auth: str
) -> None:
    headers = {"authorization": {"key": api.basic, "none": "", "garbage": "Basic Zm9v"}[auth]}
    if encoding is not None:
        headers["content-encoding"] = encoding
    reply = api.post(path, body, headers, method=method)
    if method != "POST":
        assert reply.status == 404


batch_like = st.builds(
    lambda envelope, items: {**envelope, "batch": items},
    event_shapes,
    st.lists(event_like | json_values, max_size=6) | json_values,
)


@fuzz(500)
@given(
    request=st.one_of(
        st.tuples(st.sampled_from(CALLS), json_values | event_like),
        st.tuples(st.sampled_from(["batch", "b"]), batch_like),
    ),
    ascii_only=st.booleans(),
    bom=st.booleans(),
)
def test_json_of_any_shape_and_types_gets_a_json_answer(
    api: Api, request: tuple[str, object], ascii_only: bool, bom: bool
) -> None:
    call, payload = request
    body = (b"\xef\xbb\xbf" if bom else b"") + encode_json(payload, ascii_only=ascii_only)
    reply = api.post(f"/v1/{call}", body)
    if not isinstance(payload, dict):
        assert reply.status == 400
        assert reply.body["code"] == "invalid_body"
    elif reply.status == 200 and call in ("batch", "b"):
        assert isinstance(payload["batch"], list)
        assert reply.body["accepted"] + len(reply.body["rejected"]) == len(payload["batch"])
    elif reply.status == 200:
        assert reply.body == {"success": True, "accepted": 1, "rejected": []}


@fuzz(200)
@given(
    payload=st.text(max_size=64).flatmap(
        lambda junk: st.sampled_from(
            ["{", "[", '{"a":', '{"batch": [', '{"userId": "u", "event": "E"', "{'a': 1}", "NaN", "Infinity"]
        ).map(lambda start: start + junk)
    )
    | st.sampled_from(
        ['{"a": NaN}', '{"a": -Infinity}', '{"a": 1e400}', '{"a": 01}', '{"a": "\t"}', "", " "]
    ),
    call=st.sampled_from(CALLS),
)
def test_malformed_json_is_400(api: Api, payload: str, call: str) -> None:
    if is_strict_json(payload):
        return  # the junk happened to complete a JSON document
    reply = api.post(f"/v1/{call}", payload.encode("utf-8", "surrogatepass"))
    assert reply.status == 400
    assert reply.body["code"] in ("invalid_json", "invalid_body")


# -- authentication -----------------------------------------------------------------------------------

garbage_authorization = st.one_of(
    st.text(max_size=40),
    st.text(max_size=40).map(lambda s: f"Basic {s}"),
    st.binary(max_size=40).map(lambda b: "Basic " + base64.b64encode(b).decode()),
    st.text(max_size=30).map(lambda s: "basic " + base64.b64encode(f"{s}:".encode()).decode()),
    st.sampled_from(["Bearer abc", "Basic", "Basic ", "Basic ===", "Basic Og==", "Digest x", "Basic é"]),
    st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF).map(lambda s: f"Basic {s}"),
)


@fuzz(300)
@given(
    authorization=garbage_authorization,
    body_key=st.one_of(st.just("absent"), st.just("valid"), json_values),
    call=st.sampled_from(["track", "t", "batch"]),
)
def test_garbage_authorization_and_write_keys_of_any_type_are_401(
    api: Api, authorization: str, body_key: object, call: str
) -> None:
    event = {"type": "track", "event": "Auth", "userId": "u"}
    payload: dict[str, Any] = {"batch": [event]} if call == "batch" else dict(event)
    if body_key == "valid":
        payload["writeKey"] = api.key
    elif body_key != "absent":
        payload["writeKey"] = body_key
    reply = api.post(f"/v1/{call}", encode_json(payload), {"authorization": authorization})
    if body_key == "valid":
        # a Basic header that is not valid base64 is refused even when the body carries a good key
        assert reply.status in (200, 401)
    else:
        assert reply.status == 401
        assert reply.body["code"] == "unauthorized"


# -- encodings, sizes, nesting, numbers, strings ------------------------------------------------------


@fuzz(250)
@given(
    events=st.lists(
        st.fixed_dictionaries(
            {"type": st.just("track"), "event": st.text(min_size=1), "userId": st.just("gz")}
        ),
        min_size=1,
        max_size=5,
    ),
    damage=st.sampled_from(["none", "truncate", "flip", "trailing", "two_members", "raw_deflate", "plain"]),
    where=st.floats(min_value=0, max_value=1),
)
def test_gzip_bodies_valid_corrupt_or_truncated(
    api: Api, events: list[dict[str, Any]], damage: str, where: float
) -> None:
    raw = encode_json({"batch": events})
    body = gzip.compress(raw)
    cut = min(len(body) - 1, int(where * len(body)))
    if damage == "truncate":
        body = body[:cut]
    elif damage == "flip":
        body = body[:cut] + bytes([body[cut] ^ 0x55]) + body[cut + 1 :]
    elif damage == "trailing":
        body += b"\x00garbage"
    elif damage == "two_members":
        body += gzip.compress(b" ")
    elif damage == "raw_deflate":
        body = zlib.compress(raw)
    elif damage == "plain":
        body = raw
    reply = api.post("/v1/batch", body, {"authorization": api.basic, "content-encoding": "gzip"})
    if damage in ("none", "two_members"):
        assert reply.status == 200
        assert reply.body["accepted"] == len(events)
    elif damage in ("truncate", "trailing", "raw_deflate", "plain"):
        assert reply.status == 400


def bomb(size: int) -> bytes:
    """``[``, ``size`` bytes of spaces, ``]``, gzipped: a few KiB on the wire."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b" " * (1024 * 1024)
    parts = [compressor.compress(b"[")]
    parts += [compressor.compress(chunk) for _ in range(size // len(chunk))]
    return b"".join([*parts, compressor.compress(b"]"), compressor.flush()])


OVERSIZED = "x" * MAX_REQUEST_BYTES
SIZE_CASES: dict[str, tuple[Callable[[], bytes], str | None, str, int]] = {
    "plain over 500 KiB": (lambda: encode_json({"batch": [], "x": OVERSIZED}), None, "batch", 413),
    "gzip over 500 KiB": (
        lambda: gzip.compress(encode_json({"batch": [], "x": OVERSIZED})),
        "gzip",
        "b",
        413,
    ),
    "gzip bomb, 64 MiB of spaces": (lambda: bomb(64 * 1024 * 1024), "gzip", "batch", 413),
    "bomb in the second member": (lambda: gzip.compress(b"{}") + bomb(8 * 1024 * 1024), "gzip", "t", 413),
    "one event over 32 KiB": (
        lambda: encode_json({"userId": "u", "x": "y" * MAX_EVENT_BYTES}),
        None,
        "i",
        413,
    ),
    "2,501 events": (
        lambda: encode_json({"batch": [{"type": "identify", "userId": "u"}] * 2501}),
        None,
        "b",
        413,
    ),
    "a 10 MiB body": (lambda: b" " * (10 * 1024 * 1024), None, "track", 413),
    "one byte over 500 KiB": (lambda: b'{"batch": []}' + b" " * (MAX_REQUEST_BYTES - 12), None, "batch", 413),
    "exactly 500 KiB": (lambda: b'{"batch": []}' + b" " * (MAX_REQUEST_BYTES - 13), None, "batch", 200),
    "empty gzip": (lambda: b"", "gzip", "track", 400),
    "empty body": (lambda: b"", None, "batch", 400),
}


@pytest.mark.parametrize("case", SIZE_CASES)
def test_size_limits_count_decoded_bytes_and_bombs_cost_nothing(api: Api, case: str) -> None:
    build, encoding, call, status = SIZE_CASES[case]
    headers = {"authorization": api.basic, **({"content-encoding": encoding} if encoding else {})}
    assert api.post(f"/v1/{call}", build(), headers).status == status


def test_an_event_within_the_request_limit_but_over_the_event_limit_is_413_event_too_large(api: Api) -> None:
    head = b'{"userId": "u", "event": "Edge", "pad": "'
    body = head + b"x" * (MAX_REQUEST_BYTES - len(head) - 2) + b'"}'
    assert len(body) == MAX_REQUEST_BYTES
    reply = api.post("/v1/track", body)
    assert (reply.status, reply.body["code"]) == (413, "event_too_large")


@fuzz(120)
@given(
    depth=st.integers(min_value=1, max_value=1100)
    | st.sampled_from([253, 254, 255, 999, 1000, 1023, 1024, 1025]),
    arrays=st.booleans(),
    where=st.sampled_from(["properties", "context", "traits", "batch_context", "item", "top", "batch"]),
)
def test_deep_nesting_never_5xx(api: Api, depth: int, arrays: bool, where: str) -> None:
    deep = nested(depth, arrays=arrays)
    good = '{"type": "track", "event": "Fine", "userId": "deep"}'
    body = {
        "properties": f'{{"type": "track", "event": "Deep", "userId": "u", "properties": {{"p": {deep}}}}}',
        "context": f'{{"type": "track", "event": "Deep", "userId": "u", "context": {{"c": {deep}}}}}',
        "traits": f'{{"type": "identify", "userId": "u", "traits": {{"t": {deep}}}}}',
        "batch_context": f'{{"context": {{"c": {deep}}}, "batch": [{good}]}}',
        "item": f'{{"batch": [{deep}, {good}]}}',
        "top": deep,
        "batch": f'{{"batch": {deep}}}',
    }[where]
    call = "batch" if where.startswith("batch") or where == "item" else "track"
    if where in ("properties", "context", "traits"):
        body = f'{{"batch": [{body}, {good}]}}'
        call = "batch"
    reply = api.post(f"/v1/{call}", body.encode())
    if where == "batch_context" and depth > 255:
        # merged into every event's context, it could not be stored with any of them
        assert (reply.status, reply.body["code"]) in ((400, "invalid_body"), (400, "invalid_json"))
    elif reply.status == 200:
        assert 1 not in {r["index"] for r in reply.body["rejected"]}  # the flat neighbour of a deep event


@fuzz(150)
@given(
    number=st.integers().map(str)
    | st.floats(allow_nan=False, allow_infinity=False).map(repr)
    | st.sampled_from(
        ["1e400", "-1e400", "1e-400", "-0", "0.0e0", "9" * 400, "-" + "9" * 5000, "1" + "0" * 309]
    ),
    where=st.sampled_from(["properties", "userId", "messageId", "timestamp", "event", "batch sentAt"]),
)
def test_big_numbers_never_5xx(api: Api, number: str, where: str) -> None:
    fields = {"type": '"track"', "event": '"Number"', "userId": '"n"'}
    if where == "properties":
        fields["properties"] = f'{{"n": {number}, "list": [{number}, {number}]}}'
    elif where != "batch sentAt":
        fields[where] = number
    event = "{" + ", ".join(f'"{name}": {value}' for name, value in fields.items()) + "}"
    sent_at = f', "sentAt": {number}' if where == "batch sentAt" else ""
    reply = api.post("/v1/batch", f'{{"batch": [{event}]{sent_at}}}'.encode())
    if not is_strict_json(number):
        assert reply.status == 400
    elif where in ("properties", "batch sentAt"):
        assert (reply.status, reply.body["accepted"]) == (200, 1)


surrogates = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
odd_strings = st.lists(
    st.one_of(st.text(max_size=6), surrogates, st.just("\x00"), st.just("\ufeff"), st.just("\U0001f600")),
    max_size=6,
).map("".join)


@fuzz(200)
@given(
    value=odd_strings,
    where=st.sampled_from(
        ["properties", "userId", "messageId", "event", "key", "writeKey", "type", "timestamp"]
    ),
    form=st.sampled_from(["escaped", "raw_utf8", "text_event"]),
)
def test_null_bytes_and_lone_surrogates_never_5xx(api: Api, value: str, where: str, form: str) -> None:
    event: dict[str, Any] = {"type": "track", "event": "Odd", "userId": "odd"}
    if where == "properties":
        event["properties"] = {"s": value, "list": [value]}
    elif where == "key":
        event["properties"] = {value: 1}
    else:
        event[where] = value
    payload = {"batch": [event, {"type": "track", "event": "Neighbour", "userId": "odd"}]}
    headers = {"authorization": api.basic} if where != "writeKey" else {}
    if form == "escaped":
        reply = api.post("/v1/batch", encode_json(payload), headers)
    elif form == "raw_utf8":
        reply = api.post("/v1/batch", encode_json(payload, ascii_only=False), headers)
    else:  # API Gateway hands the body over as a string; a Lambda test event may hold anything
        reply = api.post("/v1/batch", b"", headers, text_body=json.dumps(payload, ensure_ascii=False))
    has_surrogate = any(0xD800 <= ord(char) <= 0xDFFF for char in value)
    if where == "writeKey":
        assert reply.status in (400, 401)
    elif form != "escaped" and has_surrogate:
        # not UTF-8 at all: the bytes are refused, as any other undecodable body
        assert (reply.status, reply.body["code"]) == (400, "invalid_json")
    else:
        # an escaped lone surrogate (\ud800, as JSON.stringify writes one) costs at most its own event
        assert reply.status == 200, reply
        assert 1 not in {rejection["index"] for rejection in reply.body["rejected"]}


# -- routes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("call", CALLS)
def test_every_call_and_alias_answers_200_for_a_valid_event(api: Api, call: str) -> None:
    event = {"type": "group", "userId": "u", "event": "E", "groupId": "g", "previousId": "p"}
    payload = {"batch": [event]} if call in ("batch", "b") else event
    reply = api.post(f"/v1/{call}", encode_json(payload))
    assert reply.status == 200
    assert reply.body["accepted"] == 1


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
@pytest.mark.parametrize("path", ["/v1/track", "/v1/batch", "/v1/b", "/", "/v1/nope"])
def test_other_methods_are_404(api: Api, method: str, path: str) -> None:
    assert api.post(path, b"{}", method=method).status == 404


def test_the_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    limited = Api(tmp_path, RateLimit(requests_per_second=0.001, burst=3))
    body = encode_json({"userId": "u", "event": "E"})
    statuses = [limited.post("/v1/track", body).status for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]


# -- mixed batches: every valid event stored once, every invalid one rejected and quarantined -----------

TAG = re.compile(r"t\d{6}x")
_tags = count()


def next_tag() -> str:
    return f"t{next(_tags):06d}x"


@dataclass
class Item:
    """One generated event; ``who`` is where its tag goes (``None``: nowhere, the event is anonymous)."""

    event: object
    valid: bool
    who: str | None = None
    message_id: bool = False
    mutation: str = ""


@st.composite
def valid_events(draw: st.DrawFn, kind: str) -> Item:
    event: dict[str, Any] = {"type": kind}
    who = draw(st.sampled_from(["userId", "anonymousId"]) if kind != "alias" else st.just("userId"))
    if who == "anonymousId":
        event["userId"] = draw(st.none() | identifiers)
    else:
        event["anonymousId"] = draw(st.none() | identifiers)
    if kind == "track":
        event["event"] = draw(st.text(min_size=1, max_size=30))
    if kind in ("page", "screen"):
        event["name"] = draw(st.none() | st.text(max_size=30))
    if kind == "group":
        event["groupId"] = draw(identifiers)
    if kind == "alias":
        event["previousId"] = draw(identifiers)
    optional = {
        "timestamp": st.none() | iso_times,
        "originalTimestamp": st.none() | iso_times,
        "sentAt": st.none() | iso_times,
        "context": st.none() | json_objects,
        "properties": st.none() | json_objects,
        "traits": st.none() | json_objects,
        "integrations": st.none() | json_objects,
        "unknownField": json_values,
    }
    for name, values in optional.items():
        if draw(st.booleans()):
            event[name] = draw(values)
    return Item(event, valid=True, who=who, message_id=draw(st.booleans()))


wrong_ids = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.text(max_size=5).map(lambda s: f"a\x00{s}"),
    st.just("x" * 1025),
)
non_strings = st.one_of(
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    json_objects,
)
wrong_objects = st.text(max_size=5) | non_strings.filter(lambda value: not isinstance(value, dict))
not_iso = st.one_of(
    st.integers(),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.sampled_from(["yesterday", "2026-13-01", "2026-02-30T00:00:00Z", "", "12:00", "2026-01-01T25:00:00Z"]),
)


MUTATIONS = frozenset(
    {
        *("no_identity", "wrong_id", "wrong_object", "wrong_time", "too_big", "too_deep", "time_overflow"),
        *("event", "name", "groupId", "previousId", "type", "not_an_object"),
    }
)


@st.composite
def invalid_events(draw: st.DrawFn, kind: str, in_batch: bool) -> Item:
    """A valid event broken in one way that makes it invalid whatever else it holds."""
    base = draw(valid_events(kind))
    assert isinstance(base.event, dict)
    event = dict(base.event)
    # the ones only some kinds (or only batches) have first: Hypothesis favours the front of a list
    specific = {"track": "event", "page": "name", "screen": "name", "group": "groupId", "alias": "previousId"}
    mutations = [specific[kind]] if kind in specific else []
    mutations += ["type", "not_an_object"] if in_batch else []
    mutations += [
        "time_overflow",
        "too_deep",
        "too_big",
        "wrong_time",
        "wrong_object",
        "wrong_id",
        "no_identity",
    ]
    mutation = draw(st.sampled_from(mutations))
    touched = mutation
    if mutation == "not_an_object":  # a string or a list: both carry the tag into quarantine
        return Item(draw(st.sampled_from(["string", "list"])), valid=False, mutation=mutation)
    if mutation == "no_identity":
        event.pop("userId", None)
        event.pop("anonymousId", None)
        touched = base.who or ""
    elif mutation == "wrong_id":
        names = ["userId", "anonymousId", "messageId"]
        names += {"group": ["groupId"], "alias": ["previousId"]}.get(kind, [])
        touched = draw(st.sampled_from(names))
        event[touched] = draw(wrong_ids)
    elif mutation == "wrong_object":
        event[draw(st.sampled_from(["context", "properties", "traits", "integrations"]))] = draw(
            wrong_objects
        )
    elif mutation == "wrong_time":
        event[draw(st.sampled_from(["timestamp", "originalTimestamp", "sentAt"]))] = draw(not_iso)
    elif mutation == "too_big":
        event["properties"] = {"blob": "x" * MAX_EVENT_BYTES}
    elif mutation == "too_deep":
        deep: object = "leaf"
        for _ in range(draw(st.integers(min_value=260, max_value=400))):
            deep = {"d": deep}
        event["properties"] = deep
    elif mutation == "time_overflow":  # fine as written, out of range once moved to UTC
        event.update(originalTimestamp="0001-01-01T00:00:00+05:00", sentAt="0001-01-01T00:00:01+05:00")
        event.pop("timestamp", None)
    elif mutation == "event":
        event["event"] = draw(st.sampled_from([None, ""]) | non_strings)
    elif mutation == "name":
        event["name"] = draw(st.just("n" * 1025) | non_strings)
    elif mutation in ("groupId", "previousId"):
        event[mutation] = draw(st.sampled_from([None, "", "   ", [], "\x00"]))
    elif mutation == "type":
        event["type"] = draw(st.none() | non_strings | st.text(max_size=8).filter(lambda t: t not in TYPES))
    if (
        mutation in ("groupId", "previousId", "type", "event")
        and event[mutation] is None
        and draw(st.booleans())
    ):
        del event[mutation]
    return Item(
        event,
        valid=False,
        who=None if touched == base.who else base.who,
        message_id=touched != "messageId" and draw(st.booleans()),
        mutation=mutation,
    )


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, list[Item], dict[str, Any]]:
    """A batch of valid and invalid events, or one event posted to its call's path."""
    if draw(st.integers(0, 3)) > 0:
        items = draw(
            st.lists(
                st.sampled_from(TYPES).flatmap(
                    lambda kind: valid_events(kind) | invalid_events(kind, in_batch=True)
                ),
                max_size=12,
            )
        )
        envelope: dict[str, Any] = {}
        if draw(st.booleans()):
            envelope["sentAt"] = draw(st.none() | iso_times | st.sampled_from(["", "soon", "2026-13-01"]))
        if draw(st.booleans()):
            envelope["context"] = draw(json_objects | wrong_objects)
        return draw(st.sampled_from(["/v1/batch", "/v1/b"])), items, envelope
    kind = draw(st.sampled_from(TYPES))
    item = draw(valid_events(kind) | invalid_events(kind, in_batch=False))
    path = draw(st.sampled_from([f"/v1/{kind}", f"/v1/{SHORT[kind]}"]))
    return path, [item], {}


def stamp(item: Item, tag: str) -> object:
    """Put the example-unique tag where the lake will show it: the id, a messageId, an ignored key."""
    if isinstance(item.event, str):
        return f"not an event {tag}"
    if not isinstance(item.event, dict):
        return [tag, 1, None]
    event = {"fuzzTag": tag, **item.event}
    if item.who is not None:
        event[item.who] = tag
    if item.message_id:
        event["messageId"] = f"m-{tag}"
    return event


@dataclass
class Expected:
    stored: dict[str, tuple[str, bool]] = field(default_factory=dict)  # tag -> (type, has messageId)
    quarantined: dict[str, int | None] = field(default_factory=dict)  # tag -> index in its batch
    mutations: Counter[str] = field(default_factory=Counter)


def test_mixed_batches_store_every_valid_event_once_and_quarantine_the_rest(tmp_path: Path) -> None:
    api = Api(tmp_path / "lake")
    expected = Expected()

    @fuzz(300)
    @given(request=requests(), gzipped=st.booleans(), body_key=st.booleans())
    def post_one(request: tuple[str, list[Item], dict[str, Any]], gzipped: bool, body_key: bool) -> None:
        path, items, envelope = request
        tags = [next_tag() for _ in items]
        events = [stamp(item, tag) for item, tag in zip(items, tags, strict=True)]
        single = not path.startswith("/v1/b")
        payload = dict(events[0]) if single and isinstance(events[0], dict) else {**envelope, "batch": events}
        headers = {"authorization": api.basic}
        if body_key:
            payload["writeKey"], headers = api.key, {}
        body = encode_json(payload)
        if gzipped:
            body, headers = gzip.compress(body), {**headers, "content-encoding": "gzip"}
        reply = api.post(path, body, headers)

        invalid = [i for i, item in enumerate(items) if not item.valid]
        if single:
            if items[0].valid:
                assert (reply.status, reply.body) == (200, {"success": True, "accepted": 1, "rejected": []})
            else:
                assert reply.status in (400, 413), (items[0].mutation, reply)
                assert reply.body["code"] in ("invalid_event", "event_too_large")
        else:
            assert reply.status == 200, reply
            assert reply.body["accepted"] == len(items) - len(invalid)
            assert [r["index"] for r in reply.body["rejected"]] == invalid, [i.mutation for i in items]
            for rejection in reply.body["rejected"]:
                sent = events[rejection["index"]]
                sent_id = sent.get("messageId") if isinstance(sent, dict) else None
                assert rejection["messageId"] == (sent_id if isinstance(sent_id, str) else None)
        for index, (item, tag) in enumerate(zip(items, tags, strict=True)):
            if item.valid:
                assert isinstance(item.event, dict)
                expected.stored[tag] = (item.event["type"], item.message_id)
            else:
                expected.quarantined[tag] = None if single else index
                expected.mutations[item.mutation] += 1

    post_one()

    rows = run_query(api.lake, "SELECT message_id, type, user_id, anonymous_id FROM raw_events").to_pylist()
    stored = Counter(tag for row in rows for tag in TAG.findall(f"{row['user_id']} {row['anonymous_id']}"))
    assert set(stored) == set(expected.stored), "valid events lost, or invalid ones stored"
    assert max(stored.values(), default=1) == 1
    for row in rows:
        [tag] = TAG.findall(f"{row['user_id']} {row['anonymous_id']}")
        kind, has_message_id = expected.stored[tag]
        assert row["type"] == kind
        if has_message_id:
            assert row["message_id"] == f"m-{tag}"
        else:
            assert row["message_id"].startswith("cdp-")
    lines = sum(
        len(part.read_bytes().splitlines()) for part in api.lake.path(RAW_EVENTS).glob("dt=*/*.jsonl")
    )
    assert lines == len(expected.stored), "an event was written twice"

    quarantine = run_query(api.lake, "SELECT event_index, payload FROM quarantine_events").to_pylist()
    kept: dict[str, list[int | None]] = {}
    for row in quarantine:
        for tag in set(TAG.findall(row["payload"])):
            kept.setdefault(tag, []).append(row["event_index"])
    assert kept == {tag: [index] for tag, index in expected.quarantined.items()}
    # the generator is not degenerate: many events of each kind, every way of breaking one
    assert len(expected.stored) > 250
    assert len(expected.quarantined) > 250
    assert set(expected.mutations) == MUTATIONS


# -- duplicate messageIds ----------------------------------------------------------------------------


def test_duplicate_message_ids_are_one_row_and_the_first_received_wins(tmp_path: Path) -> None:
    api = Api(tmp_path / "lake")
    first_seen: dict[str, str] = {}
    written = 0  # lines the files should hold: a repeat inside one batch is collapsed before writing
    run = count()

    @fuzz(100)
    @given(
        picks=st.lists(st.lists(st.integers(0, 3), min_size=1, max_size=8), min_size=1, max_size=3),
        call=st.sampled_from(["/v1/batch", "/v1/b"]),
    )
    def post_duplicates(picks: list[list[int]], call: str) -> None:
        nonlocal written
        example = next(run)
        for number, request in enumerate(picks):
            batch = [
                {
                    "type": "track",
                    "event": f"e{number}-{position}",
                    "userId": "d",
                    "messageId": f"d{example}-{pick}",
                }
                for position, pick in enumerate(request)
            ]
            reply = api.post(call, encode_json({"batch": batch}))
            assert reply.status == 200
            assert (reply.body["accepted"], reply.body["rejected"]) == (len(batch), [])
            for event in batch:
                first_seen.setdefault(event["messageId"], event["event"])
            written += len(set(request))

    post_duplicates()
    rows = run_query(api.lake, "SELECT message_id, event FROM raw_events").to_pylist()
    assert Counter(row["message_id"] for row in rows).most_common(1)[0][1] == 1
    assert {row["message_id"]: row["event"] for row in rows} == first_seen
    files = api.lake.path(RAW_EVENTS).glob("dt=*/*.jsonl")
    assert sum(len(part.read_bytes().splitlines()) for part in files) == written
