"""A small published lake for the analyst views and the example queries of docs/analysts.md.

Every table is written with pyarrow against its contract in :mod:`cdp.tables` and published as a snapshot
(``run_id=…/`` + the pointer), exactly as the pipeline publishes; raw events are JSON lines written by the
local sink under ``raw/events/dt=…/``, one message stored twice (at-least-once delivery).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from cdp.adapters.local_sink import LocalLakeEventSink
from cdp.ingestion.records import RawEventRecord, iso_utc
from cdp.lake import LocalLake
from cdp.lakefs import LakeFiles
from cdp.tables import (
    CONSENT,
    EVENTS,
    IDENTITY_HISTORY,
    IDENTITY_LINKS,
    ORDERS,
    PROFILE_TRAITS,
    PROFILES,
    PROFILES_PSEUDONYMIZED,
    SEGMENT_MEMBERSHIPS,
    LakeTable,
    publish,
    snapshot_path,
)

RUN_1 = "20260301T020000Z-aaaaaa"
RUN_2 = "20260302T020000Z-bbbbbb"
RUN_1_AT = datetime(2026, 3, 1, 2, tzinfo=UTC)
RUN_2_AT = datetime(2026, 3, 2, 2, tzinfo=UTC)
PROVINCES = ("TH-10", "TH-50", "TH-40", "TH-83")
#: plaintext personal data of ``profiles`` that must never reach an analyst view
PII_VALUES = ("Somchai", "Jaidee", "somchai@example.co.th", "+66819473526", "1987-05-12", "user-1")
DAYS = ("2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04")


def write_snapshot(files: LakeFiles, table: LakeTable, rows: list[dict[str, Any]], run_id: str) -> None:
    """Write ``rows`` as ``run_id``'s snapshot of ``table`` and publish it (swap the pointer)."""
    directory = snapshot_path(table, run_id)
    files.delete_dir(directory)
    target = Path(files.path(directory))
    target.mkdir(parents=True)
    complete = [{name: row.get(name) for name in table.schema.names} for row in rows]
    pq.write_table(pa.Table.from_pylist(complete, schema=table.schema), target / "part-00000.parquet")
    publish(files, table, run_id, len(rows))


def scored_profiles() -> list[dict[str, Any]]:
    """Every R, F, M combination once (125 customers), plus two profiles without orders (no scores)."""
    rows = []
    for index, (r, f, m) in enumerate(itertools.product(range(1, 6), repeat=3)):
        rows.append(
            {
                "profile_id": f"p-{index:03d}",
                "first_name_hash": f"fn{index:03d}",
                "email_hashes": [f"eh{index:03d}"],
                "phone_hashes": [],
                "birth_year": 1980 + index % 20,
                "gender": "female" if index % 2 else "male",
                "province": PROVINCES[index % len(PROVINCES)],
                "country": "TH",
                "sources": ["shop"] if index % 3 else ["shop", "crm"],
                "first_seen": RUN_1_AT - timedelta(days=400),
                "last_seen": RUN_2_AT - timedelta(days=index % 30),
                "record_count": 1 + index % 3,
                "event_count": index % 7,
                "order_count": f + 1,
                "total_spend": 100.0 * m + index,
                "avg_order_value": 50.0 + m,
                "recency_days": (6 - r) * 30,
                "frequency_90d": f,
                "monetary_90d": 100.0 * m,
                "r_score": r,
                "f_score": f,
                "m_score": m,
                "rfm_score": f"{r}{f}{m}",
                "consent": orjson.dumps({"email": {"granted": index % 2 == 0}}).decode(),
                "updated_at": RUN_2_AT,
                "run_id": RUN_2,
            }
        )
    for index in (900, 901):
        rows.append(
            {
                "profile_id": f"p-{index}",
                "province": "TH-10",
                "country": "TH",
                "sources": ["web"],
                "order_count": 0,
                "total_spend": 0.0,
                "consent": "{}",
                "updated_at": RUN_2_AT,
                "run_id": RUN_2,
            }
        )
    return rows


def memberships() -> list[dict[str, Any]]:
    """Two segments: ``vip`` gained p-001 and lost p-003 in run 2; ``lapsed`` is unchanged since run 1."""
    return [
        {"segment_id": "vip", "profile_id": "p-000", "entered_at": RUN_1_AT, "run_id": RUN_1},
        {"segment_id": "vip", "profile_id": "p-002", "entered_at": RUN_1_AT, "run_id": RUN_1},
        {"segment_id": "vip", "profile_id": "p-001", "entered_at": RUN_2_AT, "run_id": RUN_2},
        {
            "segment_id": "vip",
            "profile_id": "p-003",
            "entered_at": RUN_1_AT,
            "exited_at": RUN_2_AT,
            "run_id": RUN_2,
        },
        {"segment_id": "lapsed", "profile_id": "p-010", "entered_at": RUN_1_AT, "run_id": RUN_1},
    ]


