"""A synthetic lake for the lookup benchmark: ``profiles``, ``profile_traits`` and ``segment_memberships``
snapshots as the pipeline publishes them, seeded, at any size.

Every profile has one e-mail, one phone, one user id and two anonymous ids (five index entries), Thai and
Latin names, activity, RFM and consent; ten traits of every value type; about a third are in one to three
segments, and some memberships have ended.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from cdp.lakefs import LakeFiles
from cdp.tables import PROFILE_TRAITS, PROFILES, SEGMENT_MEMBERSHIPS, LakeTable, publish, snapshot_path

FIRST = ["สมชาย", "สมหญิง", "วิชัย", "มาลี", "Somchai", "Nattapong", "Kanya", "Ploy", "Arthit", "Siriporn"]
LAST = ["ใจดี", "ศรีสุข", "Wongsakul", "Chaiyaporn", "Thongchai", "รัตนพันธ์", "Srisuk", "Boonmee"]
CITIES = [("Bangkok", "TH-10"), ("Chiang Mai", "TH-50"), ("Khon Kaen", "TH-40"), ("Phuket", "TH-83")]
SEGMENTS = ["high-value", "lapsed", "new-customers", "beauty-lovers", "app-users", "line-optin"]
CATEGORIES = ["beauty", "fashion", "electronics", "home", "grocery"]
NOW = datetime(2026, 11, 28, tzinfo=UTC)


@dataclass(frozen=True)
class BenchLake:
    root: Path
    profiles: int
    trait_rows: int
    membership_rows: int

    def email(self, i: int) -> str:
        return email_of(i)


def profile_id_of(i: int) -> str:
    return f"p-{i:08d}"


def email_of(i: int) -> str:
    return f"somsak.{i}@shop{i % 97}.co.th"


def phone_of(i: int) -> str:
    return f"+66{8 + i % 2}{10_000_000 + i:08d}"


def build_lake(
    root: Path, profiles: int, *, seed: int = 7, run_id: str = "20261128T000000Z-bench1"
) -> BenchLake:
    rng = random.Random(seed)
    files = LakeFiles(root)
    rows = []
    for i in range(profiles):
        city, province = CITIES[i % len(CITIES)]
        orders = rng.randint(0, 12)
        spend = round(orders * rng.uniform(200, 3000), 2)
        rows.append(
            {
                "profile_id": profile_id_of(i),
                "first_name": FIRST[i % len(FIRST)],
                "last_name": LAST[(i // 7) % len(LAST)],
                "date_of_birth": f"{1960 + i % 45}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                "gender": "female" if i % 2 else "male",
                "city": city,
                "province": province,
                "postcode": f"{10_000 + i % 90_000}",
                "country": "TH",
                "emails": [email_of(i)],
                "phones": [phone_of(i)],
                "primary_email": email_of(i),
                "primary_phone": phone_of(i),
                "user_ids": [f"u-{i}"],
                "anonymous_ids": [f"anon-{i:08d}-web", f"anon-{i:08d}-app"],
                "sources": ["crm", "shop"] if i % 3 else ["app"],
                "first_seen": NOW - timedelta(days=400 + i % 300),
                "last_seen": NOW - timedelta(days=i % 60),
                "record_count": 1 + i % 4,
                "event_count": rng.randint(0, 200),
                "order_count": orders,
                "total_spend": spend,
                "avg_order_value": round(spend / orders, 2) if orders else None,
                "last_order_at": NOW - timedelta(days=i % 90) if orders else None,
                "recency_days": i % 90 if orders else None,
                "frequency_90d": orders // 2,
                "monetary_90d": round(spend / 2, 2),
                "r_score": 1 + i % 5 if orders else None,
                "f_score": 1 + (i // 5) % 5 if orders else None,
                "m_score": 1 + (i // 25) % 5 if orders else None,
                "rfm_score": f"{1 + i % 5}{1 + (i // 5) % 5}{1 + (i // 25) % 5}" if orders else None,
                "consent": orjson.dumps(
                    {
                        "email": {"granted": i % 4 != 0, "at": "2026-01-02T03:04:05Z", "source": "crm"},
                        "sms": {"granted": i % 3 == 0, "at": "2026-02-01T00:00:00Z", "source": "shop"},
                    }
                ).decode(),
                "updated_at": NOW,
                "run_id": run_id,
            }
        )
    _write(files, PROFILES, pa.Table.from_pylist(rows, schema=PROFILES.schema), run_id)
    del rows

    columns: dict[str, list[object]] = {name: [] for name in PROFILE_TRAITS.schema.names}
    for i in range(profiles):
        pid = profile_id_of(i)
        for trait, value_type, value, number in (
            ("ltv", "number", None, round(rng.uniform(0, 50_000), 2)),
            ("aov", "number", None, round(rng.uniform(100, 3000), 2)),
            ("orders_90d", "integer", None, float(i % 7)),
            ("days_since_last_visit", "integer", None, float(i % 60)),
            ("is_vip", "boolean", None, float(i % 10 == 0)),
            ("favourite_category", "string", CATEGORIES[i % len(CATEGORIES)], None),
            ("favourite_channel", "string", "app" if i % 3 == 0 else "web", None),
            ("first_order_at", "timestamp", (NOW - timedelta(days=300 + i % 200)).isoformat(), None),
            ("purchase_propensity_30d", "number", None, round(rng.random(), 4)),
            ("preferred_language", "string", "th" if i % 5 else "en", None),
        ):
            columns["profile_id"].append(pid)
            columns["trait_set"].append("transactional")
            columns["trait"].append(trait)
            columns["data_type"].append("behavioural")
            columns["value_type"].append(value_type)
            columns["value"].append(value if value is not None else str(number))
            columns["number_value"].append(number)
            columns["run_id"].append(run_id)
    traits = pa.table(columns, schema=PROFILE_TRAITS.schema)
    _write(files, PROFILE_TRAITS, traits, run_id)
    trait_rows = traits.num_rows
    del traits, columns

    memberships: dict[str, list[object]] = {name: [] for name in SEGMENT_MEMBERSHIPS.schema.names}
    for i in range(profiles):
        if i % 3:
            continue
        for segment in rng.sample(SEGMENTS, k=1 + i % 3):
            memberships["segment_id"].append(segment)
            memberships["profile_id"].append(profile_id_of(i))
            memberships["entered_at"].append(NOW - timedelta(days=30))
            memberships["exited_at"].append(NOW - timedelta(days=2) if rng.random() < 0.2 else None)
            memberships["run_id"].append(run_id)
    membership_table = pa.table(memberships, schema=SEGMENT_MEMBERSHIPS.schema)
    _write(files, SEGMENT_MEMBERSHIPS, membership_table, run_id)
    return BenchLake(root, profiles, trait_rows, membership_table.num_rows)


def change_profiles(root: Path, share: float, *, run_id: str, seed: int = 11) -> int:
    """Publish a next run of ``profiles`` where ``share`` of the rows changed city; returns how many."""
    files = LakeFiles(root)
    from cdp.tables import current, snapshot_files

    table = pq.read_table(snapshot_files(files, current(files, PROFILES)), partitioning=None)
    rng = random.Random(seed)
    changed = set(rng.sample(range(table.num_rows), int(table.num_rows * share)))
    cities = table.column("city").to_pylist()
    table = table.set_column(
        table.schema.get_field_index("city"),
        "city",
        pa.array([("Hat Yai" if i in changed else city) for i, city in enumerate(cities)], pa.string()),
    )
    _write(files, PROFILES, table, run_id)
    return len(changed)


def _write(files: LakeFiles, table: LakeTable, data: pa.Table, run_id: str) -> None:
    directory = snapshot_path(table, run_id)
    files.make_parent(f"{directory}/x")
    pq.write_table(data, files.path(f"{directory}/part-00000.parquet"), compression="zstd")
    publish(files, table, run_id, data.num_rows)
