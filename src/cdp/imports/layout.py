"""Where one import's files live in the lake (SPEC 4), as keys relative to the lake root or bucket.

Every name is deterministic in (source, import id): a re-run after a crash overwrites what the crashed run
left instead of adding a second copy, and the manifest, written last, is what makes an import exist.
"""

from __future__ import annotations

from typing import Final

IMPORTS_RAW: Final = "raw/imports"
IMPORT_ROWS: Final = "clean/import_rows"
QUARANTINE_IMPORTS: Final = "quarantine/imports"
MANIFEST_NAME: Final = "_manifest.json"
ROWS_NAME: Final = "rows.parquet"
QUARANTINE_NAME: Final = "rows.jsonl"


def import_dir(source_id: str, import_id: str) -> str:
    return f"{IMPORTS_RAW}/{source_id}/{import_id}"


def original_key(source_id: str, import_id: str, file_name: str) -> str:
    """The file exactly as received, kept unchanged (only erasure may rewrite it)."""
    return f"{import_dir(source_id, import_id)}/{file_name}"


def manifest_key(source_id: str, import_id: str) -> str:
    return f"{import_dir(source_id, import_id)}/{MANIFEST_NAME}"


def rows_key(source_id: str, import_id: str) -> str:
    return f"{IMPORT_ROWS}/source={source_id}/import_id={import_id}/{ROWS_NAME}"


def quarantine_key(source_id: str, import_id: str) -> str:
    return f"{QUARANTINE_IMPORTS}/source={source_id}/import_id={import_id}/{QUARANTINE_NAME}"
