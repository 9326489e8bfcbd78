"""``python -m benchmarks.batch``: measure, print the tables, write ``benchmarks/results/batch.json``.

For each size: generate the CRM and shop files (exactly N data rows each), then per file, each in a fresh
process: the pyarrow baselines, the import into its own lake, the standardize step on that lake with DuckDB
(and with local Spark at ``--spark-size``). The files and lakes of a size are deleted before the next.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory, gettempdir
from typing import Any

import orjson
from rich.console import Console

from benchmarks.batch import baselines
from benchmarks.batch.data import SOURCES, BenchFile, generate_file
from benchmarks.batch.report import render, write_json
from benchmarks.machine import REPO, CpuNeighbours, describe_machine, load_average

DEFAULT_OUTPUT = REPO / "benchmarks" / "results" / "batch.json"
DEFAULT_SIZES = (100_000, 1_000_000)
QUICK_SIZE = 10_000
WARMUP_ROWS = 300
BASELINES = {"crm": (baselines.CSV_RAW, baselines.CSV_TRANSCODED), "shop": (baselines.JSONL,)}


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(part.replace("_", "")) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of row counts: {text!r}") from None
    if not sizes or any(size < 100 for size in sizes):
        raise argparse.ArgumentTypeError("sizes are row counts of at least 100, e.g. 100000,1000000")
    return sizes


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.batch", description=__doc__)
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=list(DEFAULT_SIZES),
        help="data rows per file, comma-separated (default 100000,1000000)",
    )
    parser.add_argument(
        "--quick", action="store_true", help=f"smoke run: {QUICK_SIZE:,} rows, Spark at that size too"
    )
    parser.add_argument(
        "--spark-size",
        type=int,
        default=100_000,
        help="the size at which the standardize step also runs on local Spark (default 100000)",
    )
    parser.add_argument("--no-spark", action="store_true", help="skip the Spark measurement")
    parser.add_argument("--seed", type=int, default=42, help="sample-data seed (default 42)")
    parser.add_argument(
        "--work-root",
        type=Path,
        default=default_work_root(),
        help="where the temporary files and lakes go (default /dev/shm when present; the 1M run needs "
        "about 2 GB there)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where the JSON results go")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="after the timed runs, cProfile the import and the DuckDB standardize at the first size "
        "(benchmarks/results/batch-*.prof)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.spark_size = [QUICK_SIZE], QUICK_SIZE
    return args


def default_work_root() -> Path:
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(gettempdir())


class WorkerError(RuntimeError):
    pass


class Workers:
    """Runs ``benchmarks.batch.worker`` tasks in fresh processes; their stderr goes to a log file."""

    def __init__(self, logs: Path, progress: Console) -> None:
        self._logs = logs
        self._progress = progress
        self._count = 0
        #: CPU seconds of the workers' descendants that outlived them unreaped (Spark's JVM)
        self.untracked_cpu = 0.0
        logs.mkdir(parents=True, exist_ok=True)

    def run(self, label: str, task: dict[str, Any]) -> dict[str, Any]:
        self._count += 1
        log = self._logs / f"{self._count:02d}.log"
        self._progress.log(label)
        with log.open("w") as errors:
            completed = subprocess.run(
                (sys.executable, "-m", "benchmarks.batch.worker", orjson.dumps(task).decode()),
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=errors,
                text=True,
                check=False,
            )
        lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
        if completed.returncode != 0 or not lines:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
            raise WorkerError(f"{label}: worker exited with {completed.returncode}\n{tail}")
        result: dict[str, Any] = orjson.loads(lines[-1])
        self.untracked_cpu += result.get("descendants_cpu_s") or 0.0
        return result


class Checks:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, name: str, ok: bool | None, detail: str) -> None:
        """``ok`` None is a warning: reported, not failed."""
        self.items.append({"name": name, "ok": ok, "detail": detail})

    def equal(self, name: str, actual: object, expected: object) -> bool:
        ok = actual == expected
        self.add(name, ok, f"{actual} == {expected}" if ok else f"got {actual}, expected {expected}")
        return ok


def _rates(result: dict[str, Any], rows: int) -> None:
    result["rows_per_s"] = round(rows / result["wall_s"], 1) if result["wall_s"] else None
    cpu = result.get("cpu_s")
    result["rows_per_cpu_s"] = round(rows / cpu, 1) if cpu else None


def prepare_warmup(directory: Path, seed: int) -> dict[str, dict[str, Path]]:
    """Small files of another seed, and a lake per source holding their import, for the workers' warm-up."""
    from cdp.adapters.local_imports import LocalImportStore
    from cdp.imports.mapping import load_mapping
    from cdp.imports.service import ImportService
    from cdp.lake import LocalLake

    warm: dict[str, dict[str, Path]] = {}
    for source in SOURCES:
        file = generate_file(source, directory / "data", WARMUP_ROWS, seed)
        lake = directory / f"lake-{source}"
        ImportService(LocalImportStore(LocalLake.at(lake))).import_file(
            source, file.path.name, file.path.read_bytes(), load_mapping(file.mapping)
        )
        warm[source] = {"file": file.path, "lake": lake}
    return warm


