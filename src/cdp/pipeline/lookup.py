"""Pipeline step ``lookup``: the published profiles, traits and memberships → the profile lookup store.

Reads the current snapshots of ``profiles``, ``profile_traits`` and ``segment_memberships`` (Parquet, via
pyarrow, from the local lake or ``s3://``; a table never published counts as empty) and loads them into a
:class:`~cdp.lookup.ports.ProfileStore` replace-all: new and changed profiles written, unchanged ones
skipped by digest, profiles the run no longer has deleted.

Memory stays bounded at any size. Traits are long form (a million profiles × a few dozen traits is tens
of millions of rows), so the three tables are hash-partitioned on ``profile_id`` (CRC-32, the same on every
machine) into as many buckets as it takes to keep each under :class:`LoadBudget`; each bucket's rows are
spilled to a scratch directory as compressed Arrow IPC, then loaded bucket by bucket: one bucket's profiles
with their traits and memberships are in memory at a time, documents go to the store in batches. When
everything fits one bucket nothing is spilled.

The step is not an engine step (no SQL, nothing Spark would do better): it is the same Arrow code locally
and in the loader Lambda (``lambdas/lookup_loader``), where a ``deadline`` lets it stop cleanly before the
15-minute limit; the next invocation skips what was already written (docs/lookup.md, "Loading").
"""

from __future__ import annotations

import math
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from cdp.lakefs import LakeFiles
from cdp.lookup.documents import (
    MEMBERSHIP_COLUMNS,
    PROFILE_TRAIT_COLUMNS,
    build_documents,
    segments_by_profile,
    traits_by_profile,
)
from cdp.lookup.ports import ProfileDocument, ProfileStore
from cdp.tables import PROFILE_TRAITS, PROFILES, SEGMENT_MEMBERSHIPS, LakeTable, current

if TYPE_CHECKING:
    from cdp.pipeline.standardize import StepReport

_IPC_OPTIONS: Final = pa.ipc.IpcWriteOptions(compression="zstd")
_READ_BATCH_ROWS: Final = 65_536


class LoadInterruptedError(Exception):
    """The deadline passed before the last batch: the store kept what it wrote and deleted nothing."""


@dataclass(frozen=True, kw_only=True)
class LoadBudget:
    """Most rows of each table held in memory at once (one bucket), and documents per store batch.

    A trait row costs ~150 bytes once folded into Python objects, a profile ~2 KB: the defaults keep a
    bucket around 300 MB, inside a 2 GB Lambda with room for pyarrow and the batches in flight.
    """

    profiles_per_bucket: int = 100_000
    trait_rows_per_bucket: int = 1_000_000
    membership_rows_per_bucket: int = 2_000_000
    batch_size: int = 1_000

    def buckets(self, profiles: int, trait_rows: int, membership_rows: int) -> int:
        return max(
            1,
            math.ceil(profiles / self.profiles_per_bucket),
            math.ceil(trait_rows / self.trait_rows_per_bucket),
            math.ceil(membership_rows / self.membership_rows_per_bucket),
        )


@dataclass(slots=True)
class LookupLoadReport:
    """``loaded``: profiles (re)written; ``identifiers``: index entries of the loaded snapshot."""

    profiles: int = 0
    loaded: int = 0
    unchanged: int = 0
    deleted: int = 0
    identifiers: int = 0
    identifiers_written: int = 0
    identifiers_deleted: int = 0
    trait_rows: int = 0
    membership_rows: int = 0
    buckets: int = 1
    seconds: float = 0.0
    #: False when the deadline stopped the load: run it again to finish (nothing was deleted)
    complete: bool = True
    #: run id of each input snapshot (None: never published)
    source_runs: dict[str, str | None] = field(default_factory=dict)

    @property
    def profiles_per_second(self) -> float:
        return self.profiles / self.seconds if self.seconds else 0.0


