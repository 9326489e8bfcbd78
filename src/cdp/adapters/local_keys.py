"""The local :class:`~cdp.sources.keys.WriteKeyStore`: ``_local/write_keys.json`` in the lake.

Several processes share it (``cdp sources rotate-key`` while ``cdp serve`` runs), so mutations hold an
exclusive ``flock`` and readers reload whenever the file changes: a rotated key stops working at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cdp.adapters.local_state_file import LockedStateFile, now_iso
from cdp.lake import LocalLake
from cdp.sources.keys import (
    IssuedKey,
    KeyIdentity,
    SourceExistsError,
    SourceInfo,
    UnknownSourceError,
    generate_write_key,
    hash_write_key,
    key_id_for,
    validate_source_name,
)

_FILE = "write_keys.json"


class LocalWriteKeyStore:
    def __init__(self, lake: LocalLake) -> None:
        self._state = LockedStateFile(lake.state_dir / _FILE, empty=_empty, index=_active_keys)

    # -- queries ------------------------------------------------------------------------------------

    def authenticate(self, write_key: str) -> KeyIdentity | None:
        return self._state.index().get(hash_write_key(write_key))

    def list_sources(self) -> list[SourceInfo]:
        sources = self._state.read()["sources"]
        return [_info(name, entry) for name, entry in sorted(sources.items())]

    # -- mutations ----------------------------------------------------------------------------------

    def create_source(self, source_id: str) -> IssuedKey:
        validate_source_name(source_id)
        with self._state.locked() as state:
            if source_id in state["sources"]:
                raise SourceExistsError(f"source {source_id!r} already exists; use rotate-key for a new key")
            state["sources"][source_id] = {"created_at": now_iso(), "keys": []}
            return _issue(state, source_id)

    def rotate(self, source_id: str) -> IssuedKey:
        with self._state.locked() as state:
            _revoke_active(state, source_id)
            return _issue(state, source_id)

    def revoke(self, source_id: str) -> None:
        with self._state.locked() as state:
            _revoke_active(state, source_id)


def _empty() -> dict[str, Any]:
    return {"version": 1, "sources": {}}


def _active_keys(state: dict[str, Any]) -> dict[str, KeyIdentity]:
    return {
        key["hash"]: KeyIdentity(source_id=name, key_id=key["key_id"])
        for name, entry in state["sources"].items()
        for key in entry["keys"]
        if key["revoked_at"] is None
    }


def _issue(state: dict[str, Any], source_id: str) -> IssuedKey:
    write_key = generate_write_key()
    digest = hash_write_key(write_key)
    key_id = key_id_for(digest)
    state["sources"][source_id]["keys"].append(
        {"key_id": key_id, "hash": digest, "created_at": now_iso(), "revoked_at": None}
    )
    return IssuedKey(source_id=source_id, key_id=key_id, write_key=write_key)


def _revoke_active(state: dict[str, Any], source_id: str) -> None:
    entry = state["sources"].get(source_id)
    if entry is None:
        raise UnknownSourceError(source_id)
    for key in entry["keys"]:
        if key["revoked_at"] is None:
            key["revoked_at"] = now_iso()


def _info(name: str, entry: dict[str, Any]) -> SourceInfo:
    active = [key["key_id"] for key in entry["keys"] if key["revoked_at"] is None]
    return SourceInfo(
        source_id=name,
        created_at=datetime.fromisoformat(entry["created_at"]),
        active_key_id=active[-1] if active else None,
        revoked_key_count=sum(1 for key in entry["keys"] if key["revoked_at"] is not None),
    )
