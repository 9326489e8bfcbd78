"""Composition root of the upload path on AWS: settings in, a wired :class:`LandingImporter` out.

The ingestion path's composition root is :mod:`cdp.wiring`; this is its twin for batch import, used by the
import Lambda (``lambdas/imports/handler.py``, settings from its environment) and the Glue import job
(``glue_jobs/import_file.py``, settings from its job arguments). Adapters are imported lazily here, so the
handler module stays cheap to import.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cdp.imports.landing import DEFAULT_MAX_INLINE_BYTES, LandingImporter
from cdp.settings import ConfigError, config_from_env

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from cdp.adapters.aws_glue_imports import GlueJobRuns

_MIB = 1024 * 1024


class UploadPathSettings(BaseModel):
    """What the import function needs: the lake bucket, the Glue import job and the size that picks it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lake_bucket: str = Field(min_length=3, max_length=63, pattern=r"^[a-z0-9][a-z0-9.-]+[a-z0-9]$")
    #: files larger than this many MiB go to the Glue import job (when one is named)
    max_inline_mib: int = Field(default=DEFAULT_MAX_INLINE_BYTES // _MIB, ge=1, le=1024)
    #: the Glue import job for large files; without it every file is imported in-process
    import_job_name: str | None = Field(default=None, min_length=1)

    @property
    def lake_uri(self) -> str:
        return f"s3://{self.lake_bucket}"

    @property
    def max_inline_bytes(self) -> int:
        return self.max_inline_mib * _MIB

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> UploadPathSettings:
        """From ``CDP_*`` variables; :class:`~cdp.settings.ConfigError` names the bad one."""
        return config_from_env(cls, env, _ENV_VARS)

    @classmethod
    def from_lake_uri(cls, lake_uri: str) -> UploadPathSettings:
        """The Glue import job's settings: its ``--lake_uri s3://bucket``; no job of its own to start."""
        bucket = lake_uri.removeprefix("s3://").rstrip("/")
        if not lake_uri.startswith("s3://") or not bucket or "/" in bucket:
            raise ConfigError(f"--lake_uri {lake_uri!r}: give the lake bucket as s3://<bucket>")
        try:
            return cls(lake_bucket=bucket)
        except ValidationError as error:
            raise ConfigError(f"--lake_uri {lake_uri!r}: {error.errors()[0]['msg']}") from error


_ENV_VARS: dict[str, str] = {
    "lake_bucket": "CDP_LAKE_BUCKET",
    "max_inline_mib": "CDP_IMPORT_MAX_INLINE_MIB",
    "import_job_name": "CDP_IMPORT_JOB_NAME",
}


def build_landing_importer(
    settings: UploadPathSettings,
    *,
    s3_client: S3Client | None = None,
    glue_client: GlueJobRuns | None = None,
) -> LandingImporter:
    from cdp.adapters.aws_glue_imports import GlueImportJobs
    from cdp.adapters.s3_imports import LazyS3Client, S3ImportStore, S3LandingFiles

    s3 = LazyS3Client(s3_client)  # one client for both
    large_jobs = (
        GlueImportJobs(job_name=settings.import_job_name, lake_uri=settings.lake_uri, client=glue_client)
        if settings.import_job_name
        else None
    )
    return LandingImporter(
        files=S3LandingFiles(bucket=settings.lake_bucket, client=s3),
        store=S3ImportStore(bucket=settings.lake_bucket, client=s3),
        large_jobs=large_jobs,
        max_inline_bytes=settings.max_inline_bytes,
    )
