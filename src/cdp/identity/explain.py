"""Why a profile holds the records it holds: its records, the edges (rule or score) that join them, and
the edges that were refused (and why) between its records and others (SPEC 6: explainable)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from cdp.identity.errors import UnknownProfileError
from cdp.lakefs import LakeFiles
from cdp.tables import IDENTITY_EDGES, IDENTITY_LINKS, IDENTITY_RECORDS, LakeTable, current, snapshot_files

RECORD_FIELDS = (
    "record_id",
    "source_id",
    "first_name",
    "last_name",
    "email",
    "phone_e164",
    "date_of_birth",
    "gender",
    "user_id",
    "anonymous_id",
    "first_seen",
)


@dataclass(frozen=True, slots=True)
class ProfileExplanation:
    profile_id: str
    links: list[dict[str, Any]]  # record_id, matched_by, match_probability
    records: list[dict[str, Any]]
    edges: list[dict[str, Any]]  # accepted edges inside the profile
    refused: list[dict[str, Any]]  # refused edges touching its records


def explain_profile(files: LakeFiles, profile_id: str) -> ProfileExplanation:
    links = _read(files, IDENTITY_LINKS, pc.field("profile_id") == profile_id)
    if links.num_rows == 0:
        raise UnknownProfileError(f"no profile {profile_id!r} in identity_links")
    members = links.column("record_id").to_pylist()
    records = _read(files, IDENTITY_RECORDS, pc.field("record_id").isin(members))
    touching = pc.field("record_id_l").isin(members) | pc.field("record_id_r").isin(members)
    edges = _read(files, IDENTITY_EDGES, touching).to_pylist()
    inside = set(members)
    return ProfileExplanation(
        profile_id=profile_id,
        links=sorted(links.select(["record_id", "matched_by", "match_probability"]).to_pylist(), key=_by_id),
        records=sorted(records.select(list(RECORD_FIELDS)).to_pylist(), key=_by_id),
        edges=sorted(
            (
                e
                for e in edges
                if e["status"] == "accepted" and {e["record_id_l"], e["record_id_r"]} <= inside
            ),
            key=_edge_order,
        ),
        refused=sorted((e for e in edges if e["status"] == "refused"), key=_edge_order),
    )


def _read(files: LakeFiles, table: LakeTable, where: ds.Expression) -> pa.Table:
    paths = snapshot_files(files, current(files, table))
    if not paths:
        return table.schema.empty_table()
    table_read: pa.Table = ds.dataset(paths, format="parquet").to_table(filter=where)
    return table_read


def _by_id(row: dict[str, Any]) -> str:
    return str(row["record_id"])


def _edge_order(row: dict[str, Any]) -> tuple[str, str, str]:
    return (str(row["record_id_l"]), str(row["record_id_r"]), str(row["rule"]))
