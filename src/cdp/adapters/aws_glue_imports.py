"""The AWS :class:`~cdp.imports.landing.LargeImportJobs`: one Glue job run per large upload.

The import function starts ``glue_jobs/import_file.py`` with the upload's coordinates as job arguments
(``--lake_uri``, ``--source``, ``--key``, ``--version_id``); the job imports that exact object version
with the same :class:`~cdp.imports.landing.LandingImporter`. A failed ``StartJobRun`` (throttled, the
job's concurrent-run limit reached) raises :class:`ImportJobUnavailableError`, so the event is retried.

boto3 is imported when the first client is made, never at module import.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Protocol

from cdp.imports.landing import LandedFile


class ImportJobUnavailableError(RuntimeError):
    """The Glue import job could not be started now; retry later."""


class GlueJobRuns(Protocol):
    """The one Glue call this adapter makes (boto3's Glue client has it)."""

    def start_job_run(self, *, JobName: str, Arguments: Mapping[str, str]) -> Mapping[str, Any]: ...  # noqa: N803


def job_arguments(lake_uri: str, landed: LandedFile) -> dict[str, str]:
    """The run's arguments, as ``glue_jobs/import_file.py`` parses them."""
    arguments = {"--lake_uri": lake_uri, "--source": landed.folder, "--key": landed.key}
    if landed.version_id:
        arguments["--version_id"] = landed.version_id
    return arguments


class GlueImportJobs:
    def __init__(self, *, job_name: str, lake_uri: str, client: GlueJobRuns | None = None) -> None:
        self._job_name = job_name
        self._lake_uri = lake_uri
        self._client = client
        self._lock = threading.Lock()

    def start(self, landed: LandedFile) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self._glue().start_job_run(
                JobName=self._job_name, Arguments=job_arguments(self._lake_uri, landed)
            )
        except (BotoCoreError, ClientError) as error:
            raise ImportJobUnavailableError(
                f"glue job {self._job_name}: cannot start a run: {error}"
            ) from error
        return str(response["JobRunId"])

    def _glue(self) -> GlueJobRuns:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import boto3
                    from botocore.config import Config

                    client: Any = boto3.client("glue", config=Config(retries={"mode": "standard"}))
                    self._client = client
        assert self._client is not None
        return self._client
