"""``python -m benchmarks.segments``: the example segments evaluated over 1M synthetic profiles on DuckDB
(SPEC 10: ≤ 5 s), beside a hand-written DuckDB query in the same run.

The lake (:mod:`benchmarks.segments.data`, seeded): ``--profiles`` profiles with the 47 template traits
(~31 rows each in ``profile_traits``, laid out as ``--traits-layout``), identity links, ``--events`` events
over 180 days and their orders, as published Parquet snapshots on ``--work-root`` (tmpfs by default); the
definitions are every ``examples/segments/*.yaml``.

Contenders, in turns for ``--rounds`` rounds (the report gives the median):

- **evaluation** (the SPEC 10 figure): what the segments step does before it touches memberships, in a fresh
  ``DuckDbEngine``: load and validate the definitions (:func:`cdp.pipeline.segments.prepare_segments`),
  register the input snapshots, read the reference time, compile every segment into one query and
  materialize ``segment_members`` (all members of all segments) as a DuckDB temp table.
- **step**: :func:`cdp.pipeline.segments.evaluate_segments_in_lake` as the runner calls it, plus the pointer
  swap: the evaluation, the span diff against the previous round's snapshot, the Parquet write, the counts
  and the audit files.
- **per-segment**: each segment compiled alone and materialized in its own fresh engine, summed: what
  evaluating the segments one query each would cost (every input read once per segment).
- **baseline, hand-written** (``frequent_app_users`` only): one DuckDB query written by hand over the same
  Parquet files (events in the window joined to links, grouped and counted, intersected with the
  ``active_days_30d`` trait rows), in a fresh connection. It must find exactly the step's members.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from tempfile import mkdtemp
from typing import Any, Final

import duckdb
import orjson
from rich.console import Console
from rich.table import Table

from benchmarks.batch.__main__ import default_work_root
from benchmarks.machine import REPO, CpuNeighbours, describe_machine
from benchmarks.segments.data import AS_OF, LAYOUTS, generate_lake
from cdp.engine.duckdb_engine import DuckDbEngine
from cdp.lakefs import LakeFiles
from cdp.pipeline.runner import SnapshotWriter
from cdp.pipeline.segments import (
    create_member_views,
    current_table_files,
    evaluate_segments_in_lake,
    prepare_segments,
    reference_time,
    register_inputs,
)
from cdp.profiles.windows import window_start
from cdp.segments.compiler import MEMBERS, compile_segments
from cdp.segments.definition import DEFINITIONS_DIR
from cdp.tables import EVENTS, IDENTITY_LINKS, PROFILE_TRAITS, PROFILES, LakeTable, current, snapshot_files

EXAMPLES: Final = REPO / "examples" / "segments"
DEFAULT_OUTPUT: Final = REPO / "benchmarks" / "results" / "segments.json"
TARGET_SECONDS: Final = 5.0  # SPEC 10
BASELINE_SEGMENT: Final = "frequent_app_users"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.segments", description=__doc__)
    parser.add_argument("--profiles", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--traits-layout",
        choices=LAYOUTS,
        default="by_trait",
        help="profile_traits row order: by_trait (as the profiles step writes it) or by_profile (worst case)",
    )
    parser.add_argument("--work-root", type=Path, default=default_work_root(), help="where the lake goes")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where the JSON results go")
    parser.add_argument("--keep", action="store_true", help="keep the lake (its path is printed)")
    return parser.parse_args(argv)


@dataclass(frozen=True, slots=True)
class Timed:
    """Wall seconds and this process's CPU seconds (every DuckDB thread runs in it)."""

    wall: float
    cpu: float

    def __add__(self, other: Timed) -> Timed:
        return Timed(self.wall + other.wall, self.cpu + other.cpu)


class Stopwatch:
    def __init__(self) -> None:
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def read(self) -> Timed:
        return Timed(time.perf_counter() - self._wall, time.process_time() - self._cpu)


@dataclass(frozen=True, slots=True)
class Evaluation:
    timed: Timed
    counts: dict[str, int]  # members per segment
    baseline_members: set[str]  # the members of BASELINE_SEGMENT


