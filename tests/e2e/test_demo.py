"""`cdp demo` (what `make demo` runs) on a fresh lake, checked against the lake it leaves behind, and run
again on the same lake. The numbers of its report are checked in detail by test_demo_report.py."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

from tests.e2e.conftest import cdp, query_json


def _report(lake: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((lake.parent / "report.json").read_text(encoding="utf-8"))
    return report


def test_demo_runs_the_pipeline_and_its_numbers_match_the_lake(lake: Path) -> None:
    result = cdp("demo", lake=lake, timeout=240)
    assert result.code == 0, result.stderr
    truth = list(csv.DictReader((lake.parent / "sample" / "truth.csv").open(encoding="utf-8")))
    app_events = sum(1 for row in truth if row["source"] == "app")
    assert (lake.parent / "report.html").stat().st_size > 50_000
    report = _report(lake)
    privacy = report["privacy"]
    before, after = privacy["tables_before"], privacy["tables_after"]

    # the run, before the erasure: every SDK event once, + the one good event of the mixed batch
    assert report["sources"]["events_stored"] == before["raw_events"] == app_events + 1
    [events] = query_json("SELECT count(*) AS n, count(DISTINCT message_id) AS ids FROM raw_events", lake)
    assert events == {"n": after["raw_events"], "ids": after["raw_events"]}
    reasons = query_json("SELECT reason FROM quarantine_events ORDER BY reason", lake)
    assert [r["reason"] for r in reasons] == ["event is required", "userId or anonymousId is required"]

    for source in ("crm", "shop", "survey"):
        expected = [row["expected"] for row in truth if row["source"] == source]
        [imported] = [s for s in report["sources"]["imports"] if s["source"] == source]
        assert imported["accepted"] == expected.count("accepted"), source
    imported = query_json("SELECT count(*) AS n FROM import_rows", lake)[0]["n"]
    records = query_json("SELECT count(*) AS n FROM identity_records", lake)[0]["n"]
    profiles = query_json("SELECT count(DISTINCT profile_id) AS n FROM identity_links", lake)[0]["n"]
    linked = query_json("SELECT count(*) AS n FROM identity_links", lake)[0]["n"]
    assert linked == records  # every identity record is in exactly one profile, after the erasure too
    assert (imported, records, profiles) == (
        after["import_rows"],
        after["identity_records"],
        after["profiles"],
    )
    assert profiles == report["identity"]["profiles"] - 1  # one person erased
    people = len({row["person_id"] for row in truth if row["person_id"]})
    assert people - 1 <= profiles < records
    identity = report["identity"]
    quarantined = sum(s["quarantined"] for s in report["sources"]["imports"])
    summary = (
        f"{app_events + 1:,} events and {before['import_rows']:,} imported rows "
        f"({quarantined:,} quarantined) "
        f"became {identity['records']:,} standardized identity records and {identity['profiles']:,} profiles"
    )
    assert summary in result.stdout
    assert f"the real-time lookup store holds {identity['profiles']:,} profiles" in result.stdout
    assert "every AWS destination received exactly what the ledger says was sent" in result.stdout
    [accuracy] = re.findall(r"pairwise precision ([0-9.]+), recall ([0-9.]+)", result.stdout)
    assert float(accuracy[0]) >= 0.99
    assert float(accuracy[1]) >= 0.9

    again = cdp("demo", lake=lake, timeout=240)  # re-runnable: the same data again changes nothing
    assert again.code == 0, again.stderr
    assert "already_imported" in again.stdout
    second = _report(lake)
    # nothing new but the mixed batch's event (no messageId: a new one each time); the erased person's
    # rows do not come back: the files are already imported, their re-sent events are suppressed
    assert second["privacy"]["tables_before"]["raw_events"] == after["raw_events"] + 1
    assert second["privacy"]["tables_before"]["import_rows"] == after["import_rows"]
    assert second["privacy"]["tables_before"]["profiles"] == after["profiles"]
    assert {s["segment_id"]: (s["entered"], s["exited"]) for s in second["segments"]} == {
        s["segment_id"]: (0, 0) for s in report["segments"]
    }
    assert sum(d["outcomes"].get("sent", 0) for d in second["deliveries"]) == 0
    assert second["privacy"]["proof_hits"] == 0
