"""Build the ingest function's asset folder without Docker: our code + its runtime wheels for Lambda.

    python scripts/build_lambda_assets.py            # build build/lambda/ingest (cached; prints its size)
    python scripts/build_lambda_assets.py --force    # rebuild even if the inputs did not change
    python scripts/build_lambda_assets.py --lock     # re-pin requirements/lambda-ingest.txt (needs PyPI)

The folder holds ``cdp/`` (src/cdp), ``lambdas/`` and the wheels of requirements/lambda-ingest.txt installed
with ``pip install --target`` for the Lambda platform (manylinux2014 aarch64, CPython 3.11, binary wheels
only, hashes required, no dependency resolution at build time). boto3 is not in it: the Lambda runtime
provides it, and the handler imports it only when an AWS adapter makes its first client.

Deterministic: files are copied in sorted order, caches (``__pycache__``, ``*.pyc``) are never written,
pip's per-install markers are removed and every mtime is set to SOURCE_DATE_EPOCH (default 1980-01-01, the
zip epoch), so the same inputs give the same bytes and the same CDK asset hash. The build is skipped when a
hash of its inputs (this script, the lock file, the copied sources) matches the last build's.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lambda-ingest.txt"
OUT = ROOT / "build" / "lambda" / "ingest"

#: What the handler imports at runtime (besides the standard library and boto3 from the runtime).
TOP_LEVEL = ("aws-lambda-powertools", "pydantic", "orjson", "tzdata")
PLATFORM = ("--platform", "manylinux2014_aarch64", "--implementation", "cp", "--python-version", "3.11")
SOURCES = ((ROOT / "src" / "cdp", "cdp"), (ROOT / "lambdas", "lambdas"))
SKIPPED_PARTS = {"__pycache__"}
SKIPPED_SUFFIXES = {".pyc", ".pyo"}
ZIP_EPOCH = 315532800  # 1980-01-01T00:00:00Z


def _pip(*args: str) -> None:
    subprocess.run(  # noqa: S603 - this interpreter running pip with our own arguments
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args],
        check=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


def _source_files() -> Iterator[tuple[Path, str]]:
    for source, target in SOURCES:
        for path in sorted(source.rglob("*")):
            relative = path.relative_to(source)
            if (
                path.is_file()
                and not SKIPPED_PARTS & set(relative.parts)
                and path.suffix not in SKIPPED_SUFFIXES
            ):
                yield path, f"{target}/{relative.as_posix()}"


def inputs_digest() -> str:
    digest = hashlib.sha256()
    for path, name in [(Path(__file__), "build-script"), (LOCK, "lock"), *_source_files()]:
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _normalize(folder: Path, epoch: int) -> None:
    # console scripts (jmespath's jp.py) carry this machine's interpreter path in their shebang
    shutil.rmtree(folder / "bin", ignore_errors=True)
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_dir() and path.name in SKIPPED_PARTS:
            shutil.rmtree(path)
        elif path.is_file() and (path.suffix in SKIPPED_SUFFIXES or _is_install_marker(path)):
            path.unlink()
    for path in [folder, *folder.rglob("*")]:
        os.utime(path, (epoch, epoch), follow_symlinks=False)


def _is_install_marker(path: Path) -> bool:
    """pip's per-install files (installer, request flag, and RECORD, which hashes the console scripts);
    only an uninstall reads them, importlib.metadata needs METADATA alone."""
    return path.parent.name.endswith(".dist-info") and path.name in _INSTALL_MARKERS


_INSTALL_MARKERS = {"INSTALLER", "REQUESTED", "RECORD", "direct_url.json"}


def _stamp(out: Path) -> Path:
    """Beside the folder, not in it: the asset's bytes must not depend on how it was cached."""
    return out.parent / f"{out.name}.inputs-sha256"


def build(out: Path = OUT, *, force: bool = False) -> Path:
    digest = inputs_digest()
    stamp = _stamp(out)
    if not force and out.is_dir() and stamp.is_file() and stamp.read_text().strip() == digest:
        return out
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", ZIP_EPOCH))
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".ingest-") as temp:
        staging = Path(temp) / "asset"
        staging.mkdir()
        _pip(
            "install",
            "--quiet",
            "--target",
            str(staging),
            *PLATFORM,
            "--only-binary=:all:",
            "--no-deps",
            "--no-compile",
            "--require-hashes",
            "-r",
            str(LOCK),
        )
        for path, name in _source_files():
            destination = staging / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
        _normalize(staging, epoch)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    stamp.write_text(digest + "\n")
    return out


def zipped_size(folder: Path) -> int:
    """What Lambda receives: the folder zipped (deflate, as cdk-assets does)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.write(path, path.relative_to(folder).as_posix())
    return buffer.tell()


def _files(folder: Path) -> Iterable[Path]:
    return (path for path in folder.rglob("*") if path.is_file())


def lock() -> None:
    """Pin the top-level runtime packages to the versions the dev venv tests with, plus their dependencies
    as resolved for the Lambda platform, each with the sha256 of its aarch64 wheel."""
    pins = [f"{name}=={metadata.version(name)}" for name in TOP_LEVEL]
    with tempfile.TemporaryDirectory() as temp:
        _pip("download", "--quiet", "--dest", temp, *PLATFORM, "--only-binary=:all:", *pins)
        lines = []
        for wheel in sorted(Path(temp).glob("*.whl"), key=lambda w: w.name.lower()):
            name, version = wheel.name.split("-")[:2]
            sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
            lines.append(f"{name.replace('_', '-').lower()}=={version} \\\n    --hash=sha256:{sha}")
    LOCK.parent.mkdir(parents=True, exist_ok=True)
    LOCK.write_text(
        "# Runtime wheels of the ingest Lambda (Linux aarch64, CPython 3.11), installed with --no-deps.\n"
        "# Generated by `python scripts/build_lambda_assets.py --lock` from the dev venv's versions of\n"
        f"# {', '.join(TOP_LEVEL)}; boto3 is provided by the Lambda runtime.\n" + "\n".join(lines) + "\n"
    )
    print(f"pinned {len(lines)} packages in {LOCK.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", action="store_true", help="re-pin requirements/lambda-ingest.txt")
    parser.add_argument("--force", action="store_true", help="rebuild even if the inputs did not change")
    parser.add_argument(
        "--out", type=Path, default=OUT, help=f"asset folder (default {OUT.relative_to(ROOT)})"
    )
    args = parser.parse_args(argv)
    if args.lock:
        lock()
        return 0
    out = build(args.out.resolve(), force=args.force)
    files = list(_files(out))
    unzipped = sum(path.stat().st_size for path in files)
    print(
        f"{out}: {len(files)} files, {unzipped / 2**20:.1f} MiB unzipped, "
        f"{zipped_size(out) / 2**20:.1f} MiB zipped (Lambda limit 250 MiB unzipped)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
