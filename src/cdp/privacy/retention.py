"""Retention (SPEC 9): anonymous-only data expires; quarantine expires.

A visitor who never logged in, never gave an e-mail or phone and never bought anything is an
*anonymous-only* profile: every record of it is an event with nothing but a device's anonymous id. Once
such a profile has been idle (``last_seen``) longer than ``anonymous_days`` (30–90, default 90), the
retention job removes it the way erasure removes a person — every zone, files rewritten, the lookup store
— but writes no tombstone: the device may come back and is welcome to.

Quarantined events and rows older than ``quarantine_days`` (default 30) are deleted: they were kept so a
mapping or client bug could be fixed and the data replayed, not forever. On AWS the bucket's lifecycle
rules expire ``quarantine/`` the same way; this job is what the embedded lake has instead, and it also
covers the anonymous profiles, which no lifecycle rule can find. Locally it is ``cdp privacy retention``; on
AWS the privacy worker runs it on a weekly schedule (``{"action": "retention"}``,
:func:`cdp.privacy.requests.run_retention_job`), recording each run in ``privacy/retention/<run id>.json``.

Old ``run_id=`` snapshots of every table beyond the newest ``snapshots_kept`` (default 3, the published
one always among them) are deleted: each is a copy of everyone, which an erasure would otherwise rewrite.

``privacy/retention.yaml`` (optional)::

    anonymous_days: 90     # 30..90
    quarantine_days: 30    # 1..365
    snapshots_kept: 3      # 1..100 run_id= snapshots per table, the published one always among them
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cdp.lakefs import LakeFiles
from cdp.privacy.errors import RetentionConfigError
from cdp.privacy.matching import Matcher
from cdp.privacy.models import Subject
from cdp.privacy.service import PrivacyService
from cdp.privacy.subject import read_current
from cdp.privacy.tombstones import RETURNING_PREFIX
from cdp.query.glue_tables import SNAPSHOT_TABLES
from cdp.tables import (
    DELIVERIES,
    EVENTS,
    IDENTITY_LINKS,
    IDENTITY_RECORDS,
    LakeTable,
    current,
    snapshot_path,
)

RETENTION_CONFIG = "privacy/retention.yaml"
_DT = re.compile(r"/dt=(\d{4}-\d{2}-\d{2})/")
_RUN = re.compile(r"/run_id=([^/]+)/")


class RetentionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    anonymous_days: int = Field(default=90, ge=30, le=90)
    quarantine_days: int = Field(default=30, ge=1, le=365)
    #: ``run_id=`` snapshots kept per table, the published one included (older runs are deleted)
    snapshots_kept: int = Field(default=3, ge=1, le=100)


def load_retention_config(service: PrivacyService) -> RetentionConfig:
    data = service.files.read_bytes(RETENTION_CONFIG)
    if data is None:
        return RetentionConfig()
    try:
        raw = yaml.safe_load(data) or {}
        return RetentionConfig.model_validate(raw)
    except (yaml.YAMLError, ValidationError) as error:
        first = error.errors()[0] if isinstance(error, ValidationError) else None
        reason = (
            f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
            if first
            else str(error).splitlines()[0]
        )
        raise RetentionConfigError(f"{RETENTION_CONFIG}: {reason}") from None


@dataclass(frozen=True, slots=True)
class RetentionReport:
    anonymous_days: int
    quarantine_days: int
    cutoff: str
    profiles_expired: int
    returning_erased: int  # records of erased people who came back, whose raw copies were erased
    rows_removed: int
    files_rewritten: int
    quarantine_files_deleted: int
    snapshots_deleted: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def expired_anonymous(service: PrivacyService, cutoff: datetime) -> Subject:
    """The anonymous-only profiles last seen before ``cutoff``, with their records, devices and events."""
    subject = Subject()
    records = read_current(
        service.files,
        IDENTITY_RECORDS,
        ("record_id", "origin", "user_id", "email", "phone_e164", "national_id", "anonymous_id", "last_seen"),
    )
    links = read_current(service.files, IDENTITY_LINKS, ("record_id", "profile_id"))
    if records is None or links is None:
        return subject
    joined = records.join(links, "record_id")
    known = pc.or_(
        pc.not_equal(joined.column("origin"), "event"),
        pc.or_(
            pc.or_(pc.is_valid(joined.column("user_id")), pc.is_valid(joined.column("email"))),
            pc.or_(pc.is_valid(joined.column("phone_e164")), pc.is_valid(joined.column("national_id"))),
        ),
    )
    known_profiles = set(joined.filter(pc.fill_null(known, True)).column("profile_id").to_pylist())
    recent = pc.greater_equal(joined.column("last_seen"), pa.scalar(cutoff, pa.timestamp("us", tz="UTC")))
    recent_profiles = set(joined.filter(pc.fill_null(recent, False)).column("profile_id").to_pylist())
    expired = set(joined.column("profile_id").to_pylist()) - known_profiles - recent_profiles
    if not expired:
        return subject
    mine = joined.filter(
        pc.is_in(joined.column("profile_id"), value_set=pa.array(sorted(expired), pa.string()))
    )
    subject.profile_ids = expired
    subject.record_ids = set(mine.column("record_id").to_pylist())
    subject.anonymous_ids = {value for value in mine.column("anonymous_id").to_pylist() if value}
    # a device id also seen on a kept profile stays (that profile's events carry it)
    kept = joined.filter(
        pc.invert(pc.is_in(joined.column("profile_id"), value_set=pa.array(sorted(expired))))
    )
    subject.anonymous_ids -= {value for value in kept.column("anonymous_id").to_pylist() if value}
    events = read_current(service.files, EVENTS, ("message_id", "identity_record_id"))
    if events is not None:
        theirs = pc.is_in(events.column("identity_record_id"), value_set=pa.array(sorted(subject.record_ids)))
        subject.message_ids = set(events.filter(pc.fill_null(theirs, False)).column("message_id").to_pylist())
    return subject


def run_retention(
    service: PrivacyService, *, days: int | None = None, as_of: datetime | None = None
) -> RetentionReport:
    started = time.perf_counter()
    config = load_retention_config(service)
    if days is not None:
        config = config.model_copy(
            update={"anonymous_days": RetentionConfig(anonymous_days=days).anonymous_days}
        )
    now = (as_of or datetime.now(UTC)).astimezone(UTC)
    cutoff = now - timedelta(days=config.anonymous_days)
    with service.lock.hold("retention"):
        subject = expired_anonymous(service, cutoff)
        rows_removed, rewritten = 0, 0
        if subject.profile_ids:
            removed, paths, _deleted = service.remove(Matcher(subject))
            rows_removed, rewritten = sum(removed.values()), len(paths)
            service.erase_lookup(subject)
        returning, returning_rows = erase_returning(service)
        rows_removed += returning_rows
        quarantine_deleted = _expire_quarantine(service, now - timedelta(days=config.quarantine_days))
        snapshots_deleted = expire_snapshots(service, keep=config.snapshots_kept)
    return RetentionReport(
        anonymous_days=config.anonymous_days,
        quarantine_days=config.quarantine_days,
        cutoff=cutoff.isoformat(),
        profiles_expired=len(subject.profile_ids),
        returning_erased=returning,
        rows_removed=rows_removed,
        files_rewritten=rewritten,
        quarantine_files_deleted=quarantine_deleted,
        snapshots_deleted=snapshots_deleted,
        seconds=round(time.perf_counter() - started, 3),
    )


def _expire_quarantine(service: PrivacyService, cutoff: datetime) -> int:
    """Quarantine files older than ``cutoff``: by their ``dt=`` partition (the day the data arrived) when
    they have one, else by their modification time (an import's rejected rows)."""
    files = service.files
    selector = pafs.FileSelector(files.path("quarantine"), recursive=True, allow_not_found=True)
    deleted = 0
    for info in files.fs.get_file_info(selector):
        if info.type != pafs.FileType.File:
            continue
        day = _DT.search(info.path)
        if day:
            arrived = datetime.fromisoformat(day.group(1)).replace(tzinfo=UTC) + timedelta(days=1)
        elif info.mtime is not None:
            arrived = info.mtime.astimezone(UTC)
        else:
            continue
        if arrived < cutoff:
            files.fs.delete_file(info.path)
            deleted += 1
    return deleted


def expire_snapshots(service: PrivacyService, *, keep: int) -> int:
    """Delete all but the ``keep`` newest ``run_id=`` snapshots of every snapshot table, never the
    published one; returns the snapshots deleted. Old snapshots are copies of people: an erasure rewrites
    each one that holds the person, so fewer copies mean cheaper erasures and less personal data at rest.
    (The deliveries ledger is not a snapshot table: each run appends its own rows.)"""
    files = service.files
    deleted = 0
    for table in SNAPSHOT_TABLES:
        if table is DELIVERIES:
            continue
        published = current(files, table)
        names = {
            match.group(1)
            for path in files.find(table.prefix, lambda name: "/run_id=" in name)
            if (match := _RUN.search(path))
        }
        # run ids sort by their second; two runs in one second by when their files were written
        runs = sorted(
            names, key=lambda run: (run.split("-", 1)[0], _written(files, table, run)), reverse=True
        )
        keeping = set(runs[:keep]) | ({published.run_id} if published else set())
        for run_id in runs:
            if run_id not in keeping:
                files.delete_dir(snapshot_path(table, run_id))
                deleted += 1
    return deleted


def _written(files: LakeFiles, table: LakeTable, run_id: str) -> float:
    selector = pafs.FileSelector(
        files.path(snapshot_path(table, run_id)), recursive=True, allow_not_found=True
    )
    times = [info.mtime.timestamp() for info in files.fs.get_file_info(selector) if info.mtime is not None]
    return max(times, default=0.0)


def erase_returning(service: PrivacyService) -> tuple[int, int]:
    """Erase what erased people sent after their erasure. The standardize step kept them out of the clean
    zone and queued their records' identifiers under :data:`RETURNING_PREFIX`; their raw copies (events,
    import files) are removed here like an erasure removes them (no new tombstone: they have one), then
    the queue. Returns the records and the rows removed."""
    files = service.files
    queued = files.find(RETURNING_PREFIX, lambda name: name.endswith(".parquet"))
    if not queued:
        return 0, 0
    tables = [
        pq.read_table(pa.BufferReader(data), use_threads=False)
        for path in queued
        if (data := files.read_bytes(path)) is not None
    ]
    subject = Subject()
    records = 0
    for table in tables:
        records += table.num_rows
        for row in table.to_pylist():
            for column, target in (("record_id", subject.record_ids), *subject.identifier_sets()):
                if row.get(column):
                    target.add(row[column])
    removed, _paths, _deleted = service.remove(Matcher(subject, salt=service.salt))
    for path in queued:
        files.delete_file(path)
    if service.version_purger is not None:
        service.version_purger.purge(queued)
    return records, sum(removed.values())
