"""Build the deployable code assets without Docker: the Lambda folders and the Glue jobs' library.

    python scripts/build_lambda_assets.py                 # build every asset (cached; prints sizes)
    python scripts/build_lambda_assets.py --asset imports # one asset: ingest, imports, lookup,
                                                          # lookup-loader, export or glue
    python scripts/build_lambda_assets.py --force         # rebuild even if the inputs did not change
    python scripts/build_lambda_assets.py --lock          # re-pin requirements/*.txt (needs PyPI)
    python scripts/build_lambda_assets.py --force --out DIR   # the ingest folder, elsewhere (tests)

Lambda assets (``build/lambda/<name>/``): ``cdp/`` (src/cdp), ``lambdas/`` and the wheels of
``requirements/lambda-<name>.txt`` installed with ``pip install --target`` for the Lambda platform
(manylinux2014 aarch64, CPython 3.11, binary wheels only, hashes required, no dependency resolution at build
time). boto3 is not in them: the Lambda runtime provides it, and handlers import it only when an AWS adapter
makes its first client.

* ``ingest``: the ingestion API's function (powertools, pydantic, orjson, tzdata), ~11 MiB.
* ``imports``: the import function, which runs the mapping code over Arrow: the same plus PyYAML and
  pyarrow, ~135 MiB unzipped (Lambda's limit for a zip package is 250 MiB). pyarrow is pinned to 20.0.0
  here, not the dev venv's version: Lambda's python3.11 runtime is Amazon Linux 2 (glibc 2.26), and
  20.0.0 is the last pyarrow with a manylinux2014 (glibc 2.17) aarch64 wheel; 21+ ship manylinux_2_28
  only, which would not load there. The import suite passes on pyarrow 20 (docs/deploy.md says how to
  re-check). pyarrow's C++ headers, Cython sources and test suite are left out: nothing imports them.
* ``lookup``: the profile lookup API's function: the ingest set plus phonenumbers and email-validator (the
  pipeline's standardizers normalize what a caller types), ~15 MiB. phonenumbers' geocoding, carrier and
  time-zone data (~43 MiB, imported only by ``phonenumbers.geocoder``/``carrier``/``timezone``, which
  nothing here uses) are left out: a small package keeps the cold start short.
* ``lookup-loader``: the function that loads the lookup table from the lake: the lookup set plus pyarrow
  (pinned to 20.0.0 like ``imports``, same reason), ~132 MiB unzipped.
* ``export``: the activation function (``cdp export`` on AWS): the lookup-loader set plus PyYAML
  (destinations and segment definitions), pyarrow pinned the same way; boto3 (SES, SNS, SQS, EventBridge,
  End User Messaging, S3) comes from the runtime. The privacy API and its worker (``lambdas/privacy``) run
  on this same folder (``PRIVACY_ASSETS``): the worker reads and rewrites Parquet, JSON lines and CSV
  (pyarrow), the destinations (PyYAML) and normalizes identifiers (phonenumbers, email-validator), which is
  exactly this set, so one ~135 MiB asset is uploaded for both instead of a second copy
  (``tests/integration/test_privacy_api.py`` checks the worker imports nothing else).

Glue library (``build/glue/cdp-glue.zip``): src/cdp as a zip for the jobs' ``--extra-py-files`` (pure
Python; Spark puts a ``.zip`` on the driver's and executors' path). Third-party modules come from PyPI
through ``--additional-python-modules``, pinned in ``requirements/glue-jobs.txt`` to the dev venv's
versions (the versions the local Spark parity suite runs): what ``cdp`` imports plus Splink and DuckDB
(``import splink`` loads duckdb); Glue 5.1 provides Spark, pandas (< 3) and numpy (< 2), and nothing
pinned may require newer ones. Splink's Scala similarity UDFs (``build/glue/splink-similarity.jar``) are
copied from the dev venv's splink wheel (``similarity_jar_location()``, the Spark 3 build while pyspark is
3.5) for the resolve job's ``--extra-jars``.

Deterministic: files are copied in sorted order, caches (``__pycache__``, ``*.pyc``) are never written,
pip's per-install markers are removed and every mtime is set to SOURCE_DATE_EPOCH (default 1980-01-01, the
zip epoch), so the same inputs give the same bytes and the same CDK asset hash. A build is skipped when a
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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements"
BUILD = ROOT / "build"

PLATFORM = ("--platform", "manylinux2014_aarch64", "--implementation", "cp", "--python-version", "3.11")
SOURCES = ((ROOT / "src" / "cdp", "cdp"), (ROOT / "lambdas", "lambdas"))
SKIPPED_PARTS = {"__pycache__"}
SKIPPED_SUFFIXES = {".pyc", ".pyo"}
ZIP_EPOCH = 315532800  # 1980-01-01T00:00:00Z


@dataclass(frozen=True)
class LambdaAsset:
    name: str
    #: what the handler imports at runtime (besides the standard library and boto3 from the runtime)
    top_level: tuple[str, ...]
    #: versions that differ from the dev venv's on purpose (the reason is in the module docstring)
    pinned: dict[str, str] = field(default_factory=dict)
    #: installed paths nothing imports at runtime: folders (``pkg/dir``) and file suffixes (``*.pyx``)
    prune: tuple[str, ...] = ()

    @property
    def lock(self) -> Path:
        return REQUIREMENTS / f"lambda-{self.name}.txt"

    @property
    def out(self) -> Path:
        return BUILD / "lambda" / self.name


#: what the lookup handler imports: the ingest set plus the pipeline's e-mail and phone standardizers
LOOKUP_TOP_LEVEL = (
    "aws-lambda-powertools",
    "pydantic",
    "orjson",
    "tzdata",
    "phonenumbers",
    "email-validator",
)
#: phonenumbers' geocoding, carrier and time-zone data: only its geocoder/carrier/timezone modules read them
PHONENUMBERS_UNUSED_DATA = ("phonenumbers/geodata", "phonenumbers/carrierdata", "phonenumbers/tzdata")

LAMBDA_ASSETS = {
    asset.name: asset
    for asset in (
        LambdaAsset(name="ingest", top_level=("aws-lambda-powertools", "pydantic", "orjson", "tzdata")),
        LambdaAsset(
            name="imports",
            top_level=("aws-lambda-powertools", "pydantic", "orjson", "tzdata", "pyyaml", "pyarrow"),
            pinned={"pyarrow": "20.0.0"},
            prune=(
                "pyarrow/include",
                "pyarrow/src",
                "pyarrow/tests",
                "*.pyx",
                "*.pxd",
                "*.pxi",
                "*.h",
                "*.cc",
            ),
        ),
        LambdaAsset(
            name="lookup",
            top_level=LOOKUP_TOP_LEVEL,
            prune=PHONENUMBERS_UNUSED_DATA,
        ),
        LambdaAsset(
            name="lookup-loader",
            top_level=(*LOOKUP_TOP_LEVEL, "pyarrow"),
            pinned={"pyarrow": "20.0.0"},
            prune=(
                *PHONENUMBERS_UNUSED_DATA,
                "pyarrow/include",
                "pyarrow/src",
                "pyarrow/tests",
                "*.pyx",
                "*.pxd",
                "*.pxi",
                "*.h",
                "*.cc",
            ),
        ),
        LambdaAsset(
            name="export",
            top_level=(*LOOKUP_TOP_LEVEL, "pyyaml", "pyarrow"),
            pinned={"pyarrow": "20.0.0"},
            prune=(
                *PHONENUMBERS_UNUSED_DATA,
                "pyarrow/include",
                "pyarrow/src",
                "pyarrow/tests",
                "*.pyx",
                "*.pxd",
                "*.pxi",
                "*.h",
                "*.cc",
            ),
        ),
    )
}

#: functions that run on another function's asset, because they import exactly its wheels (docstring)
PRIVACY_ASSETS = {"privacy-api": "export", "privacy-worker": "export"}

#: the Glue jobs' library and the third-party modules they import (Glue 5.1 provides Spark, pandas, numpy)
GLUE_LIBRARY = BUILD / "glue" / "cdp-glue.zip"
GLUE_REQUIREMENTS = REQUIREMENTS / "glue-jobs.txt"
GLUE_TOP_LEVEL = (
    "pyarrow",
    "pydantic",
    "orjson",
    "pyyaml",
    "tzdata",
    "sqlglot",
    "phonenumbers",
    "email-validator",
    "pycountry",
    # the resolve step's probabilistic matcher; splink imports duckdb at import time
    "splink",
    "duckdb",
)
#: Splink's Scala UDFs (Jaro-Winkler & co.) for Spark, beside the library
SIMILARITY_JAR_NAME = "splink-similarity.jar"
ASSET_NAMES = (*LAMBDA_ASSETS, "glue")


def _pip(*args: str) -> None:
    subprocess.run(  # noqa: S603 - this interpreter running pip with our own arguments
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", *args],
        check=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )


def _source_files(sources: Sequence[tuple[Path, str]] = SOURCES) -> Iterator[tuple[Path, str]]:
    for source, target in sources:
        for path in sorted(source.rglob("*")):
            relative = path.relative_to(source)
            if (
                path.is_file()
                and not SKIPPED_PARTS & set(relative.parts)
                and path.suffix not in SKIPPED_SUFFIXES
            ):
                yield path, f"{target}/{relative.as_posix()}"


def inputs_digest(lock: Path, sources: Sequence[tuple[Path, str]] = SOURCES) -> str:
    digest = hashlib.sha256()
    for path, name in [(Path(__file__), "build-script"), (lock, "lock"), *_source_files(sources)]:
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _normalize(folder: Path, epoch: int, prune: Sequence[str] = ()) -> None:
    # console scripts (jmespath's jp.py) carry this machine's interpreter path in their shebang
    shutil.rmtree(folder / "bin", ignore_errors=True)
    for pattern in prune:
        if not pattern.startswith("*"):
            shutil.rmtree(folder / pattern, ignore_errors=True)
    suffixes = {pattern[1:] for pattern in prune if pattern.startswith("*")}
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_dir() and path.name in SKIPPED_PARTS:
            shutil.rmtree(path)
        elif path.is_file() and (
            path.suffix in SKIPPED_SUFFIXES or path.suffix in suffixes or _is_install_marker(path)
        ):
            path.unlink()
    for path in [folder, *folder.rglob("*")]:
        os.utime(path, (epoch, epoch), follow_symlinks=False)


def _is_install_marker(path: Path) -> bool:
    """pip's per-install files (installer, request flag, and RECORD, which hashes the console scripts);
    only an uninstall reads them, importlib.metadata needs METADATA alone."""
    return path.parent.name.endswith(".dist-info") and path.name in _INSTALL_MARKERS


_INSTALL_MARKERS = {"INSTALLER", "REQUESTED", "RECORD", "direct_url.json"}


def _stamp(out: Path) -> Path:
    """Beside the output, not in it: the asset's bytes must not depend on how it was cached."""
    return out.parent / f"{out.name}.inputs-sha256"


