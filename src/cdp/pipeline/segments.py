"""The segments step: ``profiles``, ``profile_traits``, ``events``, ``orders``, ``identity_links`` and the
previous ``segment_memberships`` → the new ``segment_memberships`` snapshot (SPEC 4, 7).

Written once on the engine port: ``glue_jobs/evaluate_segments.py`` builds a Spark engine and calls
:func:`evaluate_segments_in_lake`, ``cdp run --steps segments`` calls it with DuckDB. The definitions are the
lake's ``segments/definitions/*.yaml``, validated against the profile's attributes before anything runs
(:func:`prepare_segments`); the SQL is :mod:`cdp.segments.compiler`'s, one pass over each input for every
segment.

Membership spans, as of the run's ``as_of``:

- an open span of a profile that is still a member stays as it is (its ``entered_at`` and ``run_id``);
- a member without an open span gets a new row: ``entered_at = as_of``, ``run_id`` = this run;
- an open span of a profile that is no longer a member is closed: ``exited_at = as_of``, ``run_id`` = this
  run. That includes profiles that are gone from ``profiles`` (merged into another profile, whose own
  membership is evaluated as any profile's, or erased) and segments whose definition was removed;
- closed spans are carried over unchanged; a profile that comes back gets a new row.

So run R's deltas are its rows: ``run_id = R`` and ``exited_at`` null (entered) or set (exited).

``as_of`` defaults to the reference time of the ``profiles`` snapshot being evaluated (its ``updated_at``),
so event windows and traits such as ``recency_days`` share one "now", and re-running a run on the same inputs
writes the same rows. Each run leaves its audit beside the memberships: ``segments/evaluations/run_id=<R>/``
holds the Athena SQL that was evaluated (``evaluation.sql``) and ``manifest.json`` (as_of, the definitions,
counts, and the memberships snapshot the deltas were computed from). Re-running run R starts again from
that same snapshot, so a retried run replaces its own deltas instead of stacking on them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from sqlglot import exp

from cdp.engine.port import AUTHORING_DIALECT, Engine
from cdp.lakefs import LakeFiles
from cdp.pipeline.standardize import StepReport
from cdp.profiles.windows import as_utc
from cdp.segments.catalog import lake_catalog
from cdp.segments.compiler import MEMBERS, CompiledSegments, compile_segments, timestamp_literal
from cdp.segments.definition import SegmentSet, load_lake_segments
from cdp.tables import (
    EVENTS,
    IDENTITY_LINKS,
    ORDERS,
    PROFILE_TRAITS,
    PROFILES,
    SEGMENT_MEMBERSHIPS,
    LakeTable,
    Snapshot,
    current,
    snapshot_files,
    snapshot_path,
)

#: per run: ``evaluation.sql`` (Athena text) and ``manifest.json``
EVALUATIONS_PREFIX: Final = "segments/evaluations"

#: input table (as the compiled SQL names it) → the engine relation this step registers
ENGINE_TABLES: Final = {
    "profiles": "segments_input_profiles",
    "profile_traits": "segments_input_profile_traits",
    "events": "segments_input_events",
    "orders": "segments_input_orders",
    "identity_links": "segments_input_identity_links",
}
_TABLES: Final[dict[str, LakeTable]] = {
    "profiles": PROFILES,
    "profile_traits": PROFILE_TRAITS,
    "events": EVENTS,
    "orders": ORDERS,
    "identity_links": IDENTITY_LINKS,
}
PREVIOUS: Final = "segments_previous_memberships"
NEXT: Final = "segments_next_memberships"


@dataclass(frozen=True, slots=True)
class SegmentsInputs:
    """Published snapshots the step reads (file lists resolved by the caller): input table → files."""

    table_files: dict[str, Sequence[str]]
    previous_membership_files: Sequence[str]
    #: the run id of the memberships snapshot the deltas are computed from (None: the first run)
    previous_run_id: str | None


@dataclass(slots=True)
class SegmentsResult:
    report: StepReport
    compiled: CompiledSegments | None
    as_of: datetime
    #: per segment: members (open spans), entered and exited in this run
    counts: dict[str, dict[str, int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PreparedSegments:
    """What the runner resolves before the first step: the lake's definitions, validated."""

    segments: SegmentSet


def prepare_segments(files: LakeFiles) -> PreparedSegments:
    """Load and validate ``segments/definitions/*.yaml`` against ``profiles`` columns and the declared
    traits (:class:`~cdp.segments.errors.SegmentDefinitionError` names the file and node)."""
    return PreparedSegments(load_lake_segments(files, lake_catalog(files)))


def sql_literal(value: str) -> str:
    """A string literal in the authoring dialect, quoted by sqlglot."""
    return exp.Literal.string(value).sql(dialect=AUTHORING_DIALECT)


