"""Versioned lake tables: each run writes a snapshot, then swaps a small pointer (SPEC 4).

``<zone>/<table>/run_id=<id>/part-*.parquet`` holds a snapshot; ``<zone>/<table>/_current.json`` names the
published one. Readers resolve the pointer first, so they never see a half-written table, and old snapshots
can be expired. On AWS the pointer is the Glue table's location; locally it is this file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import orjson
import pyarrow as pa

from cdp.lakefs import LakeFiles

POINTER = "_current.json"
UTC_TIME = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True, slots=True)
class LakeTable:
    name: str
    prefix: str  # e.g. "clean/events"
    schema: pa.Schema
    description: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    table: str
    run_id: str
    directory: str  # lake-relative
    rows: int
    published_at: str


def _schema(*fields: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(name, kind) for name, kind in fields])


EVENTS: Final = LakeTable(
    name="events",
    prefix="clean/events",
    description="typed events, one row per messageId (first received copy wins)",
    schema=_schema(
        ("message_id", pa.string()),
        ("type", pa.string()),
        ("event", pa.string()),
        ("name", pa.string()),
        ("user_id", pa.string()),
        ("anonymous_id", pa.string()),
        ("previous_id", pa.string()),
        ("group_id", pa.string()),
        ("traits", pa.string()),
        ("properties", pa.string()),
        ("context", pa.string()),
        ("event_time", UTC_TIME),
        ("received_at", UTC_TIME),
        ("source_id", pa.string()),
        ("channel", pa.string()),
        ("identity_record_id", pa.string()),
        ("dt", pa.string()),
        ("run_id", pa.string()),
    ),
)

#: one row per source record or event identity, with standardized identifiers (the resolver's input)
IDENTITY_RECORDS: Final = LakeTable(
    name="identity_records",
    prefix="clean/identity_records",
    description="one row per source record or event identity, standardized identifiers",
    schema=_schema(
        ("record_id", pa.string()),
        ("source_id", pa.string()),
        ("origin", pa.string()),  # import | event
        ("kind", pa.string()),  # customers | orders | survey | consent | events
        ("source_record_key", pa.string()),
        ("user_id", pa.string()),
        ("anonymous_id", pa.string()),
        ("email", pa.string()),
        ("email_key", pa.string()),
        ("phone_e164", pa.string()),
        ("first_name", pa.string()),
        ("last_name", pa.string()),
        ("full_name", pa.string()),
        ("name_script", pa.string()),
        ("date_of_birth", pa.string()),
        ("gender", pa.string()),
        ("address_line", pa.string()),
        ("city", pa.string()),
        ("province_code", pa.string()),
        ("postcode", pa.string()),
        ("country_code", pa.string()),
        ("national_id", pa.string()),
        ("company", pa.string()),
        ("attributes", pa.string()),
        ("quality_issues", pa.string()),
        ("first_seen", UTC_TIME),
        ("last_seen", UTC_TIME),
        ("run_id", pa.string()),
    ),
)

ORDERS: Final = LakeTable(
    name="orders",
    prefix="clean/orders",
    description="one row per order line from shop imports and Order Completed events",
    schema=_schema(
        ("order_id", pa.string()),
        ("source_id", pa.string()),
        ("origin", pa.string()),
        ("identity_record_id", pa.string()),
        ("order_time", UTC_TIME),
        ("order_total", pa.float64()),
        ("currency", pa.string()),
        ("product_id", pa.string()),
        ("product_name", pa.string()),
        ("category", pa.string()),
        ("quantity", pa.int64()),
        ("unit_price", pa.float64()),
        ("channel", pa.string()),
        ("run_id", pa.string()),
    ),
)

CLEAN_TABLES: Final[tuple[LakeTable, ...]] = (EVENTS, IDENTITY_RECORDS, ORDERS)

#: one row per identity record: the profile it belongs to and the rule (or score) that put it there
IDENTITY_LINKS: Final = LakeTable(
    name="identity_links",
    prefix="identity/links",
    description="record → profile, with the rule or score that joined it (SPEC 4, 6)",
    schema=_schema(
        ("record_id", pa.string()),
        ("profile_id", pa.string()),
        ("matched_by", pa.string()),  # the strongest edge rule into its profile; "singleton" when alone
        ("match_probability", pa.float64()),  # 1.0 for rules, the score for probabilistic edges
        ("run_id", pa.string()),
    ),
)

#: every edge the resolver considered: accepted ones hold profiles together, refused ones say why not
IDENTITY_EDGES: Final = LakeTable(
    name="identity_edges",
    prefix="identity/edges",
    description="candidate record pairs with rule, score, and accepted/refused (reason)",
    schema=_schema(
        ("record_id_l", pa.string()),
        ("record_id_r", pa.string()),
        ("rule", pa.string()),  # user_id | national_id | source_key | email | phone | anonymous_id | …
        ("match_probability", pa.float64()),
        ("status", pa.string()),  # accepted | refused
        ("reason", pa.string()),  # why refused (dob_conflict, …), or the evidence of a probabilistic pair
        ("run_id", pa.string()),
    ),
)

#: merges, splits and overrides across runs (each snapshot holds the whole history)
IDENTITY_HISTORY: Final = LakeTable(
    name="identity_history",
    prefix="identity/history",
    description="profile merges, splits and applied overrides, with reasons and evidence",
    schema=_schema(
        ("run_id", pa.string()),
        ("event", pa.string()),  # merge | split | override
        ("profile_id", pa.string()),  # merge: the survivor; split: the profile that kept its id
        ("other_profile_id", pa.string()),  # merge: the loser; split: the new profile
        ("record_count", pa.int64()),  # records that moved
        ("reason", pa.string()),
        ("evidence", pa.string()),  # JSON text
    ),
)

IDENTITY_TABLES: Final[tuple[LakeTable, ...]] = (IDENTITY_LINKS, IDENTITY_EDGES, IDENTITY_HISTORY)

_STRINGS = pa.list_(pa.string())

#: one row per person (SPEC 4): survived attributes, every identifier, activity and value
PROFILES: Final = LakeTable(
    name="profiles",
    prefix="profiles/profiles",
    description="one row per person: survived attributes, identifiers, activity, RFM (SPEC 4)",
    schema=_schema(
        ("profile_id", pa.string()),
        # attributes, each survived by its rule (most recent, most frequent, most trusted source)
        ("first_name", pa.string()),
        ("last_name", pa.string()),
        ("date_of_birth", pa.string()),  # ISO YYYY-MM-DD
        ("gender", pa.string()),
        ("city", pa.string()),
        ("province", pa.string()),  # ISO 3166-2 code, e.g. TH-10
        ("postcode", pa.string()),
        ("country", pa.string()),  # ISO 3166-1 alpha-2
        ("company", pa.string()),  # B2B
        # identifiers: every distinct value, and the primary one
        ("emails", _STRINGS),
        ("phones", _STRINGS),  # E.164
        ("primary_email", pa.string()),
        ("primary_phone", pa.string()),
        ("user_ids", _STRINGS),
        ("anonymous_ids", _STRINGS),
        ("sources", _STRINGS),  # source ids the person's records came from
        # activity and value (business time zone for day boundaries)
        ("first_seen", UTC_TIME),
        ("last_seen", UTC_TIME),
        ("record_count", pa.int64()),
        ("event_count", pa.int64()),
        ("order_count", pa.int64()),
        ("total_spend", pa.float64()),
        ("avg_order_value", pa.float64()),
        ("last_order_at", UTC_TIME),
        ("recency_days", pa.int64()),  # days since the last order; null without orders
        ("frequency_90d", pa.int64()),  # orders in the last 90 days
        ("monetary_90d", pa.float64()),  # spend in the last 90 days
        ("r_score", pa.int32()),  # quintiles 1-5 among customers with orders; null without orders
        ("f_score", pa.int32()),
        ("m_score", pa.int32()),
        ("rfm_score", pa.string()),  # e.g. "545"
        ("consent", pa.string()),  # JSON object: purpose -> {"granted": bool, "at": ISO time, "source": id}
        ("updated_at", UTC_TIME),  # the run's reference time ("now" of windows)
        ("run_id", pa.string()),
    ),
)

#: computed traits in long form: one row per profile and trait (declared in YAML, SPEC 7)
PROFILE_TRAITS: Final = LakeTable(
    name="profile_traits",
    prefix="profiles/traits",
    description="computed traits per profile, one row per trait (value as text and as number)",
    schema=_schema(
        ("profile_id", pa.string()),
        ("trait_set", pa.string()),  # the template or file that declared it, e.g. transactional
        ("trait", pa.string()),
        ("data_type", pa.string()),  # identity | interaction | behavioural | attitudinal (SPEC 7)
        ("value_type", pa.string()),  # string | number | integer | boolean | timestamp
        ("value", pa.string()),  # text form of every type (timestamps ISO-8601 UTC)
        ("number_value", pa.float64()),  # numbers, integers and booleans (1/0); null otherwise
        ("run_id", pa.string()),
    ),
)

#: what analysts see of a profile (SPEC 4): PII replaced by salted SHA-256 hashes, written by the same run as
#: ``profiles`` into the pseudonymized zone (an Athena view alone protects nothing: on AWS that zone is a
#: bucket with its own KMS key, the only profile data the analyst policy reaches)
PROFILES_PSEUDONYMIZED: Final = LakeTable(
    name="profiles_pseudonymized",
    prefix="pseudonymized/profiles",
    description="profiles with salted hashes instead of names, emails, phones, birth date and identifiers",
    schema=_schema(
        ("profile_id", pa.string()),
        ("first_name_hash", pa.string()),
        ("last_name_hash", pa.string()),
        ("email_hashes", _STRINGS),
        ("phone_hashes", _STRINGS),
        ("birth_year", pa.int32()),  # the year only
        ("gender", pa.string()),
        ("province", pa.string()),
        ("country", pa.string()),
        ("company", pa.string()),
        ("sources", _STRINGS),
        ("first_seen", UTC_TIME),
        ("last_seen", UTC_TIME),
        ("record_count", pa.int64()),
        ("event_count", pa.int64()),
        ("order_count", pa.int64()),
        ("total_spend", pa.float64()),
        ("avg_order_value", pa.float64()),
        ("recency_days", pa.int64()),
        ("frequency_90d", pa.int64()),
        ("monetary_90d", pa.float64()),
        ("r_score", pa.int32()),
        ("f_score", pa.int32()),
        ("m_score", pa.int32()),
        ("rfm_score", pa.string()),
        ("consent", pa.string()),
        ("updated_at", UTC_TIME),
        ("run_id", pa.string()),
    ),
)

#: the consent store (SPEC 9): every decision per profile and purpose, with its time and source, the one in
#: force flagged; ``profiles.consent`` is its ``is_latest`` rows as JSON (:mod:`cdp.profiles.consent`)
CONSENT: Final = LakeTable(
    name="consent",
    prefix="profiles/consent",
    description="consent decisions per profile and purpose with time and source; is_latest is in force",
    schema=_schema(
        ("profile_id", pa.string()),
        ("purpose", pa.string()),  # ads | email | push | sms
        ("granted", pa.bool_()),
        ("decided_at", UTC_TIME),  # when the person decided (event time, or the import's consent time)
        ("source_id", pa.string()),
        ("origin", pa.string()),  # event | import
        ("record_id", pa.string()),  # the event's message_id, or the imported row's identity record id
        ("is_latest", pa.bool_()),  # the decision in force for this profile and purpose (latest wins)
        ("run_id", pa.string()),
    ),
)

PROFILE_TABLES: Final[tuple[LakeTable, ...]] = (PROFILES, PROFILE_TRAITS, PROFILES_PSEUDONYMIZED, CONSENT)

#: one row per delivery attempt of a membership change to a destination (SPEC 8); the delivery report and
#: the idempotency state (a change already ``sent`` to a destination is never sent again)
DELIVERIES: Final = LakeTable(
    name="deliveries",
    prefix="exports/deliveries",
    description="membership changes delivered to destinations, with outcome per profile",
    schema=_schema(
        ("run_id", pa.string()),  # the pipeline run whose membership deltas were delivered
        ("segment_id", pa.string()),
        ("destination_id", pa.string()),
        ("profile_id", pa.string()),
        ("change", pa.string()),  # entered | exited
        ("outcome", pa.string()),  # sent | skipped_consent | suppressed | failed
        ("detail", pa.string()),  # why skipped or failed; the destination's message id when sent
        ("attempted_at", UTC_TIME),
    ),
)

#: segment membership spans (SPEC 4, 7); each snapshot holds every span, current and past. ``run_id`` is the
#: run that last changed the row, so run R's deltas are its rows: ``exited_at`` null → entered in R, else
#: exited in R. A profile that re-enters gets a new row.
SEGMENT_MEMBERSHIPS: Final = LakeTable(
    name="segment_memberships",
    prefix="segments/memberships",
    description="segment_id, profile_id with entered_at/exited_at deltas per run",
    schema=_schema(
        ("segment_id", pa.string()),
        ("profile_id", pa.string()),
        ("entered_at", UTC_TIME),
        ("exited_at", UTC_TIME),  # null while a member
        ("run_id", pa.string()),  # the run that entered or exited the row
    ),
)


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique enough for one lake: ``20261128T080313Z-<6 hex>``."""
    import secrets

    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def snapshot_path(table: LakeTable, run_id: str) -> str:
    """Lake-relative directory of one snapshot."""
    return f"{table.prefix}/run_id={run_id}"


