"""Files dropped in ``landing/{source}/``: route, map, import, clean up (SPEC 5, the upload path on AWS).

A file uploaded under ``landing/{source}/`` (any depth: ``landing/crm/2026-03/customers.csv`` is source
``crm``, file ``customers.csv``) is imported by :class:`LandingImporter`: inline when it is small (the
import Lambda), handed to the Glue import job when it is larger than ``max_inline_bytes``. Both paths end
in the same :meth:`LandingImporter.import_landed`, so the same mapping code decides every row.

The mapping of a source is the YAML at :func:`mapping_key` (``config/mappings/{source}.yaml`` in the lake);
without one, the default mapping (columns named like standard fields map to them, the rest become
attributes) is used, exactly like ``cdp import`` without ``--mapping``.

What happens to the upload:

* imported (or already imported: same content, same import id) → the uploaded object is removed from
  ``landing/``; the original stays, unchanged, in ``raw/imports/{source}/{import_id}/``;
* the file cannot be imported as it is (bad mapping, unreadable file, bad name): that is not retried. An
  :class:`ImportFailure` record is written (``quarantine/import_failures/…``) and the upload is *kept* in
  ``landing/`` so it can be re-triggered once the mapping is fixed (the zone's lifecycle expires it);
* anything else (S3 or Glue unavailable, throttling) raises, so the caller's retries apply.

Idempotent end to end: the import id is the content hash, so a redelivered event either finds the upload
gone (already handled) or imports nothing new.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal, Protocol

from pydantic import BaseModel, ConfigDict

from cdp.imports import FileNameError, ImportInputError, MappingError, UnreadableFileError
from cdp.imports.casting import utc_text
from cdp.imports.mapping import ImportMapping, parse_mapping
from cdp.imports.ports import ImportStore
from cdp.imports.service import ImportReport, ImportService, import_id_for, mapping_for_file
from cdp.sources.keys import SourceNameError, validate_source_name

LANDING: Final = "landing"
MAPPINGS: Final = "config/mappings"
IMPORT_FAILURES: Final = "quarantine/import_failures"

#: files above this go to the Glue import job (the Lambda's memory holds the file, its rows and Parquet)
DEFAULT_MAX_INLINE_BYTES: Final = 50 * 1024 * 1024


def mapping_key(source_id: str) -> str:
    """Where a source's mapping YAML lives in the lake (``cdp`` docs: docs/deploy.md)."""
    return f"{MAPPINGS}/{validate_source_name(source_id)}.yaml"


def failure_key(landing_folder: str, import_id: str) -> str:
    """One record per (source folder, content); a later failure of the same content replaces it."""
    return f"{IMPORT_FAILURES}/{landing_folder}/{import_id}.json"


@dataclass(frozen=True, slots=True)
class LandedFile:
    """One object version in ``landing/``, as an S3 "Object Created" event names it."""

    key: str
    size: int | None = None
    version_id: str | None = None

    @property
    def is_folder_marker(self) -> bool:
        """The zero-byte ``landing/crm/`` object a console "Create folder" leaves: nothing to import."""
        return self.key.endswith("/")

    @property
    def folder(self) -> str:
        """The first folder below ``landing/`` as written (a source name once validated)."""
        parts = self.key.split("/")
        return parts[1] if len(parts) > 2 and parts[0] == LANDING and parts[1] else "_unknown"

    def source_and_name(self) -> tuple[str, str]:
        """``(source, file name)``; :class:`~cdp.imports.FileNameError` outside ``landing/{source}/``."""
        parts = self.key.split("/")
        if len(parts) < 3 or parts[0] != LANDING or not parts[-1]:
            raise FileNameError(f"{self.key!r} is not a file under {LANDING}/{{source}}/")
        try:
            source = validate_source_name(parts[1])
        except SourceNameError as error:
            raise FileNameError(
                f"{self.key!r}: the folder below {LANDING}/ names the source; {error}"
            ) from None
        return source, parts[-1]


class ImportFailure(BaseModel):
    """Why an upload was not imported; ``quarantine/import_failures/{folder}/{import_id}.json``."""

    model_config = ConfigDict(frozen=True)

    version: int = 1
    landing_key: str
    landing_version_id: str | None
    source_id: str
    file_name: str
    import_id: str
    size_bytes: int
    #: invalid_mapping | unreadable_file | invalid_file_name | invalid_input
    code: str
    reason: str
    mapping_key: str | None
    failed_at: str


class LandingFiles(Protocol):
    """The lake as the upload path sees it: uploads, mappings and failure records."""

    def read(self, landed: LandedFile) -> bytes | None:
        """The upload's bytes (that version, when named), or ``None`` when it is gone (already handled)."""
        ...

    def remove(self, landed: LandedFile) -> None:
        """Remove the upload from ``landing/`` (that version, when named); gone already is fine."""
        ...

    def mapping_text(self, source_id: str) -> bytes | None:
        """The source's mapping YAML at :func:`mapping_key`, or ``None`` when there is none."""
        ...

    def record_failure(self, failure: ImportFailure) -> str:
        """Write the failure record; returns its key."""
        ...


