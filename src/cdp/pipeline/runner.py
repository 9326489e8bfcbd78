"""Run pipeline steps in the embedded mode: resolve inputs in the local lake, write snapshots, publish.

The same step functions run in Glue with a Spark engine and S3 paths (``glue_jobs/``); only this wiring
(where files are listed and snapshots published) is local.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cdp.adapters.local_catalog import LocalCatalogPublisher
from cdp.catalog_port import CatalogPublisher, snapshot_location
from cdp.engine.port import Engine
from cdp.identity.resolution import PairScorer
from cdp.imports.layout import IMPORTS_RAW, MANIFEST_NAME, rows_key
from cdp.lake import RAW_EVENTS
from cdp.lakefs import LakeFiles
from cdp.pipeline import UnknownStepError
from cdp.pipeline.export import check_export_config, export_step
from cdp.pipeline.lookup import lookup_step
from cdp.pipeline.profiles import PreparedProfiles, build_profiles_in_lake, prepare_profiles
from cdp.pipeline.resolve import DEFAULT_SCORER, DefaultScorer, resolve_in_lake
from cdp.pipeline.segments import PreparedSegments, evaluate_segments_in_lake, prepare_segments
from cdp.pipeline.standardize import StandardizeInputs, StepReport, standardize
from cdp.privacy.lock import LakeLock, LocalLakeLock, NoLock
from cdp.privacy.tombstones import RETURNING_PREFIX, TOMBSTONES_PREFIX, Tombstones
from cdp.profiles.salt import local_salt
from cdp.settings import ConfigError
from cdp.tables import LakeTable, new_run_id, publish, snapshot_path

STEPS: tuple[str, ...] = ("standardize", "resolve", "profiles", "segments", "export", "lookup")


@dataclass(slots=True)
class RunReport:
    run_id: str
    engine: str
    steps: list[StepReport] = field(default_factory=list)


def parse_steps(text: str | None) -> list[str]:
    if not text:
        return list(STEPS)
    steps = [step.strip() for step in text.split(",") if step.strip()]
    unknown = [step for step in steps if step not in STEPS]
    if unknown:
        raise UnknownStepError(f"unknown step {unknown[0]!r}; steps are {', '.join(STEPS)}")
    return sorted(set(steps), key=STEPS.index)


def raw_event_files(files: LakeFiles) -> list[str]:
    """JSON-lines objects of the raw zone (local ``.jsonl``; Firehose's ``.gz`` objects on S3)."""
    found = files.find(
        RAW_EVENTS, lambda name: "/dt=" in name and not name.rsplit("/", 1)[-1].startswith(".")
    )
    return [files.uri(name) for name in found]


def completed_import_row_files(files: LakeFiles) -> list[str]:
    """Rows of imports whose manifest exists: an import without one is unfinished and invisible."""
    rows = []
    for manifest in files.find(IMPORTS_RAW, lambda name: name.endswith(f"/{MANIFEST_NAME}")):
        source, import_id = manifest.removeprefix(f"{IMPORTS_RAW}/").split("/")[:2]
        relative = rows_key(source, import_id)
        if files.exists(relative):  # an import whose every row was rejected has no rows file
            rows.append(files.uri(relative))
    return rows


class SnapshotWriter:
    """Writes a step's tables as ``run_id`` snapshots; :meth:`publish_all` swaps their pointers together.

    Publishing only after the whole step succeeded means a failed step leaves every table as it was.
    """

    def __init__(
        self, engine: Engine, files: LakeFiles, run_id: str, catalog: CatalogPublisher | None = None
    ) -> None:
        self._engine, self._files, self._run_id = engine, files, run_id
        self._catalog: CatalogPublisher = catalog or LocalCatalogPublisher(files)
        self._pending: list[tuple[LakeTable, int]] = []

    def __call__(self, table: LakeTable, view: str) -> int:
        directory = snapshot_path(table, self._run_id)
        self._files.delete_dir(directory)  # left by a crashed attempt of this run id: never published
        self._files.make_parent(directory)
        rows = self._engine.write_parquet(view, self._files.uri(directory))
        self._pending.append((table, rows))
        return rows

    def publish_all(self) -> None:
        """Swap each table's pointer file, then its catalog location (Athena's pointer on AWS)."""
        for table, rows in self._pending:
            snapshot = publish(self._files, table, self._run_id, rows)
            self._catalog.publish(table, snapshot_location(self._files, snapshot))
        self._pending.clear()


def run_pipeline(
    files: LakeFiles,
    engine: Engine,
    *,
    steps: Sequence[str] = STEPS,
    run_id: str | None = None,
    on_step: Callable[[str], None] | None = None,
    scorer: PairScorer | DefaultScorer | None = DEFAULT_SCORER,
    as_of: datetime | None = None,
    salt: bytes | None = None,
    catalog: CatalogPublisher | None = None,
    lock: LakeLock | None = None,
) -> RunReport:
    """Run ``steps`` in order, publishing each step's tables when it succeeded; ``scorer`` is the
    probabilistic matcher of the resolve step (default: the one the lake's identity rules ask for;
    ``None``: deterministic rules only).

    The profiles step's ``as_of`` is the reference time of its windows and recency (default: now) and
    ``salt`` the pseudonymization salt (default: the local lake's, created on first use; a lake on S3 must
    be given the Secrets Manager one). ``catalog`` moves each published table's catalog location (the Glue
    table on AWS; default: the local pointer file only). Its configuration is loaded and validated before
    the first step runs, so a bad ``profiles.yaml`` or trait file fails the run before anything is written.
    """
    run = RunReport(run_id=run_id or new_run_id(), engine=engine.name)
    # one writer at a time: an erasure never interleaves with a step (cdp.privacy.lock)
    lake_lock: LakeLock = lock or (LocalLakeLock(files.base) if files.is_local else NoLock())
    write = SnapshotWriter(engine, files, run.run_id, catalog)
    profiles: PreparedProfiles | None = None
    if "profiles" in steps:
        profiles = prepare_profiles(files, as_of=as_of, salt=salt)
    segments: PreparedSegments | None = None
    if "segments" in steps:
        segments = prepare_segments(files)  # every definition validated before any step runs
    if "export" in steps:
        check_export_config(files)
    for step in steps:
        if on_step:
            on_step(step)
        with lake_lock.hold(f"{step} {run.run_id}"):
            if step == "standardize":
                inputs = StandardizeInputs(
                    raw_event_files=raw_event_files(files),
                    import_row_files=completed_import_row_files(files),
                    tombstones=_tombstones(files, salt),
                )
                run.steps.append(standardize(engine, inputs, run_id=run.run_id, write=write))
                if run.steps[-1].guards.get("suppressed_erased"):
                    # erased people came back: their identifiers are queued for the retention job,
                    # which erases the raw copies of what they sent (cdp.privacy.retention)
                    returning = f"{RETURNING_PREFIX}/run_id={run.run_id}"
                    files.delete_dir(returning)  # a crashed attempt's
                    files.make_parent(returning)
                    engine.write_parquet("suppressed_identifiers", files.uri(returning))
            elif step == "resolve":
                run.steps.append(
                    resolve_in_lake(engine, files, run_id=run.run_id, write=write, scorer=scorer)
                )
            elif step == "profiles" and profiles is not None:
                run.steps.append(
                    build_profiles_in_lake(
                        engine,
                        files,
                        profiles,
                        run_id=run.run_id,
                        write=write,
                        import_row_files=completed_import_row_files(files),
                    )
                )
            elif step == "segments" and segments is not None:
                run.steps.append(
                    evaluate_segments_in_lake(
                        engine, files, segments, run_id=run.run_id, write=write, as_of=as_of
                    )
                )
            elif step == "export":
                # this run's membership deltas when it evaluated segments, else the published
                # memberships' run; failed deliveries do not fail the step: they are counted in its
                # report and dead-lettered
                run.steps.append(
                    export_step(
                        files,
                        run_id=run.run_id,
                        engine=engine.name,
                        deltas_of=run.run_id if "segments" in steps else None,
                    )
                )
            elif step == "lookup":
                # the real-time lookup store from the published profiles (SQLite locally; on AWS the
                # orchestrator invokes the loader Lambda into DynamoDB instead)
                run.steps.append(lookup_step(files, run_id=run.run_id, engine=engine.name))
            write.publish_all()
    return run


def _tombstones(files: LakeFiles, salt: bytes | None) -> Tombstones | None:
    """The erased people's tombstones for the standardize step; a lake that has some but no salt to read
    them with (a Glue job started without ``--salt_secret_arn``) must not run, or erased people return."""
    if not files.find(TOMBSTONES_PREFIX, lambda name: name.endswith(".jsonl")):
        return None
    if salt is None:
        if not files.is_local:
            raise ConfigError(
                "the lake holds erasure tombstones: the standardize step needs the pseudonymization salt "
                "(--salt_secret_arn) to honour them"
            )
        salt = local_salt(files)
    return Tombstones.load(files, salt)
