"""Import one file (SPEC 5): read, map, quarantine, keep, commit; idempotent on the file's content.

The same function serves the CLI and, later, the import Lambda and Glue job: it takes the file's bytes
and name, never a path, and writes only through an :class:`~cdp.imports.ports.ImportStore`.

Order of work, chosen so that every failure leaves either nothing or a re-runnable state:

1. ``import_id`` = the first 16 hex digits of the file's SHA-256; a completed manifest for it → no-op.
2. Read and map the whole file in memory. An unreadable file raises here, before any write.
3. Keep the original (write once), then the rows and the rejections under deterministic keys.
4. Write the manifest last. Until it exists no reader sees the import, and a re-run of a crashed import
   overwrites the rows and rejections it left rather than adding a second copy.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq

from cdp.imports import FileNameError, MappingError
from cdp.imports.casting import utc_text
from cdp.imports.fields import RowKind
from cdp.imports.mapping import FileFormat, ImportMapping, TextEncoding, default_mapping, format_for
from cdp.imports.ports import ImportManifest, ImportStore, RejectionCount
from cdp.imports.reader import RowError, detect_encoding, file_columns, read_batches, sniff_delimiter
from cdp.imports.rows import (
    ImportContext,
    ProgressCallback,
    map_rows,
    quarantine_jsonl,
    quarantine_records,
)
from cdp.sources.keys import validate_source_name

IMPORT_ID_HEX_DIGITS = 16


@dataclass(frozen=True, slots=True)
class ImportReport:
    """What one ``import_file`` call did, for the CLI summary and the Lambda's response."""

    source_id: str
    import_id: str
    file_name: str
    status: Literal["imported", "already_imported"]
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rejections: tuple[RejectionCount, ...]
    missing_columns: tuple[str, ...]
    duration_seconds: float
    #: when the rows were imported (for ``already_imported``: by the earlier run)
    imported_at: str
    #: ``already_imported`` with a different mapping than this call's: the file is not re-mapped
    mapping_changed: bool = False

    @property
    def rejected_by_reason(self) -> dict[str, int]:
        return {
            f"{item.code} ({item.column})" if item.column else item.code: item.rows
            for item in self.rejections
        }


def import_id_for(data: bytes) -> str:
    """The idempotency key: equal content is the same import, whatever the file is called."""
    return hashlib.sha256(data).hexdigest()[:IMPORT_ID_HEX_DIGITS]


def validate_file_name(name: str) -> str:
    """File names become object keys beside ``_manifest.json``: a plain, visible name only."""
    if (
        not name
        or "/" in name
        or "\\" in name
        or not name.isprintable()
        or name.startswith((".", "_"))
        or len(name.encode("utf-8")) > 255
    ):
        raise FileNameError(
            f"invalid file name {name!r}: give a plain file name that does not start with '.' or '_'"
        )
    return name


def mapping_for_file(
    source_id: str, file_name: str, data: bytes, kind: RowKind | None = None
) -> ImportMapping:
    """The mapping used without a mapping file: format from the extension, encoding and CSV delimiter
    sniffed from the bytes, and columns mapped by name (:func:`~cdp.imports.mapping.default_mapping`)."""
    file_format, delimiter = format_for(file_name)
    encoding = detect_encoding(data) if file_format is not FileFormat.parquet else TextEncoding.utf_8
    if file_format is FileFormat.csv and delimiter == ",":
        delimiter = sniff_delimiter(data, encoding)
    columns = file_columns(data, file_format, file_name=file_name, encoding=encoding, delimiter=delimiter)
    return default_mapping(
        source_id, kind, columns, file_name=file_name, delimiter=delimiter, encoding=encoding
    )


def _summarize(rejections: list[RowError]) -> tuple[RejectionCount, ...]:
    groups: dict[tuple[str, str | None], list[RowError]] = {}
    for rejection in rejections:
        groups.setdefault((rejection.code, rejection.column), []).append(rejection)
    counts = [
        RejectionCount(
            code=code,
            column=column,
            rows=len(errors),
            example=f"row {errors[0].row_number}: {errors[0].reason}",
        )
        for (code, column), errors in groups.items()
    ]
    return tuple(sorted(counts, key=lambda count: -count.rows))


def _parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


class ImportService:
    def __init__(self, store: ImportStore, *, clock: Callable[[], datetime] | None = None) -> None:
        self._store = store
        self._clock = clock or (lambda: datetime.now(UTC))

    def import_file(
        self,
        source_id: str,
        file_name: str,
        data: bytes,
        mapping: ImportMapping,
        *,
        progress: ProgressCallback | None = None,
    ) -> ImportReport:
        """Import ``data`` (the file's bytes) into ``source_id``; a no-op when this content was imported."""
        started = time.perf_counter()
        validate_source_name(source_id)
        validate_file_name(file_name)
        if mapping.source != source_id:
            raise MappingError(f"the mapping is for source {mapping.source!r}, not {source_id!r}")
        import_id = import_id_for(data)
        done = self._store.manifest(source_id, import_id)
        if done is not None:
            return ImportReport(
                source_id=source_id,
                import_id=import_id,
                file_name=done.file_name,
                status="already_imported",
                rows_read=done.rows_read,
                rows_accepted=done.rows_accepted,
                rows_rejected=done.rows_rejected,
                rejections=tuple(done.rejections),
                missing_columns=tuple(done.missing_columns),
                duration_seconds=time.perf_counter() - started,
                imported_at=done.completed_at,
                mapping_changed=done.mapping_sha256 != mapping.sha256,
            )

        started_at = utc_text(self._clock())
        context = ImportContext(source_id, import_id, file_name, imported_at=started_at)
        mapped = map_rows(
            read_batches(data, mapping, file_name=file_name), mapping, context, progress=progress
        )
        rows_file = _parquet_bytes(mapped.rows)
        rejects_file = quarantine_jsonl(quarantine_records(mapped, context))
        mapped_at = time.perf_counter()

        original = self._store.keep_original(source_id, import_id, file_name, data)
        rows = self._store.write_rows(source_id, import_id, rows_file)
        quarantine = self._store.write_quarantine(source_id, import_id, rejects_file)
        written_at = time.perf_counter()
        rejections = _summarize(mapped.rejections)
        manifest = ImportManifest(
            source_id=source_id,
            import_id=import_id,
            file_name=file_name,
            sha256=hashlib.sha256(data).hexdigest(),
            size_bytes=len(data),
            kind=mapping.kind,
            format=mapping.format,
            encoding=mapping.encoding,
            mapping_sha256=mapping.sha256,
            rows_read=mapped.rows_read,
            rows_accepted=mapped.rows_accepted,
            rows_rejected=len(mapped.rejections),
            rejections=list(rejections),
            missing_columns=mapped.missing_columns,
            pii_columns=mapping.pii_targets,
            original_key=original,
            rows_key=rows,
            quarantine_key=quarantine,
            started_at=started_at,
            completed_at=utc_text(self._clock()),
            duration_ms=round((written_at - started) * 1000),
            timings_ms={
                "read_map_encode": round((mapped_at - started) * 1000),
                "write": round((written_at - mapped_at) * 1000),
            },
        )
        self._store.commit(manifest)
        return ImportReport(
            source_id=source_id,
            import_id=import_id,
            file_name=file_name,
            status="imported",
            rows_read=mapped.rows_read,
            rows_accepted=mapped.rows_accepted,
            rows_rejected=len(mapped.rejections),
            rejections=rejections,
            missing_columns=tuple(mapped.missing_columns),
            duration_seconds=time.perf_counter() - started,
            imported_at=started_at,
        )
