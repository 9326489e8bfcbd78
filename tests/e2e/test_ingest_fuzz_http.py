"""Fuzzing ``cdp serve``'s HTTP front over real sockets (SPEC 3.2): no 5xx, and it keeps serving.

The server runs in-process on 127.0.0.1, port 0. A seeded generator sends a few hundred requests through
``http.client`` (mutated bodies, odd headers, every path and method), then raw sockets send what no HTTP
library would: lying Content-Lengths, bodies cut short, oversized declarations, broken request lines. Clean
batches sent in between must each be stored exactly once. Every loop is bounded in count and in time.
"""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import random
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from cdp.adapters.local_keys import LocalWriteKeyStore
from cdp.lake import LocalLake
from cdp.localapi.runtime import start_local_api
from cdp.localapi.server import LocalApiServer, Route
from cdp.query.catalog import run_query
from cdp.settings import IngestionSettings

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")

ALLOWED_STATUSES = frozenset({200, 400, 401, 404, 413, 429})
CALLS = ("track", "identify", "page", "screen", "group", "alias", "batch", "t", "i", "p", "s", "g", "a", "b")
SEED = 20261128
TIMEOUT = 5.0


@dataclass(frozen=True)
class Served:
    server: LocalApiServer
    lake: LocalLake
    key: str

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.server.server_address[:2]
        return str(host), int(port)

    @property
    def basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.key}:".encode()).decode()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    lake_dir = tmp_path_factory.mktemp("fuzz-http") / "lake"
    lake = LocalLake.at(lake_dir)
    key = LocalWriteKeyStore(lake).create_source("web").write_key
    server = start_local_api(IngestionSettings(lake=str(lake_dir)), host="127.0.0.1", port=0)
    assert server.url.startswith("http://127.0.0.1:")
    # what escapes a request thread is printed to stderr by socketserver; here it is kept and judged
    escaped: list[BaseException | None] = []
    server.handle_error = lambda request, address: escaped.append(sys.exc_info()[1])  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield Served(server, lake, key)
    server.shutdown()
    server.server_close()
    thread.join(timeout=TIMEOUT)
    # only a client that hung up before its answer was written may break a request thread
    assert all(isinstance(error, ConnectionError) for error in escaped), escaped


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]


def request(
    served: Served, method: str, path: str, body: bytes | None, headers: dict[str, str | bytes]
) -> Answer:
    connection = http.client.HTTPConnection(*served.address, timeout=TIMEOUT)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return Answer(response.status, response.read(), {k.lower(): v for k, v in response.getheaders()})
    finally:
        connection.close()


def assert_answer(answer: Answer) -> Any:
    """What holds for every answer: a known 4xx or 200, and a JSON body with exactly code and message.

    (http.server itself refuses a method it has no handler for before any route is known, in HTML.)
    """
    assert answer.status < 500, answer
    assert answer.status in ALLOWED_STATUSES, answer
    if answer.headers.get("content-type") != "application/json":
        assert answer.status == 404, answer
        return None
    body = json.loads(answer.body)
    if answer.status != 200:
        assert set(body) == {"code", "message"}, answer
        assert isinstance(body["code"], str)
        assert isinstance(body["message"], str)
    if answer.status == 429:
        assert int(answer.headers["retry-after"]) >= 1
    return body


def assert_still_serving(served: Served) -> None:
    body = json.dumps({"batch": [{"type": "track", "event": "Alive", "userId": "alive"}]})
    answer = request(served, "POST", "/v1/batch", body.encode(), {"Authorization": served.basic})
    assert assert_answer(answer) == {"success": True, "accepted": 1, "rejected": []}


# -- a seeded generator over http.client -----------------------------------------------------------------