def evaluate(files: LakeFiles) -> Evaluation:
    """The timed evaluation; the members are counted after the clock stops."""
    clock = Stopwatch()
    prepared = prepare_segments(files)
    engine = DuckDbEngine()
    try:
        register_inputs(engine, current_table_files(files))
        compiled = compile_segments(prepared.segments, as_of=reference_time(engine))
        create_member_views(engine, compiled)
        engine.materialize(MEMBERS)
        timed = clock.read()
        rows = engine.to_arrow(MEMBERS).to_pylist()
    finally:
        engine.close()
    counts = Counter(row["segment_id"] for row in rows)
    baseline = {row["profile_id"] for row in rows if row["segment_id"] == BASELINE_SEGMENT}
    return Evaluation(
        timed, {segment_id: counts[segment_id] for segment_id in compiled.segment_ids}, baseline
    )


def per_segment(files: LakeFiles) -> Timed:
    prepared = prepare_segments(files)
    total = Timed(0.0, 0.0)
    for segment_id in prepared.segments.definitions:
        clock = Stopwatch()
        engine = DuckDbEngine()
        try:
            register_inputs(engine, current_table_files(files))
            compiled = compile_segments(prepared.segments, as_of=reference_time(engine), targets=[segment_id])
            create_member_views(engine, compiled)
            engine.materialize(MEMBERS)
            total += clock.read()
        finally:
            engine.close()
    return total


def _files(files: LakeFiles, table: LakeTable) -> str:
    paths = snapshot_files(files, current(files, table))
    return "[" + ", ".join(f"'{path}'" for path in paths) + "]"


def hand_written_sql(files: LakeFiles) -> str:
    start = window_start(AS_OF, 30)
    return f"""
CREATE TEMP TABLE members AS
WITH app_events AS (
    SELECT l.profile_id
    FROM read_parquet({_files(files, EVENTS)}) AS e
    JOIN read_parquet({_files(files, IDENTITY_LINKS)}) AS l ON l.record_id = e.identity_record_id
    WHERE e.channel = 'app'
      AND e.event_time >= TIMESTAMPTZ '{start.isoformat()}'
      AND e.event_time <= TIMESTAMPTZ '{AS_OF.isoformat()}'
    GROUP BY l.profile_id
    HAVING count(*) >= 10
), active_days AS (
    SELECT profile_id
    FROM read_parquet({_files(files, PROFILE_TRAITS)})
    WHERE trait = 'active_days_30d' AND number_value >= 4
)
SELECT p.profile_id
FROM read_parquet({_files(files, PROFILES)}) AS p
JOIN app_events AS a ON a.profile_id = p.profile_id
JOIN active_days AS d ON d.profile_id = p.profile_id
"""


def hand_written(files: LakeFiles) -> tuple[Timed, set[str]]:
    sql = hand_written_sql(files)
    clock = Stopwatch()
    connection = duckdb.connect(":memory:")
    try:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(sql)
        timed = clock.read()
        found = {row[0] for row in connection.execute("SELECT profile_id FROM members").fetchall()}
    finally:
        connection.close()
    return timed, found


def step(files: LakeFiles, run_id: str) -> Timed:
    clock = Stopwatch()
    prepared = prepare_segments(files)
    engine = DuckDbEngine()
    try:
        write = SnapshotWriter(engine, files, run_id)
        evaluate_segments_in_lake(engine, files, prepared, run_id=run_id, write=write)
        write.publish_all()
        return clock.read()
    finally:
        engine.close()


