"""API keys of the local lookup API: ``_local/lookup_keys.json`` in the lake, hashes only.

``cdp lookup-keys revoke`` runs while ``cdp serve`` answers lookups, so mutations hold an exclusive
``flock`` and the server reloads the file whenever it changes: a revoked key stops working at once.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson

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
        self._file = lake.state_dir / _FILE
        self._lock_file = lake.state_dir / (_FILE + ".lock")
        self._stamp: tuple[int, int, int] | None = None
        self._active: dict[str, ApiKeyCaller] = {}
        self._guard = threading.Lock()

    def add(self, name: str) -> IssuedApiKey:
        """A new key for ``name``; a name whose key was revoked may be given a new one."""
        validate_key_name(name)
        with self._locked() as state:
            existing = state["keys"].get(name)
            if existing is not None and existing["revoked_at"] is None:
                raise ApiKeyExistsError(f"lookup key {name!r} already exists; revoke it first")
            api_key = generate_api_key()
            digest = hash_api_key(api_key)
            state["keys"][name] = {
                "key_id": key_id_for(digest),
                "hash": digest,
                "created_at": _now(),
                "revoked_at": None,
            }
            return IssuedApiKey(name=name, key_id=key_id_for(digest), api_key=api_key)

    def revoke(self, name: str) -> None:
        with self._locked() as state:
            entry = state["keys"].get(name)
            if entry is None:
                raise UnknownApiKeyError(name)
            if entry["revoked_at"] is None:
                entry["revoked_at"] = _now()

    def list_keys(self) -> list[ApiKeyInfo]:
        return [
            ApiKeyInfo(
                name=name,
                key_id=entry["key_id"],
                created_at=datetime.fromisoformat(entry["created_at"]),
                revoked_at=datetime.fromisoformat(entry["revoked_at"]) if entry["revoked_at"] else None,
            )
            for name, entry in sorted(self._read()["keys"].items())
        ]

    def authenticate(self, api_key: str) -> ApiKeyCaller | None:
        with self._guard:
            self._refresh()
            return self._active.get(hash_api_key(api_key))

    def _read(self) -> dict[str, Any]:
        try:
            state: dict[str, Any] = orjson.loads(self._file.read_bytes())
        except FileNotFoundError:
            return {"version": 1, "keys": {}}
        return state

    def _refresh(self) -> None:
        try:
            stat = os.stat(self._file)
        except FileNotFoundError:
            self._stamp, self._active = None, {}
            return
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return
        self._active = {
            entry["hash"]: ApiKeyCaller(name=name, key_id=entry["key_id"])
            for name, entry in self._read()["keys"].items()
            if entry["revoked_at"] is None
        }
        self._stamp = stamp

    @contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        self._file.parent.mkdir(parents=True, exist_ok=True)
        with open(self._lock_file, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = self._read()
            yield state
            temp = self._file.with_suffix(".tmp")
            temp.write_bytes(orjson.dumps(state, option=orjson.OPT_INDENT_2))
            os.chmod(temp, 0o600)
            os.replace(temp, self._file)


def _now() -> str:
    return datetime.now(UTC).isoformat()
