"""Tombstones: salted hashes of an erased person's identifiers, so their data never comes back (SPEC 9).

Erasure removes everything the lake holds; a CRM export re-imported next week, or the app's next event
from the same phone, would bring the person back. Each erasure therefore writes
``privacy/tombstones/<request id>.jsonl``, one line per identifier::

    {"kind": "email", "hash": "<64 hex>", "request_id": "…", "erased_at": "…Z"}

The hash is ``sha256(salt_hex || "|tombstone|" || kind || "|" || value)`` over the *normalized* value
(lower-case e-mail and its mailbox match key, E.164 phone, user id, anonymous id, national id), with the
lake's pseudonymization salt: without the salt nobody can test whether a given e-mail was erased, and the
domain prefix keeps tombstones from being joinable to ``profiles_pseudonymized``'s hashes.

The standardize step drops every record whose identifiers hit a tombstone (and the events and orders
hanging off it) before anything reaches the clean zone; the report counts them as ``suppressed_erased``.
One file per request id makes writing idempotent and lets erasures never race on one object.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import orjson
import pyarrow as pa

from cdp.lakefs import LakeFiles
from cdp.privacy.models import RECORD_IDENTIFIERS, Subject

TOMBSTONES_PREFIX: Final = "privacy/tombstones"
#: the identifiers of records the standardize step suppressed (``run_id=<run>/*.parquet``): people who came
#: back after their erasure; the retention job erases their raw copies and deletes these files
RETURNING_PREFIX: Final = "privacy/returning"
KINDS: Final = ("email", "phone", "user_id", "anonymous_id", "national_id")


def tombstone_hash(kind: str, value: str, salt: bytes) -> str:
    return hashlib.sha256(f"{salt.hex()}|tombstone|{kind}|{value}".encode()).hexdigest()


#: the :class:`Subject` field whose values a tombstone kind hashes
KIND_OF_FIELD: Final = {
    "emails": "email",
    "phones": "phone",
    "user_ids": "user_id",
    "anonymous_ids": "anonymous_id",
    "national_ids": "national_id",
}


def subject_identifiers(subject: Subject) -> dict[str, set[str]]:
    return {kind: set(getattr(subject, field)) for field, kind in KIND_OF_FIELD.items()}


def write_tombstones(
    files: LakeFiles, subject: Subject, salt: bytes, request_id: str, *, now: datetime | None = None
) -> int:
    """Write (or rewrite, identically but for the time) the request's tombstone file; returns its lines."""
    erased_at = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = sorted(
        {
            orjson.dumps(
                {
                    "kind": kind,
                    "hash": tombstone_hash(kind, value, salt),
                    "request_id": request_id,
                    "erased_at": erased_at,
                },
                option=orjson.OPT_SORT_KEYS,
            )
            for kind, values in subject_identifiers(subject).items()
            for value in values
            if value
        }
    )
    if lines:
        files.write_bytes(f"{TOMBSTONES_PREFIX}/{request_id}.jsonl", b"\n".join(lines) + b"\n")
    return len(lines)


@dataclass(frozen=True, slots=True)
class Tombstones:
    """The lake's tombstones for one salt; :meth:`hits` is what the standardize step asks per record."""

    salt: bytes
    hashes: frozenset[str]

    @classmethod
    def load(cls, files: LakeFiles, salt: bytes) -> Tombstones:
        hashes: set[str] = set()
        for path in files.find(TOMBSTONES_PREFIX, lambda name: name.endswith(".jsonl")):
            for line in (files.read_bytes(path) or b"").splitlines():
                if not line.strip():
                    continue
                entry = orjson.loads(line)
                if isinstance(entry, dict) and isinstance(entry.get("hash"), str):
                    hashes.add(entry["hash"])
        return cls(salt, frozenset(hashes))

    def __len__(self) -> int:
        return len(self.hashes)

    def hits(self, identifiers: Mapping[str, Iterable[str | None]]) -> bool:
        """Whether any of ``identifiers`` (kind → normalized values) is tombstoned."""
        if not self.hashes:
            return False
        return any(
            tombstone_hash(kind, value, self.salt) in self.hashes
            for kind, values in identifiers.items()
            for value in values
            if value
        )


#: identity_records columns → tombstone kind
COLUMN_KINDS: Final = tuple((column, KIND_OF_FIELD[field]) for column, field in RECORD_IDENTIFIERS)
SUPPRESSED_SCHEMA: Final = pa.schema([pa.field("record_id", pa.string())])


def _tombstoned_mask(batch: pa.RecordBatch, tombstones: Tombstones) -> list[bool]:
    columns = {column: batch.column(column).to_pylist() for column, _kind in COLUMN_KINDS}
    mask = []
    for index in range(batch.num_rows):
        identifiers: dict[str, list[str | None]] = {}
        for column, kind in COLUMN_KINDS:
            identifiers.setdefault(kind, []).append(columns[column][index])
        mask.append(tombstones.hits(identifiers))
    return mask


def keep_untombstoned(batch: pa.RecordBatch, *, tombstones: Tombstones, schema: pa.Schema) -> pa.RecordBatch:
    """The standardize step's filter (a picklable engine batch function): ``identity_records`` rows none of
    whose identifiers is tombstoned, in ``schema``'s column order."""
    mask = _tombstoned_mask(batch, tombstones)
    kept = batch.filter(pa.array([not hit for hit in mask], pa.bool_()))
    return pa.RecordBatch.from_arrays([kept.column(name) for name in schema.names], schema=schema)


def tombstoned_record_ids(batch: pa.RecordBatch, *, tombstones: Tombstones) -> pa.RecordBatch:
    """The record ids of the rows :func:`keep_untombstoned` drops (their events and orders go too)."""
    mask = _tombstoned_mask(batch, tombstones)
    hits = batch.filter(pa.array(mask, pa.bool_()))
    return pa.RecordBatch.from_arrays([hits.column("record_id")], schema=SUPPRESSED_SCHEMA)