class RequestFuzzer:
    """Deterministic (one seed) generator of requests: clean batches, mutated ones, odd headers."""

    def __init__(self, served: Served, seed: int) -> None:
        self.served = served
        self.rng = random.Random(seed)
        self.count = 0
        self.stored: list[str] = []  # tags of the valid events of clean batches, all answered 200
        self.quarantined: list[str] = []  # tags of the invalid ones

    def tag(self) -> str:
        self.count += 1
        return f"h{self.count:05d}x"

    def valid_event(self, tag: str) -> dict[str, Any]:
        kind = self.rng.choice(["track", "identify", "page", "screen", "group", "alias"])
        event: dict[str, Any] = {"type": kind, "userId": tag, "properties": {"n": self.rng.random()}}
        event |= {"track": {"event": "Fuzz"}, "group": {"groupId": "g"}, "alias": {"previousId": "p"}}.get(
            kind, {}
        )
        if self.rng.random() < 0.5:
            event["messageId"] = f"m-{tag}"
        return event

    def invalid_event(self, tag: str) -> object:
        return self.rng.choice(
            [
                {"type": "track", "userId": tag},  # no event name
                {"type": "purchase", "userId": tag},
                {"type": "identify", "anonymousId": None, "fuzzTag": tag},
                {"type": "track", "event": "E", "userId": tag, "timestamp": 12},
                {"type": ["track"], "userId": tag},
                f"not an event {tag}",
            ]
        )

    def clean_batch(self) -> tuple[bytes, list[str], list[str], list[int]]:
        stored, rejected, indexes, batch = [], [], [], []
        for index in range(self.rng.randint(1, 8)):
            tag = self.tag()
            if self.rng.random() < 0.7:
                batch.append(self.valid_event(tag))
                stored.append(tag)
            else:
                batch.append(self.invalid_event(tag))
                rejected.append(tag)
                indexes.append(index)
        return json.dumps({"batch": batch}).encode(), stored, rejected, indexes

    def mutated(self, body: bytes) -> bytes:
        data = bytearray(body)
        for _ in range(self.rng.randint(1, 4)):
            where = self.rng.randrange(len(data) + 1)
            action = self.rng.choice(["flip", "cut", "insert", "dup"])
            if action == "flip" and where < len(data):
                data[where] ^= 1 << self.rng.randrange(8)
            elif action == "cut":
                del data[where:]
            elif action == "insert":
                data[where:where] = self.rng.choice(
                    [b"\x00", b"\xff", b'"', b"{", b"]", b"\\ud800", b",", b"1e999"]
                )
            elif action == "dup" and data:
                data[where:where] = data[: self.rng.randrange(len(data))]
        return bytes(data)

    def headers(self) -> dict[str, str | bytes]:
        headers: dict[str, str | bytes] = {
            "Authorization": self.rng.choice(
                [
                    self.served.basic,
                    self.served.basic,
                    "",
                    "Basic",
                    "Bearer x",
                    b"Basic \xe9\xe9\xff",
                    "Basic " + base64.b64encode(b"\xff\xfe:").decode(),
                    "Basic " + base64.b64encode(b"wk_unknown:").decode(),
                ]
            )
        }
        if self.rng.random() < 0.3:
            headers["Content-Type"] = self.rng.choice(["application/json", "text/plain", b"\xff", "x" * 2000])
        return headers

    def run_one(self) -> None:
        served, rng = self.served, self.rng
        roll = rng.random()
        if roll < 0.35:  # a clean mixed batch: every valid event must be stored once
            body, stored, rejected, indexes = self.clean_batch()
            gzipped = rng.random() < 0.3
            headers: dict[str, str | bytes] = {"Authorization": served.basic}
            if gzipped:
                body, headers["Content-Encoding"] = gzip.compress(body), "gzip"
            answer = request(served, "POST", rng.choice(["/v1/batch", "/v1/b"]), body, headers)
            reply = assert_answer(answer)
            assert answer.status == 200, answer
            assert reply["accepted"] == len(stored)
            assert [r["index"] for r in reply["rejected"]] == indexes
            self.stored += stored
            self.quarantined += rejected
            return
        generic = {
            "batch": [{"type": "track", "event": "Mutant", "userId": "mutant"}],
            "sentAt": "2026-01-01",
        }
        body = json.dumps(generic).encode()
        if roll < 0.7:
            body = self.mutated(body)
        elif roll < 0.8:
            body = self.mutated(gzip.compress(body))
        headers = self.headers()
        if roll >= 0.7 and roll < 0.8:
            headers["Content-Encoding"] = "gzip"
        method = (
            "POST"
            if rng.random() < 0.85
            else rng.choice(["GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"])
        )
        odd_paths = ["/", "/v1/", "/v1/track/", "/v1/nope", "/v1/%00", "/v1/tr%C3%A9ck", "//v1/batch"]
        query = rng.choice(["", "", "?x=1", "?writeKey=k&x=%ff"])
        path = f"/v1/{rng.choice(CALLS)}{query}" if rng.random() < 0.85 else rng.choice(odd_paths)
        answer = request(served, method, path, body if method not in ("GET", "HEAD") else None, headers)
        assert_answer(answer)
        if method != "POST":
            assert answer.status == 404, answer


def test_a_few_hundred_generated_requests_get_no_5xx(served: Served) -> None:
    fuzzer = RequestFuzzer(served, SEED)
    deadline = time.monotonic() + 20
    sent = 0
    while sent < 300 and time.monotonic() < deadline:
        fuzzer.run_one()
        sent += 1
    assert sent >= 100, f"only {sent} requests in 20 s"
    assert_still_serving(served)

    # every valid event of a batch answered 200 is stored once; every invalid one is quarantined
    rows = run_query(served.lake, "SELECT user_id FROM raw_events WHERE user_id LIKE 'h%x'").column("user_id")
    assert sorted(rows.to_pylist()) == sorted(fuzzer.stored)
    payloads = run_query(served.lake, "SELECT payload FROM quarantine_events").column("payload").to_pylist()
    quarantined = [tag for payload in payloads for tag in set(re.findall(r"h\d{5}x", payload))]
    assert sorted(quarantined) == sorted(fuzzer.quarantined)
    assert len(fuzzer.stored) > 100


