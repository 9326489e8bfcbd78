"""The benchmark's two outputs: rich tables on the terminal and one JSON document for the record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

THROUGHPUT_TARGET = 5_000.0  # events/s per core (SPEC 10)
COLD_START_TARGET_MS = 300.0  # beyond a bare interpreter start (SPEC 10)


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def _styled(text: str) -> str:
    return f"[bold green]{text}[/]" if text == "PASS" else f"[bold red]{text}[/]"


def render(results: dict[str, Any], console: Console) -> None:
    machine = results["machine"]
    neighbours = machine.get("other_cpu_share_during_run")
    console.print(
        f"[bold]Ingestion benchmark[/] — {machine['cpu_model']}, {machine['cpus']} cores, "
        f"Python {machine['python']}, load average {machine['load_average_before']} before the run; "
        f"other processes used {'?' if neighbours is None else f'{neighbours:.0%}'} of the CPUs meanwhile; "
        f"lakes on {machine['lake_root']} ({machine['lake_filesystem']})"
    )
    console.print(_throughput_table(results["throughput"]))
    console.print(_layers_table(results["throughput"]["layers"]))
    console.print(_cold_start_table(results["cold_start"]))
    modules = results["cold_start"]["modules"]
    console.print(
        f"boto3 imported by `import lambdas.ingest.handler`: "
        f"[bold]{_yes(modules['boto3_imported_by_handler_import'])}[/]; "
        f"after the first invocation: [bold]{_yes(modules['boto3_imported_by_first_invocation'])}[/]; "
        f"the bare botocore package: [bold]{_yes(modules['botocore_imported_by_handler_import'])}[/] "
        f"({modules['modules_after_import']} modules after import, "
        f"{modules['modules_after_first_invocation']} after the first invocation)"
    )
    emf = results["throughput"]["handler_stdout_lines"]
    if emf:
        console.print(
            f"[yellow]note[/]: the handler printed {emf} lines to stdout during the throughput runs although "
            "POWERTOOLS_METRICS_DISABLED=true (Powertools' 100-values overflow flush ignores that flag)"
        )


def _yes(flag: bool) -> str:
    return "YES" if flag else "no"


def _throughput_table(throughput: dict[str, Any]) -> Table:
    table = Table(
        title=f"Throughput through lambda_handler, one process, one thread "
        f"(SPEC 10: ≥ {THROUGHPUT_TARGET:,.0f} events/s per core)",
        title_justify="left",
    )
    for header in (
        "workload",
        "events/req",
        "handler ev/s",
        "handler ev/CPU-s",
        "handler µs/req",
        "baseline ev/s",
        "baseline ev/CPU-s",
        "handler / baseline",
        "verdict",
    ):
        table.add_column(
            header, justify="left" if header == "workload" else "right", no_wrap=header == "workload"
        )
    for workload in throughput["workloads"].values():
        handler, baseline = workload["handler"], workload["baseline"]
        table.add_row(
            workload["label"],
            f"{workload['events_per_request']:,.0f}",
            f"{handler['events_per_s']:,.0f}",
            f"{handler['events_per_cpu_s']:,.0f}",
            f"{handler['us_per_request']:,.0f}",
            f"{baseline['events_per_s']:,.0f}",
            f"{baseline['events_per_cpu_s']:,.0f}",
            f"{workload['ratio_handler_to_baseline']:.2f}",
            _styled(workload["verdict"]),
        )
    table.caption = (
        "medians over rounds; ev/CPU-s = events per second of process CPU time, the per-core figure the "
        "verdict uses; baseline = orjson.loads + the same atomic JSON-lines write, nothing else"
    )
    table.caption_justify = "left"
    return table


def _layers_table(layers: dict[str, Any]) -> Table:
    table = Table(
        title="Where a single /v1/track request's time goes (one layer peeled at a time)",
        title_justify="left",
    )
    table.add_column("called", no_wrap=True)
    table.add_column("µs/req", justify="right")
    table.add_column("events/s", justify="right")
    table.add_column("µs the layer adds", justify="right")
    table.add_column("the layer")
    for name, entry in layers.items():
        table.add_row(
            name,
            f"{entry['us_per_request']:,.0f}",
            f"{entry['events_per_s']:,.0f}",
            f"{entry['own_us']:,.0f}",
            entry["adds"],
        )
    return table


def _cold_start_table(cold_start: dict[str, Any]) -> Table:
    table = Table(
        title=f"Cold start, fresh processes × {cold_start['runs']} "
        f"(SPEC 10: ≤ {COLD_START_TARGET_MS:.0f} ms beyond a bare interpreter start)",
        title_justify="left",
    )
    for header in ("command", "median ms", "p90 ms", "beyond bare, median", "beyond bare, p90", "verdict"):
        table.add_column(
            header, justify="left" if header == "command" else "right", no_wrap=header == "command"
        )
    for name, entry in cold_start["variants"].items():
        bare = name == "bare"
        table.add_row(
            entry["command"],
            f"{entry['median_ms']:.0f}",
            f"{entry['p90_ms']:.0f}",
            "—" if bare else f"{entry['beyond_bare_median_ms']:.0f}",
            "—" if bare else f"{entry['beyond_bare_p90_ms']:.0f}",
            "baseline" if bare else _styled(entry["verdict"]),
        )
    table.caption = "beyond bare = per-round difference to `python -c pass`; the verdict uses the median"
    table.caption_justify = "left"
    return table


def write_json(results: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n")
