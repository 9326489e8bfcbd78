"""API keys of the *local* lookup API: generated once, shown once, stored only as SHA-256 hashes.

On AWS the lookup routes are IAM-authorized (SigV4, checked by API Gateway before the function runs), so no
key exists there. ``cdp serve`` plays API Gateway's part locally: it checks the ``x-api-key`` header
against these hashes before it invokes the handler. A key is a 192-bit random secret, so an unsalted
SHA-256 makes the stored hash useless to an attacker and keeps checking a dictionary lookup.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Final

KEY_PREFIX: Final = "lk_"
HEADER: Final = "x-api-key"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


class ApiKeyNameError(ValueError):
    """A key name that is not a short lower-case label."""


class ApiKeyExistsError(ValueError):
    """``lookup-keys add`` for a name whose key is still active."""


class UnknownApiKeyError(KeyError):
    def __str__(self) -> str:
        return f"unknown lookup key {self.args[0]!r}"


def validate_key_name(name: str) -> str:
    if not _NAME.match(name):
        raise ApiKeyNameError(
            f"invalid lookup key name {name!r}: use 1-63 of a-z, 0-9, '-', '_', "
            "starting with a letter or digit"
        )
    return name


def generate_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(24)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def key_id_for(key_hash: str) -> str:
    """A non-secret id for a key, safe to print and log."""
    return KEY_PREFIX + key_hash[:12]


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    """A fresh key: the only moment the secret exists in clear."""

    name: str
    key_id: str
    api_key: str


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    name: str
    key_id: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class ApiKeyCaller:
    """Who a valid key belongs to (what the local authorizer hands the handler, as IAM would)."""

    name: str
    key_id: str
