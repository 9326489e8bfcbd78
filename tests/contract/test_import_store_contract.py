"""Every :class:`~cdp.imports.ports.ImportStore` keeps the same promises (STYLE 2): the local lake's and
S3's (under moto, on a versioned bucket as ``infra/`` builds it).

Each factory yields the store and a way to read the storage underneath it directly (bytes at a key, and a
fingerprint that changes whenever the object at a key is rewritten), so the assertions are about what is
stored, not about calls.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import orjson
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from cdp.adapters.local_imports import LocalImportStore
from cdp.adapters.s3_imports import S3ImportStore
from cdp.imports.layout import manifest_key, original_key, quarantine_key, rows_key
from cdp.imports.mapping import ImportMapping, parse_mapping
from cdp.imports.ports import ImportManifest, ImportStore, ImportStoreError
from cdp.imports.service import ImportService, import_id_for
from cdp.lake import LocalLake
from tests.contract.conftest import MOTO_REGION

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


@dataclass(frozen=True)
class StoreUnderTest:
    store: ImportStore
    #: the bytes stored at a lake key, read around the store; ``None`` when nothing is there
    stored: Callable[[str], bytes | None]
    #: changes whenever the object at the key is written again (S3: its version id; local: inode + mtime)
    fingerprint: Callable[[str], object]


@contextmanager
def _local_store(tmp: Path) -> Iterator[StoreUnderTest]:
    lake = LocalLake.at(tmp / "lake")

    def stored(key: str) -> bytes | None:
        path = lake.path(key)
        return path.read_bytes() if path.is_file() else None

    def fingerprint(key: str) -> object:
        status = os.stat(lake.path(key))
        return (status.st_ino, status.st_mtime_ns)

    yield StoreUnderTest(LocalImportStore(lake), stored, fingerprint)


@contextmanager
def _s3_store(_: Path) -> Iterator[StoreUnderTest]:
    with mock_aws():
        s3: S3Client = boto3.client("s3", region_name=MOTO_REGION)
        bucket = "cdp-test-lake"
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": MOTO_REGION})
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})

        def stored(key: str) -> bytes | None:
            try:
                return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            except s3.exceptions.NoSuchKey:
                return None

        def fingerprint(key: str) -> object:
            versions = s3.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
            return sorted(v["VersionId"] for v in versions if v["Key"] == key)

        yield StoreUnderTest(S3ImportStore(bucket=bucket, client=s3), stored, fingerprint)


STORE_FACTORIES: dict[str, Callable[[Path], AbstractContextManager[StoreUnderTest]]] = {
    "local-lake": _local_store,
    "s3-moto": _s3_store,
}


@pytest.fixture(params=sorted(STORE_FACTORIES))
def under_test(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreUnderTest]:
    with STORE_FACTORIES[request.param](tmp_path) as store:
        yield store


SOURCE = "crm"
FILE_NAME = "ลูกค้า 2026-03.csv"  # Thai and a space: keys are kept exactly
DATA = (
    "record_id,first_name,email,date_of_birth\n"
    "C1,สมชาย,somchai@example.co.th,15/03/2530\n"
    "C2,Malee,malee@example.com,31/02/2530\n"
    "C3,John,john@example.com,22/07/1985\n"
).encode()
MAPPING = parse_mapping(
    """
source: crm
kind: customers
format: csv
columns:
  record_id: record_id
  first_name: first_name
  email: email
  date_of_birth: {field: date_of_birth, formats: ["%d/%m/%Y"]}
