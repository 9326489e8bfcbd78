"""``python -m benchmarks.identity.scale TASK``: one synthetic scale run in a fresh process, JSON on stdout.

A fresh process per run, so its peak RSS is its own (``VmHWM``, reset after the data is generated) and a
run that exhausts memory takes only itself down. ``TASK`` is a JSON object: ``people``, ``contender``
(``cdp-match`` or ``scorer``), ``threshold``, ``diagnose``.
"""

from __future__ import annotations

import gc
import logging
import sys
import time
from typing import Any

import orjson

from benchmarks.identity.contenders import peak_rss_mb, reset_peak_rss, run_cdp_match, run_scorer, status_mb
from benchmarks.identity.datasets import synthetic
from cdp.identity.probabilistic import MatchSettings

RUNNERS = {"cdp-match": run_cdp_match, "scorer": run_scorer}


def main(argv: list[str]) -> int:
    task: dict[str, Any] = orjson.loads(argv[0])
    logging.getLogger("splink").setLevel(logging.ERROR)
    run = RUNNERS[task["contender"]]
    started = time.perf_counter()
    dataset = synthetic(task["people"])
    generated = time.perf_counter() - started
    gc.collect()
    rss_before = status_mb("VmRSS")
    peak_known = reset_peak_rss()
    outcome = run(dataset, MatchSettings(threshold=task["threshold"]), diagnose=task.get("diagnose", False))
    result = {
        "people": task["people"],
        "generation_seconds": round(generated, 1),
        "rss_before_mb": rss_before,
        "peak_rss_known": peak_known,
        **outcome.as_json(),
    }
    if not peak_known:
        result["peak_rss_mb"] = peak_rss_mb()  # since the process started: includes the generation
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
