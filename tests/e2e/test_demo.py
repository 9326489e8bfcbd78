"""`cdp demo` (what `make demo` runs) on a fresh lake, checked against the lake it leaves behind."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from tests.e2e.conftest import cdp, query_json


def test_demo_runs_the_pipeline_and_its_numbers_match_the_lake(lake: Path) -> None:
    result = cdp("demo", lake=lake, timeout=180)
    assert result.code == 0, result.stderr
    landing = lake / "landing" / "demo"
    truth = list(csv.DictReader((landing / "truth.csv").open(encoding="utf-8")))
    app_events = sum(1 for row in truth if row["source"] == "app")

    [events] = query_json("SELECT count(*) AS n, count(DISTINCT message_id) AS ids FROM raw_events", lake)
    assert events == {"n": app_events + 1, "ids": app_events + 1}  # + the one good event of the mixed batch
    reasons = query_json("SELECT reason FROM quarantine_events ORDER BY reason", lake)
    assert [r["reason"] for r in reasons] == ["event is required", "userId or anonymousId is required"]

    for source in ("crm", "shop", "survey"):
        expected = [row["expected"] for row in truth if row["source"] == source]
        accepted = query_json(f"SELECT count(*) AS n FROM import_rows WHERE source_id = '{source}'", lake)[0][
            "n"
        ]
        assert accepted == expected.count("accepted"), source
    imported = query_json("SELECT count(*) AS n FROM import_rows", lake)[0]["n"]
    quarantined = query_json("SELECT count(*) AS n FROM quarantine_imports", lake)[0]["n"]
    records = query_json("SELECT count(*) AS n FROM identity_records", lake)[0]["n"]
    profiles = query_json("SELECT count(DISTINCT profile_id) AS n FROM identity_links", lake)[0]["n"]
    linked = query_json("SELECT count(*) AS n FROM identity_links", lake)[0]["n"]
    assert linked == records  # every identity record is in exactly one profile
    people = len({row["person_id"] for row in truth if row["person_id"]})
    assert people <= profiles < records
    assert (
        f"{app_events + 1:,} events and {imported:,} imported rows ({quarantined:,} quarantined) "
        f"became {records:,} standardized identity records and {profiles:,} profiles"
    ) in result.stdout
    assert f"the real-time lookup store holds {profiles:,} profiles" in result.stdout
    [accuracy] = re.findall(r"pairwise precision ([0-9.]+), recall ([0-9.]+)", result.stdout)
    assert float(accuracy[0]) >= 0.99
    assert float(accuracy[1]) >= 0.9

    again = cdp("demo", lake=lake, timeout=180)  # re-runnable: the same data again changes nothing
    assert again.code == 0, again.stderr
    assert query_json("SELECT count(*) AS n FROM raw_events", lake)[0]["n"] == app_events + 2
    assert query_json("SELECT count(*) AS n FROM import_rows", lake)[0]["n"] == imported
    assert "already_imported" in again.stdout