class LargeImportJobs(Protocol):
    """Starts the import of one large upload elsewhere (the Glue import job); returns the run id."""

    def start(self, landed: LandedFile) -> str: ...


Status = Literal["imported", "already_imported", "started_large_import", "failed", "gone", "ignored"]


@dataclass(frozen=True, slots=True)
class LandingOutcome:
    """What handling one upload did; ``log_fields`` is what the function logs (no row data, no PII)."""

    status: Status
    landing_key: str
    report: ImportReport | None = None
    job_run_id: str | None = None
    failure: ImportFailure | None = None
    failure_key: str | None = None

    def log_fields(self) -> dict[str, object]:
        fields: dict[str, object] = {"status": self.status, "landing_key": self.landing_key}
        if self.report is not None:
            fields |= {
                "source_id": self.report.source_id,
                "import_id": self.report.import_id,
                "rows_read": self.report.rows_read,
                "rows_accepted": self.report.rows_accepted,
                "rows_rejected": self.report.rows_rejected,
                "rejected_by_reason": self.report.rejected_by_reason,
                "missing_columns": list(self.report.missing_columns),
                "mapping_changed": self.report.mapping_changed,
                "duration_seconds": round(self.report.duration_seconds, 3),
            }
        if self.job_run_id is not None:
            fields["job_run_id"] = self.job_run_id
        if self.failure is not None:
            fields |= {
                "code": self.failure.code,
                "reason": self.failure.reason,
                "import_id": self.failure.import_id,
                "failure_key": self.failure_key,
            }
        return fields


def _failure_code(error: ImportInputError) -> str:
    if isinstance(error, MappingError):
        return "invalid_mapping"
    if isinstance(error, UnreadableFileError):
        return "unreadable_file"
    if isinstance(error, FileNameError):
        return "invalid_file_name"
    return "invalid_input"


class LandingImporter:
    def __init__(
        self,
        *,
        files: LandingFiles,
        store: ImportStore,
        large_jobs: LargeImportJobs | None = None,
        max_inline_bytes: int = DEFAULT_MAX_INLINE_BYTES,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._files = files
        self._store = store
        self._large_jobs = large_jobs
        self._max_inline_bytes = max_inline_bytes
        self._clock = clock or (lambda: datetime.now(UTC))

    def handle(self, landed: LandedFile) -> LandingOutcome:
        """Route one upload: the Glue job when it is large (and a job is wired), else import it here."""
        if landed.is_folder_marker:
            return LandingOutcome(status="ignored", landing_key=landed.key)
        if self._large_jobs is not None and (landed.size or 0) > self._max_inline_bytes:
            return LandingOutcome(
                status="started_large_import",
                landing_key=landed.key,
                job_run_id=self._large_jobs.start(landed),
            )
        return self.import_landed(landed)

    def import_landed(self, landed: LandedFile) -> LandingOutcome:
        """Import one upload here, whatever its size (the Glue import job calls this directly)."""
        if landed.is_folder_marker:
            return LandingOutcome(status="ignored", landing_key=landed.key)
        data = self._files.read(landed)
        if data is None:
            return LandingOutcome(status="gone", landing_key=landed.key)
        mapping_at: str | None = None
        try:
            source_id, file_name = landed.source_and_name()
            mapping_at = mapping_key(source_id)
            mapping = self._mapping(source_id, file_name, data, mapping_at)
            report = ImportService(self._store, clock=self._clock).import_file(
                source_id, file_name, data, mapping
            )
        except ImportInputError as error:
            return self._failed(landed, data, error, mapping_at)
        self._files.remove(landed)
        return LandingOutcome(status=report.status, landing_key=landed.key, report=report)

    def _mapping(self, source_id: str, file_name: str, data: bytes, location: str) -> ImportMapping:
        text = self._files.mapping_text(source_id)
        if text is None:
            return mapping_for_file(source_id, file_name, data)
        return parse_mapping(text, location)

    def _failed(
        self, landed: LandedFile, data: bytes, error: ImportInputError, mapping_at: str | None
    ) -> LandingOutcome:
        import_id = import_id_for(data)
        failure = ImportFailure(
            landing_key=landed.key,
            landing_version_id=landed.version_id,
            source_id=landed.folder,
            file_name=landed.key.rsplit("/", 1)[-1],
            import_id=import_id,
            size_bytes=len(data),
            code=_failure_code(error),
            reason=str(error),
            mapping_key=mapping_at,
            failed_at=utc_text(self._clock()),
        )
        key = self._files.record_failure(failure)
        return LandingOutcome(status="failed", landing_key=landed.key, failure=failure, failure_key=key)
