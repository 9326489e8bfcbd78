"""The local :class:`~cdp.lookup.ports.ProfileStore`: one SQLite file in the lake's state directory.

``_local/profile_lookup.sqlite3`` (stdlib ``sqlite3``) in WAL mode, so ``cdp serve`` keeps answering
lookups while a loader writes: readers never wait for the writer and see the last committed load. A load
is **one transaction**, so locally a reader sees the previous load or the new one, never a mix (DynamoDB
cannot promise that; see :mod:`cdp.adapters.aws_dynamodb_profiles`). A second loader waits for the first
(``busy_timeout``), then fails as unavailable rather than interleaving.

Tables: ``profiles(profile_id, document, digest)`` and ``identifiers(identifier, profile_id)`` (the index
key of :func:`cdp.lookup.ports.identifier_key`). The profile ids a load names are kept in a temporary
table (on disk past the page cache), so memory stays bounded however many profiles there are.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Final

from cdp.lake import LocalLake
from cdp.lookup.ports import (
    DEFAULT_FIND_LIMIT,
    DuplicateProfileError,
    IdentifierKind,
    LookupUnavailableError,
    ProfileDocument,
    StoreLoadResult,
    identifier_key,
)

FILE_NAME: Final = "profile_lookup.sqlite3"
SCHEMA_VERSION: Final = 1
_BUSY_TIMEOUT_MS: Final = 10_000
#: SQLite's default limit of host parameters is 32766; keep well under it
_IN_CHUNK: Final = 500

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS profiles (
    profile_id TEXT PRIMARY KEY,
    document BLOB NOT NULL,
    digest TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS identifiers (
    identifier TEXT NOT NULL,
    profile_id TEXT NOT NULL,
    PRIMARY KEY (identifier, profile_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS identifiers_by_profile ON identifiers (profile_id);
"""