def refresh_lookup(
    files: LakeFiles,
    store: ProfileStore,
    *,
    budget: LoadBudget | None = None,
    deadline: float | None = None,
    scratch_dir: str | Path | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> LookupLoadReport:
    """Load the lake's current profiles into ``store``; ``deadline`` is a ``clock()`` value after which
    no new batch starts (the report then says ``complete=False``)."""
    budget = budget or LoadBudget()
    started = clock()
    report = LookupLoadReport()
    inputs = {
        table.name: _snapshot(files, table) for table in (PROFILES, PROFILE_TRAITS, SEGMENT_MEMBERSHIPS)
    }
    report.source_runs = {name: run_id for name, (run_id, _) in inputs.items()}
    profiles, traits, memberships = (
        inputs[t.name][1] for t in (PROFILES, PROFILE_TRAITS, SEGMENT_MEMBERSHIPS)
    )
    report.trait_rows = traits.count_rows() if traits else 0
    report.membership_rows = memberships.count_rows() if memberships else 0
    profile_rows = profiles.count_rows() if profiles else 0
    report.buckets = budget.buckets(profile_rows, report.trait_rows, report.membership_rows)

    def batches() -> Iterator[list[ProfileDocument]]:
        pending: list[ProfileDocument] = []
        for documents in _documents_by_bucket(profiles, traits, memberships, report.buckets, scratch_dir):
            for document in documents:
                report.identifiers += len(document.identifiers)
                pending.append(document)
                if len(pending) >= budget.batch_size:
                    if deadline is not None and clock() > deadline:
                        raise LoadInterruptedError
                    yield pending
                    pending = []
        if pending:
            yield pending

    try:
        result = store.replace_all(batches())
    except LoadInterruptedError:
        report.complete = False
        report.seconds = clock() - started
        return report
    report.profiles = result.profiles
    report.loaded = result.written
    report.unchanged = result.unchanged
    report.deleted = result.deleted
    report.identifiers_written = result.identifiers_written
    report.identifiers_deleted = result.identifiers_deleted
    report.seconds = clock() - started
    return report


def lookup_step(
    files: LakeFiles, *, run_id: str, engine: str, store: ProfileStore | None = None
) -> StepReport:
    """The step as :func:`cdp.pipeline.runner.run_pipeline` reports it; the local lake's SQLite store
    unless a ``store`` is given."""
    from cdp.pipeline.standardize import StepReport

    if store is None:
        if not files.is_local:
            raise ValueError("the lookup step on an s3:// lake needs the DynamoDB store: pass store=")
        from cdp.adapters.local_profiles import SqliteProfileStore
        from cdp.lake import LocalLake

        store = SqliteProfileStore(LocalLake.at(files.base))
    loaded = refresh_lookup(files, store)
    return StepReport(
        step="lookup",
        run_id=run_id,
        engine=engine,
        rows={"profile_lookup": loaded.profiles},
        seconds=loaded.seconds,
        guards={
            "written": loaded.loaded,
            "unchanged": loaded.unchanged,
            "deleted": loaded.deleted,
            "identifiers": loaded.identifiers,
        },
    )


# -- reading --------------------------------------------------------------------------------------


def _snapshot(files: LakeFiles, table: LakeTable) -> tuple[str | None, ds.Dataset | None]:
    snapshot = current(files, table)
    if snapshot is None:
        return None, None
    paths = [files.path(name) for name in files.find(snapshot.directory, lambda n: n.endswith(".parquet"))]
    if not paths:
        return snapshot.run_id, None
    return snapshot.run_id, ds.dataset(paths, filesystem=files.fs, format="parquet")


def _documents_by_bucket(
    profiles: ds.Dataset | None,
    traits: ds.Dataset | None,
    memberships: ds.Dataset | None,
    buckets: int,
    scratch_dir: str | Path | None,
) -> Iterator[Iterator[ProfileDocument]]:
    if profiles is None:
        return
    if buckets == 1:
        yield _bucket_documents(
            profiles.to_table(),
            traits.to_table(columns=list(PROFILE_TRAIT_COLUMNS)) if traits else None,
            memberships.to_table(columns=list(MEMBERSHIP_COLUMNS)) if memberships else None,
        )
        return
    with tempfile.TemporaryDirectory(prefix="cdp-lookup-", dir=scratch_dir) as temp:
        spilled = {
            name: _spill(dataset, columns, buckets, Path(temp) / name)
            for name, dataset, columns in (
                ("profiles", profiles, None),
                ("traits", traits, PROFILE_TRAIT_COLUMNS),
                ("memberships", memberships, MEMBERSHIP_COLUMNS),
            )
            if dataset is not None
        }
        for bucket in range(buckets):
            tables = {name: _read_spilled(paths[bucket]) for name, paths in spilled.items()}
            if tables.get("profiles") is None:
                continue
            yield _bucket_documents(tables["profiles"], tables.get("traits"), tables.get("memberships"))


def _bucket_documents(
    profiles: pa.Table, traits: pa.Table | None, memberships: pa.Table | None
) -> Iterator[ProfileDocument]:
    return build_documents(profiles, traits_by_profile(traits), segments_by_profile(memberships))


def _spill(dataset: ds.Dataset, columns: Sequence[str] | None, buckets: int, folder: Path) -> list[Path]:
    """Write each row of ``dataset`` to the IPC file of its ``profile_id`` bucket; the files' paths."""
    folder.mkdir(parents=True)
    paths = [folder / f"{bucket:04d}.arrow" for bucket in range(buckets)]
    writers: dict[int, pa.ipc.RecordBatchStreamWriter] = {}
    try:
        for batch in dataset.to_batches(
            columns=list(columns) if columns else None, batch_size=_READ_BATCH_ROWS
        ):
            if batch.num_rows == 0:
                continue
            assigned = profile_buckets(batch.column("profile_id"), buckets)
            for bucket in pc.unique(assigned).to_pylist():
                part = batch.filter(pc.equal(assigned, bucket))
                if bucket not in writers:
                    writers[bucket] = pa.ipc.new_stream(
                        str(paths[bucket]), batch.schema, options=_IPC_OPTIONS
                    )
                writers[bucket].write_batch(part)
    finally:
        for writer in writers.values():
            writer.close()
    return paths


def _read_spilled(path: Path) -> pa.Table | None:
    if not path.is_file():
        return None
    with pa.ipc.open_stream(str(path)) as reader:
        return reader.read_all()


def profile_buckets(profile_ids: pa.Array | pa.ChunkedArray, buckets: int) -> pa.Array:
    """The bucket (0 … ``buckets``-1) of each profile id: CRC-32 of its UTF-8 bytes, modulo ``buckets``.

    Hashed once per distinct id of the batch (dictionary encoding), not per row.
    """
    if isinstance(profile_ids, pa.ChunkedArray):
        profile_ids = profile_ids.combine_chunks()
    encoded = pc.dictionary_encode(profile_ids)
    of_value = pa.array(
        [
            0 if value is None else zlib.crc32(value.encode("utf-8", "surrogatepass")) % buckets
            for value in encoded.dictionary.to_pylist()
        ],
        pa.int32(),
    )
    if len(of_value) == 0:  # every id null: such rows are refused later, any bucket will do
        return pa.array([0] * len(profile_ids), pa.int32())
    return pc.take(of_value, encoded.indices.fill_null(0))
