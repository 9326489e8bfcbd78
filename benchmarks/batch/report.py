"""The benchmark's outputs: rich tables on the terminal and one JSON document for the record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

SOURCE_LABELS = {"crm": "CRM csv (TIS-620)", "shop": "shop jsonl"}


def _n(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _size(rows: int) -> str:
    if rows % 1_000_000 == 0:
        return f"{rows // 1_000_000}M"
    return f"{rows // 1000}k" if rows % 1000 == 0 else f"{rows:,}"


def _table(title: str, headers: list[str], caption: str) -> Table:
    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    for header in headers:
        left = header in {"rows", "file", "baseline", "source", "checks"}
        table.add_column(header, justify="left" if left else "right", no_wrap=left)
    return table


def render(results: dict[str, Any], console: Console) -> None:
    machine = results["machine"]
    neighbours = machine.get("other_cpu_share_during_run")
    console.print(
        f"[bold]Batch benchmark[/] — {machine['cpu_model']}, {machine['cpus']} cores, "
        f"Python {machine['python']}, pyarrow {machine['packages']['pyarrow']}, "
        f"DuckDB {machine['packages']['duckdb']}, load average {machine['load_average_before']} before the "
        f"run; other processes used {'?' if neighbours is None else f'{neighbours:.0%}'} of the CPUs "
        f"meanwhile; files and lakes on {machine['work_root']} ({machine['work_filesystem']})"
    )
    console.print(_import_table(results))
    console.print(_baseline_table(results))
    console.print(_standardize_table(results))
    failed = [check for check in results["checks"] if not check["ok"]]
    warnings = [check for check in results["checks"] if check["ok"] is None]
    console.print(
        f"checks: {sum(1 for check in results['checks'] if check['ok'])} passed, "
        + (f"[bold red]{len(failed)} failed[/]" if failed else "0 failed")
        + (f", [yellow]{len(warnings)} warnings[/]" if warnings else "")
    )
    for check in failed + warnings:
        colour = "red" if check["ok"] is False else "yellow"
        console.print(f"  [{colour}]{check['name']}[/]: {check['detail']}")
    console.print(
        f"data generation {results['generation_seconds']:.0f} s, whole run {results['total_seconds']:.0f} s"
    )


def _import_table(results: dict[str, Any]) -> Table:
    table = _table(
        "Import: ImportService.import_file(source, name, bytes, mapping) into a local lake, one process",
        [
            "rows",
            "file",
            "MB",
            "accepted",
            "quarantined",
            "wall s",
            "rows/s",
            "rows/CPU-s",
            "peak RSS MB",
            "read+map+encode s",
            "write s",
            "as the truth says",
        ],
        "rows/s = rows read per wall second; rows/CPU-s per second of the process's CPU time; peak RSS of "
        "the process during the call (the file's bytes were already in memory); read+map+encode and write "
        "from the import's manifest",
    )
    for size, entry in results["sizes"].items():
        for source, measured in entry["sources"].items():
            imported, file = measured["import"], entry["files"][source]
            timings = imported.get("manifest_timings_ms") or {}
            table.add_row(
                _size(int(size)),
                SOURCE_LABELS[source],
                _n(file["size_bytes"] / 1e6, 1),
                _n(imported["rows_accepted"]),
                _n(imported["rows_rejected"]),
                _n(imported["wall_s"], 2),
                _n(imported["rows_per_s"]),
                _n(imported["rows_per_cpu_s"]),
                _n(imported["peak_rss_mb"]),
                _n(timings.get("read_map_encode", 0) / 1000, 2),
                _n(timings.get("write", 0) / 1000, 2),
                "yes" if imported["matches_truth"] else "[bold red]NO[/]",
            )
    return table


def _baseline_table(results: dict[str, Any]) -> Table:
    table = _table(
        "Baselines on the same bytes, same run: pyarrow read + pyarrow.parquet.write_table(zstd)",
        [
            "rows",
            "file",
            "baseline",
            "rows read",
            "wall s",
            "rows/s",
            "rows/CPU-s",
            "peak RSS MB",
            "import / baseline",
            "import / baseline (CPU)",
        ],
        "csv raw: read_csv on the TIS-620 bytes undecoded (rows with a field too many cut beforehand); csv "
        "transcoded: decode + encode UTF-8 inside the clock, read_csv skipping bad rows; jsonl: read_json "
        "on the lines whose values all have their key's usual JSON type; ratio = import rows/s ÷ baseline "
        "rows/s",
    )
    for size, entry in results["sizes"].items():
        for source, measured in entry["sources"].items():
            for name, baseline in measured["baselines"].items():
                table.add_row(
                    _size(int(size)),
                    SOURCE_LABELS[source],
                    name,
                    _n(baseline["rows"]),
                    _n(baseline["wall_s"], 2),
                    _n(baseline["rows_per_s"]),
                    _n(baseline["rows_per_cpu_s"]),
                    _n(baseline["peak_rss_mb"]),
                    _n(baseline["import_ratio"], 3),
                    _n(baseline["import_ratio_cpu"], 3),
                )
    return table


def _standardize_table(results: dict[str, Any]) -> Table:
    table = _table(
        'Standardize: run_pipeline(LakeFiles(lake), engine, steps=["standardize"]) over the imported rows',
        [
            "rows",
            "source",
            "identity_records",
            "DuckDB wall s",
            "rows/s",
            "rows/CPU-s",
            "peak RSS MB",
            "Spark wall s",
            "Spark rows/s",
            "Spark rows/CPU-s",
            "Spark ÷ DuckDB time",
        ],
        "rows/s = identity_records written per wall second (the lake holds this one import, no events); "
        "DuckDB with its default 2 threads, CPU time over all threads; Spark = local[2] session from "
        "local_spark_session(), started and warmed up before the clock, CPU time of the driver, the JVM "
        "and its Python workers",
    )
    for size, entry in results["sizes"].items():
        for source, measured in entry["sources"].items():
            duck = measured["standardize"]["duckdb"]
            spark = measured["standardize"].get("spark")
            table.add_row(
                _size(int(size)),
                SOURCE_LABELS[source],
                _n(duck["rows"]["identity_records"]),
                _n(duck["wall_s"], 2),
                _n(duck["rows_per_s"]),
                _n(duck["rows_per_cpu_s"]),
                _n(duck["peak_rss_mb"]),
                _n(spark["wall_s"], 2) if spark else "—",
                _n(spark["rows_per_s"]) if spark else "—",
                _n(spark["rows_per_cpu_s"]) if spark else "—",
                f"{measured['standardize']['spark_to_duckdb_time']:.1f}×" if spark else "—",
            )
    return table


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n")
