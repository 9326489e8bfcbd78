"""Write keys: generated once, shown once, stored only as SHA-256 hashes.

A write key is a 192-bit random secret, so a plain (unsalted) SHA-256 is enough to make the stored hash
useless to an attacker while keeping lookup a single dictionary/DynamoDB get.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

KEY_PREFIX = "wk_"
_SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class SourceNameError(ValueError):
    """A source name is not usable as a lake partition and table value."""


class SourceExistsError(ValueError):
    """``sources add`` for a name that already exists."""


class KeyStoreUnavailableError(RuntimeError):
    """The key store could not be asked; the client should retry (HTTP 503), not be told its key is bad."""


class UnknownSourceError(KeyError):
    """A source that does not exist was named."""

    def __str__(self) -> str:
        return f"unknown source {self.args[0]!r}"


def validate_source_name(name: str) -> str:
    """Source names become S3 prefixes and table values: lower-case ASCII, digits, ``-`` and ``_``."""
    if not _SOURCE_NAME.match(name):
        raise SourceNameError(
            f"invalid source name {name!r}: use 1-63 of a-z, 0-9, '-', '_', starting with a letter or digit"
        )
    return name


def generate_write_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(24)


def hash_write_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def key_id_for(key_hash: str) -> str:
    """A non-secret id for a key, safe to store beside every event (``write_key_id``)."""
    return KEY_PREFIX + key_hash[:12]


@dataclass(frozen=True, slots=True)
class KeyIdentity:
    """Who a valid key belongs to."""

    source_id: str
    key_id: str


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A freshly generated key: the only moment the secret exists in clear."""

    source_id: str
    key_id: str
    write_key: str


@dataclass(frozen=True, slots=True)
class SourceInfo:
    source_id: str
    created_at: datetime
    active_key_id: str | None
    revoked_key_count: int


class WriteKeyStore(Protocol):
    """Sources and their hashed write keys. Each source has at most one active key."""

    def create_source(self, source_id: str) -> IssuedKey:
        """Register a new source with a fresh key; :class:`SourceExistsError` if it exists."""
        ...

    def rotate(self, source_id: str) -> IssuedKey:
        """Issue a new key; the previous one stops working immediately."""
        ...

    def revoke(self, source_id: str) -> None:
        """Disable the source's active key, leaving it with none."""
        ...

    def list_sources(self) -> list[SourceInfo]: ...

    def authenticate(self, write_key: str) -> KeyIdentity | None:
        """The identity for an active key, or ``None``."""
        ...
