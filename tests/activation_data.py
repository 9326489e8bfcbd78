"""A lake as the profiles and segments steps leave it, for activation tests: published ``profiles`` and
``segment_memberships`` snapshots (written with pyarrow, per the ``cdp.tables`` contracts), segment
definitions listing destinations, ``segments/destinations.yaml`` and ``privacy/suppression.jsonl``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from cdp.lakefs import LakeFiles
from cdp.tables import PROFILES, SEGMENT_MEMBERSHIPS, LakeTable, publish, snapshot_path

RUN_1 = "20260301T000000Z-aaaaaa"
RUN_2 = "20260308T000000Z-bbbbbb"
AS_OF_1 = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
AS_OF_2 = datetime(2026, 3, 8, 0, 0, tzinfo=UTC)


def consent(*granted: str, refused: Iterable[str] = ()) -> str:
    decisions = {p: {"granted": True, "at": "2026-01-02T03:04:05Z", "source": "crm"} for p in granted}
    decisions.update({p: {"granted": False, "at": "2026-02-02T03:04:05Z", "source": "app"} for p in refused})
    return orjson.dumps(decisions).decode()


@dataclass(frozen=True)
class Person:
    profile_id: str
    email: str | None
    phone: str | None
    granted: tuple[str, ...] = ("email", "sms", "push", "ads")
    first_name: str = "สมชาย"

    def row(self, run_id: str = RUN_1) -> dict[str, Any]:
        return {
            "profile_id": self.profile_id,
            "first_name": self.first_name,
            "emails": [self.email] if self.email else [],
            "phones": [self.phone] if self.phone else [],
            "primary_email": self.email,
            "primary_phone": self.phone,
            "user_ids": [f"u-{self.profile_id}"],
            "anonymous_ids": [],
            "sources": ["crm"],
            "consent": consent(*self.granted),
            "updated_at": AS_OF_1,
            "run_id": run_id,
        }


def membership(
    segment_id: str, profile_id: str, run_id: str, *, entered: datetime, exited: datetime | None = None
) -> dict[str, Any]:
    return {
        "segment_id": segment_id,
        "profile_id": profile_id,
        "entered_at": entered,
        "exited_at": exited,
        "run_id": run_id,
    }


def write_snapshot(
    files: LakeFiles, table: LakeTable, rows: Sequence[Mapping[str, Any]], run_id: str
) -> None:
    data = pa.Table.from_pylist(list(rows), schema=table.schema)
    directory = snapshot_path(table, run_id)
    files.make_parent(f"{directory}/part-000.parquet")
    pq.write_table(data, files.path(f"{directory}/part-000.parquet"))
    publish(files, table, run_id, data.num_rows)


def publish_people(lake: Path, people: Iterable[Person], run_id: str = RUN_1) -> None:
    write_snapshot(LakeFiles(lake), PROFILES, [person.row(run_id) for person in people], run_id)


def publish_memberships(lake: Path, rows: Sequence[Mapping[str, Any]], run_id: str) -> None:
    write_snapshot(LakeFiles(lake), SEGMENT_MEMBERSHIPS, rows, run_id)


def define_segment(lake: Path, segment_id: str, destinations: Sequence[str]) -> None:
    path = lake / "segments" / "definitions" / f"{segment_id}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "id": segment_id,
        "name": segment_id.replace("_", " ").title(),
        "destinations": list(destinations),
        "condition": {"trait": "rfm_score", "eq": "555"},
    }
    path.write_text(yaml.safe_dump(document, allow_unicode=True))


def configure_destinations(lake: Path, destinations: Sequence[Mapping[str, Any]]) -> None:
    path = lake / "segments" / "destinations.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"destinations": list(destinations)}, allow_unicode=True))


def suppress(lake: Path, *entries: Mapping[str, str]) -> None:
    path = lake / "privacy" / "suppression.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(dict(entry)) + b"\n" for entry in entries))
