"""The lake's lock: pipeline steps and erasures never overlap, so a run cannot resurrect erased data.

The race it closes: a step reads a table, an erasure rewrites that table, the step publishes what it read
— and the person is back. Two rules make that impossible:

1. **One writer at a time.** Every pipeline step (``run_pipeline``, each Glue job) and every erasure or
   retention run holds the lake lock while it reads and publishes. A step in flight makes the erasure wait;
   an erasure in flight makes the next step wait.
2. **Tombstones first.** Erasure writes its tombstones before it rewrites anything, and the standardize
   step drops tombstoned records; so even data that lands in ``raw/`` after the erasure never reaches a
   table.

Locally the lock is ``fcntl.flock`` on ``_local/lake.lock`` (released by the kernel if the process dies).
On S3 it is an object created with ``If-None-Match: *`` (S3's conditional write: exactly one creator wins)
holding its owner and a lease; a holder that crashed is taken over once its lease has expired.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import orjson

from cdp.lake import LOCAL_STATE
from cdp.privacy.errors import LakeLockedError

LOCK_NAME = "lake.lock"
S3_LOCK_KEY = "_lock/lake.json"
DEFAULT_WAIT_SECONDS = 900.0
#: an S3 lock older than this is a crashed holder's (longer than any Glue step's timeout)
DEFAULT_LEASE = timedelta(hours=3)


class LakeLock(Protocol):
    def hold(self, owner: str) -> AbstractContextManager[None]:
        """Block until the lock is ours (or raise :class:`LakeLockedError` after the wait), hold it
        for the ``with`` body, release it after."""
        ...


class NoLock:
    """For engines that cannot share a lake (tests of one step in isolation)."""

    @contextlib.contextmanager
    def hold(self, owner: str) -> Iterator[None]:
        yield


class LocalLakeLock:
    def __init__(
        self, lake_root: str | os.PathLike[str], *, wait_seconds: float = DEFAULT_WAIT_SECONDS
    ) -> None:
        self.path = Path(lake_root) / LOCAL_STATE / LOCK_NAME
        self.wait_seconds = wait_seconds

    @contextlib.contextmanager
    def hold(self, owner: str) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + self.wait_seconds
            while True:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise LakeLockedError(
                            f"the lake is locked by another pipeline step or erasure ({self.path}); "
                            f"waited {self.wait_seconds:.0f} s"
                        ) from None
                    time.sleep(0.1)
            os.ftruncate(descriptor, 0)
            os.write(descriptor, owner.encode("utf-8"))
            try:
                yield
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            os.close(descriptor)


class S3LakeLock:
    """``s3://bucket/_lock/lake.json`` created with ``IfNoneMatch='*'``; ``client`` is a boto3 S3 client."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        *,
        key: str = S3_LOCK_KEY,
        wait_seconds: float = DEFAULT_WAIT_SECONDS,
        lease: timedelta = DEFAULT_LEASE,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client, self.bucket, self.key = client, bucket, key
        self.wait_seconds, self.lease, self.clock, self.sleep = wait_seconds, lease, clock, sleep

    @contextlib.contextmanager
    def hold(self, owner: str) -> Iterator[None]:
        waited = 0.0
        while not self._try_acquire(owner):
            if waited >= self.wait_seconds:
                raise LakeLockedError(
                    f"the lake is locked by {self._holder() or 'someone'} (s3://{self.bucket}/{self.key}); "
                    f"waited {self.wait_seconds:.0f} s"
                )
            self.sleep(5.0)
            waited += 5.0
        try:
            yield
        finally:
            self.client.delete_object(Bucket=self.bucket, Key=self.key)

    def _try_acquire(self, owner: str) -> bool:
        body = orjson.dumps({"owner": owner, "acquired_at": self.clock().isoformat()})
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.key, Body=body, IfNoneMatch="*")
            return True
        except self.client.exceptions.ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code not in ("PreconditionFailed", "ConditionalRequestConflict", "412"):
                raise
        holder = self._read()
        if holder is not None:
            acquired = datetime.fromisoformat(str(holder.get("acquired_at")))
            if self.clock() - acquired > self.lease:  # the holder crashed: take over
                self.client.delete_object(Bucket=self.bucket, Key=self.key)
        return False

    def _read(self) -> dict[str, Any] | None:
        try:
            data = self.client.get_object(Bucket=self.bucket, Key=self.key)["Body"].read()
        except self.client.exceptions.NoSuchKey:
            return None
        value = orjson.loads(data)
        return value if isinstance(value, dict) else None

    def _holder(self) -> str | None:
        holder = self._read()
        return str(holder.get("owner")) if holder else None
