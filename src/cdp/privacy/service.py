"""Access requests and erasure over the whole lake (SPEC 9): one call each, with proof.

**Access** (:meth:`PrivacyService.access`) resolves the person through the identity graph and returns one
JSON document with every row of every file that belongs to them, grouped by zone and file, plus their
lookup-store document.

**Erasure** (:meth:`PrivacyService.erase`), under the lake lock (:mod:`cdp.privacy.lock`):

1. resolve the person; refuse if a query identifier is shared by several profiles (name the profile);
2. write a journal ``privacy/erasures/<request id>/journal.json`` holding the resolved subject, so a
   re-run after a crash erases exactly the same person even though the identity tables it resolved from
   may already be rewritten; the journal is deleted once the proof holds;
3. write the tombstones (before any rewrite: :mod:`cdp.privacy.tombstones`);
4. rewrite every file holding the person without their rows (:mod:`cdp.privacy.files`), zone by zone,
   the identity graph last; delete the Spark scratch (``tmp/``: nobody runs while we hold the lock); each
   file is replaced atomically, so a crash leaves every file either old or new and a re-run finishes;
5. delete the person's profiles from the lookup store and their contacts from the destinations, and on a
   versioned bucket the noncurrent versions of every rewritten object;
6. prove it: scan every file again, decoded (Parquet values, JSON lines, CSV cells, JSON) and as raw bytes
   for every identifier in every shape seen, and report the hits per zone (0) in
   ``privacy/erasures/<request id>/report.json``, which holds counts only, never an identifier.

The cost is one read of every file (the proof must look everywhere anyway) and a rewrite of only the files
that held the person: with old snapshots expired (:mod:`cdp.privacy.retention`) that is one file per
table, the raw ``dt=`` partitions the person's events fell in, and their import files.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import orjson

from cdp.lake import SCRATCH
from cdp.lakefs import LakeFiles
from cdp.lookup.ports import ProfileStore
from cdp.privacy.errors import ErasureIncompleteError, PrivacyRequestError
from cdp.privacy.files import FileFormat, LakeFile, zone_of
from cdp.privacy.lock import LakeLock
from cdp.privacy.matching import Matcher
from cdp.privacy.models import ErasureReport, Subject, SubjectQuery, ZoneCount
from cdp.privacy.subject import resolve_subject
from cdp.privacy.tombstones import TOMBSTONES_PREFIX, write_tombstones

if TYPE_CHECKING:
    from cdp.privacy.retention import RetentionReport

ERASURES_PREFIX = "privacy/erasures"
T = TypeVar("T")
REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
#: the identity graph is what a re-run resolves from: rewritten last
_LAST = ("clean/identity_records", "identity/links")


class ContactEraser(Protocol):
    """A destination that holds contacts (an SES contact list): forget these addresses."""

    @property
    def name(self) -> str: ...

    def erase_contacts(self, emails: Sequence[str], phones: Sequence[str]) -> int:
        """Delete the contacts; returns how many existed."""
        ...


class VersionPurger(Protocol):
    """A versioned bucket keeps each rewritten object's old version: delete those."""

    def purge(self, paths: Sequence[str]) -> int: ...


