"""Events per second through the real ingest Lambda handler, in-process, beside a parse-and-write baseline.

Single-threaded in this process, so the rate is per core; the process CPU time is measured too, so a busy
machine shows as a gap between the wall and the CPU figures instead of silently lowering the result.
"""

from __future__ import annotations

import io
import os
import statistics
import time
from collections.abc import Callable, Sequence
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2

from benchmarks.ingest.workloads import PreparedRequest
from cdp.adapters.local_keys import LocalWriteKeyStore
from cdp.ingestion.ratelimit import TokenBucketLimiter
from cdp.ingestion.records import QuarantinedEvent, RawEventRecord
from cdp.ingestion.service import IngestionService, IngestRequest
from cdp.lake import QUARANTINE_EVENTS, RAW_EVENTS, LocalLake, part_name
from cdp.localapi.apigw import LocalLambdaContext
from cdp.settings import IngestionSettings, RateLimit
from cdp.sources.keys import IssuedKey
from cdp.wiring import build_ingestion_service, build_key_store

#: high enough that the token bucket never throttles a benchmark run
UNTHROTTLED = RateLimit(requests_per_second=1e9, burst=10**9)


@dataclass(frozen=True, slots=True)
class Run:
    """One timed run: how much went through and what it cost."""

    requests: int
    events: int
    wall_s: float
    cpu_s: float

    @property
    def events_per_s(self) -> float:
        return self.events / self.wall_s

    @property
    def events_per_cpu_s(self) -> float:
        return self.events / self.cpu_s

    @property
    def us_per_request(self) -> float:
        return self.wall_s / self.requests * 1e6

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "events": self.events,
            "wall_s": round(self.wall_s, 4),
            "cpu_s": round(self.cpu_s, 4),
            "events_per_s": round(self.events_per_s, 1),
            "events_per_cpu_s": round(self.events_per_cpu_s, 1),
        }


@dataclass(slots=True)
class Series:
    """The rounds of one contender on one workload; reported as medians over rounds."""

    runs: list[Run] = field(default_factory=list)

    @property
    def events_per_s(self) -> float:
        return statistics.median(run.events_per_s for run in self.runs)

    @property
    def events_per_cpu_s(self) -> float:
        return statistics.median(run.events_per_cpu_s for run in self.runs)

    @property
    def us_per_request(self) -> float:
        return statistics.median(run.us_per_request for run in self.runs)

    @property
    def cpu_share(self) -> float:
        """CPU seconds per wall second; well below 1 means the run waited (I/O or a busy machine)."""
        return sum(run.cpu_s for run in self.runs) / sum(run.wall_s for run in self.runs)

    def as_json(self) -> dict[str, Any]:
        return {
            "events_per_s": round(self.events_per_s, 1),
            "events_per_cpu_s": round(self.events_per_cpu_s, 1),
            "us_per_request": round(self.us_per_request, 1),
            "cpu_share": round(self.cpu_share, 3),
            "rounds": [run.as_json() for run in self.runs],
        }


class StdoutCounter(io.TextIOBase):
    """Swallows what the handler prints (EMF metric blobs) and counts the lines, to report them."""

    def __init__(self) -> None:
        self.lines = 0

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.lines += text.count("\n")
        return len(text)


def import_handler() -> ModuleType:
    """Import the ingest handler the way ``cdp serve`` does: no EMF metrics, warnings-only logs."""
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    from lambdas.ingest import handler

    return handler


def create_bench_source(lake: Path) -> IssuedKey:
    return LocalWriteKeyStore(LocalLake.at(lake)).create_source("bench")


def wire_local_service(lake: Path) -> IngestionService:
    """The composition root's own wiring: the real local-lake sink and key store, never throttled."""
    return build_ingestion_service(IngestionSettings(lake=str(lake), rate_limit=UNTHROTTLED))


def timed(
    requests: Sequence[PreparedRequest], seconds: float, send: Callable[[PreparedRequest], None]
) -> Run:
    """Send requests from the pool, round and round, until ``seconds`` have passed; at least one pass."""
    count = events = 0
    started, cpu_started = time.perf_counter(), time.process_time()
    deadline = started + seconds
    while True:
        for request in requests:
            send(request)
            count += 1
            events += request.events
            if time.perf_counter() >= deadline and count >= len(requests):
                return Run(count, events, time.perf_counter() - started, time.process_time() - cpu_started)


class HandlerContender:
    """``lambda_handler`` wired to a local lake, as ``cdp serve`` wires it."""

    def __init__(self, handler: ModuleType, lake: Path, stdout: StdoutCounter) -> None:
        self._handler = handler
        self._service = wire_local_service(lake)
        self._context = LocalLambdaContext(function_name="cdp-ingest")
        self._stdout = stdout
        self.requests_sent = 0
        self.events_sent = 0

    def check(self, requests: Sequence[PreparedRequest]) -> None:
        """Every request of the pool is answered 200 with all its events accepted (untimed)."""
        self._handler.use_service(self._service)
        with redirect_stdout(self._stdout):
            for request in requests:
                response = self._handler.lambda_handler(request.event, self._context)
                body = orjson.loads(response["body"])
                if (
                    response["statusCode"] != 200
                    or body.get("accepted") != request.events
                    or body["rejected"]
                ):
                    raise RuntimeError(
                        f"handler refused a benchmark request: {response['statusCode']} {body}"
                    )
                self._count(request)

    def run(self, requests: Sequence[PreparedRequest], seconds: float) -> Run:
        lambda_handler, context = self._handler.lambda_handler, self._context

        def send(request: PreparedRequest) -> None:
            response = lambda_handler(request.event, context)
            if response["statusCode"] != 200:
                raise RuntimeError(f"handler answered {response['statusCode']}: {response.get('body')}")
            self._count(request)

        self._handler.use_service(self._service)
        with redirect_stdout(self._stdout):
            return timed(requests, seconds, send)

    def _count(self, request: PreparedRequest) -> None:
        self.requests_sent += 1
        self.events_sent += request.events


