"""The local-lake :class:`~cdp.imports.ports.ImportStore`: the import zones as folders of the lake directory.

Every write is temp file + rename in the target's folder (:meth:`LocalLake.write_atomic`), so ``cdp query``
running beside ``cdp import`` sees a whole file or none, and a crashed import leaves at most complete
files under deterministic names, which its re-run replaces. Originals are made read-only: they are
evidence of what was received and change only through erasure.
"""

from __future__ import annotations

import hashlib
import os
import stat

import pydantic

from cdp.imports.layout import (
    IMPORTS_RAW,
    MANIFEST_NAME,
    manifest_key,
    original_key,
    quarantine_key,
    rows_key,
)
from cdp.imports.ports import ImportManifest, ImportStoreError
from cdp.lake import LocalLake

_READ_ONLY = stat.S_IRUSR | stat.S_IRGRP


class LocalImportStore:
    def __init__(self, lake: LocalLake) -> None:
        self._lake = lake

    def manifest(self, source_id: str, import_id: str) -> ImportManifest | None:
        return self._read_manifest(manifest_key(source_id, import_id))

    def manifests(self) -> list[ImportManifest]:
        found = sorted(self._lake.path(IMPORTS_RAW).glob(f"*/*/{MANIFEST_NAME}"))
        relative = [path.relative_to(self._lake.root).as_posix() for path in found]
        return [manifest for key in relative if (manifest := self._read_manifest(key)) is not None]

    def keep_original(self, source_id: str, import_id: str, file_name: str, data: bytes) -> str:
        key = original_key(source_id, import_id, file_name)
        path = self._lake.path(key)
        try:
            existing = path.read_bytes()
        except FileNotFoundError:
            self._lake.write_atomic(key, data)
            os.chmod(path, _READ_ONLY)
            return key
        except OSError as error:
            raise ImportStoreError(f"cannot read {key}: {error}") from error
        if hashlib.sha256(existing).digest() != hashlib.sha256(data).digest():
            raise ImportStoreError(f"{key} already holds different bytes; originals are never overwritten")
        return key

    def write_rows(self, source_id: str, import_id: str, parquet: bytes) -> str:
        key = rows_key(source_id, import_id)
        self._lake.write_atomic(key, parquet)
        return key

    def write_quarantine(self, source_id: str, import_id: str, jsonl: bytes) -> str:
        key = quarantine_key(source_id, import_id)
        self._lake.write_atomic(key, jsonl)
        return key

    def commit(self, manifest: ImportManifest) -> str:
        key = manifest_key(manifest.source_id, manifest.import_id)
        self._lake.write_atomic(key, manifest.model_dump_json(indent=2).encode("utf-8") + b"\n")
        return key

    def _read_manifest(self, key: str) -> ImportManifest | None:
        try:
            text = self._lake.path(key).read_bytes()
        except FileNotFoundError:
            return None
        try:
            return ImportManifest.model_validate_json(text)
        except pydantic.ValidationError as error:
            reason = error.errors()[0]["msg"]
            raise ImportStoreError(f"{key} is not a valid import manifest: {reason}") from None
