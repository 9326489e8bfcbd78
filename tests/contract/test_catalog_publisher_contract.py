"""Every :class:`~cdp.catalog_port.CatalogPublisher` keeps the same promise (STYLE 2): after a snapshot is
published, readers of the table are pointed at it, and at the next one after the next run.

The Glue adapter runs against moto's Glue Data Catalog, with the tables created from the same definitions
``infra/`` deploys (:func:`cdp.query.glue_tables.catalog_tables`); what it must keep of a table is asserted on
what ``GetTable`` returns afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from cdp.adapters.glue_catalog import GlueCatalogPublisher
from cdp.adapters.local_catalog import LocalCatalogPublisher
from cdp.catalog_port import CatalogError, CatalogPublisher, snapshot_location, sync_catalog
from cdp.lakefs import LakeFiles
from cdp.query.glue_tables import UNPUBLISHED, catalog_tables, database_name
from cdp.tables import IDENTITY_LINKS, PROFILES_PSEUDONYMIZED, LakeTable, publish, snapshot_path
from tests.contract.conftest import MOTO_REGION

LAKE_URI = "s3://cdp-test-lake"
DATABASE = database_name("test")
RUN_1 = "20260301T020000Z-aaaaaa"
RUN_2 = "20260302T020000Z-bbbbbb"


class InMemoryCatalogPublisher:
    """A catalog that is a dict: the fake a pipeline test can hand the runner."""

    def __init__(self) -> None:
        self.locations: dict[str, str] = {}

    def publish(self, table: LakeTable, location: str) -> None:
        self.locations[table.name] = location

    def location(self, table: LakeTable) -> str | None:
        return self.locations.get(table.name)


def write_snapshot(files: LakeFiles, table: LakeTable, run_id: str) -> str:
    """A one-row snapshot of ``table`` published in the lake (pointer swapped); its catalog location."""
    target = Path(files.path(snapshot_path(table, run_id)))
    target.mkdir(parents=True)
    row = dict.fromkeys(table.schema.names) | {"run_id": run_id}
    pq.write_table(pa.Table.from_pylist([row], schema=table.schema), target / "part-00000.parquet")
    return snapshot_location(files, publish(files, table, run_id, 1))


@dataclass(frozen=True)
class PublisherUnderTest:
    publisher: CatalogPublisher
    #: writes run ``run_id``'s snapshot of a table where this catalog's readers find data; its location
    snapshot: Callable[[LakeTable, str], str]


@contextmanager
def _memory(tmp: Path) -> Iterator[PublisherUnderTest]:
    files = LakeFiles(tmp / "lake")
    yield PublisherUnderTest(InMemoryCatalogPublisher(), lambda table, run: write_snapshot(files, table, run))


@contextmanager
def _local(tmp: Path) -> Iterator[PublisherUnderTest]:
    files = LakeFiles(tmp / "lake")
    yield PublisherUnderTest(
        LocalCatalogPublisher(files), lambda table, run: write_snapshot(files, table, run)
    )


@contextmanager
def moto_catalog() -> Iterator[Any]:
    """The stage's database and every table, created as ``infra/`` defines them."""
    with mock_aws():
        glue = boto3.client("glue", region_name=MOTO_REGION)
        glue.create_database(DatabaseInput={"Name": DATABASE})
        for table in catalog_tables(lake_uri=LAKE_URI, raw_events_first_day=date(2026, 1, 1)):
            glue.create_table(DatabaseName=DATABASE, TableInput=table.table_input())
        yield glue


@contextmanager
def _glue(_: Path) -> Iterator[PublisherUnderTest]:
    with moto_catalog() as glue:
        yield PublisherUnderTest(
            GlueCatalogPublisher(database=DATABASE, client=glue),
            lambda table, run: f"{LAKE_URI}/{snapshot_path(table, run)}/",
        )


FACTORIES: dict[str, Callable[[Path], AbstractContextManager[PublisherUnderTest]]] = {
    "memory": _memory,
    "local-lake": _local,
    "glue-moto": _glue,
}


@pytest.fixture(params=sorted(FACTORIES))
def under_test(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PublisherUnderTest]:
    with FACTORIES[request.param](tmp_path) as catalog:
        yield catalog


def test_a_table_never_published_points_at_no_snapshot(under_test: PublisherUnderTest) -> None:
    assert under_test.publisher.location(PROFILES_PSEUDONYMIZED) is None


