"""``python -m benchmarks.batch.worker TASK``: one measurement in a fresh process; its result on stdout.

A fresh process per measurement: the standardizers' ``lru_cache`` s, DuckDB's and the JVM's state and the
process's peak RSS all start clean, so a run measures its own work and not the previous run's leftovers.
Each task first does the same work on a small warm-up file (another seed) untimed: module imports, lazily
loaded metadata (phonenumbers' regions), the JVM's first queries. Then the clock runs around exactly the
measured call: wall time (``perf_counter``), this process's CPU time over all its threads
(``process_time``) plus that of its descendants (Spark's JVM and Python workers, from ``/proc``), and the
peak RSS of the call (``VmHWM`` after resetting it through ``/proc/self/clear_refs``; not reported for
Spark, whose work is outside this process).

``TASK`` is a JSON object; ``kind`` is ``import``, ``standardize`` or ``baseline``.
"""

from __future__ import annotations

import cProfile
import gc
import os
import re
import shutil
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson


@dataclass(slots=True)
class Clock:
    wall: float = 0.0
    cpu: float = 0.0
    rss_before_mb: float | None = None
    peak_rss_mb: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "wall_s": round(self.wall, 4),
            "cpu_s": round(self.cpu, 4),
            "rss_before_mb": self.rss_before_mb,
            "peak_rss_mb": self.peak_rss_mb,
        }


def _status_mb(field: str) -> float | None:
    try:
        match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    except OSError:
        return None
    return round(int(match.group(1)) / 1024, 1) if match else None