""",
    "contract.yaml",
)


def import_once(store: ImportStore, data: bytes = DATA, mapping: ImportMapping = MAPPING) -> str:
    report = ImportService(store).import_file(SOURCE, FILE_NAME, data, mapping)
    return report.import_id


def test_the_original_is_kept_once_and_never_overwritten(under_test: StoreUnderTest) -> None:
    import_id = import_id_for(DATA)
    key = under_test.store.keep_original(SOURCE, import_id, FILE_NAME, DATA)
    assert key == original_key(SOURCE, import_id, FILE_NAME)
    assert under_test.stored(key) == DATA
    written = under_test.fingerprint(key)

    # the same bytes again (a re-run after a crash): left alone, not written a second time
    assert under_test.store.keep_original(SOURCE, import_id, FILE_NAME, DATA) == key
    assert under_test.fingerprint(key) == written

    # different bytes under the same key: refused, the original unchanged
    with pytest.raises(ImportStoreError, match="never overwritten"):
        under_test.store.keep_original(SOURCE, import_id, FILE_NAME, DATA + b"C4,Tampered,,\n")
    assert under_test.stored(key) == DATA
    assert under_test.fingerprint(key) == written


class _CheckingCommitOrder:
    """The real store, plus a look at the storage at the moment the manifest is written."""

    def __init__(self, under_test: StoreUnderTest) -> None:
        self._under_test = under_test
        self.seen_at_commit: dict[str, bytes | None] = {}

    def __getattr__(self, name: str) -> object:
        return getattr(self._under_test.store, name)

    def commit(self, manifest: ImportManifest) -> str:
        for key in (manifest.original_key, manifest.rows_key, manifest.quarantine_key):
            self.seen_at_commit[key] = self._under_test.stored(key)
        self.seen_at_commit["manifest"] = self._under_test.stored(
            manifest_key(manifest.source_id, manifest.import_id)
        )
        return self._under_test.store.commit(manifest)


def test_the_manifest_is_written_last_and_makes_the_import_exist(under_test: StoreUnderTest) -> None:
    import_id = import_id_for(DATA)
    checking = _CheckingCommitOrder(under_test)
    ImportService(checking).import_file(SOURCE, FILE_NAME, DATA, MAPPING)  # type: ignore[arg-type]

    assert checking.seen_at_commit["manifest"] is None  # nothing announced the import before its files
    assert checking.seen_at_commit[original_key(SOURCE, import_id, FILE_NAME)] == DATA
    assert checking.seen_at_commit[rows_key(SOURCE, import_id)]
    assert checking.seen_at_commit[quarantine_key(SOURCE, import_id)]
    manifest = under_test.store.manifest(SOURCE, import_id)
    assert manifest is not None
    assert (manifest.rows_read, manifest.rows_accepted, manifest.rows_rejected) == (3, 2, 1)
    assert [m.import_id for m in under_test.store.manifests()] == [import_id]


def test_files_without_a_manifest_are_no_import(under_test: StoreUnderTest) -> None:
    """A crash before the commit leaves files no reader counts, and the re-run completes the import."""
    import_id = import_id_for(DATA)
    under_test.store.keep_original(SOURCE, import_id, FILE_NAME, DATA)
    under_test.store.write_rows(SOURCE, import_id, b"left by a crashed run")
    assert under_test.store.manifest(SOURCE, import_id) is None
    assert under_test.store.manifests() == []

    assert import_once(under_test.store) == import_id
    assert under_test.stored(rows_key(SOURCE, import_id)) != b"left by a crashed run"
    assert [m.import_id for m in under_test.store.manifests()] == [import_id]


def test_a_reimport_of_the_same_content_writes_nothing(under_test: StoreUnderTest) -> None:
    import_id = import_once(under_test.store)
    keys = [
        original_key(SOURCE, import_id, FILE_NAME),
        rows_key(SOURCE, import_id),
        quarantine_key(SOURCE, import_id),
        manifest_key(SOURCE, import_id),
    ]
    before = {key: under_test.fingerprint(key) for key in keys}

    report = ImportService(under_test.store).import_file(SOURCE, "renamed.csv", DATA, MAPPING)
    assert (report.status, report.import_id, report.file_name) == ("already_imported", import_id, FILE_NAME)
    assert {key: under_test.fingerprint(key) for key in keys} == before
    assert len(under_test.store.manifests()) == 1


def test_rows_and_rejections_read_back_as_written(under_test: StoreUnderTest) -> None:
    import_id = import_once(under_test.store)
    manifest = under_test.store.manifest(SOURCE, import_id)
    assert manifest is not None
    assert manifest.rows_key == rows_key(SOURCE, import_id)
    assert manifest.quarantine_key == quarantine_key(SOURCE, import_id)

    rows_file = under_test.stored(manifest.rows_key)
    assert rows_file is not None
    rows = pq.read_table(io.BytesIO(rows_file)).to_pylist()
    assert [(r["record_id"], r["first_name"], r["date_of_birth"]) for r in rows] == [
        ("C1", "สมชาย", "1987-03-15"),  # Buddhist-era year read as CE
        ("C3", "John", "1985-07-22"),
    ]
    assert {r["import_id"] for r in rows} == {import_id}

    quarantine_file = under_test.stored(manifest.quarantine_key)
    assert quarantine_file is not None
    [rejected] = [orjson.loads(line) for line in quarantine_file.splitlines()]
    assert (rejected["row_number"], rejected["code"], rejected["column"]) == (
        2,
        "invalid_date",
        "date_of_birth",
    )
    assert "C2" in rejected["raw_row"]


def test_a_second_file_is_a_second_import_in_key_order(under_test: StoreUnderTest) -> None:
    first = import_once(under_test.store)
    second_data = DATA.replace(b"C3,John", b"C4,Jane")
    second = import_once(under_test.store, second_data)
    assert first != second
    assert [m.import_id for m in under_test.store.manifests()] == sorted([first, second])