# -- raw sockets: what no HTTP library sends -----------------------------------------------------------


STATUS_LINE = re.compile(rb"HTTP/1\.[01] (\d{3}) ")


def exchange(served: Served, data: bytes, *, then: str = "half_close") -> list[int]:
    """Send ``data`` on a fresh connection, read until the server closes it; the statuses it answered.

    ``then``: ``half_close`` (shut our sending side: the server sees end of input), ``close`` (hang up at
    once, without reading), or ``wait`` (keep sending side open; the request must say Connection: close).
    """
    with socket.create_connection(served.address, timeout=TIMEOUT) as sock:
        sock.sendall(data)
        if then == "close":
            return []
        if then == "half_close":
            sock.shutdown(socket.SHUT_WR)
        received = b""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            received += chunk
    return [int(status) for status in STATUS_LINE.findall(received)]


def post_head(served: Served, extra: str) -> bytes:
    return (
        f"POST /v1/track HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {served.basic}\r\n{extra}\r\n".encode()
    )


EVENT = '{"event": "Raw", "userId": "raw1"}'
SIZE = len(EVENT)
HEAD = "<head>"  # stands for a POST head with a good key and no blank line yet

RAW_CASES: dict[str, tuple[str, str, tuple[int, ...]]] = {
    # name: (what is sent, then what the client does, the one status it may get back; none if empty)
    "content-length not a number": (f"{HEAD}Content-Length: abc\r\n\r\n{EVENT}", "half_close", (400,)),
    "content-length negative": (f"{HEAD}Content-Length: -5\r\n\r\n{EVENT}", "half_close", (400, 413)),
    "content-length hexadecimal": (f"{HEAD}Content-Length: 0x10\r\n\r\n{EVENT}", "half_close", (400,)),
    "content-length empty": (f"{HEAD}Content-Length: \r\n\r\n", "half_close", (400,)),
    "two content-lengths": (
        f"{HEAD}Content-Length: {SIZE}\r\nContent-Length: 2\r\n\r\n{EVENT}",
        "half_close",
        (200, 400),
    ),
    "content-length longer than the body, then end of input": (
        f"{HEAD}Content-Length: 500\r\n\r\n{EVENT}",
        "half_close",
        (400,),
    ),
    "content-length longer than the body, then hang up": (
        f"{HEAD}Content-Length: 500\r\n\r\n{EVENT}",
        "close",
        (),
    ),
    "content-length over 10 MiB": (f"{HEAD}Content-Length: 10485761\r\n\r\n", "half_close", (413,)),
    "content-length absurd": (f"{HEAD}Content-Length: {'9' * 30}\r\n\r\n", "half_close", (413,)),
    "no body at all": (f"{HEAD}Connection: close\r\n\r\n", "wait", (400,)),
    "chunked body (not supported locally)": (
        f"{HEAD}Transfer-Encoding: chunked\r\n\r\n{SIZE:x}\r\n{EVENT}\r\n0\r\n\r\n",
        "half_close",
        (400,),
    ),
    "headers never finished": (f"{HEAD}X-Slow: 1", "half_close", (400,)),
    "non-ASCII authorization": (
        f"POST /v1/track HTTP/1.1\r\nAuthorization: Basic \xe9\xff\r\nContent-Length: {SIZE}\r\n\r\n{EVENT}",
        "half_close",
        (401,),
    ),
    "GET": ("GET /v1/track HTTP/1.1\r\nConnection: close\r\n\r\n", "wait", (404,)),
    "PUT": ("PUT /v1/batch HTTP/1.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", "wait", (404,)),
    "DELETE": ("DELETE /v1/batch HTTP/1.1\r\nConnection: close\r\n\r\n", "wait", (404,)),
    "PATCH": ("PATCH /v1/track HTTP/1.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", "wait", (404,)),
    "HEAD": ("HEAD /v1/track HTTP/1.1\r\nConnection: close\r\n\r\n", "wait", (404,)),
    "OPTIONS (CORS preflight)": ("OPTIONS /v1/batch HTTP/1.1\r\nConnection: close\r\n\r\n", "wait", (404,)),
    "TRACE": ("TRACE / HTTP/1.1\r\nConnection: close\r\n\r\n", "wait", (404,)),
    "made-up method": ("FROB /v1/track HTTP/1.1\r\nConnection: close\r\n\r\n", "wait", (404,)),
    # http.server answers these without a status line (it has not read a version it speaks)
    "HTTP/2 preface": ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "half_close", ()),
    "bad version": ("POST /v1/track HTTP/9.x\r\n\r\n", "half_close", ()),
    "garbage request line": ("\x00\xff\xfe garbage\r\n\r\n", "half_close", ()),
    "HTTP/0.9 request": ("GET /\r\n\r\n", "half_close", ()),
    "header line over 64 KiB": (f"{HEAD}X-Big: {'a' * 70_000}\r\n\r\n", "half_close", (431,)),
    "a hundred and one headers": (HEAD + "X-A: b\r\n" * 101 + "\r\n", "half_close", (431,)),
    "request line over 64 KiB": (f"POST /v1/{'a' * 70_000} HTTP/1.1\r\n\r\n", "half_close", (414,)),
}


