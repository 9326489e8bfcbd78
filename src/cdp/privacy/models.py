"""What a privacy request names and what it answers (SPEC 9).

A request names a person by what *they* know about themselves (an e-mail, a phone, the app's user id, a
device's anonymous id) or by what support staff see (a profile id). :class:`Subject` is what the lake
knows after resolving that through the identity graph: every profile, record, identifier and key the
person left anywhere, which is what the access export collects and what erasure removes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from cdp.privacy.errors import PrivacyRequestError

#: longest identifier accepted in a request (a longer "e-mail" is a mistake or an attack)
MAX_IDENTIFIER_LENGTH = 320
#: most identifiers one request may name (a batch erasure names many people: one file, one pass)
MAX_IDENTIFIERS = 10_000


def _clean(values: tuple[str, ...], kind: str) -> tuple[str, ...]:
    cleaned: list[str] = []
    for value in values:
        if not isinstance(value, str):
            raise PrivacyRequestError(f"{kind}: expected text, got {type(value).__name__}")
        text = value.strip()
        if not text:
            raise PrivacyRequestError(f"{kind}: an empty value names nobody")
        if len(text) > MAX_IDENTIFIER_LENGTH:
            raise PrivacyRequestError(f"{kind}: longer than {MAX_IDENTIFIER_LENGTH} characters")
        if any(ord(character) < 32 for character in text):
            raise PrivacyRequestError(f"{kind}: control characters are not allowed")
        if text not in cleaned:
            cleaned.append(text)
    return tuple(cleaned)


@dataclass(frozen=True, slots=True)
class SubjectQuery:
    """Who a request is about: any mix of identifiers, at least one (validated on construction)."""

    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()
    anonymous_ids: tuple[str, ...] = ()
    profile_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        total = 0
        for name in ("emails", "phones", "user_ids", "anonymous_ids", "profile_ids"):
            values = _clean(tuple(getattr(self, name)), name.removesuffix("s").replace("_", " "))
            object.__setattr__(self, name, values)
            total += len(values)
        if total == 0:
            raise PrivacyRequestError(
                "name the person: at least one e-mail, phone, user id, anonymous id or profile id"
            )
        if total > MAX_IDENTIFIERS:
            raise PrivacyRequestError(f"at most {MAX_IDENTIFIERS} identifiers per request, got {total}")

    def describe(self) -> dict[str, int]:
        """How many identifiers of each kind (never the values: reports and logs must not hold them)."""
        return {
            name: len(getattr(self, name))
            for name in ("emails", "phones", "user_ids", "anonymous_ids", "profile_ids")
            if getattr(self, name)
        }


#: ``identity_records`` columns that identify a person → the :class:`Subject` field holding their values
RECORD_IDENTIFIERS: tuple[tuple[str, str], ...] = (
    ("user_id", "user_ids"),
    ("anonymous_id", "anonymous_ids"),
    ("email", "emails"),
    ("email_key", "emails"),
    ("phone_e164", "phones"),
    ("national_id", "national_ids"),
)


@dataclass(slots=True)
class Subject:
    """A person as the lake knows them: the union over every profile the query resolved to."""

    profile_ids: set[str] = field(default_factory=set)
    record_ids: set[str] = field(default_factory=set)
    message_ids: set[str] = field(default_factory=set)
    order_ids: set[str] = field(default_factory=set)
    user_ids: set[str] = field(default_factory=set)
    anonymous_ids: set[str] = field(default_factory=set)
    emails: set[str] = field(default_factory=set)  # normalized (lower-case) addresses and match keys
    phones: set[str] = field(default_factory=set)  # E.164
    national_ids: set[str] = field(default_factory=set)
    source_keys: set[str] = field(default_factory=set)  # the sources' own record keys (customer ids)
    #: identifiers also held by other people's records: not matched, not tombstoned
    shared: int = 0
    #: profiles that share an identifier of the query with someone else's profile (refused by erasure)
    ambiguous: dict[str, list[str]] = field(default_factory=dict)

    def identifier_sets(self) -> list[tuple[str, set[str]]]:
        """(``identity_records`` column, the set of this subject holding its values), per
        :data:`RECORD_IDENTIFIERS`."""
        return [(column, getattr(self, field)) for column, field in RECORD_IDENTIFIERS]

    @property
    def empty(self) -> bool:
        return not any(
            (self.profile_ids, self.record_ids, self.user_ids, self.anonymous_ids, self.emails, self.phones)
        )


@dataclass(slots=True)
class ZoneCount:
    files: int = 0
    hits: int = 0  # rows (or lines) that belong to the person


@dataclass(slots=True)
class ErasureReport:
    """What one erasure did and its proof; holds no identifier of the person (it is kept in the lake)."""

    request_id: str
    subject: dict[str, int]  # identifier kinds and counts of the request
    profiles: int
    records: int
    files_scanned: int
    files_rewritten: int
    files_deleted: int
    rows_removed: dict[str, int]  # by zone
    lookup_deleted: int
    destinations: dict[str, int]  # contacts deleted per destination
    tombstones: int
    proof: dict[str, Any]  # {"hits": 0, "zones": {zone: {"files": n, "hits": n}}}
    seconds: float
    already_erased: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def proven(self) -> bool:
        return int(self.proof.get("hits", -1)) == 0
