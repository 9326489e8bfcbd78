"""API keys of the local lookup API: ``_local/lookup_keys.json`` in the lake, hashes only.

``cdp lookup-keys revoke`` runs while ``cdp serve`` answers lookups, so mutations hold an exclusive
``flock`` and the server reloads the file whenever it changes: a revoked key stops working at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cdp.adapters.local_state_file import LockedStateFile, now_iso
from cdp.lake import LocalLake
from cdp.lookup.api_keys import (
    ApiKeyCaller,
    ApiKeyExistsError,
    ApiKeyInfo,
    IssuedApiKey,
    UnknownApiKeyError,
    generate_api_key,
    hash_api_key,
    key_id_for,
    validate_key_name,
)

_FILE = "lookup_keys.json"


class LocalLookupKeyStore:
    def __init__(self, lake: LocalLake) -> None:
        self._state = LockedStateFile(lake.state_dir / _FILE, empty=_empty, index=_active_callers)

    def add(self, name: str) -> IssuedApiKey:
        """A new key for ``name``; a name whose key was revoked may be given a new one."""
        validate_key_name(name)
        with self._state.locked() as state:
            existing = state["keys"].get(name)
            if existing is not None and existing["revoked_at"] is None:
                raise ApiKeyExistsError(f"lookup key {name!r} already exists; revoke it first")
            api_key = generate_api_key()
            digest = hash_api_key(api_key)
            state["keys"][name] = {
                "key_id": key_id_for(digest),
                "hash": digest,
                "created_at": now_iso(),
                "revoked_at": None,
            }
            return IssuedApiKey(name=name, key_id=key_id_for(digest), api_key=api_key)

    def revoke(self, name: str) -> None:
        with self._state.locked() as state:
            entry = state["keys"].get(name)
            if entry is None:
                raise UnknownApiKeyError(name)
            if entry["revoked_at"] is None:
                entry["revoked_at"] = now_iso()

    def list_keys(self) -> list[ApiKeyInfo]:
        return [
            ApiKeyInfo(
                name=name,
                key_id=entry["key_id"],
                created_at=datetime.fromisoformat(entry["created_at"]),
                revoked_at=datetime.fromisoformat(entry["revoked_at"]) if entry["revoked_at"] else None,
            )
            for name, entry in sorted(self._state.read()["keys"].items())
        ]

    def authenticate(self, api_key: str) -> ApiKeyCaller | None:
        return self._state.index().get(hash_api_key(api_key))


def _empty() -> dict[str, Any]:
    return {"version": 1, "keys": {}}


def _active_callers(state: dict[str, Any]) -> dict[str, ApiKeyCaller]:
    return {
        entry["hash"]: ApiKeyCaller(name=name, key_id=entry["key_id"])
        for name, entry in state["keys"].items()
        if entry["revoked_at"] is None
    }
