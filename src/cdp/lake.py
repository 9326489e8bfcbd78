"""The lake's zone layout (SPEC 4), shared by the local directory and the S3 bucket.

Local writes are atomic (temp file + rename in the same directory) so a concurrent reader such as
``cdp query`` never sees a partial line; S3 PUTs are atomic by nature.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

RAW_EVENTS = "raw/events"
QUARANTINE_EVENTS = "quarantine/events"
LOCAL_STATE = "_local"
#: Spark jobs' scratch (``tmp/<step>/<run id>/``): deleted by the job, expired by the bucket's lifecycle
#: if a crashed run leaves it behind
SCRATCH = "tmp"
#: the analysts' zone (SPEC 4): pseudonymized tables, materialized apart from the personal data. Locally a
#: folder of the lake; on AWS a bucket of its own with its own KMS key, mounted at this prefix
#: (:class:`cdp.lakefs.LakeFiles`, :func:`zone_mounts`)
PSEUDONYMIZED = "pseudonymized"

ZONES: tuple[str, ...] = (
    "landing",
    "raw/events",
    "raw/imports",
    "quarantine",
    "clean",
    "identity",
    "profiles",
    "segments",
    "exports",
    "privacy",
    PSEUDONYMIZED,
    SCRATCH,
)


def zone_mounts(*, pseudonymized_root: str | None) -> dict[str, str]:
    """The :class:`cdp.lakefs.LakeFiles` mounts of a deployed lake: the pseudonymized zone at
    ``pseudonymized_root`` (``s3://<zone bucket>/pseudonymized``) when it lives apart; none locally."""
    return {PSEUDONYMIZED: pseudonymized_root} if pseudonymized_root else {}


def part_name(suffix: str, now: datetime | None = None) -> str:
    """A unique, time-sortable object name: ``part-20261128T080313123456Z-<uuid>.<suffix>``."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"part-{moment:%Y%m%dT%H%M%S%f}Z-{uuid.uuid4().hex}.{suffix}"


@dataclass(frozen=True, slots=True)
class LocalLake:
    """A lake rooted in a local directory, with the same prefixes as the S3 bucket."""

    root: Path

    @classmethod
    def at(cls, root: str | os.PathLike[str]) -> LocalLake:
        return cls(Path(root).expanduser().resolve())

    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)

    @property
    def state_dir(self) -> Path:
        """Local stand-ins for AWS state (DynamoDB tables, delivery state): ``_local/``."""
        return self.path(LOCAL_STATE)

    def write_atomic(self, relative: str, data: bytes) -> Path:
        """Write ``data`` so readers see either nothing or the whole file.

        The temp name is derived from the (unique) target name and created with ``O_EXCL``: cheaper than
        ``mkstemp`` on the ingestion hot path, and it never collides.
        """
        target = self.path(relative)
        parent = target.parent
        if parent not in _KNOWN_DIRECTORIES:
            parent.mkdir(parents=True, exist_ok=True)
            _KNOWN_DIRECTORIES.add(parent)
        temp = parent / f".tmp-{target.name}-{uuid.uuid4().hex[:8]}.partial"
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileNotFoundError:  # the directory was removed since we remembered it
            _KNOWN_DIRECTORIES.discard(parent)
            parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.close(fd)
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return target


#: directories known to exist, so the hot path does not ``mkdir`` on every write
_KNOWN_DIRECTORIES: set[Path] = set()
