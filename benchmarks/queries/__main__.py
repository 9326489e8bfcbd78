"""``python -m benchmarks.queries``: bytes the analysts' ``raw_events`` queries read, pruned or not.

The lake: ``--days`` days of raw events (default 90, ending 2026-03-31) written through the real ingestion
path (:mod:`benchmarks.queries.lake`). The queries: every example of docs/analysts.md that reads
``raw_events`` (each filters on the partition column ``dt``), plus a one-day query. For each, three numbers:

1. **Athena, modelled**: partition projection turns the query's ``dt`` predicate into the list of
   ``dt=`` folders to read, and Athena reads every object in them whole (JSON is not splittable by column).
   So the bytes scanned are the sizes of the files under the partitions the predicate selects, gzip-compressed
   as Firehose stores them. Computed exactly: the ``dt``-only conjuncts of the query's ``WHERE`` are evaluated
   (DuckDB) against every day of the table. "Without pruning" is every file of the table: what the same
   question costs when filtered on a data column (``received_at``) instead of ``dt``.
2. **DuckDB, measured**: the query over ``raw_events`` defined as the Glue table defines it (``dt`` a hive
   partition of the JSON files, no deduplication), with DuckDB's profiler; ``bytes_scanned`` of the scan
   operators. Without pruning: the same files with ``dt`` derived from ``received_at`` (a data column), so
   nothing can be skipped; both must return the same rows.
3. **``cdp query``, measured**: the same query through :func:`cdp.query.catalog.connect` (the local
   ``raw_events`` view, which removes duplicate messages across all days).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

import duckdb
import orjson
import sqlglot
from rich.console import Console
from rich.table import Table
from sqlglot import exp

from benchmarks.batch.__main__ import default_work_root
from benchmarks.machine import REPO, CpuNeighbours, describe_machine
from benchmarks.queries.lake import EventFile, event_files, generate
from cdp.ingestion.records import RAW_EVENT_COLUMNS
from cdp.lake import RAW_EVENTS, LocalLake
from cdp.query.catalog import athena_to_duckdb, connect

DOC = REPO / "docs" / "analysts.md"
DEFAULT_OUTPUT = REPO / "benchmarks" / "results" / "queries.json"
LAST_DAY = date(2026, 3, 31)
ROUNDS = 3


@dataclass(frozen=True, slots=True)
class BenchQuery:
    title: str
    sql: str


@dataclass(frozen=True, slots=True)
class Reading:
    bytes_scanned: int
    seconds: float
    rows: int


def raw_events_examples(doc: Path = DOC) -> list[BenchQuery]:
    """The doc's examples that read ``raw_events``, with their ``### N. title``."""
    found = []
    for part in doc.read_text().split("\n### ")[1:]:
        for sql in re.findall(r"^```sql\n(.*?)^```", part, flags=re.M | re.S):
            tables = {table.name for table in sqlglot.parse_one(sql, read="athena").find_all(exp.Table)}
            if "raw_events" in tables:
                found.append(BenchQuery(part.splitlines()[0], sql))
    return found


def dt_conjuncts(sql: str) -> list[exp.Expression]:
    """The conjuncts of the ``WHERE`` over ``raw_events`` that reference ``dt`` and nothing else."""
    tree = sqlglot.parse_one(sql, read="athena")
    conjuncts: list[exp.Expression] = []
    for select in tree.find_all(exp.Select):
        source = select.args.get("from_") or select.args.get("from")  # sqlglot ≥ 28 names it from_
        where = select.args.get("where")
        if not where or not source or source.this.name != "raw_events":
            continue
        condition = where.this
        parts = list(condition.flatten()) if isinstance(condition, exp.And) else [condition]
        conjuncts += [p for p in parts if {c.name for c in p.find_all(exp.Column)} == {"dt"}]
    return conjuncts


def selected_partitions(sql: str, partitions: Sequence[str]) -> list[str]:
    """What partition projection lists for the query: the days its ``dt`` predicate admits."""
    conjuncts = dt_conjuncts(sql)
    if not conjuncts:
        return list(partitions)
    values = ", ".join(f"('{dt}')" for dt in partitions)
    predicate = " AND ".join(c.sql(dialect="duckdb") for c in conjuncts)
    with duckdb.connect() as connection:
        rows = connection.sql(f"SELECT dt FROM (VALUES {values}) AS p(dt) WHERE {predicate}").fetchall()
    return sorted(row[0] for row in rows)