def _timestamp(moment: datetime) -> str:
    return timestamp_literal(moment).sql(dialect=AUTHORING_DIALECT)


# -- SQL (authoring dialect) -------------------------------------------------------------------------

_PROFILES_AS_OF = """
SELECT max(updated_at) AS as_of FROM {profiles}
"""

#: closed spans carried over; open spans kept or closed; new members opened
_NEXT_MEMBERSHIPS = """
SELECT segment_id, profile_id, entered_at, exited_at, run_id
FROM {previous}
WHERE exited_at IS NOT NULL
UNION ALL
SELECT
    p.segment_id,
    p.profile_id,
    p.entered_at,
    CASE WHEN m.profile_id IS NULL THEN {as_of} END AS exited_at,
    CASE WHEN m.profile_id IS NULL THEN {run_id} ELSE p.run_id END AS run_id
FROM {previous} AS p
LEFT JOIN {members} AS m ON m.segment_id = p.segment_id AND m.profile_id = p.profile_id
WHERE p.exited_at IS NULL
UNION ALL
SELECT
    m.segment_id,
    m.profile_id,
    {as_of} AS entered_at,
    CAST(NULL AS TIMESTAMPTZ) AS exited_at,
    {run_id} AS run_id
FROM {members} AS m
LEFT JOIN (
    SELECT segment_id, profile_id FROM {previous} WHERE exited_at IS NULL
) AS o ON o.segment_id = m.segment_id AND o.profile_id = m.profile_id
WHERE o.profile_id IS NULL
"""

#: per segment: open spans, and the spans ``run_id`` opened and closed
_COUNTS = """
SELECT
    segment_id,
    sum(CASE WHEN exited_at IS NULL THEN 1 ELSE 0 END) AS members,
    sum(CASE WHEN exited_at IS NULL AND run_id = {run_id} THEN 1 ELSE 0 END) AS entered,
    sum(CASE WHEN exited_at IS NOT NULL AND run_id = {run_id} THEN 1 ELSE 0 END) AS exited
FROM {next}
GROUP BY segment_id
"""


def counts_sql(relation: str, run_id: str) -> str:
    """Members, entered and exited per segment of a memberships relation, for run ``run_id``."""
    return _COUNTS.format(next=relation, run_id=sql_literal(run_id))


def register_inputs(engine: Engine, table_files: dict[str, Sequence[str]]) -> None:
    """Every input table as its engine relation (an empty one when never published)."""
    for name, relation in ENGINE_TABLES.items():
        engine.register_parquet(relation, list(table_files.get(name, ())), _TABLES[name].schema)


def reference_time(engine: Engine) -> datetime:
    """The ``profiles`` snapshot's reference time (its ``updated_at``); now when there are no profiles."""
    engine.create_view("segments_as_of", _PROFILES_AS_OF.format(profiles=ENGINE_TABLES["profiles"]))
    value = engine.to_arrow("segments_as_of").column("as_of")[0].as_py()
    if value is None:
        return datetime.now(UTC)
    moment: datetime = value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else as_utc(moment)


def create_member_views(engine: Engine, compiled: CompiledSegments) -> None:
    """The compiled evaluation as engine views; the last, ``segment_members``, holds the members."""
    for name, sql in compiled.engine_views(ENGINE_TABLES):
        engine.create_view(name, sql)


def evaluate_segments(
    engine: Engine,
    inputs: SegmentsInputs,
    *,
    segments: SegmentSet,
    run_id: str,
    write: Callable[[LakeTable, str], int],
    as_of: datetime | None = None,
) -> SegmentsResult:
    started = time.perf_counter()
    report = StepReport(step="segments", run_id=run_id, engine=engine.name)
    register_inputs(engine, inputs.table_files)
    engine.register_parquet(PREVIOUS, list(inputs.previous_membership_files), SEGMENT_MEMBERSHIPS.schema)
    # the previous snapshot may be this run's own (a re-run): read it before the writer replaces it
    engine.materialize(PREVIOUS)
    moment = as_utc(as_of) if as_of is not None else reference_time(engine)
    compiled: CompiledSegments | None = None
    if len(segments):
        compiled = compile_segments(segments, as_of=moment)
        create_member_views(engine, compiled)
    else:
        engine.create_view(
            MEMBERS,
            "SELECT CAST(NULL AS VARCHAR) AS segment_id, CAST(NULL AS VARCHAR) AS profile_id WHERE false",
        )
    engine.materialize(MEMBERS)
    engine.create_view(
        NEXT,
        _NEXT_MEMBERSHIPS.format(
            previous=PREVIOUS, members=MEMBERS, as_of=_timestamp(moment), run_id=sql_literal(run_id)
        ),
    )
    engine.materialize(NEXT)
    report.rows[SEGMENT_MEMBERSHIPS.name] = write(SEGMENT_MEMBERSHIPS, NEXT)
    engine.create_view("segments_counts", counts_sql(NEXT, run_id))
    counts = {
        row["segment_id"]: {key: int(row[key] or 0) for key in ("members", "entered", "exited")}
        for row in engine.to_arrow("segments_counts").to_pylist()
    }
    for key in ("members", "entered", "exited"):
        report.guards[key] = sum(segment[key] for segment in counts.values())
    report.seconds = time.perf_counter() - started
    return SegmentsResult(report=report, compiled=compiled, as_of=moment, counts=counts)


