"""A JSON state file of the embedded lake (``_local/``) that several processes share: the write keys, the
lookup API's keys.

A CLI command changes it while ``cdp serve`` reads it, so changes are read-modify-write under an exclusive
``flock`` and land atomically (temp file, ``0600``, rename); readers keep an index derived from it and
rebuild that whenever the file changes (inode, mtime, size), so a revoked key stops working at once.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar

import orjson

Index = TypeVar("Index")


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


class LockedStateFile(Generic[Index]):
    """``empty``: the state of a file not written yet; ``index``: what readers look up, derived from it."""

    def __init__(
        self, path: Path, *, empty: Callable[[], dict[str, Any]], index: Callable[[dict[str, Any]], Index]
    ) -> None:
        self._file = path
        self._lock_file = path.with_name(path.name + ".lock")
        self._empty, self._derive = empty, index
        self._stamp: tuple[int, int, int] | None = None
        self._index: Index = index(empty())
        self._guard = threading.Lock()

    def read(self) -> dict[str, Any]:
        try:
            state: dict[str, Any] = orjson.loads(self._file.read_bytes())
        except FileNotFoundError:
            return self._empty()
        return state

    @contextmanager
    def locked(self) -> Iterator[dict[str, Any]]:
        """The current state, to change in place; written back when the block ends without an error."""
        self._file.parent.mkdir(parents=True, exist_ok=True)
        with open(self._lock_file, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = self.read()
            yield state
            temp = self._file.with_suffix(".tmp")
            temp.write_bytes(orjson.dumps(state, option=orjson.OPT_INDENT_2))
            os.chmod(temp, 0o600)
            os.replace(temp, self._file)

    def index(self) -> Index:
        """The derived index of the file as it is now (rebuilt only when the file changed)."""
        with self._guard:
            try:
                stat = os.stat(self._file)
            except FileNotFoundError:
                self._stamp, self._index = None, self._derive(self._empty())
                return self._index
            stamp = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if stamp != self._stamp:
                self._index, self._stamp = self._derive(self.read()), stamp
            return self._index