def _columns() -> str:
    return "{" + ", ".join(f"'{column}': 'VARCHAR'" for column in RAW_EVENT_COLUMNS) + "}"


def glue_like_view(lake: LocalLake, *, pruning: bool) -> str:
    """``raw_events`` as the Glue table reads it: ``dt`` a partition (pruning), or from a data column."""
    files = f"'{lake.path(RAW_EVENTS)}/dt=*/*.jsonl'"
    columns = ", ".join(f'"{column}"' for column in RAW_EVENT_COLUMNS)
    reader = f"read_json({files}, format='newline_delimited', columns={_columns()}"
    if pruning:
        source = f"{reader}, hive_partitioning=true, hive_types={{'dt': 'VARCHAR'}})"
        return f"CREATE VIEW raw_events AS SELECT {columns}, dt FROM {source}"
    business_date = "strftime(CAST(received_at AS TIMESTAMPTZ) AT TIME ZONE 'Asia/Bangkok', '%Y-%m-%d')"
    source = f"{reader}, hive_partitioning=false)"
    return f"CREATE VIEW raw_events AS SELECT {columns}, {business_date} AS dt FROM {source}"


def scanned_bytes(profile: dict[str, Any]) -> int:
    """Sum of ``bytes_scanned`` over the plan's scan operators (DuckDB's ``detailed`` profile)."""
    total = 0
    stack = [*profile.get("operator", []), *profile.get("children", [])]
    while stack:
        node = stack.pop()
        total += int(node.get("bytes_scanned", 0) or 0)
        stack.extend(node.get("children", []))
    return total


def measure(connection: duckdb.DuckDBPyConnection, sql: str, profile_file: Path) -> tuple[Reading, list[Any]]:
    connection.execute("PRAGMA enable_profiling='json'")
    connection.execute(f"PRAGMA profiling_output='{profile_file}'")
    connection.execute("SET profiling_mode='detailed'")
    translated = athena_to_duckdb(sql)
    timings, rows, profile = [], [], {}
    for _ in range(ROUNDS):
        started = time.perf_counter()
        rows = connection.sql(translated).fetchall()
        timings.append(time.perf_counter() - started)
        profile = json.loads(profile_file.read_text())
    connection.execute("PRAGMA disable_profiling")
    return Reading(scanned_bytes(profile), statistics.median(timings), len(rows)), sorted(rows, key=repr)


def bench_query(query: BenchQuery, lake: LocalLake, files: list[EventFile], work: Path) -> dict[str, Any]:
    partitions = sorted({f.dt for f in files})
    chosen = set(selected_partitions(query.sql, partitions))
    athena = {
        "partitions_selected": len(chosen),
        "partitions_total": len(partitions),
        "bytes_pruned": sum(f.bytes for f in files if f.dt in chosen),
        "bytes_all": sum(f.bytes for f in files),
        "gzip_bytes_pruned": sum(f.gzip_bytes for f in files if f.dt in chosen),
        "gzip_bytes_all": sum(f.gzip_bytes for f in files),
    }
    athena["ratio"] = athena["gzip_bytes_pruned"] / athena["gzip_bytes_all"]
    readings: dict[str, Reading] = {}
    results: dict[str, list[Any]] = {}
    for variant, pruning in (("pruned", True), ("unpruned", False)):
        with duckdb.connect() as connection:
            connection.execute("SET TimeZone = 'UTC'")
            connection.execute(glue_like_view(lake, pruning=pruning))
            readings[variant], results[variant] = measure(connection, query.sql, work / f"{variant}.json")
    if results["pruned"] != results["unpruned"]:
        raise RuntimeError(f"{query.title}: pruned and unpruned runs disagree; the comparison would be void")
    connection = connect(lake)
    try:
        readings["cdp_query"], _ = measure(connection, query.sql, work / "cdp-query.json")
    finally:
        connection.close()
    return {
        "title": query.title,
        "sql": query.sql,
        "athena_model": athena,
        "duckdb": {name: asdict(reading) for name, reading in readings.items()},
        "duckdb_ratio": readings["pruned"].bytes_scanned / max(1, readings["unpruned"].bytes_scanned),
    }


