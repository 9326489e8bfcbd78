"""The port of the real-time profile lookup (SPEC 3.5); adapters live in :mod:`cdp.adapters`.

A :class:`ProfileStore` holds one document per profile (:mod:`cdp.lookup.documents` defines it) and an index
from identifiers to profile ids. It is loaded *replace-all*: a load names every profile of a run, the store
writes the new and changed ones, skips the unchanged ones (same digest) and deletes the profiles the run no
longer has (merged losers, erased people) with their index entries. An identifier may belong to several
profiles (a household's shared phone, a shared inbox the resolver refused to merge on), so :meth:`find`
answers a list.

This module is imported by the lookup Lambda's cold start: standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Protocol


class LookupUnavailableError(RuntimeError):
    """The store could not be read or written; the client should retry (HTTP 503)."""


class DuplicateProfileError(ValueError):
    """One load named the same profile twice: the profiles snapshot is broken, nothing should guess."""


class IdentifierKind(StrEnum):
    """What a profile can be found by, as the query parameter names it."""

    EMAIL = "email"
    PHONE = "phone"
    USER_ID = "user_id"
    ANONYMOUS_ID = "anonymous_id"


#: how each kind is spelled in an index key (the DynamoDB partition key of an identifier item)
KEY_PREFIXES: Final[dict[IdentifierKind, str]] = {
    IdentifierKind.EMAIL: "EMAIL#",
    IdentifierKind.PHONE: "PHONE#",
    IdentifierKind.USER_ID: "USER#",
    IdentifierKind.ANONYMOUS_ID: "ANON#",
}
#: longest profile id or identifier value (UTF-8 bytes) the store takes: DynamoDB keys allow 1,024 bytes for a
#: sort key and 2,048 for a partition key, and no real identifier comes near this
MAX_VALUE_BYTES: Final = 512
#: most profile ids :meth:`ProfileStore.find` is asked for (one more than the API lists, to say "more")
DEFAULT_FIND_LIMIT: Final = 21


def identifier_key(kind: IdentifierKind, value: str) -> str:
    """``EMAIL#somchaij@gmail.com``: the index key of an already normalized identifier value."""
    return KEY_PREFIXES[kind] + value


@dataclass(frozen=True, slots=True)
class ProfileDocument:
    """One profile as the store keeps it.

    ``document`` is the canonical JSON the API returns as it is; ``identifiers`` the sorted index keys
    (:func:`identifier_key`) the profile is found by; ``digest`` changes whenever either does, so a load can
    skip what did not change.
    """

    profile_id: str
    document: bytes
    identifiers: tuple[str, ...]
    digest: str


@dataclass(frozen=True, slots=True)
class StoreLoadResult:
    """What one replace-all load did."""

    profiles: int  # documents the load named
    written: int  # new or changed, (re)written
    unchanged: int  # same digest as stored: not written
    deleted: int  # stored profiles the load did not name
    identifiers_written: int
    identifiers_deleted: int


class ProfileStore(Protocol):
    """Profile documents by id, and profile ids by identifier."""

    def replace_all(self, batches: Iterable[Sequence[ProfileDocument]]) -> StoreLoadResult:
        """Make the store hold exactly the documents of ``batches``.

        Batches are consumed one at a time (memory stays bounded by a batch). If the iterable raises, the
        store stops, deletes nothing and re-raises: a re-run of the same load then completes it (what was
        already written is skipped as unchanged). A profile id named twice raises
        :class:`DuplicateProfileError`.
        """
        ...

    def get(self, profile_id: str) -> bytes | None:
        """The profile's document (canonical JSON), or ``None``."""
        ...

    def find(self, kind: IdentifierKind, value: str, *, limit: int = DEFAULT_FIND_LIMIT) -> list[str]:
        """Ids (sorted, at most ``limit``) of the profiles holding the normalized identifier ``value``."""
        ...

    def delete(self, profile_id: str) -> bool:
        """Remove one profile and its index entries at once (erasure, SPEC 9); ``False`` if it was absent."""
        ...
