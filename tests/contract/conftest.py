"""Every adapter of a port passes the same contract (STYLE 2).

Each port's fixture is parametrized over its implementations; the AWS adapters join these lists with
moto-backed factories, so one test body checks them all.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import orjson
import pytest
from moto import mock_aws

from cdp.adapters.aws_dynamodb_keys import PARTITION_KEY, SORT_KEY, DynamoDbWriteKeyStore
from cdp.adapters.aws_dynamodb_profiles import DynamoDbProfileStore
from cdp.adapters.aws_firehose_sink import PARTITION_QUERY, FirehoseEventSink, delivery_prefix
from cdp.adapters.local_keys import LocalWriteKeyStore
from cdp.adapters.local_profiles import SqliteProfileStore
from cdp.adapters.local_sink import LocalLakeEventSink
from cdp.adapters.memory import InMemoryEventSink, InMemoryProfileStore, InMemoryWriteKeyStore
from cdp.ingestion.ports import EventSink
from cdp.ingestion.records import QuarantinedEvent, RawEventRecord
from cdp.lake import QUARANTINE_EVENTS, RAW_EVENTS, LocalLake
from cdp.lookup.ports import ProfileStore
from cdp.query.catalog import run_query
from cdp.sources.keys import WriteKeyStore

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_firehose import FirehoseClient
    from mypy_boto3_s3 import S3Client


class SinkUnderTest:
    """A sink plus a way to read back what it durably stored (the contract is about stored rows)."""

    def __init__(
        self,
        sink: EventSink,
        stored_events: Callable[[], list[dict[str, Any]]],
        stored_rejections: Callable[[], list[dict[str, Any]]],
    ) -> None:
        self.sink = sink
        self.stored_events = stored_events
        self.stored_rejections = stored_rejections


@contextmanager
def _memory_sink(_: Path) -> Iterator[SinkUnderTest]:
    sink = InMemoryEventSink()
    yield SinkUnderTest(
        sink,
        lambda: [{k: v for k, v in e.items() if k != "dt"} | {"dt": e["dt"]} for e in sink.events],
        lambda: [dict(r) for r in sink.rejections],
    )


@contextmanager
def _local_sink(tmp: Path) -> Iterator[SinkUnderTest]:
    lake = LocalLake.at(tmp / "lake")
    yield SinkUnderTest(
        LocalLakeEventSink(lake),
        lambda: run_query(lake, "SELECT * FROM raw_events ORDER BY received_at, message_id").to_pylist(),
        lambda: run_query(lake, "SELECT * FROM quarantine_events ORDER BY event_index").to_pylist(),
    )


@contextmanager
def _memory_keys(_: Path) -> Iterator[WriteKeyStore]:
    yield InMemoryWriteKeyStore()


@contextmanager
def _local_keys(tmp: Path) -> Iterator[WriteKeyStore]:
    yield LocalWriteKeyStore(LocalLake.at(tmp / "lake"))


# -- AWS adapters under moto -----------------------------------------------------------------------

MOTO_REGION = "ap-southeast-1"


@dataclass(frozen=True)
class MotoLake:
    """The AWS side of the ingestion path under moto, built like ``infra/`` builds it."""

    bucket: str
    events_stream: str
    quarantine_stream: str
    key_table: str
    s3: S3Client
    firehose: FirehoseClient
    dynamodb: DynamoDBClient

    def delivered(self, zone: str) -> list[dict[str, Any]]:
        """Every record Firehose delivered under ``zone/``, one per JSON line (moto does not gzip)."""
        rows: list[dict[str, Any]] = []
        for key in self.object_keys(zone):
            data = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            assert data.endswith(b"\n"), f"{key} does not end with a newline: records would run together"
            rows.extend(orjson.loads(line) for line in data.splitlines())
        return rows

    def object_keys(self, zone: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=f"{zone}/")
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


def _delivery_stream(firehose: FirehoseClient, name: str, bucket: str, zone: str) -> None:
    """A DirectPut stream configured as ``infra/`` configures it (moto ignores partitioning and GZIP)."""
    firehose.create_delivery_stream(
        DeliveryStreamName=name,
        DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/cdp-firehose",
            "BucketARN": f"arn:aws:s3:::{bucket}",
            "Prefix": delivery_prefix(zone),
            "ErrorOutputPrefix": f"quarantine/delivery-errors/{name}/",
            "CompressionFormat": "GZIP",
            "DynamicPartitioningConfiguration": {"Enabled": True},
            "ProcessingConfiguration": {
                "Enabled": True,
                "Processors": [
                    {
                        "Type": "MetadataExtraction",
                        "Parameters": [
                            {"ParameterName": "MetadataExtractionQuery", "ParameterValue": PARTITION_QUERY},
                            {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"},
                        ],
                    }
                ],
            },
        },
    )


@contextmanager
def moto_lake() -> Iterator[MotoLake]:
    """Lake bucket, both delivery streams and the write-key table, inside one ``mock_aws``."""
    with mock_aws():
        s3 = boto3.client("s3", region_name=MOTO_REGION)
        firehose = boto3.client("firehose", region_name=MOTO_REGION)
        dynamodb = boto3.client("dynamodb", region_name=MOTO_REGION)
        lake = MotoLake(
            bucket="cdp-test-lake",
            events_stream="cdp-test-events",
            quarantine_stream="cdp-test-quarantine",
            key_table="cdp-test-write-keys",
            s3=s3,
            firehose=firehose,
            dynamodb=dynamodb,
        )
        s3.create_bucket(Bucket=lake.bucket, CreateBucketConfiguration={"LocationConstraint": MOTO_REGION})
        _delivery_stream(firehose, lake.events_stream, lake.bucket, RAW_EVENTS)
        _delivery_stream(firehose, lake.quarantine_stream, lake.bucket, QUARANTINE_EVENTS)
        create_pk_sk_table(dynamodb, lake.key_table)
        yield lake


def create_pk_sk_table(dynamodb: DynamoDBClient, name: str) -> None:
    """A table with the ``pk``/``sk`` string key schema the write-key and profile tables share."""
    dynamodb.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": SORT_KEY, "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


@contextmanager
def _firehose_sink(_: Path) -> Iterator[SinkUnderTest]:
    with moto_lake() as lake:
        sink = FirehoseEventSink(
            events_stream=lake.events_stream, quarantine_stream=lake.quarantine_stream, client=lake.firehose
        )
        yield SinkUnderTest(
            sink,
            lambda: sorted(lake.delivered(RAW_EVENTS), key=lambda r: (r["received_at"], r["message_id"])),
            lambda: sorted(lake.delivered(QUARANTINE_EVENTS), key=lambda r: r["event_index"]),
        )


@contextmanager
def _dynamodb_keys(_: Path) -> Iterator[WriteKeyStore]:
    with moto_lake() as lake:
        yield DynamoDbWriteKeyStore(table_name=lake.key_table, client=lake.dynamodb)


PROFILE_TABLE = "cdp-test-profiles"


@contextmanager
def _memory_profiles(_: Path) -> Iterator[ProfileStore]:
    yield InMemoryProfileStore()


@contextmanager
def _local_profiles(tmp: Path) -> Iterator[ProfileStore]:
    yield SqliteProfileStore(LocalLake.at(tmp / "lake"))


@contextmanager
def _dynamodb_profiles(_: Path) -> Iterator[ProfileStore]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=MOTO_REGION)
        create_pk_sk_table(client, PROFILE_TABLE)
        # small scan segments and pools keep moto quick; the logic is the same as with the defaults
        yield DynamoDbProfileStore(table_name=PROFILE_TABLE, client=client, workers=2, scan_segments=2)


@contextmanager
def _memory_profiles_down(_: Path) -> Iterator[ProfileStore]:
    store = InMemoryProfileStore()
    store.down = True
    yield store


@contextmanager
def _local_profiles_down(tmp: Path) -> Iterator[ProfileStore]:
    path = tmp / "lake" / "_local" / "profile_lookup.sqlite3"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database file, as after a botched copy" * 100)
    yield SqliteProfileStore(path=path)


@contextmanager
def _dynamodb_profiles_down(_: Path) -> Iterator[ProfileStore]:
    with mock_aws():  # the table was never created (or was deleted): every call fails
        client = boto3.client("dynamodb", region_name=MOTO_REGION)
        yield DynamoDbProfileStore(table_name=PROFILE_TABLE, client=client, workers=2, scan_segments=2)


# Factories are context managers so an adapter can hold a moto mock (or a server) for one test.
SINK_FACTORIES: dict[str, Callable[[Path], AbstractContextManager[SinkUnderTest]]] = {
    "memory": _memory_sink,
    "local-lake": _local_sink,
    "firehose-moto": _firehose_sink,
}
KEY_STORE_FACTORIES: dict[str, Callable[[Path], AbstractContextManager[WriteKeyStore]]] = {
    "memory": _memory_keys,
    "local-lake": _local_keys,
    "dynamodb-moto": _dynamodb_keys,
}


PROFILE_STORE_FACTORIES: dict[str, Callable[[Path], AbstractContextManager[ProfileStore]]] = {
    "memory": _memory_profiles,
    "local-sqlite": _local_profiles,
    "dynamodb-moto": _dynamodb_profiles,
}
UNAVAILABLE_PROFILE_STORE_FACTORIES: dict[str, Callable[[Path], AbstractContextManager[ProfileStore]]] = {
    "memory": _memory_profiles_down,
    "local-sqlite": _local_profiles_down,
    "dynamodb-moto": _dynamodb_profiles_down,
}


@pytest.fixture(params=sorted(PROFILE_STORE_FACTORIES))
def profile_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProfileStore]:
    with PROFILE_STORE_FACTORIES[request.param](tmp_path) as store:
        yield store


@pytest.fixture(params=sorted(UNAVAILABLE_PROFILE_STORE_FACTORIES))
def unavailable_profile_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ProfileStore]:
    with UNAVAILABLE_PROFILE_STORE_FACTORIES[request.param](tmp_path) as store:
        yield store


@pytest.fixture(params=sorted(SINK_FACTORIES))
def sink_under_test(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SinkUnderTest]:
    with SINK_FACTORIES[request.param](tmp_path) as under_test:
        yield under_test


@pytest.fixture(params=sorted(KEY_STORE_FACTORIES))
def key_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[WriteKeyStore]:
    with KEY_STORE_FACTORIES[request.param](tmp_path) as store:
        yield store


def raw_event(
    message_id: str, *, dt: str = "2026-03-02", received_at: str = "2026-03-01T17:30:00.000000Z"
) -> RawEventRecord:
    return RawEventRecord(
        message_id=message_id,
        type="track",
        event="Order Completed",
        name=None,
        user_id="u1",
        anonymous_id=None,
        previous_id=None,
        group_id=None,
        traits=None,
        properties='{"revenue":450.5,"สินค้า":"ข้าว"}',
        context='{"traits":{"email":"a@example.com"}}',
        integrations=None,
        timestamp=received_at,
        original_timestamp=None,
        sent_at=None,
        received_at=received_at,
        source_id="web",
        write_key_id="wk_0123456789ab",
        dt=dt,
    )


def quarantined(index: int) -> QuarantinedEvent:
    return QuarantinedEvent(
        quarantined_at="2026-03-01T17:30:00.000000Z",
        source_id="web",
        write_key_id="wk_0123456789ab",
        call="batch",
        event_index=index,
        message_id=None,
        code="invalid_event",
        reason="event is required",
        payload='{"type":"track","userId":"u1"}',
        dt="2026-03-02",
    )
