"""The lookup loader (pipeline step ``lookup``) from published lake snapshots into the real stores.

Snapshots are written with pyarrow exactly as the profiles and segments steps publish them; what is
asserted is what the lookup API answers afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest
from moto import mock_aws

from cdp.adapters.aws_dynamodb_profiles import DynamoDbProfileStore
from cdp.adapters.local_profiles import SqliteProfileStore
from cdp.lake import LocalLake
from cdp.lakefs import LakeFiles
from cdp.lookup.ports import IdentifierKind, LookupUnavailableError, ProfileDocument, ProfileStore
from cdp.lookup.service import ProfileLookupService
from cdp.pipeline.lookup import LoadBudget, lookup_step, profile_buckets, refresh_lookup
from tests.contract.conftest import MOTO_REGION, create_pk_sk_table
from tests.lookup_data import documents, membership_row, profile_row, publish_snapshots, trait_row

RUN_2 = "20260302T000000Z-bbbbbb"


def people(count: int = 40) -> list[dict[str, Any]]:
    return [
        profile_row(
            f"p-{i:03d}",
            emails=[f"somsak{i}@shop.co.th"],
            phones=[f"+6681975{i:04d}"],
            user_ids=[f"u-{i}"],
            anonymous_ids=[f"a-{i}", f"a-{i}-tablet"],
        )
        for i in range(count)
    ]


def traits_for(count: int = 40) -> list[dict[str, Any]]:
    return [
        row
        for i in range(count)
        for row in (
            trait_row(f"p-{i:03d}", "ltv", i * 100.5),
            trait_row(f"p-{i:03d}", "orders_90d", i % 4),
            trait_row(f"p-{i:03d}", "is_vip", i % 10 == 0),
        )
    ]


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    return tmp_path / "lake"


def found(store: ProfileStore, profile_id: str) -> dict[str, Any]:
    document = store.get(profile_id)
    assert document is not None, profile_id
    loaded: dict[str, Any] = orjson.loads(document)
    return loaded


def test_a_run_is_loaded_then_reloaded_with_merges_and_changes(lake: Path) -> None:
    publish_snapshots(
        lake,
        profiles=people(),
        traits=traits_for(),
        memberships=[membership_row("vip", "p-000"), membership_row("lapsed", "p-001", exited=True)],
        files_per_table=3,
    )
    store = SqliteProfileStore(LocalLake.at(lake))
    report = refresh_lookup(LakeFiles(lake), store)
    assert (report.profiles, report.loaded, report.unchanged, report.deleted) == (40, 40, 0, 0)
    assert report.identifiers == 40 * 5
    assert (report.trait_rows, report.membership_rows, report.buckets, report.complete) == (120, 2, 1, True)
    assert report.source_runs == {
        "profiles": "20260301T000000Z-aaaaaa",
        "profile_traits": "20260301T000000Z-aaaaaa",
        "segment_memberships": "20260301T000000Z-aaaaaa",
    }
    somchai = found(store, "p-000")
    assert somchai["traits"] == {"ltv": 0.0, "orders_90d": 0, "is_vip": True}
    assert somchai["segments"] == ["vip"]
    assert found(store, "p-001")["segments"] == []
    service = ProfileLookupService(store)
    assert orjson.loads(service.by_identifier("email=Somsak7%40Shop.co.th").body)["profile_id"] == "p-007"

    # the next run: p-039 merged into p-038 (its ids move there), p-005 moved city, the rest unchanged
    nxt = people(39)
    nxt[38]["user_ids"] = ["u-38", "u-39"]
    nxt[38]["anonymous_ids"] = ["a-38", "a-38-tablet", "a-39", "a-39-tablet"]
    nxt[5]["city"] = "Chiang Mai"
    publish_snapshots(lake, profiles=nxt, traits=traits_for(39), memberships=[], run_id=RUN_2)
    again = refresh_lookup(LakeFiles(lake), store)
    assert (again.profiles, again.loaded, again.unchanged, again.deleted) == (39, 3, 36, 1)  # p-000 left vip
    assert store.get("p-039") is None
    assert store.find(IdentifierKind.USER_ID, "u-39") == ["p-038"]
    assert found(store, "p-005")["attributes"]["city"] == "Chiang Mai"
    assert found(store, "p-000")["segments"] == []

    idle = refresh_lookup(LakeFiles(lake), store)
    assert (idle.loaded, idle.unchanged, idle.deleted, idle.identifiers_written) == (0, 39, 0, 0)


def test_unpublished_tables_count_as_empty(lake: Path) -> None:
    store = SqliteProfileStore(LocalLake.at(lake))
    assert refresh_lookup(LakeFiles(lake), store).profiles == 0  # nothing published at all
    publish_snapshots(lake, profiles=people(3))  # traits and memberships never published
    report = refresh_lookup(LakeFiles(lake), store)
    assert (report.profiles, report.trait_rows, report.membership_rows) == (3, 0, 0)
    assert report.source_runs["profile_traits"] is None
    assert found(store, "p-002")["traits"] == {}


def test_buckets_spilled_to_disk_give_the_same_documents(lake: Path, tmp_path: Path) -> None:
    publish_snapshots(
        lake, profiles=people(), traits=traits_for(), memberships=[membership_row("vip", "p-000")]
    )
    whole = SqliteProfileStore(path=tmp_path / "whole.sqlite3")
    refresh_lookup(LakeFiles(lake), whole)
    bucketed = SqliteProfileStore(path=tmp_path / "bucketed.sqlite3")
    budget = LoadBudget(profiles_per_bucket=8, trait_rows_per_bucket=20, batch_size=7)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    report = refresh_lookup(LakeFiles(lake), bucketed, budget=budget, scratch_dir=scratch)
    assert report.buckets == 6  # 120 trait rows / 20
    assert report.profiles == 40
    for i in range(40):
        assert bucketed.get(f"p-{i:03d}") == whole.get(f"p-{i:03d}")
    assert list(scratch.iterdir()) == []  # the spilled buckets are gone


def test_profile_buckets_are_stable_and_spread() -> None:
    import pyarrow as pa

    ids = pa.array([f"p-{i}" for i in range(1000)] + [None])
    buckets = profile_buckets(ids, 8).to_pylist()
    assert buckets == profile_buckets(ids, 8).to_pylist()
    assert set(buckets) == set(range(8))
    assert max(buckets.count(b) for b in range(8)) < 200
    assert profile_buckets(pa.array([None, None], pa.string()), 4).to_pylist() == [0, 0]


def test_a_deadline_pauses_the_load_and_the_next_run_finishes_it(lake: Path) -> None:
    publish_snapshots(lake, profiles=people(10))
    store = SqliteProfileStore(LocalLake.at(lake))
    refresh_lookup(LakeFiles(lake), store)
    publish_snapshots(lake, profiles=people(25)[5:], run_id=RUN_2)  # p-000..p-004 gone, 15 new
    ticks = iter([0.0, *[100.0] * 50])
    paused = refresh_lookup(
        LakeFiles(lake), store, budget=LoadBudget(batch_size=5), deadline=50.0, clock=lambda: next(ticks)
    )
    assert paused.complete is False
    assert store.get("p-000") is not None  # nothing deleted by a paused load
    finished = refresh_lookup(LakeFiles(lake), store, budget=LoadBudget(batch_size=5))
    assert (finished.complete, finished.profiles, finished.deleted) == (True, 20, 5)
    assert store.get("p-000") is None
    assert store.get("p-024") is not None


def test_the_step_report_for_the_runner(lake: Path) -> None:
    publish_snapshots(lake, profiles=people(4))
    step = lookup_step(LakeFiles(lake), run_id="r-1", engine="duckdb")
    assert (step.step, step.rows, step.guards["written"], step.guards["identifiers"]) == (
        "lookup",
        {"profile_lookup": 4},
        4,
        20,
    )
    assert SqliteProfileStore(LocalLake.at(lake)).find(IdentifierKind.USER_ID, "u-3") == ["p-003"]


def test_readers_see_the_previous_load_until_the_new_one_commits(lake: Path) -> None:
    """WAL: ``cdp serve`` keeps answering (the old profiles) while a loader writes in another connection."""
    store = SqliteProfileStore(LocalLake.at(lake))
    store.replace_all([documents([profile_row("p-1", city="Bangkok")])])
    reader = SqliteProfileStore(LocalLake.at(lake))  # as a separate process would open it
    first_batch_written = threading.Event()
    may_finish = threading.Event()

    def slow_load() -> Iterator[list[ProfileDocument]]:
        yield documents([profile_row("p-1", city="Chiang Mai")])
        first_batch_written.set()
        assert may_finish.wait(10)
        yield documents([profile_row("p-2")])

    loader = threading.Thread(target=lambda: store.replace_all(slow_load()))
    loader.start()
    assert first_batch_written.wait(10)
    assert found(reader, "p-1")["attributes"]["city"] == "Bangkok"  # not blocked, not half-loaded
    assert reader.get("p-2") is None
    may_finish.set()
    loader.join(10)
    assert found(reader, "p-1")["attributes"]["city"] == "Chiang Mai"
    assert reader.get("p-2") is not None


def test_a_second_loader_waits_then_fails_as_unavailable(lake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cdp.adapters.local_profiles as local

    monkeypatch.setattr(local, "_BUSY_TIMEOUT_MS", 200)
    store = SqliteProfileStore(LocalLake.at(lake))
    store.replace_all([documents([profile_row("p-1")])])
    holding = threading.Event()
    release = threading.Event()

    def held() -> Iterator[list[ProfileDocument]]:
        holding.set()
        assert release.wait(10)
        yield documents([profile_row("p-1")])

    first = threading.Thread(target=lambda: store.replace_all(held()))
    first.start()
    assert holding.wait(10)
    with pytest.raises(LookupUnavailableError, match="locked"):
        SqliteProfileStore(LocalLake.at(lake)).replace_all([documents([profile_row("p-9")])])
    release.set()
    first.join(10)
    assert store.get("p-9") is None


# -- DynamoDB (moto) ----------------------------------------------------------------------------------


class FlakyDynamoDb:
    """A moto client that leaves part of each batch unprocessed for the first calls, as DynamoDB does
    under throttling: the adapter must retry exactly the unprocessed requests."""

    def __init__(self, client: Any, flaky_calls: int, *, stuck: bool = False) -> None:
        self._client = client
        self.flaky_calls = flaky_calls
        self.stuck = stuck  # leave every write unprocessed, as a table throttled for good
        self.calls = {"batch_write_item": 0, "batch_get_item": 0}
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def _flaky(self, name: str) -> bool:
        with self._lock:
            self.calls[name] += 1
            return self.calls[name] <= self.flaky_calls

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:  # noqa: N803
        [(table, requests)] = RequestItems.items()
        if self.stuck:
            return {"UnprocessedItems": {table: requests}}
        if not self._flaky("batch_write_item") or len(requests) < 2:
            return dict(self._client.batch_write_item(RequestItems=RequestItems))
        half = len(requests) // 2
        self._client.batch_write_item(RequestItems={table: requests[:half]})
        return {"UnprocessedItems": {table: requests[half:]}}

    def batch_get_item(self, RequestItems: dict[str, dict[str, Any]]) -> dict[str, Any]:  # noqa: N803
        [(table, request)] = RequestItems.items()
        keys = request["Keys"]
        if not self._flaky("batch_get_item") or len(keys) < 2:
            return dict(self._client.batch_get_item(RequestItems=RequestItems))
        half = len(keys) // 2
        response = self._client.batch_get_item(RequestItems={table: {**request, "Keys": keys[:half]}})
        return {
            "Responses": response["Responses"],
            "UnprocessedKeys": {table: {**request, "Keys": keys[half:]}},
        }


def test_the_loader_fills_dynamodb_and_retries_unprocessed_items(lake: Path) -> None:
    publish_snapshots(
        lake, profiles=people(), traits=traits_for(), memberships=[membership_row("vip", "p-000")]
    )
    sleeps: list[float] = []
    with mock_aws():
        client = boto3.client("dynamodb", region_name=MOTO_REGION)
        create_pk_sk_table(client, "profiles")
        flaky = FlakyDynamoDb(client, flaky_calls=6)
        store = DynamoDbProfileStore(
            table_name="profiles", client=flaky, workers=2, scan_segments=2, sleep=sleeps.append
        )  # type: ignore[arg-type]
        report = refresh_lookup(LakeFiles(lake), store, budget=LoadBudget(batch_size=15))
        assert (report.profiles, report.loaded) == (40, 40)
        assert len(sleeps) >= 6
        assert all(0 <= s <= 5.0 for s in sleeps)
        for i in range(40):
            assert store.find(IdentifierKind.ANONYMOUS_ID, f"a-{i}-tablet") == [f"p-{i:03d}"]
        assert found(store, "p-000")["segments"] == ["vip"]
        publish_snapshots(lake, profiles=people(30), traits=traits_for(30), memberships=[], run_id=RUN_2)
        again = refresh_lookup(LakeFiles(lake), store)
        assert (again.loaded, again.unchanged, again.deleted) == (1, 29, 10)
        assert store.find(IdentifierKind.USER_ID, "u-35") == []
        items = client.scan(TableName="profiles", Select="COUNT")["Count"]
        assert items == 30 * 6  # one profile item and five identifier items each: no orphans


def test_writes_that_stay_unprocessed_make_the_store_unavailable(lake: Path) -> None:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=MOTO_REGION)
        create_pk_sk_table(client, "profiles")
        flaky = FlakyDynamoDb(client, flaky_calls=0, stuck=True)
        store = DynamoDbProfileStore(
            table_name="profiles",
            client=flaky,
            workers=1,
            max_attempts=3,
            sleep=lambda _: None,  # type: ignore[arg-type]
        )
        with pytest.raises(LookupUnavailableError, match="unprocessed after 3 attempts"):
            store.replace_all([documents([profile_row(f"p-{i}", user_ids=[f"u-{i}"]) for i in range(4)])])
