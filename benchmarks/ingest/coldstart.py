"""Cold start of the ingest handler: fresh interpreters, timed from outside, beside a bare interpreter start.

Each round starts one process per variant, in turn, so slow drift (a busy neighbour, a cache) hits every
variant alike; the cost of the handler is the per-round difference to the bare ``python -c pass``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from benchmarks.ingest.throughput import create_bench_source
from benchmarks.ingest.workloads import SegmentTraffic, track_requests

BARE = "bare"
IMPORT = "import"
FIRST_INVOCATION = "first_invocation"

_FIRST_INVOCATION_SCRIPT = """\
import sys
import lambdas.ingest.handler as handler
import orjson
from cdp.localapi.apigw import LocalLambdaContext
with open(sys.argv[1], "rb") as file:
    event = orjson.loads(file.read())
response = handler.lambda_handler(event, LocalLambdaContext(function_name="cdp-ingest"))
sys.exit(0 if response["statusCode"] == 200 else 3)
"""

_PROBE_SCRIPT = """\
import sys
import lambdas.ingest.handler as handler
import orjson
loaded = {"after_import": sorted(m for m in sys.modules if m.split(".")[0] in {"boto3", "botocore"})}
if len(sys.argv) > 1:
    from cdp.localapi.apigw import LocalLambdaContext
    with open(sys.argv[1], "rb") as file:
        event = orjson.loads(file.read())
    response = handler.lambda_handler(event, LocalLambdaContext(function_name="cdp-ingest"))
    loaded["status"] = response["statusCode"]
    loaded["after_first_invocation"] = sorted(
        m for m in sys.modules if m.split(".")[0] in {"boto3", "botocore"}
    )
loaded["modules"] = len(sys.modules)
sys.stdout.write(orjson.dumps(loaded).decode())
"""


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    label: str
    argv: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ColdStart:
    """Milliseconds per fresh process, per variant, and each variant's per-round cost beyond bare."""

    samples_ms: Mapping[str, list[float]]
    labels: Mapping[str, str]

    def median(self, variant: str) -> float:
        return statistics.median(self.samples_ms[variant])

    def p90(self, variant: str) -> float:
        return _p90(self.samples_ms[variant])

    def beyond_bare(self, variant: str) -> list[float]:
        return [
            sample - bare
            for sample, bare in zip(self.samples_ms[variant], self.samples_ms[BARE], strict=True)
        ]

    def as_json(self) -> dict[str, Any]:
        variants: dict[str, Any] = {}
        for name, samples in self.samples_ms.items():
            entry: dict[str, Any] = {
                "command": self.labels[name],
                "median_ms": round(self.median(name), 1),
                "p90_ms": round(self.p90(name), 1),
                "min_ms": round(min(samples), 1),
                "samples_ms": [round(sample, 1) for sample in samples],
            }
            if name != BARE:
                beyond = self.beyond_bare(name)
                entry["beyond_bare_median_ms"] = round(statistics.median(beyond), 1)
                entry["beyond_bare_p90_ms"] = round(_p90(beyond), 1)
            variants[name] = entry
        return variants


def prepare_first_invocation(work: Path) -> tuple[Path, Path]:
    """A lake with a ``bench`` source and one ``/v1/track`` API Gateway event for it, as a JSON file."""
    lake = work / "lake"
    key = create_bench_source(lake)
    request = track_requests(SegmentTraffic(seed=7), key.write_key, 1)[0]
    event_file = work / "event.json"
    event_file.write_bytes(orjson.dumps(request.event))
    return lake, event_file


def child_environment(lake: Path) -> dict[str, str]:
    """The parent's environment minus any ``CDP_*``/``POWERTOOLS_*``, plus what a local runtime sets."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CDP_", "POWERTOOLS_"))}
    env.update(
        {
            "CDP_LAKE": str(lake),
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
        }
    )
    return env


def variants(event_file: Path) -> list[Variant]:
    python = sys.executable
    return [
        Variant(BARE, 'python -c "pass"', (python, "-c", "pass")),
        Variant(
            IMPORT,
            'python -c "import lambdas.ingest.handler"',
            (python, "-c", "import lambdas.ingest.handler"),
        ),
        Variant(
            FIRST_INVOCATION,
            "python -c <import handler; one /v1/track event through lambda_handler>",
            (python, "-c", _FIRST_INVOCATION_SCRIPT, str(event_file)),
        ),
    ]


def measure(runs: int, work: Path, cwd: Path, warmup: int = 2) -> ColdStart:
    lake, event_file = prepare_first_invocation(work)
    env = child_environment(lake)
    chosen = variants(event_file)
    samples: dict[str, list[float]] = {variant.name: [] for variant in chosen}
    for round_number in range(warmup + runs):
        for variant in chosen:
            elapsed = _time_process(variant.argv, env, cwd)
            if round_number >= warmup:
                samples[variant.name].append(elapsed * 1000)
    return ColdStart(samples, {variant.name: variant.label for variant in chosen})


def probe_modules(work: Path, cwd: Path) -> dict[str, Any]:
    """Which AWS SDK modules the handler pulls in, on import and after a first invocation (untimed)."""
    lake, event_file = prepare_first_invocation(work / "probe")
    env = child_environment(lake)
    report: dict[str, Any] = {}
    for name, extra in (("import", ()), ("first_invocation", (str(event_file),))):
        completed = subprocess.run(
            (sys.executable, "-c", _PROBE_SCRIPT, *extra),
            env=env,
            cwd=cwd,
            capture_output=True,
            check=True,
        )
        report[name] = orjson.loads(completed.stdout)
    imported = report["import"]["after_import"]
    invoked = report["first_invocation"].get("after_first_invocation", [])
    return {
        "boto3_imported_by_handler_import": "boto3" in imported,
        "botocore_imported_by_handler_import": "botocore" in imported,
        "boto3_imported_by_first_invocation": "boto3" in invoked,
        "modules_after_import": report["import"]["modules"],
        "modules_after_first_invocation": report["first_invocation"]["modules"],
        "first_invocation_status": report["first_invocation"].get("status"),
    }


def _time_process(argv: tuple[str, ...], env: Mapping[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    completed = subprocess.run(
        argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(
            f"cold-start child {argv[:2]} exited {completed.returncode}: {completed.stderr.decode()[-2000:]}"
        )
    return elapsed


def _p90(samples: list[float]) -> float:
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=10, method="inclusive")[8]
