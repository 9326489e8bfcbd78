"""The port the import domain writes through, and the manifest that makes an import complete.

An import is four writes: the original file, the rows (Parquet), the rejected rows (JSON lines) and the
manifest. The store keeps them under deterministic keys (:mod:`cdp.imports.layout`); readers treat an
import as existing only once its manifest does, so a crash between writes leaves nothing visible and the
re-run overwrites the leftovers. The domain encodes the bytes; a store only puts them somewhere (a lake
directory here, S3 on AWS).
"""

from __future__ import annotations

from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict

from cdp.imports.fields import RowKind
from cdp.imports.mapping import FileFormat, TextEncoding


class ImportStoreError(RuntimeError):
    """The store refused or failed a write (e.g. a different original under the same import id)."""


class RejectionCount(BaseModel):
    """Rejected rows of one kind: the reason code, the column at fault and an example sentence."""

    model_config = ConfigDict(frozen=True)

    code: str
    column: str | None
    rows: int
    example: str


class ImportManifest(BaseModel):
    """``raw/imports/{source}/{import_id}/_manifest.json``: written last; its presence means complete."""

    model_config = ConfigDict(frozen=True, extra="ignore")  # later versions may add keys

    version: int = 1
    status: Literal["complete"] = "complete"
    source_id: str
    import_id: str
    file_name: str
    sha256: str
    size_bytes: int
    kind: RowKind
    format: FileFormat
    encoding: TextEncoding
    mapping_sha256: str
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rejections: list[RejectionCount]
    missing_columns: list[str]
    #: standard fields and attributes holding personal data (for pseudonymization and erasure)
    pii_columns: list[str]
    original_key: str
    rows_key: str
    quarantine_key: str
    started_at: str
    completed_at: str
    duration_ms: int
    timings_ms: dict[str, int]


class ImportStore(Protocol):
    """Where imports are kept. Every write is atomic: a reader sees a whole object or none."""

    def manifest(self, source_id: str, import_id: str) -> ImportManifest | None:
        """The manifest of a completed import, or ``None``."""
        ...

    def manifests(self) -> list[ImportManifest]:
        """Every completed import, oldest key first."""
        ...

    def keep_original(self, source_id: str, import_id: str, file_name: str, data: bytes) -> str:
        """Store the file as received, once; an identical copy already there is left alone.

        :class:`ImportStoreError` if different bytes are already stored under that key.
        """
        ...

    def write_rows(self, source_id: str, import_id: str, parquet: bytes) -> str:
        """Put the accepted rows (replacing what a crashed run of the same import left)."""
        ...

    def write_quarantine(self, source_id: str, import_id: str, jsonl: bytes) -> str:
        """Put the rejected rows (replacing what a crashed run of the same import left)."""
        ...

    def commit(self, manifest: ImportManifest) -> str:
        """Write the manifest, last: from now on the import exists for every reader."""
        ...
