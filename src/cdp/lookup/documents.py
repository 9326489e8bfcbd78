"""The profile document the lookup API answers with: defined once, built from Arrow rows (pure, no AWS).

One document per ``profiles`` row (SPEC 4), with that profile's computed traits (``profile_traits``, long
form, folded into a ``{trait: typed value}`` map) and its current segment memberships (``segment_memberships``
rows without ``exited_at``)::

    {
      "profile_id": "…",
      "identifiers": {"emails": […], "phones": […], "user_ids": […], "anonymous_ids": […],
                      "primary_email": "…", "primary_phone": "…"},
      "attributes": {"first_name": …, "last_name": …, "date_of_birth": …, "gender": …, "city": …,
                     "province": …, "postcode": …, "country": …, "company": …},
      "activity": {"sources": […], "first_seen": …, "last_seen": …, "record_count": …, "event_count": …,
                   "order_count": …, "total_spend": …, "avg_order_value": …, "last_order_at": …},
      "rfm": {"recency_days": …, "frequency_90d": …, "monetary_90d": …, "r_score": …, "f_score": …,
              "m_score": …, "rfm_score": "545"},
      "consent": {"email": {"granted": true, "at": "…", "source": "…"}, …},
      "traits": {"favourite_category": "beauty", "ltv": 1234.5, "orders_30d": 2, "is_vip": true, …},
      "segments": ["high-value", …],
      "updated_at": "…", "run_id": "…",
      "truncated": {"anonymous_ids": 412}      # only when a list was cut, with the full count
    }

Times are ISO-8601 UTC (``…Z``); keys are sorted, so equal profiles give equal bytes and one digest. A
``profiles`` column this module does not know goes under ``attributes``, so a column added by the profiles
step shows up without a change here.

Identifier lists are capped at :data:`MAX_IDENTIFIERS_PER_KIND` values each (the resolver's maximum profile
size keeps real profiles far below it; what is cut is counted in ``truncated``), which bounds a document
and its index entries well inside DynamoDB's 400 KB item limit. A profile is found by exactly the
identifiers its document shows. E-mail index keys are the pipeline's match keys
(:func:`cdp.standardize.email.email_match_key`: ``somchai.j@gmail.com`` and ``SomchaiJ+shop@gmail.com``
reach one inbox, so they find one profile); phones are E.164, user and anonymous ids exact.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from cdp.lookup.ports import MAX_VALUE_BYTES, IdentifierKind, ProfileDocument, identifier_key
from cdp.standardize.email import email_match_key

#: part of every digest: bump it when the document shape or the index keys change, so the next load
#: rewrites every profile instead of skipping them as unchanged
DOCUMENT_VERSION: Final = "1"
MAX_IDENTIFIERS_PER_KIND: Final = 100

IDENTIFIER_LISTS: Final = {
    "emails": IdentifierKind.EMAIL,
    "phones": IdentifierKind.PHONE,
    "user_ids": IdentifierKind.USER_ID,
    "anonymous_ids": IdentifierKind.ANONYMOUS_ID,
}
PRIMARY_IDENTIFIERS: Final = {"primary_email": IdentifierKind.EMAIL, "primary_phone": IdentifierKind.PHONE}
ATTRIBUTES: Final = (
    "first_name",
    "last_name",
    "date_of_birth",
    "gender",
    "city",
    "province",
    "postcode",
    "country",
    "company",
)
ACTIVITY: Final = (
    "sources",
    "first_seen",
    "last_seen",
    "record_count",
    "event_count",
    "order_count",
    "total_spend",
    "avg_order_value",
    "last_order_at",
)
RFM: Final = ("recency_days", "frequency_90d", "monetary_90d", "r_score", "f_score", "m_score", "rfm_score")
META: Final = ("updated_at", "run_id")
_KNOWN: Final = frozenset(
    {"profile_id", "consent", *IDENTIFIER_LISTS, *PRIMARY_IDENTIFIERS, *ATTRIBUTES, *ACTIVITY, *RFM, *META}
)
#: the columns of each input table the documents need (readers project to these)
PROFILE_TRAIT_COLUMNS: Final = ("profile_id", "trait_set", "trait", "value_type", "value", "number_value")
MEMBERSHIP_COLUMNS: Final = ("segment_id", "profile_id", "exited_at")

_JSON_OPTIONS: Final = orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC
#: rows turned into Python objects at a time
_ROWS_PER_SLICE: Final = 4096

TraitValue = str | float | int | bool | None


class DocumentError(ValueError):
    """A ``profiles`` row cannot become a document (the profiles step wrote something it must not)."""


def trait_value(value_type: str | None, value: str | None, number_value: float | None) -> TraitValue:
    """A ``profile_traits`` value in its declared type: numbers as numbers, booleans as booleans."""
    if value_type in ("number", "integer", "boolean"):
        if number_value is None or number_value != number_value:  # null or NaN
            return None
        if value_type == "integer":
            return int(number_value)
        if value_type == "boolean":
            return number_value != 0
        return float(number_value)
    return value  # string, timestamp (ISO-8601 UTC text) and anything newer, as text


def traits_by_profile(traits: pa.Table | None) -> dict[str, dict[str, TraitValue]]:
    """``{profile_id: {trait: value}}``; a trait declared by two trait sets keeps the value of the set that
    sorts last (trait names are meant to be unique; this only makes a clash deterministic)."""
    found: dict[str, dict[str, TraitValue]] = {}
    if traits is None or traits.num_rows == 0:
        return found
    ordered = traits.sort_by([("profile_id", "ascending"), ("trait_set", "ascending")])
    for start in range(0, ordered.num_rows, _ROWS_PER_SLICE):
        part = ordered.slice(start, _ROWS_PER_SLICE)
        columns = [part.column(name).to_pylist() for name in PROFILE_TRAIT_COLUMNS]
        for profile_id, _, trait, value_type, value, number in zip(*columns, strict=True):
            if profile_id is None or trait is None:
                continue
            found.setdefault(profile_id, {})[trait] = trait_value(value_type, value, number)
    return found


def segments_by_profile(memberships: pa.Table | None) -> dict[str, list[str]]:
    """``{profile_id: [segment ids]}`` of current memberships (no ``exited_at``), sorted and distinct."""
    found: dict[str, set[str]] = {}
    if memberships is None or memberships.num_rows == 0:
        return {}
    current = memberships.filter(pc.is_null(memberships.column("exited_at")))
    for segment_id, profile_id in zip(
        current.column("segment_id").to_pylist(), current.column("profile_id").to_pylist(), strict=True
    ):
        if segment_id is not None and profile_id is not None:
            found.setdefault(profile_id, set()).add(segment_id)
    return {profile_id: sorted(segments) for profile_id, segments in found.items()}


def build_documents(
    profiles: pa.Table | pa.RecordBatch,
    traits: Mapping[str, Mapping[str, TraitValue]] | None = None,
    segments: Mapping[str, Sequence[str]] | None = None,
) -> Iterator[ProfileDocument]:
    """One document per ``profiles`` row, with its traits and segments (maps keyed by profile id)."""
    traits = traits or {}
    segments = segments or {}
    for start in range(0, profiles.num_rows, _ROWS_PER_SLICE):
        for row in profiles.slice(start, _ROWS_PER_SLICE).to_pylist():
            profile_id = row.get("profile_id")
            yield profile_document(row, traits.get(profile_id, {}), segments.get(profile_id, ()))


def profile_document(
    row: Mapping[str, Any], traits: Mapping[str, TraitValue], segments: Iterable[str]
) -> ProfileDocument:
    """The document of one ``profiles`` row (as ``to_pylist`` gives it)."""
    profile_id = row.get("profile_id")
    if not isinstance(profile_id, str) or not profile_id:
        raise DocumentError("a profiles row has no profile_id")
    if len(profile_id.encode("utf-8", "surrogatepass")) > MAX_VALUE_BYTES:
        raise DocumentError(f"profile_id {profile_id[:40]!r}… is longer than {MAX_VALUE_BYTES} bytes")
    identifiers: dict[str, Any] = {}
    truncated: dict[str, int] = {}
    keys: set[str] = set()
    for column, kind in IDENTIFIER_LISTS.items():
        values = _distinct(row.get(column))
        if len(values) > MAX_IDENTIFIERS_PER_KIND:
            truncated[column] = len(values)
            values = values[:MAX_IDENTIFIERS_PER_KIND]
        identifiers[column] = values
        keys.update(_index_key(kind, value) for value in values)
    for column, kind in PRIMARY_IDENTIFIERS.items():
        value = row.get(column)
        identifiers[column] = value
        if isinstance(value, str) and value:
            keys.add(_index_key(kind, value))
    keys.discard("")
    document: dict[str, Any] = {
        "profile_id": profile_id,
        "identifiers": identifiers,
        "attributes": {
            **{name: row.get(name) for name in ATTRIBUTES},
            **{name: value for name, value in row.items() if name not in _KNOWN},
        },
        "activity": {name: row.get(name) for name in ACTIVITY},
        "rfm": {name: row.get(name) for name in RFM},
        "consent": _consent(profile_id, row.get("consent")),
        "traits": dict(traits),
        "segments": sorted(set(segments)),
        **{name: row.get(name) for name in META},
    }
    if truncated:
        document["truncated"] = truncated
    body = orjson.dumps(document, option=_JSON_OPTIONS)
    index = tuple(sorted(keys))
    digest = hashlib.blake2b(digest_size=16)
    digest.update(DOCUMENT_VERSION.encode() + b"\0" + body + b"\0" + "\0".join(index).encode())
    return ProfileDocument(profile_id=profile_id, document=body, identifiers=index, digest=digest.hexdigest())


def _distinct(values: Any) -> list[str]:
    if not values:
        return []
    return list(dict.fromkeys(value for value in values if isinstance(value, str) and value))


def _index_key(kind: IdentifierKind, value: str) -> str:
    """The index key of a stored identifier, or ``""`` for one too long to be a key (never a real one)."""
    normalized = email_match_key(value.strip().lower()) if kind is IdentifierKind.EMAIL else value
    if len(normalized.encode("utf-8", "surrogatepass")) > MAX_VALUE_BYTES:
        return ""
    return identifier_key(kind, normalized)


def _consent(profile_id: str, text: Any) -> Any:
    if text is None or text == "":
        return {}
    try:
        consent = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise DocumentError(f"profile {profile_id}: consent is not JSON") from None
    if not isinstance(consent, dict):
        raise DocumentError(f"profile {profile_id}: consent is not a JSON object")
    return consent
