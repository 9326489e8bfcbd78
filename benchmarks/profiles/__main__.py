"""``python -m benchmarks.profiles``: profile build time and peak RSS at 100k and 1M profiles, beside a floor.

For each size: generate the synthetic lake (``data.py``), then, each in a fresh process
(``worker.py``), in turns for ``--rounds`` rounds (sizes of ``--once-from`` profiles or more run once):

- **baseline**: DuckDB reads the same snapshots and writes a plain ``GROUP BY profile_id`` with counts of
  records, events and orders: the least any profile build must do;
- **profiles**: the profiles step (``cdp.pipeline.profiles.build_profiles``) on DuckDB, as ``cdp run --steps
  profiles`` runs it: survivorship, identifiers, activity, RFM, consent, pseudonymization and every template
  trait, three snapshots written;
- **profiles without traits**: the same with no trait, to show what the traits cost.

The tables print the median round; ``benchmarks/results/profiles.json`` holds every round and the machine.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from benchmarks.machine import REPO, CpuNeighbours, describe_machine, load_average
from benchmarks.profiles.data import generate_lake

DEFAULT_OUTPUT = REPO / "benchmarks" / "results" / "profiles.json"
KINDS = ("baseline", "profiles", "profiles_without_traits")


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of profile counts: {text!r}") from None
    if not sizes or any(size < 100 for size in sizes):
        raise argparse.ArgumentTypeError("sizes are profile counts of at least 100, e.g. 100000,1000000")
    return sizes


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profiles", description=__doc__)
    parser.add_argument("--sizes", type=_sizes, default=[100_000, 1_000_000], help="profiles per lake")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per size (default 3)")
    parser.add_argument(
        "--once-from", type=int, default=1_000_000, help="sizes of this many profiles or more run one round"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--work-root", type=Path, default=Path("/tmp"), help="where the lakes go (1M needs about 1 GB)"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    return parser.parse_args(argv)


def run_worker(task: dict[str, Any], log: Path) -> dict[str, Any]:
    with log.open("a") as errors:
        completed = subprocess.run(
            (sys.executable, "-m", "benchmarks.profiles.worker", orjson.dumps(task).decode()),
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            check=False,
        )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode != 0 or not lines:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise RuntimeError(f"{task['kind']}: worker exited with {completed.returncode}\n{tail}")
    result: dict[str, Any] = orjson.loads(lines[-1])
    return result


def measure_size(size: int, args: argparse.Namespace, work: Path, console: Console) -> dict[str, Any]:
    lake = work / f"lake-{size}"
    started = time.perf_counter()
    console.log(f"{size:,} profiles: generating the lake")
    data = generate_lake(lake, size, seed=args.seed)
    generated = time.perf_counter() - started
    rounds = 1 if size >= args.once_from else args.rounds
    measured: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    for number in range(rounds):
        for kind in KINDS:
            console.log(f"{size:,} profiles: round {number + 1}/{rounds}: {kind}")
            task = {"kind": kind, "lake": str(lake), "output": str(work / "baseline")}
            measured[kind].append(run_worker(task, work / "worker.log"))
    checks = {
        "profiles_rows": measured["profiles"][0]["rows"]["profiles"] == size,
        "pseudonymized_rows": measured["profiles"][0]["rows"]["profiles_pseudonymized"] == size,
        "baseline_rows": measured["baseline"][0]["rows"]["baseline"] == size,
    }
    shutil.rmtree(lake)
    summary = {kind: _median(rounds_of) for kind, rounds_of in measured.items()}
    return {
        "profiles": size,
        "data": data.as_json(),
        "generate_s": round(generated, 1),
        "rounds": rounds,
        "measured": measured,
        "median": summary,
        "ratio_to_baseline": round(summary["profiles"]["wall_s"] / summary["baseline"]["wall_s"], 2),
        "profiles_per_s": round(size / summary["profiles"]["wall_s"]),
        "checks": checks,
    }


def _median(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    chosen = sorted(rounds, key=lambda result: result["wall_s"])[len(rounds) // 2]
    return {
        "wall_s": chosen["wall_s"],
        "cpu_s": chosen["cpu_s"],
        "peak_rss_mb": chosen["peak_rss_mb"],
        "wall_s_all": [result["wall_s"] for result in rounds],
        "wall_s_spread": round(max(r["wall_s"] for r in rounds) - min(r["wall_s"] for r in rounds), 3),
        "rows": chosen["rows"],
        "median_of": len(rounds),
        "mean_wall_s": round(statistics.fmean(r["wall_s"] for r in rounds), 3),
    }


def render(results: list[dict[str, Any]], console: Console) -> None:
    table = Table(title="profiles step on DuckDB (median round)")
    for column in ("profiles", "what", "wall s", "CPU s", "peak RSS MB", "× baseline", "trait rows"):
        table.add_column(column, justify="right" if column != "what" else "left", no_wrap=True)
    for result in results:
        base = result["median"]["baseline"]["wall_s"]
        for kind in KINDS:
            row = result["median"][kind]
            traits = row["rows"].get("profile_traits")
            table.add_row(
                f"{result['profiles']:,}",
                kind,
                f"{row['wall_s']:.2f}",
                f"{row['cpu_s']:.2f}",
                f"{row['peak_rss_mb']:,.0f}" if row["peak_rss_mb"] else "-",
                f"{row['wall_s'] / base:.1f}",
                "-" if traits is None else f"{traits:,}",
            )
    console.print(table)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console()
    machine = describe_machine(args.work_root)
    neighbours = CpuNeighbours()
    results = []
    with TemporaryDirectory(prefix="cdp-bench-profiles-", dir=args.work_root) as temp:
        for size in args.sizes:
            results.append(measure_size(size, args, Path(temp), console))
    machine["load_average_after"] = load_average()
    machine["other_processes_cpu_share"] = neighbours.share()
    render(results, console)
    failed = [f"{r['profiles']}: {name}" for r in results for name, ok in r["checks"].items() if not ok]
    document = {
        "benchmark": "profiles",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "results": results,
        "failed_checks": failed,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    console.print(
        f"other processes used {machine['other_processes_cpu_share']} of the CPUs; wrote {args.output}"
    )
    if failed:
        console.print(f"[red]failed checks: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