class SqliteProfileStore:
    def __init__(self, lake: LocalLake | None = None, *, path: Path | None = None) -> None:
        if path is None:
            if lake is None:
                raise ValueError("give a lake or a path")
            path = lake.state_dir / FILE_NAME
        self.path = path
        self._reader: sqlite3.Connection | None = None
        self._reader_lock = threading.Lock()

    # -- queries ------------------------------------------------------------------------------------

    def get(self, profile_id: str) -> bytes | None:
        with self._reading() as connection:
            if connection is None:
                return None
            row = connection.execute(
                "SELECT document FROM profiles WHERE profile_id = ?", (profile_id,)
            ).fetchone()
        return bytes(row[0]) if row else None

    def find(self, kind: IdentifierKind, value: str, *, limit: int = DEFAULT_FIND_LIMIT) -> list[str]:
        with self._reading() as connection:
            if connection is None:
                return []
            rows = connection.execute(
                "SELECT profile_id FROM identifiers WHERE identifier = ? ORDER BY profile_id LIMIT ?",
                (identifier_key(kind, value), limit),
            ).fetchall()
        return [row[0] for row in rows]

    # -- mutations ----------------------------------------------------------------------------------

    def replace_all(self, batches: Iterable[Sequence[ProfileDocument]]) -> StoreLoadResult:
        with self._writing() as connection:
            connection.execute("CREATE TEMP TABLE IF NOT EXISTS seen (profile_id TEXT PRIMARY KEY)")
            connection.execute("DELETE FROM temp.seen")
            counts = {"profiles": 0, "written": 0, "unchanged": 0, "ids_written": 0, "ids_deleted": 0}
            for batch in batches:
                self._load_batch(connection, batch, counts)
            stale_ids = (
                "SELECT profile_id FROM profiles WHERE profile_id NOT IN (SELECT profile_id FROM temp.seen)"
            )
            counts["ids_deleted"] += connection.execute(
                f"DELETE FROM identifiers WHERE profile_id IN ({stale_ids})"  # noqa: S608 - constant SQL
            ).rowcount
            deleted = connection.execute(
                "DELETE FROM profiles WHERE profile_id NOT IN (SELECT profile_id FROM temp.seen)"
            ).rowcount
            connection.execute("DELETE FROM temp.seen")
        return StoreLoadResult(
            profiles=counts["profiles"],
            written=counts["written"],
            unchanged=counts["unchanged"],
            deleted=deleted,
            identifiers_written=counts["ids_written"],
            identifiers_deleted=counts["ids_deleted"],
        )

    def delete(self, profile_id: str) -> bool:
        with self._writing() as connection:
            connection.execute("DELETE FROM identifiers WHERE profile_id = ?", (profile_id,))
            return connection.execute("DELETE FROM profiles WHERE profile_id = ?", (profile_id,)).rowcount > 0

    def compact(self) -> None:
        """Rewrite the file without the free pages deleted rows leave behind (erasure: SQLite keeps a
        deleted row's bytes until the page is reused), and empty the write-ahead log."""
        if not self.path.exists():
            return
        self._close_reader()
        try:
            connection = _connect(self.path)
        except (OSError, sqlite3.Error) as error:
            raise LookupUnavailableError(f"profile store {self.path}: {error}") from error
        try:
            connection.execute("PRAGMA secure_delete = ON")
            connection.execute("VACUUM")
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as error:
            raise LookupUnavailableError(f"profile store {self.path}: {error}") from error
        finally:
            connection.close()

    def _load_batch(
        self, connection: sqlite3.Connection, batch: Sequence[ProfileDocument], counts: dict[str, int]
    ) -> None:
        ids = [document.profile_id for document in batch]
        duplicate = _first_duplicate(connection, ids)
        if duplicate is not None:
            raise DuplicateProfileError(f"profile {duplicate!r} is in the load twice")
        connection.executemany("INSERT INTO temp.seen (profile_id) VALUES (?)", [(i,) for i in ids])
        counts["profiles"] += len(ids)
        stored: dict[str, str] = {}
        for start in range(0, len(ids), _IN_CHUNK):
            chunk = ids[start : start + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            stored.update(
                connection.execute(
                    f"SELECT profile_id, digest FROM profiles WHERE profile_id IN ({marks})",  # noqa: S608
                    chunk,
                ).fetchall()
            )
        changed = [document for document in batch if stored.get(document.profile_id) != document.digest]
        counts["unchanged"] += len(batch) - len(changed)
        if not changed:
            return
        for document in changed:
            if document.profile_id in stored:
                counts["ids_deleted"] += connection.execute(
                    "DELETE FROM identifiers WHERE profile_id = ?", (document.profile_id,)
                ).rowcount
        connection.executemany(
            "INSERT OR REPLACE INTO profiles (profile_id, document, digest) VALUES (?, ?, ?)",
            [(d.profile_id, d.document, d.digest) for d in changed],
        )
        index = [(key, d.profile_id) for d in changed for key in d.identifiers]
        connection.executemany(
            "INSERT OR IGNORE INTO identifiers (identifier, profile_id) VALUES (?, ?)", index
        )
        counts["ids_written"] += len(index)
        counts["written"] += len(changed)

    # -- connections --------------------------------------------------------------------------------

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection | None]:
        """The shared read connection (``None`` while no load ever ran: an empty store)."""
        with self._reader_lock:
            try:
                if self._reader is None:
                    if not self.path.is_file():
                        yield None
                        return
                    self._reader = _connect(self.path)
                yield self._reader
            except sqlite3.Error as error:
                self._close_reader()
                raise LookupUnavailableError(f"profile store {self.path}: {error}") from error

    def _close_reader(self) -> None:
        if self._reader is not None:
            try:
                self._reader.close()
            finally:
                self._reader = None

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """A connection of its own in one IMMEDIATE transaction: committed at the end, rolled back if the
        body (or the batches it consumes) raises."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = _connect(self.path)
        except (OSError, sqlite3.Error) as error:
            raise LookupUnavailableError(f"profile store {self.path}: {error}") from error
        try:
            try:
                connection.execute("BEGIN IMMEDIATE")
                yield connection
            except BaseException:
                connection.rollback()
                raise
            connection.commit()
            with suppress(sqlite3.Error):  # best effort: give back the WAL's disk space after a big load
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as error:
            raise LookupUnavailableError(f"profile store {self.path}: {error}") from error
        finally:
            connection.close()


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(
        path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    connection.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
    if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute("PRAGMA temp_store = FILE")
    if connection.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
        connection.executescript(_SCHEMA)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return connection


def _first_duplicate(connection: sqlite3.Connection, ids: Sequence[str]) -> str | None:
    """A profile id named twice in ``ids`` or already named by an earlier batch of the load."""
    seen: set[str] = set()
    for profile_id in ids:
        if profile_id in seen:
            return profile_id
        seen.add(profile_id)
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        marks = ",".join("?" * len(chunk))
        row = connection.execute(
            f"SELECT profile_id FROM temp.seen WHERE profile_id IN ({marks}) LIMIT 1",  # noqa: S608
            chunk,
        ).fetchone()
        if row:
            return str(row[0])
    return None
