"""The ingest function's asset: built without Docker, only what the handler needs, arm64, deterministic."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "lambda-ingest.txt"
ZIP_EPOCH = 315532800


def tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        status = path.lstat()
        digest.update(f"{path.relative_to(folder)}|{status.st_mode:o}|{int(status.st_mtime)}".encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def test_the_asset_holds_the_handler_our_package_and_only_the_runtime_wheels(lambda_asset: Path) -> None:
    assert (lambda_asset / "lambdas" / "ingest" / "handler.py").is_file()
    assert (lambda_asset / "cdp" / "wiring.py").is_file()
    assert (lambda_asset / "cdp" / "adapters" / "aws_firehose_sink.py").is_file()
    top_level = {path.name for path in lambda_asset.iterdir() if not path.name.endswith(".dist-info")}
    assert {"aws_lambda_powertools", "pydantic", "pydantic_core", "orjson", "tzdata"} <= top_level
    # the runtime provides boto3; the embedded (local) mode's libraries stay out
    assert not top_level & {"boto3", "botocore", "duckdb", "pyarrow", "typer", "rich", "sqlglot", "bin"}


def test_binary_wheels_are_for_lambda_arm64_python_311(lambda_asset: Path) -> None:
    extensions = [p.name for p in lambda_asset.rglob("*.so")]
    assert any(name.startswith("_pydantic_core.cpython-311-aarch64-linux-gnu") for name in extensions)
    assert all("x86_64" not in name for name in extensions)


def test_the_asset_is_free_of_caches_and_install_markers_with_fixed_mtimes(lambda_asset: Path) -> None:
    paths = list(lambda_asset.rglob("*"))
    assert not [p for p in paths if p.name == "__pycache__" or p.suffix in {".pyc", ".pyo"}]
    assert not [p for p in paths if p.name in {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"}]
    assert {int(p.lstat().st_mtime) for p in paths} == {ZIP_EPOCH}


def test_the_asset_is_small(lambda_asset: Path) -> None:
    size = sum(p.stat().st_size for p in lambda_asset.rglob("*") if p.is_file())
    assert size < 20 * 2**20  # ~11 MiB today; Lambda allows 250 MiB unzipped


def test_a_rebuild_gives_the_same_bytes(lambda_asset: Path, tmp_path: Path) -> None:
    rebuilt = tmp_path / "ingest"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_lambda_assets.py"), "--force", "--out", str(rebuilt)],
        check=True,
        capture_output=True,
    )
    assert tree_digest(rebuilt) == tree_digest(lambda_asset)


def test_the_lock_pins_what_the_tests_run_with() -> None:
    """The function runs the versions the suite tested; re-pin with `build_lambda_assets.py --lock`."""
    pins = dict(re.findall(r"^([a-z0-9-]+)==(\S+)", LOCK.read_text(), flags=re.MULTILINE))
    for name in ("aws-lambda-powertools", "pydantic", "pydantic-core", "orjson"):
        assert pins[name] == metadata.version(name), f"{name}: re-run scripts/build_lambda_assets.py --lock"
    assert all("--hash=sha256:" in block for block in LOCK.read_text().split("==")[1:])
