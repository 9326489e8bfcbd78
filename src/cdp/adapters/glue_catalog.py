"""The AWS :class:`~cdp.catalog_port.CatalogPublisher`: on AWS the pointer is the Glue table's location.

``publish`` reads the table (``GetTable``), sets ``StorageDescriptor.Location`` to the snapshot's directory
and writes the table back (``UpdateTable``) with everything else as it was: columns, SerDe, parameters,
description. ``UpdateTable`` replaces the whole definition, so what is sent back is what was read, minus the
read-only keys; the read's ``VersionId`` goes with it, so an update that lost a race with another one (a
deploy changing the table, a concurrent run) fails instead of silently undoing it. Glue keeps each replaced
definition as a table version: the history of which snapshot was current when.

boto3 is imported when the first client is made, never at module import.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Final, Protocol

from cdp.catalog_port import CatalogError, is_snapshot_location
from cdp.tables import LakeTable

#: the keys of a ``GetTable`` answer that ``UpdateTable``'s ``TableInput`` takes back unchanged
TABLE_INPUT_KEYS: Final = (
    "Name",
    "Description",
    "Owner",
    "LastAccessTime",
    "LastAnalyzedTime",
    "Retention",
    "StorageDescriptor",
    "PartitionKeys",
    "TableType",
    "Parameters",
    "TargetTable",
)


class GlueTables(Protocol):
    """The two Glue calls this adapter makes (boto3's Glue client has them)."""

    def get_table(self, *, DatabaseName: str, Name: str) -> Mapping[str, Any]: ...  # noqa: N803

    def update_table(
        self,
        *,
        DatabaseName: str,  # noqa: N803
        TableInput: Mapping[str, Any],  # noqa: N803
        VersionId: str,  # noqa: N803
    ) -> Mapping[str, Any]: ...


class GlueCatalogPublisher:
    def __init__(self, *, database: str, client: GlueTables | None = None) -> None:
        self._database = database
        self._client = client
        self._lock = threading.Lock()

    def publish(self, table: LakeTable, location: str) -> None:
        if not location.startswith("s3://"):
            raise CatalogError(f"{table.name}: a Glue table's location is an s3:// URI, not {location!r}")
        definition = self._get(table)
        table_input = {key: definition[key] for key in TABLE_INPUT_KEYS if key in definition}
        table_input["StorageDescriptor"] = {**definition["StorageDescriptor"], "Location": location}
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._glue().update_table(
                DatabaseName=self._database, TableInput=table_input, VersionId=str(definition["VersionId"])
            )
        except (BotoCoreError, ClientError) as error:
            raise CatalogError(
                f"{self._database}.{table.name}: cannot point it at {location}: {error}"
            ) from error

    def location(self, table: LakeTable) -> str | None:
        location = str(self._get(table)["StorageDescriptor"].get("Location", ""))
        return location if is_snapshot_location(location) else None

    def _get(self, table: LakeTable) -> Mapping[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self._glue().get_table(DatabaseName=self._database, Name=table.name)["Table"]  # type: ignore[no-any-return]
        except (BotoCoreError, ClientError) as error:
            raise CatalogError(f"{self._database}.{table.name}: cannot read the table: {error}") from error

    def _glue(self) -> GlueTables:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import boto3
                    from botocore.config import Config

                    client: Any = boto3.client("glue", config=Config(retries={"mode": "standard"}))
                    self._client = client
        assert self._client is not None
        return self._client