def render(results: dict[str, Any], console: Console) -> None:
    lake = results["lake"]
    console.print(
        f"[bold]Bytes scanned by raw_events queries[/] — {lake['days']} days, {lake['events']:,} events in "
        f"{lake['files']:,} files, {lake['bytes'] / 1e6:,.1f} MB as JSON lines, "
        f"{lake['gzip_bytes'] / 1e6:,.1f} MB gzipped (what S3 holds); "
        f"DuckDB {results['machine']['packages']['duckdb']}"
    )
    table = Table(title_justify="left")
    for header in (
        "query",
        "days read",
        "Athena: gzip MB pruned / all",
        "ratio",
        "DuckDB MB pruned / unpruned",
        "ratio",
        "ms pruned / unpruned",
        "cdp query MB",
    ):
        table.add_column(header, justify="left" if header == "query" else "right")
    for q in results["queries"]:
        athena, duck = q["athena_model"], q["duckdb"]
        table.add_row(
            q["title"],
            f"{athena['partitions_selected']} / {athena['partitions_total']}",
            f"{athena['gzip_bytes_pruned'] / 1e6:,.2f} / {athena['gzip_bytes_all'] / 1e6:,.2f}",
            f"{athena['ratio']:.3f} ({1 / athena['ratio']:.1f}×)" if athena["ratio"] else "nothing read",
            f"{duck['pruned']['bytes_scanned'] / 1e6:,.2f} / {duck['unpruned']['bytes_scanned'] / 1e6:,.2f}",
            f"{q['duckdb_ratio']:.3f}",
            f"{duck['pruned']['seconds'] * 1e3:,.0f} / {duck['unpruned']['seconds'] * 1e3:,.0f}",
            f"{duck['cdp_query']['bytes_scanned'] / 1e6:,.2f}",
        )
    console.print(table)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.queries", description=__doc__)
    parser.add_argument("--days", type=int, default=90, help="days of raw events (default 90)")
    parser.add_argument("--events-per-day", type=int, default=1000, help="events per day (default 1000)")
    parser.add_argument("--batch", type=int, default=100, help="events per request = per file (default 100)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work-root", type=Path, default=default_work_root(), help="where the lake goes")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where the JSON results go")
    args = parser.parse_args(argv)
    if args.days < 8:
        parser.error("--days must be at least 8: the examples read a week")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    console = Console(width=170)
    work = Path(mkdtemp(prefix="cdp-bench-queries-", dir=args.work_root))
    neighbours = CpuNeighbours()
    started = time.perf_counter()
    try:
        machine = describe_machine(work)
        console.print(f"generating {args.days} days x {args.events_per_day:,} events in {work} …")
        lake = generate(
            work / "lake",
            days=args.days,
            last_day=LAST_DAY,
            events_per_day=args.events_per_day,
            batch=args.batch,
            seed=args.seed,
        )
        generated = time.perf_counter() - started
        files = event_files(lake)
        last = max(f.dt for f in files)
        one_day = BenchQuery(
            "one day (a daily dashboard)",
            "SELECT type, count(DISTINCT message_id) AS events FROM raw_events "
            f"WHERE dt = '{last}' GROUP BY type",
        )
        queries = [*raw_events_examples(), one_day]
        results = {
            "benchmark": "queries",
            "finished_at": datetime.now(UTC).isoformat(),
            "machine": machine,
            "lake": {
                "days": args.days,
                "events": args.days * max(1, args.events_per_day // args.batch) * args.batch,
                "files": len(files),
                "bytes": sum(f.bytes for f in files),
                "gzip_bytes": sum(f.gzip_bytes for f in files),
                "first_day": min(f.dt for f in files),
                "last_day": last,
                "generation_seconds": round(generated, 1),
            },
            "queries": [bench_query(query, lake, files, work) for query in queries],
        }
        results["machine"]["other_cpu_share_during_run"] = neighbours.share()
        results["total_seconds"] = round(time.perf_counter() - started, 1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    render(results, console)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n")
    console.print(f"written to {args.output}")


if __name__ == "__main__":
    main()