def _epoch() -> int:
    return int(os.environ.get("SOURCE_DATE_EPOCH", ZIP_EPOCH))


def build(asset: LambdaAsset, out: Path | None = None, *, force: bool = False) -> tuple[Path, bool]:
    """The asset folder, and whether it was (re)built now."""
    out = out or asset.out
    digest = inputs_digest(asset.lock)
    stamp = _stamp(out)
    if not force and out.is_dir() and stamp.is_file() and stamp.read_text().strip() == digest:
        return out, False
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{asset.name}-") as temp:
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
            str(asset.lock),
        )
        for path, name in _source_files():
            destination = staging / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
        _normalize(staging, _epoch(), asset.prune)
        if out.exists():
            shutil.rmtree(out)
        staging.rename(out)
    stamp.write_text(digest + "\n")
    return out, True


def build_glue_library(out: Path = GLUE_LIBRARY, *, force: bool = False) -> tuple[Path, bool]:
    """src/cdp as a deterministic zip (sorted entries, fixed times and modes) for ``--extra-py-files``."""
    sources = ((ROOT / "src" / "cdp", "cdp"),)
    digest = inputs_digest(GLUE_REQUIREMENTS, sources)
    stamp = _stamp(out)
    if not force and out.is_file() and stamp.is_file() and stamp.read_text().strip() == digest:
        return out, False
    out.parent.mkdir(parents=True, exist_ok=True)
    moment = _zip_time(_epoch())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, name in sorted(_source_files(sources), key=lambda item: item[1]):
            entry = zipfile.ZipInfo(name, date_time=moment)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            archive.writestr(entry, path.read_bytes())
    temp = out.with_name(f".{out.name}.partial")
    temp.write_bytes(buffer.getvalue())
    temp.replace(out)
    stamp.write_text(digest + "\n")
    return out, True