def measure_size(
    size: int,
    work: Path,
    warm: dict[str, dict[str, Path]],
    args: argparse.Namespace,
    workers: Workers,
    checks: Checks,
    console: Console,
    progress: Console,
) -> dict[str, Any]:
    directory = work / f"rows-{size}"
    files: dict[str, BenchFile] = {}
    for source in SOURCES:
        progress.log(f"{size:,} rows: generating the {source} file")
        files[source] = generate_file(source, directory / "data", size, args.seed)
    progress.log(
        f"{size:,} rows: free space in {args.work_root}: {shutil.disk_usage(work).free / 1e9:.1f} GB"
    )
    measured: dict[str, Any] = {}
    for source, file in files.items():
        measured[source] = measure_file(size, file, directory, warm[source], args, workers, checks)
    if args.profile and size == args.sizes[0]:
        from benchmarks.batch.profiling import profile_file

        for source, file in files.items():
            profile_file(file, directory, warm[source], args.output.parent, workers, console)
    shutil.rmtree(directory)
    return {"files": {source: file.as_json() for source, file in files.items()}, "sources": measured}


def measure_file(
    size: int,
    file: BenchFile,
    directory: Path,
    warm: dict[str, Path],
    args: argparse.Namespace,
    workers: Workers,
    checks: Checks,
) -> dict[str, Any]:
    source, where = file.source, f"{size:,} {file.source}"
    common = {"source": source, "file": str(file.path), "mapping": str(file.mapping)}
    imported = workers.run(
        f"{where}: import",
        {
            "kind": "import",
            **common,
            "lake": str(directory / f"lake-{source}"),
            "warmup_file": str(warm["file"]),
            "scratch": str(directory / f"scratch-{source}"),
        },
    )
    _rates(imported, imported["rows_read"])
    checks.equal(f"{where}: rows read = rows in the file", imported["rows_read"], file.rows)
    checks.equal(
        f"{where}: accepted + quarantined = rows read",
        imported["rows_accepted"] + imported["rows_rejected"],
        imported["rows_read"],
    )
    checks.equal(f"{where}: every mapped column found", imported["missing_columns"], [])
    as_truth = imported["rows_accepted"] == file.accepted and imported["rejected_by_code"] == file.quarantined
    imported["matches_truth"] = as_truth
    checks.add(
        f"{where}: import as the generator's truth says",
        True if as_truth else None,
        f"accepted {imported['rows_accepted']:,} (truth {file.accepted:,}); "
        f"quarantined {imported['rejected_by_code']} (truth {file.quarantined})",
    )

    results: dict[str, Any] = {"import": imported, "baselines": {}, "standardize": {}}
    for variant in BASELINES[source]:
        slug = variant.replace(" ", "-")
        baseline = workers.run(
            f"{where}: baseline {variant}",
            {
                "kind": "baseline",
                **common,
                "variant": variant,
                "warmup_file": str(warm["file"]),
                "out": str(directory / f"baseline-{source}-{slug}"),
            },
        )
        _rates(baseline, baseline["rows"])
        baseline["import_ratio"] = _ratio(imported["rows_per_s"], baseline["rows_per_s"])
        baseline["import_ratio_cpu"] = _ratio(imported["rows_per_cpu_s"], baseline["rows_per_cpu_s"])
        results["baselines"][variant] = baseline
        shutil.rmtree(directory / f"baseline-{source}-{slug}", ignore_errors=True)

    engines = ["duckdb"]
    if not args.no_spark and size == args.spark_size:
        engines.append("spark")
    for engine in engines:
        standardized = workers.run(
            f"{where}: standardize on {engine}",
            {
                "kind": "standardize",
                "engine": engine,
                "lake": str(directory / f"lake-{source}"),
                "warmup_lake": str(warm["lake"]),
            },
        )
        rows = standardized["rows"]
        _rates(standardized, rows["identity_records"])
        results["standardize"][engine] = standardized
        checks.equal(
            f"{where}: {engine} identity_records = accepted rows",
            rows["identity_records"],
            imported["rows_accepted"],
        )
        checks.equal(f"{where}: {engine} events = 0 (no events in the lake)", rows["events"], 0)
        expected_orders = imported["rows_accepted"] if source == "shop" else 0
        checks.equal(f"{where}: {engine} orders = accepted order lines", rows["orders"], expected_orders)
    if "spark" in results["standardize"]:
        results["standardize"]["spark_to_duckdb_time"] = _ratio(
            results["standardize"]["spark"]["wall_s"], results["standardize"]["duckdb"]["wall_s"]
        )
    return results


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    return round(numerator / denominator, 4) if numerator and denominator else None


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    console = Console()
    if not console.is_terminal:
        console = Console(width=170)
    progress = Console(stderr=True)
    machine = describe_machine(args.work_root)
    neighbours = CpuNeighbours()
    checks = Checks()
    sizes: dict[str, Any] = {}
    with TemporaryDirectory(prefix="cdp-bench-batch-", dir=args.work_root) as temp:
        work = Path(temp)
        workers = Workers(work / "logs", progress)
        progress.log(f"warm-up files ({WARMUP_ROWS} rows, seed {args.seed + 1}) and their lakes")
        warm = prepare_warmup(work / "warmup", args.seed + 1)
        for size in args.sizes:
            sizes[str(size)] = measure_size(size, work, warm, args, workers, checks, console, progress)
        progress.log("cleaning up")
    machine["load_average_after"] = load_average()
    machine["other_cpu_share_during_run"] = neighbours.share(workers.untracked_cpu)
    results: dict[str, Any] = {
        "benchmark": "batch",
        "what": "SPEC 5/6: rows/s of ImportService.import_file and of the standardize step (DuckDB; Spark at "
        "one size), each beside pyarrow read + Parquet write of the same bytes, measured in the same run",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "settings": {
            "sizes": args.sizes,
            "seed": args.seed,
            "spark_size": None if args.no_spark else args.spark_size,
            "warmup_rows": WARMUP_ROWS,
        },
        "sizes": sizes,
        "checks": checks.items,
        "checks_passed": all(check["ok"] is not False for check in checks.items),
        "generation_seconds": round(
            sum(file["generation_seconds"] for entry in sizes.values() for file in entry["files"].values()), 1
        ),
        "total_seconds": round(time.perf_counter() - started, 1),
    }
    render(results, console)
    write_json(results, args.output)
    console.print(f"results written to {_shown(args.output)}")
    return 0 if results["checks_passed"] else 1


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
