"""``python -m benchmarks.lookup``: lookup latency through the handler and loader throughput, with baselines.

Builds a synthetic lake of N profiles (default 100,000) with traits and memberships, loads it with the real
loader (:func:`cdp.pipeline.lookup.refresh_lookup`) into the in-memory store (the loader's own CPU cost),
the local SQLite store and moto's in-process DynamoDB, then times lookups through
``lambdas.lookup.handler.lambda_handler`` (payload-v2 events, by id and by e-mail) against SQLite and moto,
each beside a raw baseline of the same store in the same run. Writes ``benchmarks/results/lookup.json``.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import random
import sqlite3
import statistics
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory, gettempdir
from typing import Any
from urllib.parse import urlencode

# before the handler is imported: no EMF output, no per-lookup audit line on stdout (see the README)
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

from rich.console import Console
from rich.table import Table

from benchmarks.lookup.data import build_lake, change_profiles, email_of, profile_id_of
from benchmarks.machine import CpuNeighbours, cpu_model, filesystem_of, git_commit, load_average
from cdp.adapters.local_profiles import SqliteProfileStore
from cdp.adapters.memory import InMemoryProfileStore
from cdp.lakefs import LakeFiles
from cdp.localapi.apigw import LocalLambdaContext, http_api_event
from cdp.lookup.ports import ProfileStore
from cdp.lookup.service import ProfileLookupService
from cdp.pipeline.lookup import LookupLoadReport, refresh_lookup
from lambdas.lookup import handler

REPO = Path(__file__).resolve().parents[2]
DEFAULT_OUTPUT = REPO / "benchmarks" / "results" / "lookup.json"
MOTO_REGION = "ap-southeast-1"
#: DynamoDB documented limits used by the 1M-profile estimate (on-demand capacity mode, "Initial throughput")
NEW_ON_DEMAND_WRITES_PER_SECOND = 4_000
NEW_ON_DEMAND_READS_PER_SECOND = 12_000
LAMBDA_BUDGET_SECONDS = 900 - 60  # the loader stops a minute early


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lookup", description=__doc__)
    parser.add_argument(
        "--profiles", type=int, default=100_000, help="profiles in the lake (default 100,000)"
    )
    parser.add_argument("--lookups", type=int, default=6_000, help="timed lookups per series (default 6,000)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per backend (default 3)")
    parser.add_argument(
        "--moto-email-lookups",
        type=int,
        default=6,
        help="timed by-e-mail lookups on moto (default 6): moto 5.2.5 sorts the whole table on every Query",
    )
    parser.add_argument("--changed", type=float, default=0.05, help="share of profiles a reload changes")
    parser.add_argument("--skip-moto", action="store_true", help="SQLite only (moto takes most of the run)")
    parser.add_argument(
        "--work-root",
        type=Path,
        default=Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(gettempdir()),
        help="where the lake and the SQLite file go (default /dev/shm: the VM's ext4 is shared and noisy)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


def percentiles(samples_ns: list[int]) -> dict[str, float]:
    ordered = sorted(samples_ns)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)] / 1000

    return {
        "n": len(ordered),
        "p50_us": round(at(0.50), 1),
        "p90_us": round(at(0.90), 1),
        "p99_us": round(at(0.99), 1),
        "mean_us": round(statistics.fmean(ordered) / 1000, 1),
    }


def timed(call: Callable[[Any], object], inputs: Sequence[Any]) -> list[int]:
    samples = []
    clock = time.perf_counter_ns
    for item in inputs:
        started = clock()
        call(item)
        samples.append(clock() - started)
    return samples


def handler_events(targets: list[int], kind: str) -> list[dict[str, Any]]:
    events = []
    for i in targets:
        if kind == "id":
            path, query = f"/v1/profiles/{profile_id_of(i)}", ""
        else:  # typed as a person would: capitals, which the standardizer folds
            path, query = "/v1/profiles", urlencode({"email": email_of(i).title()})
        events.append(
            http_api_event(method="GET", path=path, query=query, headers=[], body=b"", source_ip="10.0.0.1")
        )
    return events


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    return handler.lambda_handler(event, CONTEXT)


CONTEXT = LocalLambdaContext(function_name="cdp-lookup")


def check_all_found(events: list[dict[str, Any]], targets: list[int]) -> None:
    for event, i in zip(events, targets, strict=True):
        result = invoke(event)
        if result["statusCode"] != 200 or json.loads(result["body"])["profile_id"] != profile_id_of(i):
            raise SystemExit(f"lookup of profile {i} answered {result['statusCode']}: {result['body'][:200]}")


def latency_series(
    store: ProfileStore,
    baselines: dict[str, Callable[[int], object]],
    id_targets: list[int],
    email_targets: list[int],
    rounds: int,
) -> dict[str, dict[str, float]]:
    """Handler and baseline, by id and by e-mail, take turns ``rounds`` times."""
    handler.use_service(ProfileLookupService(store))
    events = {"id": handler_events(id_targets, "id"), "email": handler_events(email_targets, "email")}
    targets = {"id": id_targets, "email": email_targets}
    for kind in ("id", "email"):  # checked, not assumed; also the warm-up
        warm = min(200, max(1, len(targets[kind]) // 10))
        check_all_found(events[kind][:warm], targets[kind][:warm])
        for i in targets[kind][:warm]:
            baselines[kind](i)
    samples: dict[str, list[int]] = {
        "handler_by_id": [],
        "baseline_by_id": [],
        "handler_by_email": [],
        "baseline_by_email": [],
    }
    for round_ in range(rounds):
        for kind in ("id", "email"):
            size = math.ceil(len(targets[kind]) / rounds)
            part = slice(round_ * size, (round_ + 1) * size)
            gc.collect()
            samples[f"handler_by_{kind}"] += timed(invoke, events[kind][part])
            samples[f"baseline_by_{kind}"] += timed(baselines[kind], targets[kind][part])
    handler.use_service(None)
    return {name: percentiles(values) for name, values in samples.items()}


class Progress:
    """A store that prints how far a long load got (moto at 100k takes tens of minutes)."""

    def __init__(self, store: ProfileStore, console: Console) -> None:
        self._store = store
        self._console = console

    def replace_all(self, batches: Any) -> Any:
        def counted() -> Any:
            done, started = 0, time.perf_counter()
            for batch in batches:
                yield batch
                done += len(batch)
                if done % 10_000 < len(batch):
                    self._console.print(
                        f"  {done:,} profiles written in {time.perf_counter() - started:,.0f} s"
                    )
            self._console.print("  finding profiles to delete (a scan) …")

        return self._store.replace_all(counted())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def load_row(name: str, report: LookupLoadReport, note: str) -> dict[str, Any]:
    return {
        "store": name,
        "profiles": report.profiles,
        "written": report.loaded,
        "unchanged": report.unchanged,
        "deleted": report.deleted,
        "seconds": round(report.seconds, 2),
        "profiles_per_second": round(report.profiles_per_second),
        "buckets": report.buckets,
        "note": note,
    }


def document_sizes(path: Path, sample: int) -> dict[str, float]:
    """Document and DynamoDB item sizes over a random sample of the loaded profiles."""
    connection = sqlite3.connect(path)
    rows = connection.execute(
        "SELECT p.profile_id, p.document, p.digest, "
        "(SELECT group_concat(identifier, char(10)) FROM identifiers i WHERE i.profile_id = p.profile_id) "
        "FROM profiles p ORDER BY random() LIMIT ?",
        (sample,),
    ).fetchall()
    connection.close()
    json_bytes, compressed, identifiers, items = [], [], [], []
    for profile_id, document, digest, keys in rows:
        keys = (keys or "").split("\n") if keys else []
        packed = len(zlib.compress(document, 6))
        json_bytes.append(len(document))
        compressed.append(packed)
        identifiers.append(len(keys))
        # DynamoDB's item size: attribute names + values (a list element costs 1 byte more, a list 3)
        items.append(
            len("pk")
            + len(f"PROFILE#{profile_id}")
            + len("sk")
            + len("PROFILE")
            + len("doc")
            + packed
            + len("digest")
            + len(digest)
            + len("ids")
            + 3
            + sum(len(k) + 1 for k in keys)
        )
    return {
        "json_bytes_mean": round(statistics.fmean(json_bytes)),
        "json_bytes_max": max(json_bytes),
        "zlib_bytes_mean": round(statistics.fmean(compressed)),
        "compression_ratio": round(statistics.fmean(json_bytes) / statistics.fmean(compressed), 2),
        "identifiers_per_profile": round(statistics.fmean(identifiers), 2),
        "profile_item_bytes_mean": round(statistics.fmean(items)),
        "profile_item_bytes_max": max(items),
        "profile_item_write_units_mean": round(statistics.fmean(math.ceil(b / 1024) for b in items), 2),
        "plain_json_item_write_units_mean": round(
            statistics.fmean(
                math.ceil((b - c + j) / 1024) for b, c, j in zip(items, compressed, json_bytes, strict=True)
            ),
            2,
        ),
    }


def million_estimate(sizes: dict[str, float], cpu_rate: float, changed: float) -> dict[str, Any]:
    """A loader invocation's time at 1M profiles: the larger of our CPU and DynamoDB's documented capacity."""
    n = 1_000_000
    item_wru = sizes["profile_item_write_units_mean"]
    ids = sizes["identifiers_per_profile"]
    table_bytes = n * (sizes["profile_item_bytes_mean"] + ids * 60)
    cpu_seconds = n / cpu_rate
    first_wru = n * (item_wru + ids)  # every profile item and identifier item is new
    steady_wru = n * changed * item_wru  # changed profiles rewrite their item; identifiers unchanged
    # reads: one strongly consistent BatchGetItem read per profile (items < 4 KB: 1 unit) and a consistent
    # scan of the whole table (1 unit per 4 KB)
    read_units = n + table_bytes / 4096
    first = max(
        cpu_seconds, first_wru / NEW_ON_DEMAND_WRITES_PER_SECOND, read_units / NEW_ON_DEMAND_READS_PER_SECOND
    )
    steady = max(
        cpu_seconds, steady_wru / NEW_ON_DEMAND_WRITES_PER_SECOND, read_units / NEW_ON_DEMAND_READS_PER_SECOND
    )
    return {
        "profiles": n,
        "loader_cpu_seconds_one_core": round(cpu_seconds),
        "first_load_write_units": round(first_wru),
        "first_load_seconds_at_new_table_capacity": round(first),
        "first_load_invocations": math.ceil(first / LAMBDA_BUDGET_SECONDS),
        "steady_reload_changed_share": changed,
        "steady_reload_write_units": round(steady_wru),
        "steady_reload_read_units": round(read_units),
        "steady_reload_seconds": round(steady),
        "steady_reload_invocations": math.ceil(steady / LAMBDA_BUDGET_SECONDS),
        "assumptions": (
            f"new on-demand table: {NEW_ON_DEMAND_WRITES_PER_SECOND:,} write and "
            f"{NEW_ON_DEMAND_READS_PER_SECOND:,} read request units/s (DynamoDB developer guide, on-demand "
            f"capacity mode); {LAMBDA_BUDGET_SECONDS} s of a 900 s invocation; loader CPU as measured here "
            "on one core against the in-memory store"
        ),
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=150)
    rng = random.Random(args.seed)
    neighbours = CpuNeighbours()
    machine = {
        "cpu_model": cpu_model(),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "git_commit": git_commit(),
        "work_filesystem": filesystem_of(args.work_root),
        "load_average_before": load_average(),
    }
    started = time.perf_counter()
    results: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "args": {
            "profiles": args.profiles,
            "lookups": args.lookups,
            "rounds": args.rounds,
            "changed": args.changed,
        },
    }
    with TemporaryDirectory(prefix="cdp-bench-lookup-", dir=args.work_root) as work:
        root = Path(work)
        console.print(f"building a lake of {args.profiles:,} profiles …")
        lake = build_lake(root / "lake", args.profiles, seed=args.seed)
        results["lake"] = {
            "profiles": lake.profiles,
            "trait_rows": lake.trait_rows,
            "membership_rows": lake.membership_rows,
        }
        files = LakeFiles(lake.root)
        loads = []

        console.print("loading: in-memory store (the loader's own CPU cost) …")
        memory_report = refresh_lookup(files, InMemoryProfileStore())
        loads.append(load_row("memory", memory_report, "read + documents + diff, no store I/O"))
        del memory_report

        console.print("loading: SQLite …")
        sqlite_path = root / "profile_lookup.sqlite3"
        sqlite_store = SqliteProfileStore(path=sqlite_path)
        loads.append(load_row("sqlite", refresh_lookup(files, sqlite_store), "first load, empty store"))
        changed = change_profiles(lake.root, args.changed, run_id="20261129T000000Z-bench2")
        loads.append(load_row("sqlite", refresh_lookup(files, sqlite_store), f"{changed:,} profiles changed"))
        loads.append(load_row("sqlite", refresh_lookup(files, sqlite_store), "nothing changed"))
        results["documents"] = document_sizes(sqlite_path, 2_000)

        targets = [rng.randrange(args.profiles) for _ in range(args.lookups)]
        console.print(f"timing {args.lookups:,} lookups per series against SQLite …")
        raw = sqlite3.connect(sqlite_path, check_same_thread=False)

        def sqlite_by_id(i: int) -> object:
            row = raw.execute(
                "SELECT document FROM profiles WHERE profile_id = ?", (profile_id_of(i),)
            ).fetchone()
            return json.loads(row[0])

        def sqlite_by_email(i: int) -> object:  # the key as stored: no normalization
            [(profile_id,)] = raw.execute(
                "SELECT profile_id FROM identifiers WHERE identifier = ?", (f"EMAIL#{email_of(i)}",)
            ).fetchall()
            row = raw.execute("SELECT document FROM profiles WHERE profile_id = ?", (profile_id,)).fetchone()
            return json.loads(row[0])

        latency = {
            "sqlite": latency_series(
                sqlite_store, {"id": sqlite_by_id, "email": sqlite_by_email}, targets, targets, args.rounds
            )
        }
        raw.close()

        if not args.skip_moto:
            import boto3
            from moto import mock_aws

            from cdp.adapters.aws_dynamodb_profiles import PARTITION_KEY, SORT_KEY, DynamoDbProfileStore

            with mock_aws():
                client = boto3.client("dynamodb", region_name=MOTO_REGION)
                client.create_table(
                    TableName="bench-profiles",
                    KeySchema=[
                        {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
                        {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
                    ],
                    AttributeDefinitions=[
                        {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
                        {"AttributeName": SORT_KEY, "AttributeType": "S"},
                    ],
                    BillingMode="PAY_PER_REQUEST",
                )
                dynamo = DynamoDbProfileStore(table_name="bench-profiles", client=client)
                console.print("loading: moto DynamoDB (in-process; moto's own Python dominates) …")
                report = refresh_lookup(files, Progress(dynamo, console))
                loads.append(load_row("dynamodb-moto", report, "first load, empty table"))
                console.print(f"timing {args.lookups:,} lookups per series against moto …")

                def moto_document(profile_id: str) -> object:
                    item = client.get_item(
                        TableName="bench-profiles",
                        Key={PARTITION_KEY: {"S": f"PROFILE#{profile_id}"}, SORT_KEY: {"S": "PROFILE"}},
                        ProjectionExpression="doc",
                    )["Item"]
                    return json.loads(zlib.decompress(item["doc"]["B"]))

                def moto_by_email(i: int) -> object:
                    [found] = client.query(
                        TableName="bench-profiles",
                        KeyConditionExpression="pk = :k",
                        ExpressionAttributeValues={":k": {"S": f"EMAIL#{email_of(i)}"}},
                    )["Items"]
                    return moto_document(found[SORT_KEY]["S"].removeprefix("PROFILE#"))

                latency["dynamodb-moto"] = latency_series(
                    dynamo,
                    {"id": lambda i: moto_document(profile_id_of(i)), "email": moto_by_email},
                    targets,
                    targets[: args.moto_email_lookups],
                    args.rounds,
                )

    cpu_rate = loads[0]["profiles_per_second"]
    results["loads"] = loads
    results["latency"] = latency
    results["ratios"] = {
        backend: {
            f"p50_handler_by_{kind}_vs_baseline": round(
                series[f"handler_by_{kind}"]["p50_us"] / series[f"baseline_by_{kind}"]["p50_us"], 2
            )
            for kind in ("id", "email")
        }
        for backend, series in latency.items()
    }
    results["estimate_1m"] = million_estimate(results["documents"], cpu_rate, args.changed)
    machine["load_average_after"] = load_average()
    machine["other_processes_cpu_share"] = neighbours.share()
    results["machine"] = machine
    results["seconds"] = round(time.perf_counter() - started, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    render(console, results)
    console.print(f"wrote {args.output} in {results['seconds']} s")
    return 0


def render(console: Console, results: dict[str, Any]) -> None:
    machine = results["machine"]
    console.print(
        f"{machine['cpu_model']}, {machine['cpus']} CPUs, Python {machine['python']}, "
        f"work on {machine['work_filesystem']}, other processes used "
        f"{(machine['other_processes_cpu_share'] or 0):.0%} of the CPUs"
    )
    table = Table(
        "store", "series", "p50 µs", "p90 µs", "p99 µs", "mean µs", "p50 / baseline", title="lookup latency"
    )
    for backend, series in results["latency"].items():
        for name, stats in series.items():
            baseline = series["baseline_by_" + name.rsplit("_by_", 1)[1]]["p50_us"]
            table.add_row(
                backend,
                name,
                f"{stats['p50_us']:,.1f}",
                f"{stats['p90_us']:,.1f}",
                f"{stats['p99_us']:,.1f}",
                f"{stats['mean_us']:,.1f}",
                f"{stats['p50_us'] / baseline:.2f}",
            )
    console.print(table)
    loads = Table(
        "store",
        "profiles",
        "written",
        "unchanged",
        "deleted",
        "seconds",
        "profiles/s",
        "note",
        title="loader",
    )
    for row in results["loads"]:
        loads.add_row(
            row["store"],
            f"{row['profiles']:,}",
            f"{row['written']:,}",
            f"{row['unchanged']:,}",
            f"{row['deleted']:,}",
            f"{row['seconds']:.1f}",
            f"{row['profiles_per_second']:,}",
            row["note"],
        )
    console.print(loads)
    console.print({"documents": results["documents"], "estimate_1m": results["estimate_1m"]})


if __name__ == "__main__":
    sys.exit(main())
