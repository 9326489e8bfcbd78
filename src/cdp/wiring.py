"""Composition root: settings in, domain services wired to their adapters out.

Adapters are imported here, lazily, so that importing a handler module stays cheap (cold start) and boto3 is
only loaded where an AWS adapter is chosen.
"""

from __future__ import annotations

from cdp.ingestion.ports import EventSink
from cdp.ingestion.ratelimit import TokenBucketLimiter
from cdp.ingestion.service import IngestionService
from cdp.lake import LocalLake
from cdp.settings import ConfigError, IngestionSettings
from cdp.sources.keys import WriteKeyStore


def build_event_sink(settings: IngestionSettings) -> EventSink:
    if settings.sink == "firehose":
        from cdp.adapters.aws_firehose_sink import FirehoseEventSink

        events = _required(settings.firehose_events_stream, "CDP_FIREHOSE_EVENTS_STREAM")
        quarantine = _required(settings.firehose_quarantine_stream, "CDP_FIREHOSE_QUARANTINE_STREAM")
        return FirehoseEventSink(events_stream=events, quarantine_stream=quarantine)
    from cdp.adapters.local_sink import LocalLakeEventSink

    return LocalLakeEventSink(LocalLake.at(settings.lake))


def build_key_store(settings: IngestionSettings) -> WriteKeyStore:
    if settings.key_store == "dynamodb":
        from cdp.adapters.aws_dynamodb_keys import DynamoDbWriteKeyStore

        return DynamoDbWriteKeyStore(table_name=_required(settings.key_table, "CDP_KEY_TABLE"))
    from cdp.adapters.local_keys import LocalWriteKeyStore

    return LocalWriteKeyStore(LocalLake.at(settings.lake))


def _required(value: str | None, variable: str) -> str:
    """Settings validation already guarantees these; this narrows the type and guards hand-built settings."""
    if value is None:
        raise ConfigError(f"invalid configuration {variable}: is required")
    return value


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