# -- the lake ------------------------------------------------------------------------------------------


def evaluation_path(run_id: str, name: str) -> str:
    return f"{EVALUATIONS_PREFIX}/run_id={run_id}/{name}"


def _manifest(files: LakeFiles, run_id: str) -> dict[str, Any] | None:
    data = files.read_bytes(evaluation_path(run_id, "manifest.json"))
    return None if data is None else dict(orjson.loads(data))


def previous_memberships(files: LakeFiles, run_id: str) -> tuple[str | None, list[str]]:
    """The memberships snapshot run ``run_id`` starts from: the published one, unless that is ``run_id``'s
    own (a re-run), then the one its first attempt started from (its manifest says which)."""
    published = current(files, SEGMENT_MEMBERSHIPS)
    if published is None or published.run_id != run_id:
        return (published.run_id if published else None), snapshot_files(files, published)
    manifest = _manifest(files, run_id)
    base = manifest.get("previous_run_id") if manifest else None
    if base is None:
        if manifest is not None:  # the first attempt was the lake's first run
            return None, []
        # no audit (written by hand): this run's own result is a fixed point of the same inputs
        return run_id, snapshot_files(files, published)
    directory = snapshot_path(SEGMENT_MEMBERSHIPS, base)
    found = files.find(directory, lambda name: name.endswith(".parquet"))
    if not found:  # expired since: the run's own result is the best base left
        return run_id, snapshot_files(files, published)
    snapshot = Snapshot(SEGMENT_MEMBERSHIPS.name, base, directory, 0, "")
    return base, snapshot_files(files, snapshot)


def current_table_files(files: LakeFiles) -> dict[str, Sequence[str]]:
    """Input table → the files of its published snapshot."""
    return {name: snapshot_files(files, current(files, table)) for name, table in _TABLES.items()}


def segments_inputs(files: LakeFiles, *, run_id: str) -> SegmentsInputs:
    previous_run_id, previous_files = previous_memberships(files, run_id)
    return SegmentsInputs(
        table_files=current_table_files(files),
        previous_membership_files=previous_files,
        previous_run_id=previous_run_id,
    )


def write_audit(
    files: LakeFiles, result: SegmentsResult, inputs: SegmentsInputs, segments: SegmentSet
) -> None:
    """``evaluation.sql`` (what Athena would run) and ``manifest.json`` beside the run's memberships."""
    run_id = result.report.run_id
    header = (
        f"-- segment evaluation of run {run_id}, as of {result.as_of.isoformat()}\n"
        f"-- segments: {', '.join(definition.id for definition in segments) or '(none)'}\n"
    )
    sql = result.compiled.athena_sql() if result.compiled is not None else "-- no segment definitions\n"
    files.write_bytes(evaluation_path(run_id, "evaluation.sql"), (header + sql + "\n").encode())
    manifest = {
        "run_id": run_id,
        "as_of": result.as_of.isoformat(),
        "previous_run_id": inputs.previous_run_id,
        "segments": [
            {
                "id": definition.id,
                "name": definition.name,
                "file": definition.file,
                "destinations": list(definition.destinations),
                **result.counts.get(definition.id, {"members": 0, "entered": 0, "exited": 0}),
            }
            for definition in segments
        ],
        "rows": result.report.rows,
    }
    files.write_bytes(
        evaluation_path(run_id, "manifest.json"), orjson.dumps(manifest, option=orjson.OPT_INDENT_2)
    )


def evaluate_segments_in_lake(
    engine: Engine,
    files: LakeFiles,
    prepared: PreparedSegments,
    *,
    run_id: str,
    write: Callable[[LakeTable, str], int],
    as_of: datetime | None = None,
) -> StepReport:
    """The step as the runner calls it: inputs from the lake's published snapshots, the audit written
    beside the new memberships snapshot (which the runner publishes)."""
    inputs = segments_inputs(files, run_id=run_id)
    result = evaluate_segments(
        engine, inputs, segments=prepared.segments, run_id=run_id, write=write, as_of=as_of
    )
    write_audit(files, result, inputs, prepared.segments)
    return result.report