@pytest.mark.parametrize("case", RAW_CASES)
def test_raw_socket_requests_get_no_5xx_and_the_server_keeps_serving(served: Served, case: str) -> None:
    sent, then, acceptable = RAW_CASES[case]
    head = post_head(served, "").decode("latin-1").removesuffix("\r\n")
    statuses = exchange(served, sent.replace(HEAD, head).encode("latin-1"), then=then)
    assert all(status < 500 for status in statuses), statuses
    assert len(statuses) == (1 if acceptable else 0), statuses
    assert set(statuses) <= set(acceptable), statuses
    assert_still_serving(served)


def test_pipelined_requests_are_answered_in_order(served: Served) -> None:
    request_text = post_head(served, f"Content-Length: {SIZE}\r\n") + EVENT.encode()
    assert exchange(served, request_text + b"GET /v1/track HTTP/1.1\r\n\r\n" + request_text) == [
        200,
        404,
        200,
    ]


def test_many_connections_left_hanging_do_not_stop_the_server(served: Served) -> None:
    hanging = []
    try:
        for _ in range(20):  # each holds a server thread waiting for a body that never comes
            sock = socket.create_connection(served.address, timeout=TIMEOUT)
            sock.sendall(post_head(served, "Content-Length: 100\r\n") + b"{")
            hanging.append(sock)
            time.sleep(0.01)  # the listen backlog is 5: connecting faster only measures SYN retries
        assert_still_serving(served)
    finally:
        for sock in hanging:
            sock.close()
    assert_still_serving(served)


# -- concurrency: one invocation at a time, like one Lambda environment --------------------------------


def test_concurrent_requests_each_store_their_own_events_once(served: Served) -> None:
    """Regression: Powertools keeps the current event in shared state, so handler invocations overlapping on
    the server's threads read each other's requests (502s, events lost, others stored twice)."""

    def send(number: int) -> tuple[int, list[str]]:
        tags = [f"c{number:04d}-{position}x" for position in range(3)]
        # no messageIds: every event gets a generated one, so a duplicate would be a second row
        batch = [{"type": "track", "event": "Concurrent", "anonymousId": tag} for tag in tags]
        answer = request(
            served,
            "POST",
            "/v1/batch",
            json.dumps({"batch": batch}).encode(),
            {"Authorization": served.basic},
        )
        return answer.status, tags

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: overlaps that are rare become common
    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            results = list(pool.map(send, range(240), timeout=60))
    finally:
        sys.setswitchinterval(interval)
    assert [status for status, _ in results] == [200] * len(results)
    sent = [tag for _, tags in results for tag in tags]
    rows = run_query(served.lake, "SELECT anonymous_id FROM raw_events WHERE event = 'Concurrent'").column(
        "anonymous_id"
    )
    assert sorted(rows.to_pylist()) == sorted(sent)


def test_the_local_server_runs_one_invocation_of_a_function_at_a_time() -> None:
    """The regression above, made deterministic with a slow handler that counts who is inside it."""
    inside, peak, guard = 0, 0, threading.Lock()

    def slow_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        nonlocal inside, peak
        with guard:
            inside += 1
            peak = max(peak, inside)
        time.sleep(0.02)
        with guard:
            inside -= 1
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}

    route = Route(method="POST", prefix="/v1/", function_name="slow", handler=slow_handler)
    server = LocalApiServer(("127.0.0.1", 0), [route])
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    address = server.server_address[:2]

    def post(_: int) -> int:
        connection = http.client.HTTPConnection(str(address[0]), int(address[1]), timeout=TIMEOUT)
        try:
            connection.request("POST", "/v1/track", body=b"{}")
            return connection.getresponse().status
        finally:
            connection.close()

    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = list(pool.map(post, range(8), timeout=30))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=TIMEOUT)
    assert statuses == [200] * 8
    assert peak == 1
