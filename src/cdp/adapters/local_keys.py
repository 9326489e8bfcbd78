"""The local :class:`~cdp.sources.keys.WriteKeyStore`: ``_local/write_keys.json`` in the lake.

Several processes share it (``cdp sources rotate-key`` while ``cdp serve`` runs), so mutations hold an
exclusive ``flock`` and readers reload whenever the file changes: a rotated key stops working at once.
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
        self._file = lake.state_dir / _FILE
        self._lock_file = lake.state_dir / (_FILE + ".lock")
        self._cache_stamp: tuple[int, int, int] | None = None
        self._index: dict[str, KeyIdentity] = {}
        self._guard = threading.Lock()

    # -- queries ------------------------------------------------------------------------------------

    def authenticate(self, write_key: str) -> KeyIdentity | None:
        with self._guard:
            self._refresh()
            return self._index.get(hash_write_key(write_key))

    def list_sources(self) -> list[SourceInfo]:
        sources = self._read()["sources"]
        return [_info(name, entry) for name, entry in sorted(sources.items())]

    # -- mutations ----------------------------------------------------------------------------------

    def create_source(self, source_id: str) -> IssuedKey:
        validate_source_name(source_id)
        with self._locked() as state:
            if source_id in state["sources"]:
                raise SourceExistsError(f"source {source_id!r} already exists; use rotate-key for a new key")
            state["sources"][source_id] = {"created_at": _now(), "keys": []}
            return _issue(state, source_id)

    def rotate(self, source_id: str) -> IssuedKey:
        with self._locked() as state:
            _revoke_active(state, source_id)
            return _issue(state, source_id)

    def revoke(self, source_id: str) -> None:
        with self._locked() as state:
            _revoke_active(state, source_id)

    # -- file handling ------------------------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        try:
            state: dict[str, Any] = orjson.loads(self._file.read_bytes())
        except FileNotFoundError:
            return {"version": 1, "sources": {}}
        return state

    def _refresh(self) -> None:
        try:
            stat = os.stat(self._file)
        except FileNotFoundError:
            self._cache_stamp, self._index = None, {}
            return
        stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if stamp == self._cache_stamp:
            return
        index: dict[str, KeyIdentity] = {}
        for name, entry in self._read()["sources"].items():
            for key in entry["keys"]:
                if key["revoked_at"] is None:
                    index[key["hash"]] = KeyIdentity(source_id=name, key_id=key["key_id"])
        self._cache_stamp, self._index = stamp, index

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


def _issue(state: dict[str, Any], source_id: str) -> IssuedKey:
    write_key = generate_write_key()
    digest = hash_write_key(write_key)
    key_id = key_id_for(digest)
    state["sources"][source_id]["keys"].append(
        {"key_id": key_id, "hash": digest, "created_at": _now(), "revoked_at": None}
    )
    return IssuedKey(source_id=source_id, key_id=key_id, write_key=write_key)


def _revoke_active(state: dict[str, Any], source_id: str) -> None:
    entry = state["sources"].get(source_id)
    if entry is None:
        raise UnknownSourceError(source_id)
    for key in entry["keys"]:
        if key["revoked_at"] is None:
            key["revoked_at"] = _now()


def _info(name: str, entry: dict[str, Any]) -> SourceInfo:
    active = [key["key_id"] for key in entry["keys"] if key["revoked_at"] is None]
    return SourceInfo(
        source_id=name,
        created_at=datetime.fromisoformat(entry["created_at"]),
        active_key_id=active[-1] if active else None,
        revoked_key_count=sum(1 for key in entry["keys"] if key["revoked_at"] is not None),
    )
