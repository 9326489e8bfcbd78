"""A small lake with events and imported rows, built through the real write paths, for pipeline tests."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from cdp.adapters.local_sink import LocalLakeEventSink
from cdp.adapters.memory import InMemoryWriteKeyStore
from cdp.imports.fields import IMPORT_ROWS_SCHEMA
from cdp.ingestion.ratelimit import TokenBucketLimiter
from cdp.ingestion.service import IngestionService, IngestRequest
from cdp.lake import LocalLake
from cdp.settings import IngestionLimits

RECEIVED = datetime(2026, 3, 1, 17, 30, tzinfo=UTC)

EVENT_BATCHES: list[dict[str, Any]] = [
    {
        "batch": [
            {
                "type": "page",
                "anonymousId": "anon-1",
                "name": "Home",
                "messageId": "p-1",
                "timestamp": "2026-03-01T10:00:00Z",
            },
            {
                "type": "identify",
                "userId": "user-1",
                "anonymousId": "anon-1",
                "messageId": "i-1",
                "traits": {
                    "email": "Somchai.J@Gmail.com",
                    "phone": "081-947-3526",
                    "firstName": "นายสมชาย",
                    "lastName": "ใจดี",
                    "birthday": "12/05/2530",
                    "address": {"city": "Bangkok"},
                },
                "timestamp": "2026-03-01T10:05:00Z",
            },
            {"type": "alias", "userId": "user-1", "previousId": "anon-9", "messageId": "a-1"},
            {
                "type": "track",
                "userId": "user-1",
                "event": "Order Completed",
                "messageId": "o-1",
                "timestamp": "2026-03-01T10:30:00Z",
                "properties": {
                    "order_id": "W-1",
                    "revenue": 1540.0,
                    "currency": "THB",
                    "products": [
                        {"product_id": "SKU-FAN-16", "name": "พัดลม", "quantity": 1, "price": 1290},
                        {"sku": "SKU-TEA", "name": "Thai tea", "quantity": 2, "price": 125},
                    ],
                },
            },
            {
                "type": "screen",
                "anonymousId": "anon-2",
                "name": "Home",
                "messageId": "s-1",
                "context": {"traits": {"email": "nobody@example.com"}},
            },
            {
                "type": "identify",
                "anonymousId": "anon-2",
                "messageId": "i-2",
                "context": {"traits": {"email": "malee.srisuk@outlook.co.th", "phone": "+66 89 111 2222"}},
            },
        ]
    },
    # an SDK retry: the same messageId again, later; the first copy must win
    {
        "batch": [
            {
                "type": "track",
                "userId": "user-1",
                "event": "Order Completed",
                "messageId": "o-1",
                "properties": {"order_id": "W-1", "revenue": 9999.0},
            }
        ]
    },
]


def import_row(**values: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(IMPORT_ROWS_SCHEMA.names)
    row.update(values)
    return row


IMPORT_ROWS: list[dict[str, Any]] = [
    import_row(
        source_id="crm",
        import_id="aaaa000000000001",
        file_name="crm.csv",
        row_number=1,
        row_key="C-1",
        kind="customers",
        default_region="TH",
        imported_at="2026-02-01T00:00:00.000000Z",
        record_id="C-1",
        first_name="สมชาย",
        last_name="ใจดี",
        email="somchai.j@gmail.com",
        phone="0819473526",
        date_of_birth="1987-05-12",
        state="กรุงเทพมหานคร",
        gender="ช",
        attributes='{"loyalty_points": 120}',
    ),
    import_row(
        source_id="crm",
        import_id="aaaa000000000001",
        file_name="crm.csv",
        row_number=2,
        row_key="C-2",
        kind="customers",
        default_region="TH",
        imported_at="2026-02-01T00:00:00.000000Z",
        record_id="C-2",
        full_name="Ms. Malee Srisuk",
        email="test@test.com",
        phone="0000000000",
    ),
    # a later export of C-2: the latest import wins
    import_row(
        source_id="crm",
        import_id="bbbb000000000002",
        file_name="crm2.csv",
        row_number=1,
        row_key="C-2",
        kind="customers",
        default_region="TH",
        imported_at="2026-02-15T00:00:00.000000Z",
        record_id="C-2",
        full_name="Ms. Malee Srisuk",
        email="malee.srisuk@outlook.co.th",
        phone="089-111-2222",
        state="Chiang Mai",
    ),
    import_row(
        source_id="shop",
        import_id="cccc000000000003",
        file_name="orders.jsonl",
        row_number=1,
        row_key="R-1",
        kind="orders",
        default_region="TH",
        imported_at="2026-02-20T00:00:00.000000Z",
        email="malee.srisuk@outlook.co.th",
        order_id="S-77",
        order_date="2026-02-19T03:00:00.000000Z",
        order_total=350.0,
        currency="THB",
        product_id="SKU-SHIRT-L",
        product_name="เสื้อยืด",
        category="fashion",
        quantity=1,
        unit_price=350.0,
        channel="pos",
    ),
]


def ingestion_service(lake: LocalLake, clock: Callable[[], datetime]) -> tuple[IngestionService, str]:
    """The ingestion service writing to ``lake`` (no rate limit to speak of), and its one source's write
    key."""
    keys = InMemoryWriteKeyStore()
    key = keys.create_source("web").write_key
    service = IngestionService(
        sink=LocalLakeEventSink(lake),
        keys=keys,
        limiter=TokenBucketLimiter(rate_per_second=1e6, burst=10**6),
        limits=IngestionLimits(),
        zone=ZoneInfo("Asia/Bangkok"),
        clock=clock,
    )
    return service, key


def send_events(lake: LocalLake, *events: dict[str, Any], at: datetime = RECEIVED) -> None:
    """One batch of ``events`` received at ``at``, through the ingestion service like any."""
    service, key = ingestion_service(lake, lambda: at)
    body = orjson.dumps({"batch": list(events), "writeKey": key})
    assert service.handle(IngestRequest(call="batch", body=body, headers={})).status == 200


def copy_to_versioned_bucket(lake: LocalLake, s3: Any) -> str:
    """The lake's files (not its ``_local/`` state) in a new versioned bucket named after the test's
    folder, as the platform's lake bucket is versioned; the bucket's name."""
    bucket = f"lake-{re.sub(r'[^a-z0-9]', '', lake.root.parent.name.lower())[:40]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for path in lake.root.rglob("*"):
        if path.is_file() and "_local" not in path.parts:
            s3.put_object(Bucket=bucket, Key=str(path.relative_to(lake.root)), Body=path.read_bytes())
    return bucket


def build_lake(root: Path) -> LocalLake:
    lake = LocalLake.at(root)
    times = iter(RECEIVED.replace(minute=m) for m in range(30, 60))
    service, key = ingestion_service(lake, lambda: next(times))
    for batch in EVENT_BATCHES:
        response = service.handle(
            IngestRequest(call="batch", body=orjson.dumps({**batch, "writeKey": key}), headers={})
        )
        assert response.status == 200, response.body
    by_import: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in IMPORT_ROWS:
        by_import.setdefault((row["source_id"], row["import_id"]), []).append(row)
    for (source, import_id), rows in by_import.items():
        target = lake.path("clean/import_rows", f"source={source}", f"import_id={import_id}", "rows.parquet")
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=IMPORT_ROWS_SCHEMA), target)
        lake.write_atomic(f"raw/imports/{source}/{import_id}/_manifest.json", b'{"status": "complete"}')
    return lake
