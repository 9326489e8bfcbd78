"""What the numbers were measured on: CPU, versions, commit, file system, and the neighbours' CPU use."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Final

REPO: Final = Path(__file__).resolve().parents[1]  # benchmarks/machine.py → the repository
PACKAGES: Final = ("pyarrow", "duckdb", "pyspark", "phonenumbers", "email-validator", "orjson")


def describe_machine(work_root: Path) -> dict[str, Any]:
    return {
        "cpu_model": cpu_model(),
        "cpus": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "memory_gb": _memory_gb(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "java": _java_version(),
        "load_average_before": load_average(),
        "git_commit": git_commit(),
        "packages": {name: _version(name) for name in PACKAGES},
        "executable": sys.executable,
        "work_root": str(work_root),
        "work_filesystem": filesystem_of(work_root),
        "work_free_gb": round(shutil.disk_usage(work_root).free / 1e9, 1),
    }


def filesystem_of(path: Path) -> str:
    """The type of the file system ``path`` is on (``tmpfs``, ``ext4`` …), from ``/proc/mounts``."""
    best, kind = "", "unknown"
    resolved = str(path.resolve())
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return kind
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1]
        if (resolved == point or resolved.startswith(point.rstrip("/") + "/")) and len(point) > len(best):
            best, kind = point, fields[2]
    return kind


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


class CpuNeighbours:
    """How much of the machine others used while we ran: ``/proc/stat`` busy time minus our process tree's.

    Our workers are waited-for children, so their CPU time is in ``os.times().children_*`` once they end.
    A share above ~10 % on this 2-core VM means the wall-clock figures are suspect: rerun.
    """

    def __init__(self) -> None:
        self._start = self._sample()

    def share(self, untracked: float = 0.0) -> float | None:
        """``untracked``: CPU seconds of ours that ``os.times`` cannot see (processes nobody reaped)."""
        end = self._sample()
        if self._start is None or end is None:
            return None
        total = end[0] - self._start[0]
        busy = end[1] - self._start[1]
        ours = end[2] - self._start[2] + untracked
        return round(max(0.0, busy - ours) / total, 3) if total > 0 else None

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        try:
            fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        except (OSError, ValueError):
            return None
        tick = os.sysconf("SC_CLK_TCK")
        idle = fields[3] + fields[4]
        total = sum(fields[:8])
        own = os.times()
        ours = own.user + own.system + own.children_user + own.children_system
        return total / tick, (total - idle) / tick, ours


def _version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError):
        pass
    return None


def _java_version() -> str | None:
    try:
        completed = subprocess.run(("java", "-version"), capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    lines = completed.stderr.strip().splitlines()
    return lines[0] if lines else None


def git_commit() -> str | None:
    try:
        completed = subprocess.run(
            ("git", "rev-parse", "--short", "HEAD"), cwd=REPO, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return completed.stdout.strip()
