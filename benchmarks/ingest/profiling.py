"""``--profile``: cProfile of the handler on single ``/v1/track`` requests, the workload nearest the target.

cProfile roughly doubles the cost of Python calls, so read shares, not absolute times; the layer table of
the normal run gives the unprofiled split.
"""

from __future__ import annotations

import cProfile
import io
import pstats
from contextlib import redirect_stdout
from pathlib import Path
from types import ModuleType

from rich.console import Console

from benchmarks.ingest.throughput import StdoutCounter, create_bench_source, wire_local_service
from benchmarks.ingest.workloads import SegmentTraffic, track_requests
from cdp.localapi.apigw import LocalLambdaContext


def profile_track(
    handler: ModuleType, lake: Path, stats_path: Path, console: Console, count: int = 3000
) -> None:
    key = create_bench_source(lake)
    requests = track_requests(SegmentTraffic(seed=3), key.write_key, count)
    handler.use_service(wire_local_service(lake))
    context = LocalLambdaContext(function_name="cdp-ingest")
    profiler = cProfile.Profile()
    with redirect_stdout(StdoutCounter()):
        for request in requests[:200]:
            handler.lambda_handler(request.event, context)
        profiler.enable()
        for request in requests:
            handler.lambda_handler(request.event, context)
        profiler.disable()
    stats_path.parent.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(stats_path)
    for order in ("cumulative", "tottime"):
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).strip_dirs().sort_stats(order).print_stats(25)
        console.rule(f"cProfile, {count} × /v1/track, by {order}")
        console.print(text.getvalue(), markup=False, highlight=False)
    console.print(f"profile written to {stats_path} (open with `python -m pstats` or snakeviz)")
