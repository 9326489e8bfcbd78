"""End-to-end fixtures: the installed ``cdp`` command and a running ``cdp serve``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest

CDP = shutil.which("cdp", path=str(Path(sys.executable).parent)) or "cdp"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: the example sources: name, data file (examples/data) and mapping (examples/mappings)
EXAMPLE_IMPORTS = {
    "crm": ("crm_customers.csv", "crm_customers.yaml"),
    "shop": ("shop_orders.jsonl", "shop_orders.yaml"),
    "survey": ("survey.csv", "survey.yaml"),
}


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str


def cdp(*args: str, lake: Path, timeout: float = 60) -> CliResult:
    """Run the installed ``cdp`` command (a real process) against ``lake``."""
    completed = subprocess.run(
        [CDP, *args, "--lake", str(lake)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


def import_examples(lake: Path, *sources: str) -> None:
    """``cdp import`` of the example files of ``sources`` (all three when none is named), each with its
    mapping, as a user runs it; each must succeed."""
    for source in sources or tuple(EXAMPLE_IMPORTS):
        data, mapping = EXAMPLE_IMPORTS[source]
        imported = cdp(
            "import",
            source,
            str(EXAMPLES / "data" / data),
            "--mapping",
            str(EXAMPLES / "mappings" / mapping),
            lake=lake,
        )
        assert imported.code == 0, imported.stderr


def query_json(sql: str, lake: Path) -> list[dict[str, Any]]:
    result = cdp("query", sql, "--format", "json", lake=lake)
    assert result.code == 0, result.stderr
    rows: list[dict[str, Any]] = orjson.loads(result.stdout)
    return rows


@dataclass(frozen=True)
class RunningServer:
    url: str
    lake: Path
    process: subprocess.Popen[str]


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    return tmp_path / "lake"


@pytest.fixture
def server(lake: Path) -> Iterator[RunningServer]:
    process = subprocess.Popen(
        [CDP, "serve", "--lake", str(lake), "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "300"},
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 30
    url = None
    while url is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        url = match.group(0) if match else None
    if url is None:
        process.kill()
        pytest.fail(f"cdp serve did not start: {process.stderr.read() if process.stderr else ''}")
    yield RunningServer(url=url, lake=lake, process=process)
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
