"""A lake of raw events over many days, written by the real ingestion path.

Seeded Segment traffic (``benchmarks.ingest.workloads.SegmentTraffic``: web and app events of a Thai
retailer with full ``context``) goes through :class:`cdp.ingestion.service.IngestionService` into the local
lake sink, with the service's clock set to each day in turn, so the files are exactly what ``cdp serve``
writes: JSON lines under ``raw/events/dt=YYYY-MM-DD/`` (business date, Asia/Bangkok), one file per request.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson

from benchmarks.ingest.workloads import SegmentTraffic
from cdp.adapters.local_sink import LocalLakeEventSink
from cdp.adapters.memory import InMemoryWriteKeyStore
from cdp.ingestion.ratelimit import TokenBucketLimiter
from cdp.ingestion.service import IngestionService, IngestRequest
from cdp.lake import RAW_EVENTS, LocalLake
from cdp.settings import IngestionLimits

ZONE = ZoneInfo("Asia/Bangkok")


@dataclass(frozen=True, slots=True)
class EventFile:
    dt: str
    path: Path
    bytes: int
    #: the size the same file has gzipped (level 6), as Firehose stores it on S3 and Athena reads it
    gzip_bytes: int


def generate(
    root: Path, *, days: int, last_day: date, events_per_day: int, batch: int, seed: int
) -> LocalLake:
    lake = LocalLake.at(root)
    keys = InMemoryWriteKeyStore()
    key = keys.create_source("web").write_key
    clock = {"now": datetime.now(UTC)}
    service = IngestionService(
        sink=LocalLakeEventSink(lake),
        keys=keys,
        limiter=TokenBucketLimiter(rate_per_second=1e9, burst=10**9),
        limits=IngestionLimits(),
        zone=ZONE,
        clock=lambda: clock["now"],
    )
    traffic = SegmentTraffic(seed=seed)
    calls = max(1, events_per_day // batch)
    for offset in range(days):
        day = last_day - timedelta(days=days - 1 - offset)
        opening = datetime(day.year, day.month, day.day, 8, tzinfo=ZONE)  # 08:00-22:00 Bangkok
        for call in range(calls):
            clock["now"] = opening + timedelta(seconds=call * 14 * 3600 // calls)
            body = {"batch": [traffic.mixed() for _ in range(batch)], "writeKey": key}
            response = service.handle(IngestRequest(call="batch", body=orjson.dumps(body), headers={}))
            if response.status != 200:
                raise RuntimeError(
                    f"ingestion refused the generated batch: {response.status} {response.body!r}"
                )
    return lake


def event_files(lake: LocalLake) -> list[EventFile]:
    found = []
    for path in sorted(lake.path(RAW_EVENTS).glob("dt=*/*.jsonl")):
        data = path.read_bytes()
        found.append(
            EventFile(path.parent.name.removeprefix("dt="), path, len(data), len(gzip.compress(data, 6)))
        )
    return found
