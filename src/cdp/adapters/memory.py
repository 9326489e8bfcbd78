"""In-memory adapters: fakes for tests and benchmarks that pass the same contract tests as the real ones."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from cdp.ingestion.ports import SinkUnavailableError
from cdp.ingestion.records import QuarantinedEvent, RawEventRecord
from cdp.lookup.ports import (
    DEFAULT_FIND_LIMIT,
    DuplicateProfileError,
    IdentifierKind,
    LookupUnavailableError,
    ProfileDocument,
    StoreLoadResult,
    identifier_key,
)
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


class InMemoryEventSink:
    def __init__(self) -> None:
        self.events: list[RawEventRecord] = []
        self.rejections: list[QuarantinedEvent] = []
        self.fail_next = False

    def write_events(self, records: Sequence[RawEventRecord]) -> None:
        self._maybe_fail()
        self.events.extend(records)

    def write_rejections(self, rejections: Sequence[QuarantinedEvent]) -> None:
        self._maybe_fail()
        self.rejections.extend(rejections)

    def _maybe_fail(self) -> None:
        if self.fail_next:
            self.fail_next = False
            raise SinkUnavailableError("injected failure")


class InMemoryWriteKeyStore:
    def __init__(self) -> None:
        self._sources: dict[str, datetime] = {}
        self._keys: dict[str, list[tuple[str, KeyIdentity, bool]]] = {}
        self._lock = threading.Lock()

    def create_source(self, source_id: str) -> IssuedKey:
        validate_source_name(source_id)
        with self._lock:
            if source_id in self._sources:
                raise SourceExistsError(f"source {source_id!r} already exists; use rotate-key for a new key")
            self._sources[source_id] = datetime.now(UTC)
            self._keys[source_id] = []
            return self._issue(source_id)

    def rotate(self, source_id: str) -> IssuedKey:
        with self._lock:
            self._revoke(source_id)
            return self._issue(source_id)

    def revoke(self, source_id: str) -> None:
        with self._lock:
            self._revoke(source_id)

    def list_sources(self) -> list[SourceInfo]:
        return [
            SourceInfo(
                source_id=name,
                created_at=created,
                active_key_id=next((i.key_id for _, i, active in self._keys[name] if active), None),
                revoked_key_count=sum(1 for _, _, active in self._keys[name] if not active),
            )
            for name, created in sorted(self._sources.items())
        ]

    def authenticate(self, write_key: str) -> KeyIdentity | None:
        digest = hash_write_key(write_key)
        for keys in self._keys.values():
            for key_hash, identity, active in keys:
                if active and key_hash == digest:
                    return identity
        return None

    def _issue(self, source_id: str) -> IssuedKey:
        write_key = generate_write_key()
        digest = hash_write_key(write_key)
        identity = KeyIdentity(source_id=source_id, key_id=key_id_for(digest))
        self._keys[source_id].append((digest, identity, True))
        return IssuedKey(source_id=source_id, key_id=identity.key_id, write_key=write_key)

    def _revoke(self, source_id: str) -> None:
        if source_id not in self._sources:
            raise UnknownSourceError(source_id)
        self._keys[source_id] = [(h, i, False) for h, i, _ in self._keys[source_id]]


class InMemoryProfileStore:
    """Profiles and their index in dicts; ``fail_next`` makes the next call raise LookupUnavailableError,
    ``down`` every call until it is cleared."""

    def __init__(self) -> None:
        self._documents: dict[str, tuple[bytes, str, tuple[str, ...]]] = {}
        self._index: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        self.fail_next = False
        self.down = False

    def replace_all(self, batches: Iterable[Sequence[ProfileDocument]]) -> StoreLoadResult:
        self._maybe_fail()
        seen: set[str] = set()
        written = unchanged = identifiers_written = identifiers_deleted = 0
        for batch in batches:
            with self._lock:
                for document in batch:
                    if document.profile_id in seen:
                        raise DuplicateProfileError(f"profile {document.profile_id!r} is in the load twice")
                    seen.add(document.profile_id)
                    old = self._documents.get(document.profile_id)
                    if old is not None and old[1] == document.digest:
                        unchanged += 1
                        continue
                    old_keys = set(old[2]) if old else set()
                    new_keys = set(document.identifiers)
                    identifiers_deleted += self._unindex(document.profile_id, old_keys - new_keys)
                    for key in new_keys - old_keys:
                        self._index.setdefault(key, set()).add(document.profile_id)
                        identifiers_written += 1
                    self._documents[document.profile_id] = (
                        document.document,
                        document.digest,
                        document.identifiers,
                    )
                    written += 1
        with self._lock:
            stale = [profile_id for profile_id in self._documents if profile_id not in seen]
            for profile_id in stale:
                identifiers_deleted += self._remove(profile_id)
        return StoreLoadResult(
            profiles=len(seen),
            written=written,
            unchanged=unchanged,
            deleted=len(stale),
            identifiers_written=identifiers_written,
            identifiers_deleted=identifiers_deleted,
        )

    def get(self, profile_id: str) -> bytes | None:
        self._maybe_fail()
        found = self._documents.get(profile_id)
        return found[0] if found else None

    def find(self, kind: IdentifierKind, value: str, *, limit: int = DEFAULT_FIND_LIMIT) -> list[str]:
        self._maybe_fail()
        return sorted(self._index.get(identifier_key(kind, value), ()))[:limit]

    def delete(self, profile_id: str) -> bool:
        self._maybe_fail()
        with self._lock:
            if profile_id not in self._documents:
                return False
            self._remove(profile_id)
            return True

    def _remove(self, profile_id: str) -> int:
        _, _, keys = self._documents.pop(profile_id)
        return self._unindex(profile_id, set(keys))

    def _unindex(self, profile_id: str, keys: set[str]) -> int:
        for key in keys:
            owners = self._index.get(key, set())
            owners.discard(profile_id)
            if not owners:
                self._index.pop(key, None)
        return len(keys)

    def _maybe_fail(self) -> None:
        if self.fail_next or self.down:
            self.fail_next = False
            raise LookupUnavailableError("injected failure")
