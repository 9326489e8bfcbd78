"""A small lake for the segments step: the profiles step's outputs (profiles, profile_traits,
profiles_pseudonymized) and the clean events, orders and identity links written straight in as published
snapshots, so each test states exactly the people and activity it checks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from cdp.engine.duckdb_engine import DuckDbEngine
from cdp.engine.port import Engine
from cdp.lakefs import LakeFiles
from cdp.pipeline.runner import SnapshotWriter
from cdp.pipeline.segments import evaluate_segments_in_lake, prepare_segments
from cdp.pipeline.standardize import StepReport
from cdp.segments.definition import DEFINITIONS_DIR
from cdp.tables import (
    EVENTS,
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
from tests.identity_data import table_rows

#: the profiles snapshot's reference time: 12:00 in Bangkok on 31 March 2026
AS_OF = datetime(2026, 3, 31, 5, 0, tzinfo=UTC)
#: the first instant of a 30-business-day window ending on AS_OF's day: 2 March 00:00 in Bangkok
WINDOW_30_START = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)

_LISTS = ("emails", "phones", "user_ids", "anonymous_ids", "sources")


def publish_table(files: LakeFiles, table: LakeTable, rows: Sequence[dict[str, Any]], run_id: str) -> None:
    directory = snapshot_path(table, run_id)
    files.delete_dir(directory)
    target = Path(files.path(directory))
    target.mkdir(parents=True)
    full = [{**dict.fromkeys(table.schema.names), "run_id": run_id, **row} for row in rows]
    pq.write_table(pa.Table.from_pylist(full, schema=table.schema), target / "part-00000.parquet")
    publish(files, table, run_id, len(rows))


def profile(profile_id: str, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"profile_id": profile_id, **{name: [] for name in _LISTS}, "consent": "{}"}
    row.update(values)
    return row


def _pseudonymized(row: dict[str, Any]) -> dict[str, Any]:
    birth = row.get("date_of_birth")
    copied = {
        name: row.get(name) for name in PROFILES_PSEUDONYMIZED.schema.names if name in PROFILES.schema.names
    }
    return {
        **copied,
        "first_name_hash": "h:" + str(row.get("first_name")),
        "email_hashes": ["h:" + email for email in row.get("emails") or []],
        "phone_hashes": [],
        "birth_year": int(birth[:4]) if birth else None,
    }


def trait(profile_id: str, name: str, value: Any, value_type: str = "number") -> dict[str, Any]:
    numeric = value_type in ("number", "integer", "boolean")
    number: float | None = float(value) if numeric else None
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return {
        "profile_id": profile_id,
        "trait_set": "test",
        "trait": name,
        "data_type": "behavioural",
        "value_type": value_type,
        "value": text,
        "number_value": number,
    }


def event(
    message_id: str,
    record_id: str,
    at: datetime,
    name: str = "Order Completed",
    *,
    kind: str = "track",
    channel: str | None = "app",
    properties: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "message_id": message_id,
        "type": kind,
        "event": name if kind == "track" else None,
        "name": name if kind in ("page", "screen") else None,
        "properties": orjson.dumps(properties or {}).decode(),
        "event_time": at,
        "received_at": at,
        "source_id": "app",
        "channel": channel,
        "identity_record_id": record_id,
    }


def order_line(
    order_id: str, record_id: str, at: datetime, *, category: str, total: float = 100.0
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "source_id": "shop",
        "origin": "import",
        "identity_record_id": record_id,
        "order_time": at,
        "order_total": total,
        "currency": "THB",
        "category": category,
        "quantity": 1,
        "unit_price": total,
        "channel": "web",
    }


@dataclass
class SegmentLake:
    """The step's inputs, published together as one ``run_id`` of the upstream steps."""

    profiles: list[dict[str, Any]] = field(default_factory=list)
    traits: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    #: record id → profile id; profiles without an entry get a record ``r-<profile_id>``
    links: dict[str, str] = field(default_factory=dict)

    def publish(self, files: LakeFiles, run_id: str, *, as_of: datetime = AS_OF) -> None:
        profiles = [{"updated_at": as_of, **row} for row in self.profiles]
        links = {f"r-{row['profile_id']}": row["profile_id"] for row in profiles}
        links.update(self.links)
        publish_table(files, PROFILES, profiles, run_id)
        publish_table(files, PROFILES_PSEUDONYMIZED, [_pseudonymized(row) for row in profiles], run_id)
        publish_table(files, PROFILE_TRAITS, self.traits, run_id)
        publish_table(files, EVENTS, self.events, run_id)
        publish_table(files, ORDERS, self.orders, run_id)
        publish_table(
            files,
            IDENTITY_LINKS,
            [
                {"record_id": record, "profile_id": owner, "matched_by": "email", "match_probability": 1.0}
                for record, owner in sorted(links.items())
            ],
            run_id,
        )


