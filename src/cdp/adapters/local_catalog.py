"""The local :class:`~cdp.catalog_port.CatalogPublisher`: the lake's pointer file is the catalog.

``cdp query`` resolves every snapshot table through ``<prefix>/_current.json`` (:mod:`cdp.query.catalog`),
which :func:`cdp.tables.publish` has already swapped, so publishing has nothing left to move here.
"""

from __future__ import annotations

from cdp.catalog_port import snapshot_location
from cdp.lakefs import LakeFiles
from cdp.tables import LakeTable, current


class LocalCatalogPublisher:
    def __init__(self, files: LakeFiles) -> None:
        self._files = files

    def publish(self, table: LakeTable, location: str) -> None:
        """Nothing to do: readers follow the pointer file :func:`cdp.tables.publish` wrote."""

    def location(self, table: LakeTable) -> str | None:
        snapshot = current(self._files, table)
        return snapshot_location(self._files, snapshot) if snapshot else None
