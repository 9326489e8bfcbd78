"""``python -m benchmarks.ingest``: measure, print the tables, write ``benchmarks/results/ingest.json``."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from tempfile import TemporaryDirectory, gettempdir
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console

from benchmarks.ingest import coldstart
from benchmarks.ingest.report import (
    COLD_START_TARGET_MS,
    THROUGHPUT_TARGET,
    render,
    verdict,
    write_json,
)
from benchmarks.ingest.throughput import (
    LAYER_ADDS,
    BaselineContender,
    HandlerContender,
    Series,
    StdoutCounter,
    count_lines,
    create_bench_source,
    import_handler,
    layer_costs,
    quarantined,
)
from benchmarks.ingest.workloads import (
    MAX_REQUEST_BYTES,
    PreparedRequest,
    SegmentTraffic,
    batch_requests,
    track_requests,
)
from benchmarks.machine import CpuNeighbours, cpu_model, filesystem_of, git_commit, load_average
from cdp.settings import DEFAULT_TIME_ZONE

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = REPO / "benchmarks" / "results" / "ingest.json"

Builder = Callable[[SegmentTraffic, str, int], list[PreparedRequest]]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingest", description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one timed run (default 2)")
    parser.add_argument(
        "--rounds", type=int, default=5, help="handler/baseline rounds per workload (default 5)"
    )
    parser.add_argument(
        "--layer-seconds", type=float, default=0.6, help="one run of one layer of the breakdown (default 0.6)"
    )
    parser.add_argument("--cold-runs", type=int, default=15, help="fresh processes per cold-start variant")
    parser.add_argument("--track-pool", type=int, default=2000, help="distinct /v1/track requests")
    parser.add_argument("--batch-pool", type=int, default=12, help="distinct full /v1/batch requests")
    parser.add_argument(
        "--lake-root",
        type=Path,
        default=default_lake_root(),
        help="where the temporary lakes go (default /dev/shm when present: file creation on this VM's ext4 "
        "varies several-fold from run to run, see benchmarks/README.md)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where the JSON results go")
    parser.add_argument("--profile", action="store_true", help="also cProfile the handler on /v1/track")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # Powertools warns on every flush with an empty metric set (metrics are disabled, as in `cdp serve`).
    warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
    console = Console()
    if not console.is_terminal:
        console = Console(width=150)
    progress = Console(stderr=True)
    machine = describe_machine()
    neighbours = CpuNeighbours()
    handler = import_handler()
    machine["lake_root"] = str(args.lake_root)
    machine["lake_filesystem"] = filesystem_of(args.lake_root)
    with TemporaryDirectory(prefix="cdp-bench-ingest-", dir=args.lake_root) as temp:
        work = Path(temp)
        throughput = measure_throughput(handler, work, args, progress)
        progress.log(f"cold start: {args.cold_runs} rounds of fresh processes")
        cold = coldstart.measure(args.cold_runs, work / "cold", cwd=REPO)
        modules = coldstart.probe_modules(work / "cold", cwd=REPO)
        progress.log("cleaning up the temporary lakes")
    machine["load_average_after"] = load_average()
    machine["other_cpu_share_during_run"] = neighbours.share()
    results: dict[str, Any] = {
        "benchmark": "ingest",
        "spec": "SPEC 10: >= 5,000 events/s per core through the handler in-process; "
        "cold start of the handler module <= 300 ms beyond a bare interpreter start",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "settings": {
            "seconds_per_run": args.seconds,
            "rounds": args.rounds,
            "layer_seconds": args.layer_seconds,
            "cold_runs": args.cold_runs,
            "track_pool": args.track_pool,
            "batch_pool": args.batch_pool,
        },
        "throughput": throughput,
        "cold_start": cold_start_results(cold, modules, args.cold_runs),
    }
    render(results, console)
    write_json(results, args.output)
    console.print(f"results written to {_shown(args.output)}")
    if args.profile:
        from benchmarks.ingest.profiling import profile_track

        with TemporaryDirectory(prefix="cdp-bench-profile-", dir=args.lake_root) as temp:
            profile_track(handler, Path(temp), args.output.with_name("ingest-track.prof"), console)
    failed = [w for w in throughput["workloads"].values() if w["verdict"] != "PASS"] + [
        v for v in results["cold_start"]["variants"].values() if v.get("verdict") == "FAIL"
    ]
    return 1 if args.strict and failed else 0


def measure_throughput(
    handler: ModuleType, work: Path, args: argparse.Namespace, progress: Console
) -> dict[str, Any]:
    stdout = StdoutCounter()
    traffic = SegmentTraffic()
    workloads: dict[str, Any] = {}
    track_pool: list[PreparedRequest] = []
    track_lake = work / "track-handler"
    plans: list[tuple[str, str, Builder, int]] = [
        ("track", "/v1/track (1 event)", track_requests, args.track_pool),
        ("batch", "/v1/batch (< 500 KiB)", batch_requests, args.batch_pool),
    ]
    for name, label, build, pool_size in plans:
        lake = work / f"{name}-handler"
        key = create_bench_source(lake)
        requests = build(traffic, key.write_key, pool_size)
        if name == "track":
            track_pool = requests
        progress.log(f"{name}: {len(requests)} distinct requests, {args.rounds} rounds of {args.seconds:g} s")
        handler_side = HandlerContender(handler, lake, stdout)
        handler_side.check(requests)  # every request accepted in full; doubles as the warm-up
        baseline_side = BaselineContender(work / f"{name}-baseline", ZoneInfo(DEFAULT_TIME_ZONE))
        baseline_side.run(requests, 0.0)  # warm-up: one pass
        handler_series, baseline_series = Series(), Series()
        for _ in range(args.rounds):
            handler_series.runs.append(handler_side.run(requests, args.seconds))
            baseline_series.runs.append(baseline_side.run(requests, args.seconds))
        stored = _stored(lake, work / f"{name}-baseline", handler_side, baseline_side)
        per_core = handler_series.events_per_cpu_s
        workloads[name] = {
            "label": label,
            "events_per_request": statistics.mean(request.events for request in requests),
            "body_bytes_mean": round(statistics.mean(len(request.body) for request in requests)),
            "body_bytes_max": max(len(request.body) for request in requests),
            "request_limit_bytes": MAX_REQUEST_BYTES,
            "distinct_requests": len(requests),
            "handler": handler_series.as_json(),
            "baseline": baseline_series.as_json(),
            "ratio_handler_to_baseline": round(per_core / baseline_series.events_per_cpu_s, 3),
            "ratio_handler_to_baseline_wall": round(
                handler_series.events_per_s / baseline_series.events_per_s, 3
            ),
            "target_events_per_s_per_core": THROUGHPUT_TARGET,
            "verdict": verdict(per_core >= THROUGHPUT_TARGET),
            "stored": stored,
        }
    progress.log(f"layers: single /v1/track, {args.rounds} rounds of {args.layer_seconds:g} s each")
    layers = layer_costs(handler, track_lake, track_pool, args.layer_seconds, args.rounds)
    return {
        "workloads": workloads,
        "layers": _layers_json(layers, workloads["track"]["baseline"]["us_per_request"]),
        "handler_stdout_lines": stdout.lines,
    }


def _stored(
    handler_lake: Path, baseline_lake: Path, handler_side: HandlerContender, baseline_side: BaselineContender
) -> dict[str, int]:
    """What landed in the lakes must be exactly what was sent: no lost or quarantined events."""
    files, lines = count_lines(handler_lake)
    baseline_files, baseline_lines = count_lines(baseline_lake)
    if lines != handler_side.events_sent or quarantined(handler_lake):
        raise RuntimeError(f"handler lake holds {lines} events, expected {handler_side.events_sent}")
    if baseline_lines != baseline_side.requests_sent:
        raise RuntimeError(
            f"baseline lake holds {baseline_lines} lines, expected {baseline_side.requests_sent}"
        )
    return {
        "handler_files": files,
        "handler_events": lines,
        "baseline_files": baseline_files,
        "baseline_lines": baseline_lines,
    }


def _layers_json(layers: dict[str, Any], baseline_us: float) -> dict[str, Any]:
    names = list(layers)
    result: dict[str, Any] = {}
    for index, name in enumerate(names):
        run = layers[name]
        below = layers[names[index + 1]].us_per_request if index + 1 < len(names) else 0.0
        result[name] = {
            "us_per_request": round(run.us_per_request, 1),
            "events_per_s": round(run.events_per_s, 1),
            "own_us": round(run.us_per_request - below, 1),
            "adds": LAYER_ADDS[name],
        }
    result["baseline: orjson.loads + write_atomic"] = {
        "us_per_request": round(baseline_us, 1),
        "events_per_s": round(1e6 / baseline_us, 1),
        "own_us": round(baseline_us, 1),
        "adds": "the floor (from the throughput table)",
    }
    return result


def cold_start_results(cold: coldstart.ColdStart, modules: dict[str, Any], runs: int) -> dict[str, Any]:
    variants = cold.as_json()
    for name, entry in variants.items():
        if name != coldstart.BARE:
            entry["verdict"] = verdict(entry["beyond_bare_median_ms"] <= COLD_START_TARGET_MS)
    return {
        "runs": runs,
        "target_beyond_bare_ms": COLD_START_TARGET_MS,
        "variants": variants,
        "modules": modules,
    }


def default_lake_root() -> Path:
    """tmpfs when the machine has one: the handler's cost, not the disk's mood (both contenders share it)."""
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(gettempdir())


def describe_machine() -> dict[str, Any]:
    return {
        "cpu_model": cpu_model(),
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_before": load_average(),
        "git_commit": git_commit(),
        "packages": {
            name: metadata.version(name) for name in ("aws-lambda-powertools", "pydantic", "orjson")
        },
        "executable": sys.executable,
    }


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
