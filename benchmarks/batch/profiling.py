"""``--profile``: cProfile of one import and one DuckDB standardize per file, in fresh worker processes.

cProfile slows Python's many small calls down 3-5× here and does not see inside DuckDB's or pyarrow's C++, so
its shares overstate the Python parts; the timed runs give the unprofiled figures.
"""

from __future__ import annotations

import io
import pstats
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from benchmarks.batch.data import BenchFile

if TYPE_CHECKING:
    from benchmarks.batch.__main__ import Workers

TOP = 25


def profile_file(
    file: BenchFile, directory: Path, warm: dict[str, Path], results: Path, workers: Workers, console: Console
) -> None:
    source = file.source
    lake = directory / f"lake-profile-{source}"
    import_stats = results / f"batch-import-{source}.prof"
    standardize_stats = results / f"batch-standardize-{source}.prof"
    workers.run(
        f"profile: import {source}",
        {
            "kind": "import",
            "source": source,
            "file": str(file.path),
            "mapping": str(file.mapping),
            "lake": str(lake),
            "warmup_file": str(warm["file"]),
            "scratch": str(directory / f"scratch-profile-{source}"),
            "profile": str(import_stats),
        },
    )
    workers.run(
        f"profile: standardize {source} on duckdb",
        {
            "kind": "standardize",
            "engine": "duckdb",
            "lake": str(lake),
            "warmup_lake": str(warm["lake"]),
            "profile": str(standardize_stats),
        },
    )
    shutil.rmtree(lake, ignore_errors=True)
    for what, path in (("import", import_stats), ("standardize (DuckDB)", standardize_stats)):
        for order in ("tottime", "cumulative"):
            text = io.StringIO()
            pstats.Stats(str(path), stream=text).strip_dirs().sort_stats(order).print_stats(TOP)
            console.rule(f"cProfile: {what}, {file.path.name}, {file.rows:,} rows, by {order}")
            console.print(text.getvalue(), markup=False, highlight=False, soft_wrap=True)
        console.print(f"profile written to {path} (open with `python -m pstats` or snakeviz)")