def write_definition(files: LakeFiles, text: str, name: str | None = None) -> str:
    """A definition file in the lake (named after its id unless ``name`` is given)."""
    segment_id = next(line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("id:"))
    relative = f"{DEFINITIONS_DIR}/{name or segment_id}.yaml"
    files.write_bytes(relative, text.encode())
    return relative


def remove_definition(files: LakeFiles, relative: str) -> None:
    files.fs.delete_file(files.path(relative))


def run_segments(
    files: LakeFiles, run_id: str, *, engine: Engine | None = None, as_of: datetime | None = None
) -> StepReport:
    """The step as the runner will call it, then the pointer swap."""
    runner = engine or DuckDbEngine()
    try:
        prepared = prepare_segments(files)
        write = SnapshotWriter(runner, files, run_id)
        report = evaluate_segments_in_lake(runner, files, prepared, run_id=run_id, write=write, as_of=as_of)
        write.publish_all()
        return report
    finally:
        if engine is None:
            runner.close()


def memberships(files: LakeFiles) -> list[tuple[str, str, datetime, datetime | None, str]]:
    """Every span of the published snapshot, sorted: (segment, profile, entered, exited, run)."""
    rows = table_rows(files, SEGMENT_MEMBERSHIPS)
    return sorted(
        (row["segment_id"], row["profile_id"], row["entered_at"], row["exited_at"], row["run_id"])
        for row in rows
    )


def open_spans(files: LakeFiles) -> set[tuple[str, str]]:
    """(segment, profile) of every current member."""
    return {(s, p) for s, p, _, exited, _ in memberships(files) if exited is None}


def members_of(files: LakeFiles, segment_id: str) -> set[str]:
    return {p for s, p in open_spans(files) if s == segment_id}


_SHOES = {"category": "shoes", "price": 1500, "on_sale": True}


def publish_mixed_lake(files: LakeFiles) -> None:
    """Five definitions over five people: every kind of condition, a reference, negations, JSON property
    filters."""
    for text in (
        """id: big_spenders
name: Big spenders
condition: {trait: total_spend, gte: 1000}
""",
        """id: bkk_women_25_34
name: Bangkok women 25-34
condition:
  all:
    - {trait: gender, eq: female}
    - {trait: province, in: [TH-10]}
    - {trait: age, between: [25, 34]}
""",
        """id: engaged_or_vip
name: Engaged app users or big spenders
condition:
  any:
    - {in_segment: big_spenders}
    - {performed: "*", channel: app, at_least: 2, within_days: 30}
    - {purchased: {category: [shoes, bags]}, at_least: 1, within_days: 90}
    - {trait: emails, contains: x@mail.com}
""",
        """id: quiet
name: No app activity, no orders
condition:
  all:
    - not: {performed: "*", channel: app, within_days: 30}
    - {trait: order_count, lte: 0}
    - {trait: last_seen, lt: "2026-03-30T00:00:00Z"}
""",
        """id: shoe_lookers
name: Looked at expensive shoes on sale, outside Bangkok's region
condition:
  all:
    - performed: Product Viewed
      where:
        - {property: category, eq: shoes}
        - {property: price, gte: 1000}
        - {property: on_sale, eq: true}
      within_days: 30
    - not: {trait: bangkok_metro, eq: true}
""",
    ):
        write_definition(files, text)
    day = timedelta(days=1)
    people = [
        profile("p1", gender="female", province="TH-10", total_spend=100.0, order_count=1, last_seen=AS_OF),
        profile(
            "p2", gender="female", province="TH-50", total_spend=5000.0, order_count=3, last_seen=AS_OF - day
        ),
        profile("p3", gender="male", total_spend=0.0, order_count=0, last_seen=AS_OF - 10 * day),
        profile("p4", order_count=0, emails=["x@mail.com"], last_seen=AS_OF - 3 * day),
        profile("p5", gender="female", province="TH-10", order_count=0, last_seen=AS_OF - 30 * day),
    ]
    SegmentLake(
        profiles=people,
        traits=[
            trait("p1", "age", 29, "integer"),
            trait("p5", "age", 34, "integer"),
            trait("p2", "age", 30, "integer"),
            trait("p2", "bangkok_metro", True, "boolean"),
        ],
        events=[
            event("e1", "r-p3", AS_OF - day, "Screen", kind="screen"),
            event("e2", "r-p3", AS_OF - 2 * day, "Product Viewed"),
            event("e3", "r-p5", AS_OF - 40 * day, "Product Viewed"),
            event("e4", "r-p4", AS_OF - day, "Product Viewed", channel="web", properties=_SHOES),
            event("e5", "r-p2", AS_OF - day, "Product Viewed", channel="web", properties=_SHOES),
            event(
                "e6",
                "r-p1",
                AS_OF - day,
                "Product Viewed",
                channel="web",
                properties={**_SHOES, "price": 999},
            ),
        ],
        orders=[order_line("o1", "r-p1", AS_OF - 5 * day, category="bags")],
    ).publish(files, "up")
