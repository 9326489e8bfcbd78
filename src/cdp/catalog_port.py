"""The catalog's side of publishing a snapshot (SPEC 4): where readers of a table are pointed.

Publishing is two steps. :func:`cdp.tables.publish` swaps the lake's pointer file
(``<prefix>/_current.json``), which is what the local engine follows. Athena follows the Glue table's
location instead, so on AWS the pipeline must move that too, right after the pointer file:
:class:`CatalogPublisher` is that second step.

* :class:`cdp.adapters.glue_catalog.GlueCatalogPublisher` sets the Glue table's location to the snapshot;
* :class:`cdp.adapters.local_catalog.LocalCatalogPublisher` has nothing to move (the pointer file *is* the
  local catalog's pointer).

A CloudFormation update of a table (a schema change deployed by ``infra/``) writes the table's initial,
empty location back; :func:`sync_catalog` points every table at its published snapshot again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from cdp.lakefs import LakeFiles
from cdp.tables import LakeTable, Snapshot, current


class CatalogError(RuntimeError):
    """The catalog refused or failed the change (unknown table, denied, throttled); the message says which."""


class CatalogPublisher(Protocol):
    def publish(self, table: LakeTable, location: str) -> None:
        """Point readers of ``table`` at the snapshot directory ``location`` (:func:`snapshot_location`)."""
        ...

    def location(self, table: LakeTable) -> str | None:
        """The snapshot directory readers of ``table`` read now; ``None`` before its first publish."""
        ...


def snapshot_location(files: LakeFiles, snapshot: Snapshot) -> str:
    """A snapshot's directory as a catalog location: its URI with a trailing ``/`` (a folder, not a prefix
    of ``run_id=…1`` and ``run_id=…10`` alike)."""
    return files.uri(snapshot.directory).rstrip("/") + "/"


def is_snapshot_location(location: str) -> bool:
    """Whether ``location`` names one snapshot (``…/run_id=<id>/``) rather than an initial, empty folder."""
    return location.rstrip("/").rsplit("/", 1)[-1].startswith("run_id=")


def sync_catalog(files: LakeFiles, catalog: CatalogPublisher, tables: Iterable[LakeTable]) -> dict[str, str]:
    """Point each table whose location differs from its published snapshot at that snapshot.

    Returns ``{table name: new location}`` for the tables it moved; tables never published are left alone.
    """
    moved: dict[str, str] = {}
    for table in tables:
        snapshot = current(files, table)
        if snapshot is None:
            continue
        location = snapshot_location(files, snapshot)
        if catalog.location(table) != location:
            catalog.publish(table, location)
            moved[table.name] = location
    return moved