def new_request_id(now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


@dataclass
class PrivacyService:
    files: LakeFiles
    salt: bytes
    lock: LakeLock
    lookup_store: ProfileStore | None = None
    contact_erasers: Sequence[ContactEraser] = ()
    version_purger: VersionPurger | None = None
    #: lake prefixes that live under another root (``LakeFiles`` mounts): scanned too
    extra_prefixes: tuple[str, ...] = field(default_factory=tuple)

    # --- access ---

    def access(self, query: SubjectQuery) -> dict[str, Any]:
        """Everything held about the person, as one JSON-able document."""
        subject = resolve_subject(self.files, query)
        matcher = Matcher(subject, salt=self.salt)
        zones: dict[str, dict[str, list[Any]]] = {}
        inspections = _in_parallel(
            lambda path: LakeFile(self.files, path, matcher).inspect(collect=True), self.lake_files()
        )
        for path, found in inspections:
            if found.hits and found.matched:
                zones.setdefault(found.zone, {})[path] = found.matched
        lookup: dict[str, Any] = {}
        if self.lookup_store is not None:
            for profile_id in sorted(subject.profile_ids):
                document = self.lookup_store.get(profile_id)
                if document is not None:
                    lookup[profile_id] = orjson.loads(document)
        return {
            "generated_at": datetime.now(UTC).isoformat(),
            "request": {
                "emails": list(query.emails),
                "phones": list(query.phones),
                "user_ids": list(query.user_ids),
                "anonymous_ids": list(query.anonymous_ids),
                "profile_ids": list(query.profile_ids),
            },
            "profiles": sorted(subject.profile_ids),
            "ambiguous": subject.ambiguous,
            "summary": {
                zone: sum(len(rows) for rows in by_file.values()) for zone, by_file in sorted(zones.items())
            },
            "zones": dict(sorted(zones.items())),
            "lookup": lookup,
        }

    # --- erasure ---

    def erase(self, query: SubjectQuery, *, request_id: str | None = None) -> ErasureReport:
        request_id = request_id or new_request_id()
        if not REQUEST_ID.match(request_id):
            raise PrivacyRequestError(f"request id {request_id!r}: letters, digits, '_', '.', '-' only")
        started = time.perf_counter()
        with self.lock.hold(f"erasure {request_id}"):
            subject, resumed = self._subject(query, request_id)
            if subject.ambiguous:
                shared = ", ".join(
                    f"{name} is held by {len(ids)} profiles" for name, ids in subject.ambiguous.items()
                )
                raise PrivacyRequestError(
                    f"{shared}: not erasing anyone; name the person's profile with --profile-id "
                    "(cdp privacy export shows the candidates)"
                )
            self._write_journal(request_id, subject)
            tombstones = write_tombstones(self.files, subject, self.salt, request_id)
            matcher = Matcher(subject, salt=self.salt)
            rows_removed, rewritten, deleted = self.remove(matcher, skip=request_id)
            lookup_deleted = self.erase_lookup(subject)
            destinations = {
                eraser.name: eraser.erase_contacts(sorted(subject.emails), sorted(subject.phones))
                for eraser in self.contact_erasers
            }
            proof, scanned = self._prove(subject, matcher, request_id)
            report = ErasureReport(
                request_id=request_id,
                subject=query.describe(),
                profiles=len(subject.profile_ids),
                records=len(subject.record_ids),
                files_scanned=scanned,
                files_rewritten=len(rewritten),
                files_deleted=deleted,
                rows_removed=rows_removed,
                lookup_deleted=lookup_deleted,
                destinations=destinations,
                tombstones=tombstones,
                proof=proof,
                seconds=round(time.perf_counter() - started, 3),
                already_erased=resumed and not rows_removed,
            )
            self.files.write_bytes(
                f"{ERASURES_PREFIX}/{request_id}/report.json",
                orjson.dumps(report.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS),
            )
            if not report.proven:
                where = ", ".join(
                    f"{zone} ({count['hits']})" for zone, count in proof["zones"].items() if count["hits"]
                )
                raise ErasureIncompleteError(
                    f"erasure {request_id}: the proof scan still finds the person in {where}; "
                    "the journal is kept, re-run the same request id after fixing the cause"
                )
            self.files.delete_file(self._journal_path(request_id))
            if self.version_purger is not None:
                self.version_purger.purge([self._journal_path(request_id)])
        return report

    # --- retention ---

    def expire(self, *, days: int | None = None, as_of: datetime | None = None) -> RetentionReport:
        """Retention (:func:`cdp.privacy.retention.run_retention`): idle anonymous-only profiles and old
        quarantine go, under the lake lock, without tombstones."""
        from cdp.privacy.retention import run_retention  # it builds on this class

        return run_retention(self, days=days, as_of=as_of)

    def remove(self, matcher: Matcher, *, skip: str | None = None) -> tuple[dict[str, int], list[str], int]:
        """Rewrite every file holding rows ``matcher`` recognizes, the identity graph last; delete the
        Spark scratch. The caller holds the lake lock. Returns rows removed by zone, the paths rewritten
        and the number of files deleted."""
        rows_removed: dict[str, int] = {}
        rewritten: list[str] = []
        removed_files: list[str] = []

        def holds_the_person(path: str) -> bool:
            lake_file = LakeFile(self.files, path, matcher)
            if path.endswith(".partial"):  # a crashed write's leftover: removed whatever it holds
                return True
            return lake_file.format is not FileFormat.opaque and lake_file.inspect().hits > 0

        paths = self.lake_files(skip=skip)
        scratch = [path for path in paths if path.startswith(f"{SCRATCH}/")]
        others = [path for path in paths if not path.startswith(f"{SCRATCH}/")]
        for path in scratch:
            self.files.delete_file(path)  # a job's leftovers; no job runs while we hold the lock
            removed_files.append(path)
        # reading is the cost: files are screened in parallel, then rewritten one by one, in order
        found = _in_parallel(holds_the_person, others)
        for path in sorted((path for path, hit in found if hit), key=_erasure_order):
            lake_file = LakeFile(self.files, path, matcher)
            removed = lake_file.rewrite()
            if removed:
                rows_removed[lake_file.zone] = rows_removed.get(lake_file.zone, 0) + removed
                (rewritten if self.files.exists(path) else removed_files).append(path)
        if self.version_purger is not None:  # the old versions of what we rewrote or deleted hold the person
            self.version_purger.purge(rewritten + removed_files)
        return dict(sorted(rows_removed.items())), rewritten, len(removed_files)

    def lake_files(self, *, skip: str | None = None) -> list[str]:
        """Every file of the lake (and of mounted prefixes), except this request's own journal."""
        journal = self._journal_path(skip) if skip else None
        found = set(self.files.find("", lambda name: True))
        for prefix in self.extra_prefixes:
            found.update(self.files.find(prefix, lambda name: True))
        return sorted(
            path for path in found if path != journal and not path.startswith(f"{TOMBSTONES_PREFIX}/")
        )

    def _subject(self, query: SubjectQuery, request_id: str) -> tuple[Subject, bool]:
        subject = resolve_subject(self.files, query)
        journal = self.files.read_bytes(self._journal_path(request_id))
        if journal is None:
            return subject, False
        saved = orjson.loads(journal)
        for name, values in saved.items():
            target = getattr(subject, name, None)
            if isinstance(target, set):
                target.update(values)
        subject.ambiguous = {}  # decided when the journal was written
        return subject, True

    def _journal_path(self, request_id: str) -> str:
        return f"{ERASURES_PREFIX}/{request_id}/journal.json"

    def _write_journal(self, request_id: str, subject: Subject) -> None:
        plain = {
            name: sorted(value) for name, value in asdict(subject).items() if isinstance(value, set | list)
        }
        self.files.write_bytes(self._journal_path(request_id), orjson.dumps(plain))

    def erase_lookup(self, subject: Subject) -> int:
        if self.lookup_store is None:
            return 0
        deleted = sum(1 for profile_id in sorted(subject.profile_ids) if self.lookup_store.delete(profile_id))
        compact = getattr(self.lookup_store, "compact", None)
        if callable(compact):  # SQLite keeps deleted rows' bytes in free pages until vacuumed
            compact()
        return deleted

    def _prove(self, subject: Subject, seen: Matcher, request_id: str) -> tuple[dict[str, Any], int]:
        """Every file again: decoded (the matcher) and as raw bytes (every identifier in every shape seen
        while erasing, as a whole token)."""
        checker = Matcher(subject, salt=self.salt)
        checker.observed.update(seen.observed)
        zones: dict[str, ZoneCount] = {}
        paths = self.lake_files(skip=request_id)

        def hits_in(path: str) -> int:
            data = self.files.read_bytes(path) or b""
            lake_file = LakeFile(self.files, path, checker)
            hits = lake_file.inspect(data=data).hits if lake_file.format is not FileFormat.opaque else 0
            if checker.byte_hits(data):
                hits = max(hits, 1)
            return hits

        for path, hits in _in_parallel(hits_in, paths):
            count = zones.setdefault(zone_of(path), ZoneCount())
            count.files += 1
            count.hits += hits
        total = sum(count.hits for count in zones.values())
        return {"hits": total, "zones": {zone: asdict(count) for zone, count in sorted(zones.items())}}, len(
            paths
        )


def _in_parallel(work: Callable[[str], T], paths: Sequence[str]) -> list[tuple[str, T]]:
    """``work`` on every path, on as many threads as there are cores (Parquet decoding and the RE2 scans
    release the GIL), results in ``paths``' order."""
    with ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
        return list(zip(paths, pool.map(work, paths), strict=True))


def _erasure_order(path: str) -> tuple[int, str]:
    for index, prefix in enumerate(_LAST, start=1):
        if path.startswith(prefix + "/"):
            return index, path
    return 0, path