def consent_decisions() -> list[dict[str, Any]]:
    """p-000 granted e-mail in the app, then withdrew it in the CRM; p-001 granted ads on the banner."""
    decisions = [
        ("p-000", "email", True, datetime(2026, 1, 10, 3, tzinfo=UTC), "app", "event", "m-identify", False),
        ("p-000", "email", False, datetime(2026, 2, 1, 3, tzinfo=UTC), "crm", "import", "crm:C1", True),
        ("p-001", "ads", True, datetime(2026, 2, 15, 3, tzinfo=UTC), "app", "event", "m-consent", True),
    ]
    names = (
        "profile_id",
        "purpose",
        "granted",
        "decided_at",
        "source_id",
        "origin",
        "record_id",
        "is_latest",
    )
    return [{**dict(zip(names, decision, strict=True)), "run_id": RUN_2} for decision in decisions]


def raw_events() -> list[RawEventRecord]:
    records = []
    for day_index, dt in enumerate(DAYS):
        for n in range(3):
            received = datetime(2026, 3, 1, 3, tzinfo=UTC) + timedelta(days=day_index, minutes=n)
            records.append(
                RawEventRecord(
                    message_id=f"m-{dt}-{n}",
                    type="track" if n else "page",
                    event="Order Completed" if n else None,
                    name=None if n else "Home",
                    user_id=f"user-{n}",
                    anonymous_id=None,
                    previous_id=None,
                    group_id=None,
                    traits=None,
                    properties=orjson.dumps({"revenue": 100 * n}).decode(),
                    context="{}",
                    integrations=None,
                    timestamp=iso_utc(received),
                    original_timestamp=None,
                    sent_at=None,
                    received_at=iso_utc(received),
                    source_id="web" if n % 2 else "app",
                    write_key_id="wk_0123456789ab",
                    dt=dt,
                )
            )
    return [*records, records[1]]  # the same message delivered twice


def build_analytics_lake(root: Path) -> LocalLake:
    lake = LocalLake.at(root)
    files = LakeFiles(lake.root)
    write_snapshot(
        files,
        PROFILES,
        [
            {
                "profile_id": "p-000",
                "first_name": "Somchai",
                "last_name": "Jaidee",
                "emails": ["somchai@example.co.th"],
                "phones": ["+66819473526"],
                "primary_email": "somchai@example.co.th",
                "primary_phone": "+66819473526",
                "date_of_birth": "1987-05-12",
                "user_ids": ["user-1"],
                "province": "TH-10",
                "country": "TH",
                "run_id": RUN_2,
            }
        ],
        RUN_2,
    )
    write_snapshot(files, PROFILES_PSEUDONYMIZED, scored_profiles(), RUN_2)
    write_snapshot(files, CONSENT, consent_decisions(), RUN_2)
    write_snapshot(files, SEGMENT_MEMBERSHIPS, memberships(), RUN_2)
    write_snapshot(
        files,
        IDENTITY_LINKS,
        [
            {"record_id": "r1", "profile_id": "p-000", "matched_by": "email", "match_probability": 1.0},
            {"record_id": "r2", "profile_id": "p-000", "matched_by": "phone", "match_probability": 1.0},
            {
                "record_id": "r3",
                "profile_id": "p-001",
                "matched_by": "probabilistic",
                "match_probability": 0.97,
            },
            {"record_id": "r4", "profile_id": "p-002", "matched_by": "singleton", "match_probability": 1.0},
        ],
        RUN_2,
    )
    write_snapshot(
        files,
        IDENTITY_HISTORY,
        [
            {
                "run_id": RUN_1,
                "event": "merge",
                "profile_id": "p-000",
                "other_profile_id": "p-050",
                "record_count": 2,
            },
            {
                "run_id": RUN_2,
                "event": "merge",
                "profile_id": "p-001",
                "other_profile_id": "p-051",
                "record_count": 1,
            },
            {
                "run_id": RUN_2,
                "event": "split",
                "profile_id": "p-002",
                "other_profile_id": "p-052",
                "record_count": 1,
            },
        ],
        RUN_2,
    )
    write_snapshot(
        files,
        ORDERS,
        [
            {
                "order_id": f"o-{n}",
                "source_id": "shop",
                "identity_record_id": f"r{1 + n % 4}",
                "order_time": RUN_1_AT - timedelta(days=20 * n),
                "order_total": 245.0 * (n + 1),
                "product_id": "SKU-RICE-5KG",
                "category": "grocery" if n % 2 else "beverage",
                "quantity": n + 1,
                "unit_price": 245.0,
                "channel": "web" if n % 2 else "pos",
            }
            for n in range(6)
        ],
        RUN_1,
    )
    write_snapshot(
        files,
        PROFILE_TRAITS,
        [
            {
                "profile_id": "p-000",
                "trait_set": "behavioural",
                "trait": "favourite_category",
                "value": "grocery",
            },
            {
                "profile_id": "p-001",
                "trait_set": "behavioural",
                "trait": "favourite_category",
                "value": "grocery",
            },
        ],
        RUN_2,
    )
    write_snapshot(files, EVENTS, [], RUN_1)
    LocalLakeEventSink(lake).write_events(raw_events())
    return lake
