"""``python -m benchmarks.privacy``: access requests and erasure on a retailer's lake of ``--people``
(default 100,000) people, beside the floor every whole-lake proof must pay, in one run.

The lake is built through the product's own paths: the sample retailer (CRM in TIS-620, shop orders,
survey, app events), its app events through the ingestion service in-process (the HTTP layer is not what
is measured), its files through the import service, then standardize → resolve → profiles → lookup on
DuckDB. Then, for ``--requests`` people picked with a fixed seed among those with an e-mail:

1. **access**: :meth:`PrivacyService.access` (resolve through the graph, read every file, collect rows);
2. **erasure**: :meth:`PrivacyService.erase` (resolve, journal, tombstones, rewrite what holds the
   person, lookup store, proof scan of every file, report);
3. **baseline — read the lake**: every file read once and every Parquet file decoded, nothing matched:
   the floor of any erasure that proves itself by looking everywhere. Measured before each erasure.

Reported: seconds per access and per erasure (median), files scanned and rewritten, rows removed, and the
ratio erasure / read-the-lake.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import time
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path
from tempfile import mkdtemp
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from benchmarks.batch.__main__ import default_work_root
from benchmarks.machine import REPO, CpuNeighbours, describe_machine
from cdp.adapters.local_imports import LocalImportStore
from cdp.adapters.local_sink import LocalLakeEventSink
from cdp.adapters.memory import InMemoryWriteKeyStore
from cdp.engine.duckdb_engine import DuckDbEngine
from cdp.imports.mapping import load_mapping
from cdp.imports.service import ImportService
from cdp.ingestion.ratelimit import TokenBucketLimiter
from cdp.ingestion.service import IngestionService, IngestRequest
from cdp.lake import LocalLake
from cdp.lakefs import LakeFiles
from cdp.pipeline.runner import run_pipeline
from cdp.privacy.models import SubjectQuery
from cdp.privacy.subject import read_current
from cdp.privacy.wiring import local_privacy_service
from cdp.sampledata.population import AS_OF
from cdp.sampledata.retailer import generate_retailer
from cdp.settings import IngestionLimits
from cdp.tables import PROFILES

DEFAULT_OUTPUT = REPO / "benchmarks" / "results" / "privacy.json"
MAPPINGS = REPO / "examples" / "mappings"
BATCH = 400


def build_lake(root: Path, people: int, console: Console) -> dict[str, float]:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    dataset = generate_retailer(root.parent / "sample", people=people)
    timings["generate"] = time.perf_counter() - started
    lake = LocalLake.at(root)
    keys = InMemoryWriteKeyStore()
    key = keys.create_source("app").write_key
    service = IngestionService(
        sink=LocalLakeEventSink(lake),
        keys=keys,
        limiter=TokenBucketLimiter(rate_per_second=1e9, burst=10**9),
        limits=IngestionLimits(),
        zone=ZoneInfo("Asia/Bangkok"),
    )
    started = time.perf_counter()
    batch: list[bytes] = []
    with dataset.app.path.open("rb") as lines:
        for line in lines:
            batch.append(line.rstrip(b"\n"))
            if len(batch) == BATCH:
                _send(service, key, batch)
                batch = []
    if batch:
        _send(service, key, batch)
    timings["ingest"] = time.perf_counter() - started
    started = time.perf_counter()
    imports = ImportService(LocalImportStore(lake))
    for source in (dataset.crm, dataset.shop, dataset.survey):
        mapping = load_mapping(MAPPINGS / (source.mapping or ""))
        imports.import_file(source.source, source.path.name, source.path.read_bytes(), mapping)
    timings["import"] = time.perf_counter() - started
    started = time.perf_counter()
    engine = DuckDbEngine()
    try:
        run_pipeline(
            LakeFiles(lake.root),
            engine,
            steps=("standardize", "resolve", "profiles", "lookup"),
            as_of=datetime.combine(AS_OF, clock_time(23, 59, 59), tzinfo=UTC),
        )
    finally:
        engine.close()
    timings["pipeline"] = time.perf_counter() - started
    console.print(f"lake built: {', '.join(f'{k} {v:.1f} s' for k, v in timings.items())}")
    return timings


def _send(service: IngestionService, key: str, lines: list[bytes]) -> None:
    body = b'{"writeKey":"' + key.encode() + b'","batch":[' + b",".join(lines) + b"]}"
    response = service.handle(IngestRequest(call="batch", body=body, headers={}))
    if response.status != 200:
        raise RuntimeError(f"ingest failed: {response.status} {response.body}")


def read_the_lake(root: Path) -> tuple[float, int, int]:
    """The baseline: read every file, decode every Parquet file; seconds, files, bytes."""
    started = time.perf_counter()
    files, size = 0, 0
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        files += 1
        size += len(data)
        if path.suffix == ".parquet":
            pq.read_table(pa.BufferReader(data), use_threads=False)
    return time.perf_counter() - started, files, size


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.privacy")
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=3)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--keep", action="store_true", help="Keep the lake (printed) for inspection.")
    arguments = parser.parse_args(argv)
    console = Console()
    work = Path(mkdtemp(prefix="cdp-bench-privacy-", dir=default_work_root()))
    neighbours = CpuNeighbours()
    try:
        root = work / "lake"
        build = build_lake(root, arguments.people, console)
        files = LakeFiles(root)
        profiles = read_current(files, PROFILES, ("profile_id", "primary_email"))
        assert profiles is not None
        candidates = sorted(
            email for email in profiles.column("primary_email").to_pylist() if email and "@" in email
        )
        picked = random.Random(7).sample(candidates, arguments.requests)  # a fixed sample
        rows: list[dict[str, Any]] = []
        for email in picked:
            baseline, scanned, size = read_the_lake(root)
            service = local_privacy_service(root)
            query = SubjectQuery(emails=(email,))
            started = time.perf_counter()
            document = service.access(query)
            access_seconds = time.perf_counter() - started
            started = time.perf_counter()
            report = service.erase(query)
            erase_seconds = time.perf_counter() - started
            if not report.proven:
                raise RuntimeError(f"erasure {report.request_id} not proven: {report.proof}")
            rows.append(
                {
                    "access_seconds": access_seconds,
                    "access_rows": sum(document["summary"].values()),
                    "erase_seconds": erase_seconds,
                    "read_lake_seconds": baseline,
                    "files_scanned": report.files_scanned,
                    "files_rewritten": report.files_rewritten,
                    "rows_removed": sum(report.rows_removed.values()),
                    "lake_files": scanned,
                    "lake_mb": size / 1e6,
                }
            )
        busy = neighbours.share()
        summary = {
            "people": arguments.people,
            "profiles": profiles.num_rows,
            "build_seconds": build,
            "requests": rows,
            "median_access_seconds": statistics.median(r["access_seconds"] for r in rows),
            "median_erase_seconds": statistics.median(r["erase_seconds"] for r in rows),
            "median_read_lake_seconds": statistics.median(r["read_lake_seconds"] for r in rows),
            "median_ratio": statistics.median(r["erase_seconds"] / r["read_lake_seconds"] for r in rows),
            "neighbour_cpu_share": busy,
            "machine": describe_machine(work),
        }
        table = Table("request", "access s", "erase s", "read-the-lake s", "ratio", "files scanned",
                      "rewritten", "rows removed", "lake MB")  # fmt: skip
        for index, row in enumerate(rows, start=1):
            table.add_row(
                str(index),
                f"{row['access_seconds']:.2f}",
                f"{row['erase_seconds']:.2f}",
                f"{row['read_lake_seconds']:.2f}",
                f"{row['erase_seconds'] / row['read_lake_seconds']:.2f}",
                f"{row['files_scanned']:,}",
                f"{row['files_rewritten']:,}",
                f"{row['rows_removed']:,}",
                f"{row['lake_mb']:.0f}",
            )
        console.print(table)
        console.print(
            f"{profiles.num_rows:,} profiles; median erasure {summary['median_erase_seconds']:.2f} s = "
            f"{summary['median_ratio']:.2f}x reading the lake once; neighbours used {busy:.0%} of the CPU"
        )
        arguments.output.parent.mkdir(parents=True, exist_ok=True)
        arguments.output.write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2) + b"\n")
    finally:
        if arguments.keep:
            console.print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
