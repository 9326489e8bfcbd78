"""The AWS :class:`~cdp.ingestion.ports.EventSink`: Amazon Data Firehose DirectPut streams into the lake.

Accepted events go to one stream, delivered under ``raw/events/dt=…/``; rejections go to a second stream,
delivered under ``quarantine/events/dt=…/``. Firehose partitions on each record's ``dt`` field (dynamic
partitioning, a JQ query), compresses with GZIP and encrypts with the lake's KMS key (``infra/``).

Why a second stream for rejections rather than an S3 ``PutObject`` per request: the ingest function then
holds no S3 or lake-key permission at all (Firehose is its only way into the lake), and a flood of invalid
events is buffered into a few compressed objects instead of one small object per request. An idle stream
costs nothing.

Firehose concatenates the records it receives as they are, so every record ends with a newline: that is
what makes the delivered objects JSON lines. ``dt`` stays in the record because the partitioning query reads
it there; the Glue table declares ``dt`` only as the partition column, so readers see it once.

boto3 is imported when the first client is made, never at module import, so the handler's cold start does
not pay for it unless this sink is configured.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import orjson

from cdp.ingestion.ports import SinkUnavailableError
from cdp.ingestion.records import QuarantinedEvent, RawEventRecord

if TYPE_CHECKING:
    from mypy_boto3_firehose import FirehoseClient
    from mypy_boto3_firehose.type_defs import RecordTypeDef

logger = logging.getLogger(__name__)

#: How a stream must partition this sink's records: Firehose's JQ metadata extraction reads ``dt`` from
#: each record and the S3 prefix puts it in the path. ``infra/`` and the moto tests build streams from these.
PARTITION_QUERY = "{dt: .dt}"


def delivery_prefix(zone: str) -> str:
    """The stream's S3 prefix for a lake zone, e.g. ``raw/events/dt=!{partitionKeyFromQuery:dt}/``."""
    return f"{zone}/dt=!{{partitionKeyFromQuery:dt}}/"


#: PutRecordBatch limits: 500 records and 4 MiB per call, 1,000 KiB per record.
MAX_RECORDS_PER_CALL = 500
MAX_BYTES_PER_CALL = 4 * 1024 * 1024
MAX_RECORD_BYTES = 1000 * 1024


class FirehoseEventSink:
    """Writes records with ``PutRecordBatch``, resending only the records Firehose did not take.

    All-or-nothing per call as the port requires: if some records are still refused after the retries, the
    call raises :class:`SinkUnavailableError` (HTTP 503) and the client resends the whole request. Records
    that did land are then stored twice, which ``raw_events`` absorbs by deduplicating on ``message_id``.
    """

    def __init__(
        self,
        *,
        events_stream: str,
        quarantine_stream: str,
        client: FirehoseClient | None = None,
        retry_delays: Sequence[float] = (0.05, 0.2),
    ) -> None:
        self._events_stream = events_stream
        self._quarantine_stream = quarantine_stream
        self._client = client
        self._retry_delays = tuple(retry_delays)
        self._client_lock = threading.Lock()

    def write_events(self, records: Sequence[RawEventRecord]) -> None:
        self._put(self._events_stream, records)

    def write_rejections(self, rejections: Sequence[QuarantinedEvent]) -> None:
        self._put(self._quarantine_stream, rejections)

    # -- delivery -----------------------------------------------------------------------------------

    def _firehose(self) -> FirehoseClient:
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    import boto3
                    from botocore.config import Config

                    # Worst case 2 x (1 s + 3 s) stays inside the function's 10 s timeout, so a slow
                    # Firehose becomes a 503 the SDK retries, not a timed-out invocation.
                    config = Config(
                        connect_timeout=1, read_timeout=3, retries={"mode": "standard", "max_attempts": 2}
                    )
                    self._client = boto3.client("firehose", config=config)
        return self._client

    def _put(self, stream: str, records: Sequence[Mapping[str, Any]]) -> None:
        if not records:
            return
        payloads = [orjson.dumps(record) + b"\n" for record in records]
        oversized = sum(1 for payload in payloads if len(payload) > MAX_RECORD_BYTES)
        if oversized:
            # cannot happen within the API's request limits; refuse loudly rather than lose records
            raise SinkUnavailableError(f"{oversized} records exceed Firehose's {MAX_RECORD_BYTES} byte limit")
        for chunk in _chunks(payloads):
            self._put_chunk(stream, chunk)

    def _put_chunk(self, stream: str, chunk: list[bytes]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        pending = chunk
        for delay in (*self._retry_delays, None):
            entries: list[RecordTypeDef] = [{"Data": data} for data in pending]
            try:
                response = self._firehose().put_record_batch(DeliveryStreamName=stream, Records=entries)
            except (BotoCoreError, ClientError) as error:
                raise SinkUnavailableError(f"firehose stream {stream}: {error}") from error
            if response["FailedPutCount"] == 0:
                return
            results = response["RequestResponses"]
            pending = [data for data, result in zip(pending, results, strict=True) if result.get("ErrorCode")]
            codes = sorted({result.get("ErrorCode", "") for result in results if result.get("ErrorCode")})
            logger.warning("firehose %s refused %d records (%s)", stream, len(pending), ", ".join(codes))
            if delay is not None:
                time.sleep(delay)
        tries = len(self._retry_delays) + 1
        raise SinkUnavailableError(f"firehose {stream}: {len(pending)} records refused after {tries} tries")


def _chunks(payloads: list[bytes]) -> Iterator[list[bytes]]:
    """Split into calls of at most 500 records and 4 MiB."""
    chunk: list[bytes] = []
    size = 0
    for payload in payloads:
        if chunk and (len(chunk) == MAX_RECORDS_PER_CALL or size + len(payload) > MAX_BYTES_PER_CALL):
            yield chunk
            chunk, size = [], 0
        chunk.append(payload)
        size += len(payload)
    if chunk:
        yield chunk