def descendants_cpu() -> float:
    """CPU seconds of this process's descendants that are still alive (Spark's JVM and its Python workers),
    with the children they reaped; ``process_time`` does not see them."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = sum(int(value) for value in fields[11:15]) / tick  # utime stime cu cs
    total, frontier = 0.0, [os.getpid()]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent:
                total += times[pid]
                frontier.append(pid)
    return total


def _reset_peak_rss() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux ≥ 4.0)
    except OSError:
        return False
    return True


@contextmanager
def measured(profile: Path | None = None) -> Iterator[Clock]:
    clock = Clock()
    gc.collect()
    peak_known = _reset_peak_rss()
    clock.rss_before_mb = _status_mb("VmRSS")
    profiler = cProfile.Profile() if profile else None
    others = descendants_cpu()
    started, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    try:
        yield clock
    finally:
        if profiler:
            profiler.disable()
        clock.wall = time.perf_counter() - started
        clock.cpu = time.process_time() - cpu + descendants_cpu() - others
        clock.peak_rss_mb = _status_mb("VmHWM") if peak_known else None
        if profiler and profile:
            profile.parent.mkdir(parents=True, exist_ok=True)
            profiler.dump_stats(profile)


def _profile_path(task: dict[str, Any]) -> Path | None:
    return Path(task["profile"]) if task.get("profile") else None


# -- import ----------------------------------------------------------------------------------------


def run_import(task: dict[str, Any]) -> dict[str, Any]:
    from cdp.adapters.local_imports import LocalImportStore
    from cdp.imports.mapping import load_mapping
    from cdp.imports.service import ImportService
    from cdp.lake import LocalLake

    source, mapping = task["source"], load_mapping(task["mapping"])
    warm = Path(task["warmup_file"])
    scratch = Path(task["scratch"])
    ImportService(LocalImportStore(LocalLake.at(scratch))).import_file(
        source, warm.name, warm.read_bytes(), mapping
    )
    shutil.rmtree(scratch, ignore_errors=True)

    file = Path(task["file"])
    data = file.read_bytes()
    store = LocalImportStore(LocalLake.at(task["lake"]))
    service = ImportService(store)
    with measured(_profile_path(task)) as clock:
        report = service.import_file(source, file.name, data, mapping)
    if report.status != "imported":
        raise RuntimeError(f"{file.name} was not imported: {report.status}")
    manifest = store.manifest(source, report.import_id)
    rejected: Counter[str] = Counter()
    for item in report.rejections:
        rejected[item.code] += item.rows
    return {
        **clock.as_json(),
        "import_id": report.import_id,
        "rows_read": report.rows_read,
        "rows_accepted": report.rows_accepted,
        "rows_rejected": report.rows_rejected,
        "rejected_by_code": dict(sorted(rejected.items())),
        "rejected_by_reason": report.rejected_by_reason,
        "missing_columns": list(report.missing_columns),
        "manifest_timings_ms": manifest.timings_ms if manifest else None,
    }


# -- standardize -----------------------------------------------------------------------------------


def run_standardize(task: dict[str, Any]) -> dict[str, Any]:
    from cdp.lakefs import LakeFiles
    from cdp.pipeline.runner import run_pipeline

    make_engine: Callable[[], Any]
    if task["engine"] == "spark":
        from cdp.engine.spark_engine import SparkEngine, local_spark_session

        session = local_spark_session(app_name="cdp-bench-batch")
        session.sparkContext.setLogLevel("ERROR")

        def make_engine() -> Any:
            return SparkEngine(session)
    else:
        from cdp.engine.duckdb_engine import DuckDbEngine

        make_engine = DuckDbEngine

    warm_engine = make_engine()
    try:
        run_pipeline(LakeFiles(task["warmup_lake"]), warm_engine, steps=["standardize"])
    finally:
        warm_engine.close()
    engine = make_engine()
    try:
        with measured(_profile_path(task)) as clock:
            report = run_pipeline(LakeFiles(task["lake"]), engine, steps=["standardize"])
    finally:
        engine.close()
    [step] = report.steps
    result = {**clock.as_json(), "engine": report.engine, "run_id": report.run_id, "rows": step.rows}
    if task["engine"] == "spark":
        result["peak_rss_mb"] = result["rss_before_mb"] = None  # the driver's Python process only
        # the JVM may outlive this process unreaped: its CPU would look like a neighbour's to the parent
        result["descendants_cpu_s"] = round(descendants_cpu(), 3)
    return result


# -- baselines -------------------------------------------------------------------------------------


def run_baseline(task: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.batch import baselines
    from cdp.imports.mapping import load_mapping

    mapping = load_mapping(task["mapping"])
    codec, delimiter, variant = mapping.encoding.codec, mapping.delimiter, task["variant"]

    def prepared(data: bytes) -> tuple[Callable[[], Any], int]:
        """The timed call for ``data`` and how many rows were left out before the clock."""
        if variant == baselines.CSV_RAW:
            names = baselines.csv_header(data, codec, delimiter)
            rows, _, dropped = baselines.csv_rows_with_header_width(data, delimiter)
            return (lambda: baselines.read_csv_raw(rows, names, delimiter)), dropped
        if variant == baselines.CSV_TRANSCODED:
            return (lambda: baselines.read_csv_transcoded(data, codec, delimiter)), 0
        lines, _, dropped = baselines.jsonl_typed_lines(data)
        return (lambda: baselines.read_jsonl(lines)), dropped

    out = Path(task["out"])
    out.mkdir(parents=True, exist_ok=True)
    warm_read, _ = prepared(Path(task["warmup_file"]).read_bytes())
    baselines.write_parquet(warm_read(), str(out / "warmup.parquet"))
    read, dropped = prepared(Path(task["file"]).read_bytes())
    gc.collect()
    with measured() as clock:
        table = read()
        baselines.write_parquet(table, str(out / "part-00000.parquet"))
    return {
        **clock.as_json(),
        "variant": variant,
        "rows": table.num_rows,
        "rows_left_out_before_timing": dropped,
        "parquet_bytes": (out / "part-00000.parquet").stat().st_size,
    }


TASKS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "import": run_import,
    "standardize": run_standardize,
    "baseline": run_baseline,
}


def main(argv: list[str]) -> int:
    task = orjson.loads(argv[0])
    result = TASKS[task["kind"]](task)
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
