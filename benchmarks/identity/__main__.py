"""``python -m benchmarks.identity``: FEBRL3/FEBRL4 F1 and time, ours beside plain Splink; synthetic scale.

Writes ``benchmarks/results/identity.json``.
"""

from __future__ import annotations

import argparse
import logging
import platform
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from benchmarks.identity.contenders import Outcome, run_ours, run_plain_splink
from benchmarks.identity.datasets import febrl3, febrl4, synthetic
from cdp.identity.probabilistic import MatchSettings

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = REPO / "benchmarks" / "results" / "identity.json"
F1_TARGET = 0.998  # SPEC 10
TIME_RATIO_TARGET = 1.5  # ours / plain Splink wall time on DuckDB (SPEC 10)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.identity", description=__doc__)
    parser.add_argument("--threshold", type=float, default=MatchSettings().threshold)
    parser.add_argument("--rounds", type=int, default=1, help="timed runs per contender and dataset")
    parser.add_argument(
        "--synthetic-people",
        type=int,
        default=77_000,
        help="people in the synthetic run (≈ 1.3 records each; 77,000 ≈ 100k records; 0 skips it; "
        "770,000 ≈ 1M records, the SPEC 10 scale)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.getLogger("splink").setLevel(logging.ERROR)
    console = Console() if Console().is_terminal else Console(width=150)
    progress = Console(stderr=True)
    settings = MatchSettings(threshold=args.threshold)
    febrl: list[dict[str, Any]] = []
    for dataset in (febrl3(), febrl4()):
        runs: dict[str, list[Outcome]] = {"plain Splink": [], "ours": []}
        for round_number in range(args.rounds):
            # alternate who goes first, so neither always pays the warm caches' absence
            order = (run_plain_splink, run_ours) if round_number % 2 == 0 else (run_ours, run_plain_splink)
            for run in order:
                progress.log(f"{dataset.name}: {run.__name__}, round {round_number + 1}")
                outcome = run(dataset, settings)
                runs[outcome.contender].append(outcome)
        febrl.append(_compare(dataset.name, runs))
    scale: dict[str, Any] | None = None
    if args.synthetic_people:
        dataset = synthetic(args.synthetic_people)
        progress.log(f"{dataset.name} records: ours on DuckDB")
        scale = run_ours(dataset, settings).as_json()
    results = {
        "benchmark": "identity",
        "spec": "SPEC 10: pairwise F1 >= 0.998 on FEBRL3 and FEBRL4, never below plain Splink, "
        "at <= 1.5x its wall time on DuckDB; 1M synthetic records in <= 10 minutes on 2 cores",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "packages": {name: metadata.version(name) for name in ("splink", "duckdb", "recordlinkage")},
        },
        "settings": settings.model_dump(),
        "febrl": febrl,
        "synthetic": scale,
    }
    render(results, console)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    console.print(f"results written to {args.output}")
    failed = [entry for entry in febrl if entry["verdict"] != "PASS"]
    return 1 if args.strict and failed else 0


def _compare(name: str, runs: dict[str, list[Outcome]]) -> dict[str, Any]:
    ours, plain = runs["ours"], runs["plain Splink"]
    ours_seconds = sorted(outcome.seconds for outcome in ours)[len(ours) // 2]
    plain_seconds = sorted(outcome.seconds for outcome in plain)[len(plain) // 2]
    ratio = ours_seconds / plain_seconds
    f1, plain_f1 = ours[0].f1, plain[0].f1
    passed = f1 >= F1_TARGET and f1 >= plain_f1 and ratio <= TIME_RATIO_TARGET
    return {
        "dataset": name,
        "ours": [outcome.as_json() for outcome in ours],
        "plain_splink": [outcome.as_json() for outcome in plain],
        "ours_seconds_median": round(ours_seconds, 3),
        "plain_seconds_median": round(plain_seconds, 3),
        "time_ratio": round(ratio, 3),
        "verdict": "PASS" if passed else "FAIL",
    }


def render(results: dict[str, Any], console: Console) -> None:
    table = Table(
        title=f"Pairwise accuracy of clusters at threshold {results['settings']['threshold']} and wall time, "
        f"DuckDB (SPEC 10: F1 ≥ {F1_TARGET}, ≥ plain Splink, time ≤ {TIME_RATIO_TARGET}× plain Splink)",
        title_justify="left",
    )
    for header in (
        "dataset",
        "matcher",
        "records",
        "precision",
        "recall",
        "F1",
        "seconds",
        "ratio",
        "verdict",
    ):
        table.add_column(header, justify="left" if header in ("dataset", "matcher") else "right")
    for entry in results["febrl"]:
        for key, label in (("plain_splink", "plain Splink"), ("ours", "ours")):
            outcome = entry[key][0]
            seconds = entry["ours_seconds_median" if key == "ours" else "plain_seconds_median"]
            table.add_row(
                entry["dataset"],
                label,
                f"{outcome['records']:,}",
                f"{outcome['precision']:.4f}",
                f"{outcome['recall']:.4f}",
                f"{outcome['f1']:.4f}",
                f"{seconds:.1f}",
                f"{entry['time_ratio']:.2f}" if key == "ours" else "",
                entry["verdict"] if key == "ours" else "",
            )
    console.print(table)
    scale = results.get("synthetic")
    if scale:
        console.print(
            f"{scale['dataset']} records, ours on DuckDB: {scale['seconds']:.1f} s, "
            f"precision {scale['precision']:.4f}, recall {scale['recall']:.4f}, F1 {scale['f1']:.4f}"
        )


if __name__ == "__main__":
    start = time.perf_counter()
    code = main()
    Console(stderr=True).log(f"done in {time.perf_counter() - start:.0f} s")
    sys.exit(code)
