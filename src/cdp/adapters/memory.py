"""In-memory adapters: fakes for tests and benchmarks that pass the same contract tests as the real ones."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime

from cdp.ingestion.ports import SinkUnavailableError
from cdp.ingestion.records import QuarantinedEvent, RawEventRecord
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