class BaselineContender:
    """The floor any ingestion pays: ``orjson.loads`` of the body, then the same atomic write of its bytes.

    No authentication, validation, skew correction or record shaping: what is left is JSON parsing and
    one JSON-lines file per request through :meth:`cdp.lake.LocalLake.write_atomic`, exactly as the sink
    writes it (same directory layout, same file naming).
    """

    def __init__(self, lake: Path, zone: ZoneInfo) -> None:
        self._lake = LocalLake.at(lake)
        self._zone = zone
        self.requests_sent = 0

    def run(self, requests: Sequence[PreparedRequest], seconds: float) -> Run:
        def send(request: PreparedRequest) -> None:
            orjson.loads(request.body)
            dt = datetime.now(self._zone).date().isoformat()
            self._lake.write_atomic(f"{RAW_EVENTS}/dt={dt}/{part_name('jsonl')}", request.body + b"\n")
            self.requests_sent += 1

        return timed(requests, seconds, send)


class DiscardingSink:
    """An :class:`~cdp.ingestion.ports.EventSink` that stores nothing: the domain's cost without I/O."""

    def write_events(self, records: Sequence[RawEventRecord]) -> None:
        del records

    def write_rejections(self, rejections: Sequence[QuarantinedEvent]) -> None:
        del rejections


#: what each layer adds to the one below it
LAYER_ADDS: dict[str, str] = {
    "lambda_handler": "correlation id, request id log key, metrics flush",
    "handler._ingest": "Powertools APIGatewayProxyEventV2, route check, body decode, metrics, response",
    "IngestionService.handle, local-lake sink": "LocalLakeEventSink: one atomic JSON-lines file",
    "IngestionService.handle, discarding sink": "domain: auth, parse, validate, skew, record",
}


def layer_costs(
    handler: ModuleType, lake: Path, requests: Sequence[PreparedRequest], seconds: float, rounds: int
) -> dict[str, Run]:
    """Peel the handler one layer at a time on the same requests, to show where a request's time goes.

    The layers take turns, ``rounds`` times, and each reports its median run, so a busy moment on the
    machine does not land on one layer only.
    """
    settings = IngestionSettings(lake=str(lake), rate_limit=UNTHROTTLED)
    service = build_ingestion_service(settings)
    bare = IngestionService(
        sink=DiscardingSink(),
        keys=build_key_store(settings),
        limiter=TokenBucketLimiter(rate_per_second=UNTHROTTLED.requests_per_second, burst=UNTHROTTLED.burst),
        limits=settings.limits,
        zone=settings.zone,
    )
    context = LocalLambdaContext(function_name="cdp-ingest")
    sink = StdoutCounter()

    def through_handler(request: PreparedRequest) -> None:
        handler.lambda_handler(request.event, context)

    def through_event_class(request: PreparedRequest) -> None:
        handler._ingest(APIGatewayProxyEventV2(request.event))

    def through_service(request: PreparedRequest) -> None:
        service.handle(_ingest_request(request))

    def through_domain(request: PreparedRequest) -> None:
        bare.handle(_ingest_request(request))

    layers = {
        "lambda_handler": through_handler,
        "handler._ingest": through_event_class,
        "IngestionService.handle, local-lake sink": through_service,
        "IngestionService.handle, discarding sink": through_domain,
    }
    runs: dict[str, list[Run]] = {name: [] for name in layers}
    handler.use_service(service)
    with redirect_stdout(sink):
        for send in layers.values():
            timed(requests[: max(1, len(requests) // 10)], 0.0, send)  # warm up
        for _ in range(rounds):
            for name, send in layers.items():
                runs[name].append(timed(requests, seconds, send))
    return {name: _median_run(measured) for name, measured in runs.items()}


def _median_run(runs: list[Run]) -> Run:
    return sorted(runs, key=lambda run: run.us_per_request)[len(runs) // 2]


def _ingest_request(request: PreparedRequest) -> IngestRequest:
    headers = request.event["headers"]
    return IngestRequest(call=request.call, body=request.body, headers=headers)


def count_lines(lake: Path, zone: str = RAW_EVENTS) -> tuple[int, int]:
    """(files, lines) under a lake zone: what the run actually stored."""
    files = lines = 0
    for path in lake.joinpath(zone).rglob("*.jsonl"):
        files += 1
        lines += path.read_bytes().count(b"\n")
    return files, lines


def quarantined(lake: Path) -> int:
    return count_lines(lake, QUARANTINE_EVENTS)[1]
