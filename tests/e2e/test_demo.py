"""`cdp demo` (what `make demo` runs) on a fresh lake, checked against the lake it leaves behind."""

from __future__ import annotations

from pathlib import Path

from cdp.demo.sample_events import sample_calls, sample_customers
from tests.e2e.conftest import cdp, query_json


def test_demo_sends_through_a_real_sdk_and_reports_what_landed(lake: Path) -> None:
    result = cdp("demo", lake=lake, timeout=120)
    assert result.code == 0, result.stderr
    sent_by_sdk = len(sample_calls(sample_customers(40)))
    [row] = query_json("SELECT count(*) AS n, count(DISTINCT message_id) AS ids FROM raw_events", lake)
    assert row == {"n": sent_by_sdk + 1, "ids": sent_by_sdk + 1}  # + the one good event of the mixed batch
    reasons = query_json("SELECT reason FROM quarantine_events ORDER BY reason", lake)
    assert [r["reason"] for r in reasons] == ["event is required", "userId or anonymousId is required"]
    assert f"{sent_by_sdk + 1} new events stored once each" in result.stdout

    again = cdp("demo", lake=lake, timeout=120)  # re-runnable: rotates the demo key, adds new events
    assert again.code == 0, again.stderr
    [total] = query_json("SELECT count(*) AS n FROM raw_events", lake)
    assert total["n"] == 2 * (sent_by_sdk + 1)