def test_publishing_points_readers_at_the_snapshot_and_the_next_run_moves_them(
    under_test: PublisherUnderTest,
) -> None:
    catalog = under_test.publisher
    first = under_test.snapshot(PROFILES_PSEUDONYMIZED, RUN_1)
    catalog.publish(PROFILES_PSEUDONYMIZED, first)
    assert catalog.location(PROFILES_PSEUDONYMIZED) == first
    assert first.endswith(f"/pseudonymized/profiles/run_id={RUN_1}/")

    second = under_test.snapshot(PROFILES_PSEUDONYMIZED, RUN_2)
    catalog.publish(PROFILES_PSEUDONYMIZED, second)
    assert catalog.location(PROFILES_PSEUDONYMIZED) == second
    assert catalog.location(IDENTITY_LINKS) is None  # one table's publish moves no other


def test_publishing_the_same_snapshot_twice_changes_nothing(under_test: PublisherUnderTest) -> None:
    location = under_test.snapshot(IDENTITY_LINKS, RUN_1)
    under_test.publisher.publish(IDENTITY_LINKS, location)
    under_test.publisher.publish(IDENTITY_LINKS, location)
    assert under_test.publisher.location(IDENTITY_LINKS) == location


# -- what only the Glue adapter can get wrong --------------------------------------------------------

VOLATILE = {"UpdateTime", "VersionId", "CreateTime"}


def test_glue_keeps_everything_but_the_location() -> None:
    with moto_catalog() as glue:
        before = glue.get_table(DatabaseName=DATABASE, Name=PROFILES_PSEUDONYMIZED.name)["Table"]
        assert before["StorageDescriptor"]["Location"] == f"{LAKE_URI}/pseudonymized/profiles/{UNPUBLISHED}/"
        location = f"{LAKE_URI}/{snapshot_path(PROFILES_PSEUDONYMIZED, RUN_1)}/"
        GlueCatalogPublisher(database=DATABASE, client=glue).publish(PROFILES_PSEUDONYMIZED, location)
        after = glue.get_table(DatabaseName=DATABASE, Name=PROFILES_PSEUDONYMIZED.name)["Table"]
        assert after["StorageDescriptor"] == {**before["StorageDescriptor"], "Location": location}
        assert {k: v for k, v in after.items() if k not in VOLATILE | {"StorageDescriptor"}} == {
            k: v for k, v in before.items() if k not in VOLATILE | {"StorageDescriptor"}
        }
        versions = glue.get_table_versions(DatabaseName=DATABASE, TableName=PROFILES_PSEUDONYMIZED.name)
        assert len(versions["TableVersions"]) == 2  # the previous definition is kept as a version


def test_glue_refuses_an_unknown_table_and_a_location_outside_s3() -> None:
    with moto_catalog() as glue:
        publisher = GlueCatalogPublisher(database=DATABASE, client=glue)
        unknown = LakeTable(name="nope", prefix="x/nope", schema=pa.schema([]), description="")
        with pytest.raises(CatalogError, match="nope"):
            publisher.publish(unknown, f"{LAKE_URI}/x/nope/run_id={RUN_1}/")
        with pytest.raises(CatalogError, match="s3://"):
            publisher.publish(IDENTITY_LINKS, "/tmp/lake/identity/links/run_id=1/")
        assert publisher.location(IDENTITY_LINKS) is None


def test_sync_points_every_published_table_at_its_pointer_again(tmp_path: Path) -> None:
    """After a deploy rewrote a table's definition (location back to ``unpublished``)."""
    files = LakeFiles(tmp_path / "lake")
    catalog = InMemoryCatalogPublisher()
    first = write_snapshot(files, IDENTITY_LINKS, RUN_1)
    catalog.publish(IDENTITY_LINKS, first)
    second = write_snapshot(files, IDENTITY_LINKS, RUN_2)  # published in the lake, not yet in the catalog

    moved = sync_catalog(files, catalog, [IDENTITY_LINKS, PROFILES_PSEUDONYMIZED])
    assert moved == {IDENTITY_LINKS.name: second}
    assert catalog.location(IDENTITY_LINKS) == second
    assert catalog.location(PROFILES_PSEUDONYMIZED) is None  # never published: left alone
    assert sync_catalog(files, catalog, [IDENTITY_LINKS]) == {}
