"""The standardize step on the embedded engine (DuckDB), read back from the published snapshots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from cdp.engine.duckdb_engine import DuckDbEngine
from cdp.lakefs import LakeFiles
from cdp.pipeline.runner import RunReport, run_pipeline
from cdp.tables import EVENTS, IDENTITY_RECORDS, ORDERS, LakeTable, current, snapshot_files
from tests.pipeline_data import build_lake


def rows(files: LakeFiles, table: LakeTable) -> list[dict[str, Any]]:
    paths = snapshot_files(files, current(files, table))
    return [row for path in paths for row in pq.read_table(path).to_pylist()]


@pytest.fixture(scope="module")
def standardized(tmp_path_factory: pytest.TempPathFactory) -> tuple[LakeFiles, RunReport]:
    lake = build_lake(tmp_path_factory.mktemp("lake"))
    files = LakeFiles(lake.root)
    engine = DuckDbEngine()
    try:
        report = run_pipeline(files, engine, steps=["standardize"], run_id="run-1")
    finally:
        engine.close()
    return files, report


def test_events_are_typed_and_one_per_message(standardized: tuple[LakeFiles, RunReport]) -> None:
    files, report = standardized
    events = {row["message_id"]: row for row in rows(files, EVENTS)}
    assert sorted(events) == ["a-1", "i-1", "i-2", "o-1", "p-1", "s-1"]
    assert report.steps[0].rows["events"] == 6
    order = events["o-1"]
    assert json.loads(order["properties"])["revenue"] == 1540.0  # the first received copy
    assert order["event_time"].isoformat() == "2026-03-01T10:30:00+00:00"  # the client's time, in UTC
    assert order["dt"] == "2026-03-01"  # business date: 17:30 in Bangkok
    late = events["i-2"]  # no client time: received at 17:30 UTC = 00:30 the next day in Bangkok
    assert (late["event_time"].isoformat(), late["dt"]) == ("2026-03-01T17:30:00+00:00", "2026-03-02")
    assert events["p-1"]["channel"] == "web"
    assert events["s-1"]["channel"] == "app"
    assert {row["run_id"] for row in events.values()} == {"run-1"}


def test_identity_records_from_imports_and_events(standardized: tuple[LakeFiles, RunReport]) -> None:
    files, _ = standardized
    records = rows(files, IDENTITY_RECORDS)
    by_key = {(r["origin"], r["source_record_key"], r["anonymous_id"]): r for r in records}
    crm = by_key[("import", "C-1", None)]
    assert crm["email"] == "somchai.j@gmail.com"
    assert crm["email_key"] == "somchaij@gmail.com"
    assert crm["phone_e164"] == "+66819473526"
    assert crm["date_of_birth"] == "1987-05-12"
    assert crm["province_code"] == "TH-10"
    assert crm["gender"] == "male"
    # the later export of C-2 wins, and its real identifiers replace the placeholders
    malee = by_key[("import", "C-2", None)]
    assert (malee["email"], malee["phone_e164"], malee["province_code"]) == (
        "malee.srisuk@outlook.co.th",
        "+66891112222",
        "TH-50",
    )
    assert (malee["first_name"], malee["last_name"]) == ("Malee", "Srisuk")
    identify = by_key[("event", "user-1", "anon-1")]
    assert identify["first_name"] == "สมชาย"  # title นาย stripped
    assert identify["email_key"] == "somchaij@gmail.com"
    assert identify["date_of_birth"] == "1987-05-12"  # Buddhist-era 2530
    alias = by_key[("event", "user-1", "anon-9")]
    assert alias["user_id"] == "user-1"
    anonymous = by_key[("event", "anon-2", "anon-2")]
    assert anonymous["email"] == "malee.srisuk@outlook.co.th"  # from context.traits (RudderStack style)
    assert len({r["record_id"] for r in records}) == len(records)


def test_orders_from_imports_and_events_one_row_per_line(standardized: tuple[LakeFiles, RunReport]) -> None:
    files, _ = standardized
    orders = sorted(rows(files, ORDERS), key=lambda r: (r["order_id"], r["product_id"] or ""))
    assert [(o["order_id"], o["product_id"], o["quantity"], o["unit_price"]) for o in orders] == [
        ("S-77", "SKU-SHIRT-L", 1, 350.0),
        ("W-1", "SKU-FAN-16", 1, 1290.0),
        ("W-1", "SKU-TEA", 2, 125.0),
    ]
    web = [o for o in orders if o["order_id"] == "W-1"]
    assert {o["order_total"] for o in web} == {1540.0}
    assert {o["origin"] for o in web} == {"event"}


def test_a_rerun_publishes_a_new_snapshot_and_keeps_the_old_one(tmp_path: Path) -> None:
    files = LakeFiles(build_lake(tmp_path).root)
    for run_id in ("run-a", "run-b"):
        engine = DuckDbEngine()
        run_pipeline(files, engine, steps=["standardize"], run_id=run_id)
        engine.close()
    snapshot = current(files, EVENTS)
    assert snapshot is not None
    assert snapshot.run_id == "run-b"
    assert files.exists("clean/events/run_id=run-a/part-00000.parquet")
    assert len(rows(files, EVENTS)) == 6
