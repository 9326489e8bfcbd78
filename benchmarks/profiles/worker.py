"""``python -m benchmarks.profiles.worker TASK``: one measurement in a fresh process; its result on stdout.

A fresh process per measurement, so DuckDB's caches and the process's peak RSS start clean. The peak RSS
is the call's own: ``VmHWM`` after resetting it through ``/proc/self/clear_refs`` just before the call.

``TASK`` is a JSON object with ``kind`` (``profiles``, ``profiles_without_traits`` or ``baseline``), the
``lake`` directory and an ``output`` directory for the baseline's file.
"""

from __future__ import annotations

import contextlib
import re
import sys
import time
from pathlib import Path
from typing import Any

import orjson


def _status_mb(field: str) -> float | None:
    try:
        match = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    except OSError:
        return None
    return round(int(match.group(1)) / 1024, 1) if match else None


def _reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def run_profiles(lake: Path, *, traits: bool) -> dict[str, Any]:
    from benchmarks.profiles.data import AS_OF
    from cdp.engine.duckdb_engine import DuckDbEngine
    from cdp.lakefs import LakeFiles
    from cdp.pipeline.profiles import build_profiles, load_profiles_setup, profiles_inputs
    from cdp.pipeline.runner import SnapshotWriter, completed_import_row_files
    from cdp.profiles.salt import local_salt

    files = LakeFiles(lake)
    setup = load_profiles_setup(files)
    if not traits:
        setup = type(setup)(config=setup.config, traits=[])
    salt = local_salt(files)
    inputs = profiles_inputs(files, import_row_files=completed_import_row_files(files))
    run_id = f"bench-{'traits' if traits else 'core'}-{time.time_ns()}"
    engine = DuckDbEngine()
    try:
        writer = SnapshotWriter(engine, files, run_id)
        report = build_profiles(
            engine, inputs, setup=setup, salt=salt, as_of=AS_OF, run_id=run_id, write=writer
        )
        writer.publish_all()
    finally:
        engine.close()
    return {"rows": report.rows, "step_s": round(report.seconds, 3), "traits": len(setup.traits)}


BASELINE_SQL = """
COPY (
    WITH rec AS (
        SELECT l.profile_id, count(*) AS records
        FROM links AS l JOIN records AS r ON r.record_id = l.record_id
        GROUP BY l.profile_id
    ),
    ev AS (
        SELECT l.profile_id, count(*) AS events
        FROM events AS e JOIN links AS l ON l.record_id = e.identity_record_id
        GROUP BY l.profile_id
    ),
    ord AS (
        SELECT l.profile_id, count(DISTINCT o.order_id) AS orders
        FROM orders AS o JOIN links AS l ON l.record_id = o.identity_record_id
        GROUP BY l.profile_id
    )
    SELECT rec.profile_id, rec.records, coalesce(ev.events, 0) AS events, coalesce(ord.orders, 0) AS orders
    FROM rec LEFT JOIN ev ON ev.profile_id = rec.profile_id LEFT JOIN ord ON ord.profile_id = rec.profile_id
) TO '{target}' (FORMAT parquet, COMPRESSION zstd)
"""


def run_baseline(lake: Path, output: Path) -> dict[str, Any]:
    """The floor: DuckDB reads the same snapshots and writes one plain group-by of profile_id with counts."""
    import duckdb

    from cdp.lakefs import LakeFiles
    from cdp.tables import EVENTS, IDENTITY_LINKS, IDENTITY_RECORDS, ORDERS, current, snapshot_files

    files = LakeFiles(lake)
    connection = duckdb.connect(":memory:")
    for name, table in (
        ("links", IDENTITY_LINKS),
        ("records", IDENTITY_RECORDS),
        ("events", EVENTS),
        ("orders", ORDERS),
    ):
        paths = ", ".join(f"'{path}'" for path in snapshot_files(files, current(files, table)))
        connection.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet([{paths}])")
    output.mkdir(parents=True, exist_ok=True)
    target = output / "baseline.parquet"
    [(rows,)] = connection.execute(BASELINE_SQL.format(target=target)).fetchall()
    connection.close()
    return {"rows": {"baseline": int(rows)}}


def main(argv: list[str]) -> None:
    task = orjson.loads(argv[0])
    lake, kind = Path(task["lake"]), task["kind"]
    rss_before = _status_mb("VmRSS")
    _reset_peak()
    wall, cpu = time.perf_counter(), time.process_time()
    if kind == "baseline":
        result = run_baseline(lake, Path(task["output"]))
    else:
        result = run_profiles(lake, traits=kind == "profiles")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    result.update(
        kind=kind,
        wall_s=round(wall, 3),
        cpu_s=round(cpu, 3),
        rss_before_mb=rss_before,
        peak_rss_mb=_status_mb("VmHWM"),
    )
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main(sys.argv[1:])