def publish(files: LakeFiles, table: LakeTable, run_id: str, rows: int) -> Snapshot:
    """Swap the pointer to ``run_id``'s snapshot (atomic): readers switch in one step."""
    directory = snapshot_path(table, run_id)
    if not files.find(directory, lambda name: name.endswith(".parquet")):
        raise FileNotFoundError(f"no snapshot {run_id} of {table.name} at {files.uri(directory)}")
    published_at = datetime.now(UTC).isoformat()
    pointer = {"table": table.name, "run_id": run_id, "rows": rows, "published_at": published_at}
    files.write_bytes(f"{table.prefix}/{POINTER}", orjson.dumps(pointer, option=orjson.OPT_INDENT_2))
    return Snapshot(table.name, run_id, directory, rows, published_at)


def current(files: LakeFiles, table: LakeTable) -> Snapshot | None:
    data = files.read_bytes(f"{table.prefix}/{POINTER}")
    if data is None:
        return None
    pointer = orjson.loads(data)
    run_id = pointer["run_id"]
    return Snapshot(
        table.name, run_id, snapshot_path(table, run_id), int(pointer["rows"]), pointer["published_at"]
    )


def snapshot_files(files: LakeFiles, snapshot: Snapshot | None) -> list[str]:
    """URIs of the snapshot's Parquet files (none when the table was never published)."""
    if snapshot is None:
        return []
    return [
        files.uri(name) for name in files.find(snapshot.directory, lambda name: name.endswith(".parquet"))
    ]
