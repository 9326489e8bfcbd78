"""Composition root: settings in, domain services wired to their adapters out.

Adapters are imported here, lazily, so that importing a handler module stays cheap (cold start) and boto3 is
only loaded where an AWS adapter is chosen.
"""

from __future__ import annotations

from cdp.ingestion.ports import EventSink
from cdp.ingestion.ratelimit import TokenBucketLimiter
from cdp.ingestion.service import IngestionService
from cdp.lake import LocalLake
from cdp.settings import IngestionSettings
from cdp.sources.keys import WriteKeyStore


def build_event_sink(settings: IngestionSettings) -> EventSink:
    from cdp.adapters.local_sink import LocalLakeEventSink

    return LocalLakeEventSink(LocalLake.at(settings.lake))


def build_key_store(settings: IngestionSettings) -> WriteKeyStore:
    from cdp.adapters.local_keys import LocalWriteKeyStore

    return LocalWriteKeyStore(LocalLake.at(settings.lake))


def build_ingestion_service(settings: IngestionSettings) -> IngestionService:
    return IngestionService(
        sink=build_event_sink(settings),
        keys=build_key_store(settings),
        limiter=TokenBucketLimiter(
            rate_per_second=settings.rate_limit.requests_per_second, burst=settings.rate_limit.burst
        ),
        limits=settings.limits,
        zone=settings.zone,
    )