def _summary(values: list[Timed]) -> dict[str, Any]:
    walls, cpus = [value.wall for value in values], [value.cpu for value in values]
    return {
        "median": round(statistics.median(walls), 3),
        "min": round(min(walls), 3),
        "max": round(max(walls), 3),
        "cpu_median": round(statistics.median(cpus), 3),
        "rounds": [round(value, 3) for value in walls],
        "cpu_rounds": [round(value, 3) for value in cpus],
    }


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    console = Console()
    root = Path(mkdtemp(prefix="cdp-bench-segments-", dir=args.work_root))
    files = LakeFiles(root)
    machine = describe_machine(root)
    try:
        console.print(f"generating {args.profiles:,} profiles and {args.events:,} events in {root} …")
        started = time.perf_counter()
        shape = generate_lake(
            files,
            profiles=args.profiles,
            events=args.events,
            seed=args.seed,
            traits_layout=args.traits_layout,
        )
        generated = time.perf_counter() - started
        for example in sorted(EXAMPLES.glob("*.yaml")):
            files.write_bytes(f"{DEFINITIONS_DIR}/{example.name}", example.read_bytes())
        console.print(f"generated in {generated:.1f} s: {shape}")

        timings: dict[str, list[Timed]] = {
            "evaluation": [],
            "hand_written": [],
            "step": [],
            "per_segment": [],
        }
        evaluations: list[Evaluation] = []
        baselines: list[set[str]] = []

        def run_evaluation(_: int) -> Timed:
            evaluations.append(evaluate(files))
            return evaluations[-1].timed

        def run_hand_written(_: int) -> Timed:
            timed, found = hand_written(files)
            baselines.append(found)
            return timed

        contenders: dict[str, Callable[[int], Timed]] = {
            "evaluation": run_evaluation,
            "hand_written": run_hand_written,
            "step": lambda index: step(files, f"bench-{index}"),
            "per_segment": lambda _: per_segment(files),
        }
        neighbours = CpuNeighbours()
        for index in range(args.rounds):
            names = list(contenders)
            order = names[index % len(names) :] + names[: index % len(names)]
            for name in order:
                timed = contenders[name](index)
                timings[name].append(timed)
                console.print(f"round {index + 1}: {name} {timed.wall:.3f} s (CPU {timed.cpu:.3f} s)")
        neighbour_share = neighbours.share()

        counts = evaluations[-1].counts
        for found in baselines:
            if found != evaluations[-1].baseline_members:
                raise SystemExit(
                    f"the hand-written query found {len(found):,} members of {BASELINE_SEGMENT}, the "
                    f"evaluation {len(evaluations[-1].baseline_members):,}: not the same segment"
                )
        summary = {name: _summary(values) for name, values in timings.items()}
        evaluation = summary["evaluation"]["median"]
        evaluation_cpu = summary["evaluation"]["cpu_median"]
        verdict = "PASS" if evaluation <= TARGET_SECONDS else "FAIL"
        # a busy neighbour stretches wall time, not CPU time: within 5 CPU-seconds, the evaluation fits in
        # 5 s even on one free core of the two
        cpu_verdict = "PASS" if evaluation_cpu <= TARGET_SECONDS else "FAIL"
        table = Table(
            "contender",
            "median s",
            "min s",
            "max s",
            "CPU s (median)",
            "what is timed",
            title="segments over the lake",
        )
        described = {
            "evaluation": f"all {len(counts)} example segments: validate, compile, one query → temp table",
            "step": "evaluation + span diff vs previous snapshot + Parquet write + counts + audit + publish",
            "per_segment": "each segment alone, own engine, summed (inputs read once per segment)",
            "hand_written": f"baseline: one hand-written DuckDB query for {BASELINE_SEGMENT} only",
        }
        for name, values in summary.items():
            table.add_row(
                name,
                f"{values['median']:.3f}",
                f"{values['min']:.3f}",
                f"{values['max']:.3f}",
                f"{values['cpu_median']:.3f}",
                described[name],
            )
        console.print(table)
        sizes = Table("segment", "members", title=f"members among {shape.profiles:,} profiles")
        for segment_id, count in sorted(counts.items()):
            sizes.add_row(segment_id, f"{count:,}")
        console.print(sizes)
        console.print(
            f"evaluation {evaluation:.3f} s (target ≤ {TARGET_SECONDS:.0f} s): {verdict}; "
            f"{evaluation_cpu:.3f} CPU-s: {cpu_verdict}; "
            f"{evaluation / summary['hand_written']['median']:.2f}× the hand-written query of one segment; "
            f"other processes used {neighbour_share if neighbour_share is not None else '?'} of the CPU"
        )
        results = {
            "benchmark": "segments",
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join(["python -m benchmarks.segments", *(sys.argv[1:] if argv is None else argv)]),
            "machine": machine,
            "lake": {
                "profiles": shape.profiles,
                "identity_records": shape.records,
                "trait_rows": shape.traits,
                "traits_layout": args.traits_layout,
                "events": shape.events,
                "order_lines": shape.order_lines,
                "parquet_bytes": shape.bytes,
                "generated_seconds": round(generated, 1),
                "as_of": AS_OF.isoformat(),
            },
            "segments": counts,
            "seconds": summary,
            "what_is_timed": described,
            "target_seconds": TARGET_SECONDS,
            "verdict": verdict,
            "cpu_verdict": cpu_verdict,
            "evaluation_vs_hand_written": round(evaluation / summary["hand_written"]["median"], 2),
            "cpu_share_of_other_processes": neighbour_share,
        }
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n")
        console.print(f"wrote {args.output}")
    finally:
        if args.keep:
            console.print(f"kept the lake at {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