def build_similarity_jar(out: Path = GLUE_LIBRARY.parent / SIMILARITY_JAR_NAME) -> tuple[Path, bool]:
    """Splink's similarity UDF jar for the dev venv's Spark major version (3.x for Glue 5.1), copied as it
    is (its bytes, hence its CDK asset hash, change only with splink or pyspark)."""
    from splink.backends.spark import similarity_jar_location

    source = Path(similarity_jar_location())
    data = source.read_bytes()
    if out.is_file() and out.read_bytes() == data:
        return out, False
    out.parent.mkdir(parents=True, exist_ok=True)
    temp = out.with_name(f".{out.name}.partial")
    temp.write_bytes(data)
    temp.replace(out)
    return out, True


def _zip_time(epoch: int) -> tuple[int, int, int, int, int, int]:
    import time

    moment = time.gmtime(max(epoch, ZIP_EPOCH))
    return (moment.tm_year, moment.tm_mon, moment.tm_mday, moment.tm_hour, moment.tm_min, moment.tm_sec)


def zipped_size(folder: Path) -> int:
    """What Lambda receives: the folder zipped (deflate, as cdk-assets does)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.write(path, path.relative_to(folder).as_posix())
    return buffer.tell()


def _files(folder: Path) -> Iterable[Path]:
    return (path for path in folder.rglob("*") if path.is_file())


def lock(asset: LambdaAsset) -> None:
    """Pin the top-level runtime packages to the versions the dev venv tests with (or the asset's own
    pins), plus their dependencies as resolved for the Lambda platform, each with its aarch64 wheel's
    sha256."""
    pins = [f"{name}=={asset.pinned.get(name, metadata.version(name))}" for name in asset.top_level]
    with tempfile.TemporaryDirectory() as temp:
        _pip("download", "--quiet", "--dest", temp, *PLATFORM, "--only-binary=:all:", *pins)
        lines = []
        for wheel in sorted(Path(temp).glob("*.whl"), key=lambda w: w.name.lower()):
            name, version = wheel.name.split("-")[:2]
            sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
            lines.append(f"{name.replace('_', '-').lower()}=={version} \\\n    --hash=sha256:{sha}")
    own = ", ".join(f"{name}=={version}" for name, version in asset.pinned.items())
    asset.lock.parent.mkdir(parents=True, exist_ok=True)
    asset.lock.write_text(
        f"# Runtime wheels of the {asset.name} Lambda (Linux aarch64, CPython 3.11), "
        "installed with --no-deps.\n"
        "# Generated by `python scripts/build_lambda_assets.py --lock` from the dev venv's versions of\n"
        f"# {', '.join(asset.top_level)}; boto3 is provided by the Lambda runtime.\n"
        + (f"# Pinned on purpose (the script's docstring says why): {own}.\n" if own else "")
        + "\n".join(lines)
        + "\n"
    )
    print(f"pinned {len(lines)} packages in {asset.lock.relative_to(ROOT)}")


def lock_glue() -> None:
    """The Glue jobs' modules at the dev venv's versions (Glue's pip resolves their dependencies)."""
    pins = [f"{name}=={metadata.version(name)}" for name in GLUE_TOP_LEVEL]
    GLUE_REQUIREMENTS.write_text(
        "# --additional-python-modules of the Glue jobs (Glue 5.1: Python 3.11, Spark 3.5; it provides\n"
        "# numpy < 2 and pandas < 3, which nothing here may upgrade).\n"
        "# Generated by `python scripts/build_lambda_assets.py --lock` from the dev venv's versions, so the\n"
        "# jobs run what the local Spark parity suite runs; Glue installs them from PyPI at job start.\n"
        + "\n".join(pins)
        + "\n"
    )
    print(f"pinned {len(pins)} modules in {GLUE_REQUIREMENTS.relative_to(ROOT)}")


def _report(path: Path, built: bool) -> None:
    state = "built" if built else "cached"
    if path.is_file():
        print(f"{path}: {state}, {path.stat().st_size / 2**20:.1f} MiB")
        return
    files = list(_files(path))
    unzipped = sum(file.stat().st_size for file in files)
    zipped = f", {zipped_size(path) / 2**20:.1f} MiB zipped" if built else ""
    print(
        f"{path}: {state}, {len(files)} files, {unzipped / 2**20:.1f} MiB unzipped{zipped} "
        "(Lambda limit 250 MiB unzipped)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asset", action="append", choices=ASSET_NAMES, help="build only this (repeatable)")
    parser.add_argument("--lock", action="store_true", help="re-pin the requirements files of the assets")
    parser.add_argument("--force", action="store_true", help="rebuild even if the inputs did not change")
    parser.add_argument("--out", type=Path, default=None, help="output path (one asset; default: ingest)")
    args = parser.parse_args(argv)
    names: list[str] = args.asset or (["ingest"] if args.out else list(ASSET_NAMES))
    if args.out and len(names) != 1:
        parser.error("--out takes exactly one --asset")
    if args.lock:
        for name in names:
            if name == "glue":
                lock_glue()
            else:
                lock(LAMBDA_ASSETS[name])
        return 0
    for name in names:
        out = args.out.resolve() if args.out else None
        if name == "glue":
            library = out or GLUE_LIBRARY
            _report(*build_glue_library(library, force=args.force))
            _report(*build_similarity_jar(library.parent / SIMILARITY_JAR_NAME))
        else:
            _report(*build(LAMBDA_ASSETS[name], out, force=args.force))
    return 0


if __name__ == "__main__":
    sys.exit(main())
