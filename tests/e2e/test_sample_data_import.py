"""``cdp sample-data`` output through the real ``cdp import`` (example mappings) and a real Segment SDK:
what lands and what is quarantined is exactly what the ground truth says."""

from __future__ import annotations

import csv
import re
import time
from pathlib import Path

from segment.analytics import Client

from cdp.sampledata.app_events import read_sdk_calls
from tests.e2e.conftest import RunningServer, cdp, query_json

MAPPINGS = Path(__file__).resolve().parents[2] / "examples" / "mappings"
IMPORTS = (
    ("crm", "crm_customers.csv", "crm_customers.yaml"),
    ("shop", "shop_orders.jsonl", "shop_orders.yaml"),
    ("survey", "survey.csv", "survey.yaml"),
)


def generate(tmp_path: Path, lake: Path, people: int) -> tuple[Path, list[dict[str, str]]]:
    out = tmp_path / "sample"
    result = cdp("sample-data", str(out), "--people", str(people), "--seed", "7", lake=lake)
    assert result.code == 0, result.stderr
    assert "truth.csv" in result.stdout
    assert not lake.exists()  # sample-data writes files only
    with (out / "truth.csv").open(encoding="utf-8", newline="") as file:
        return out, list(csv.DictReader(file))


def test_imports_accept_exactly_the_valid_rows_and_quarantine_the_broken_ones(
    tmp_path: Path, lake: Path
) -> None:
    out, truth = generate(tmp_path, lake, people=60)
    for source, name, mapping in IMPORTS:
        rows = [row for row in truth if row["source"] == source]
        accepted = [row for row in rows if row["expected"] == "accepted"]
        done = cdp("import", source, str(out / name), "--mapping", str(MAPPINGS / mapping), lake=lake)
        assert done.code == 0, done.stderr
        summary = f"{len(rows)} rows read, {len(accepted)} accepted, {len(rows) - len(accepted)} rejected"
        assert summary in done.stdout, done.stdout
        assert "warning" not in done.stdout  # every mapped column is in the generated file

        landed = query_json(
            f"SELECT row_number, row_key FROM import_rows WHERE source_id = '{source}' ORDER BY row_number",
            lake,
        )
        assert [row["row_number"] for row in landed] == [int(row["row_number"]) for row in accepted]
        if source == "crm":  # the CRM's own customer ids are the row keys
            assert [row["row_key"] for row in landed] == [row["record_key"] for row in accepted]

        quarantined = query_json(
            "SELECT row_number, code, reason FROM quarantine_imports "
            f"WHERE source_id = '{source}' ORDER BY row_number",
            lake,
        )
        expected = [
            (int(row["row_number"]), row["expected"]) for row in rows if row["expected"] != "accepted"
        ]
        assert [(row["row_number"], row["code"]) for row in quarantined] == expected
        assert len({code for _, code in expected}) >= 6  # every way to break a row, even with 60 people
        assert all(row["reason"] for row in quarantined)


def test_the_crm_file_reads_back_typed_thai_with_buddhist_era_dates_converted(
    tmp_path: Path, lake: Path
) -> None:
    out, _ = generate(tmp_path, lake, people=60)
    crm_mapping = str(MAPPINGS / "crm_customers.yaml")
    done = cdp("import", "crm", str(out / "crm_customers.csv"), "--mapping", crm_mapping, lake=lake)
    assert done.code == 0, done.stderr
    rows = query_json(
        "SELECT first_name, date_of_birth, address_line, city FROM import_rows "
        "WHERE date_of_birth IS NOT NULL",
        lake,
    )
    assert rows
    assert all(re.fullmatch(r"(19[4-9]\d|200\d)-\d\d-\d\d", row["date_of_birth"]) for row in rows)
    assert sum(bool(re.search("[\u0e00-\u0e7f]", row["first_name"] or "")) for row in rows) > len(rows) / 2
    assert sum(row["address_line"] is not None and row["city"] is not None for row in rows) > len(rows) / 2


def test_app_events_sent_by_a_real_segment_sdk_all_land(tmp_path: Path, server: RunningServer) -> None:
    out, truth = generate(tmp_path, server.lake, people=40)
    added = cdp("sources", "add", "app", lake=server.lake)
    assert added.code == 0, added.stderr
    errors: list[str] = []
    client = Client(
        write_key=added.stdout.strip().splitlines()[-1],
        host=server.url,
        on_error=lambda error, _batch: errors.append(repr(error)),
        upload_size=200,
    )
    calls = list(read_sdk_calls(out / "app_events.jsonl"))
    for call in calls:
        getattr(client, call.method)(**call.kwargs)
    client.flush()
    client.shutdown()
    assert errors == []

    expected = sum(row["source"] == "app" for row in truth)
    assert len(calls) == expected > 0
    deadline = time.monotonic() + 5
    while True:
        [landed] = query_json(
            "SELECT count(*) AS n, count(DISTINCT message_id) AS ids, count(DISTINCT user_id) AS users, "
            "count(DISTINCT anonymous_id) AS devices FROM raw_events WHERE source_id = 'app'",
            server.lake,
        )
        if landed["n"] >= expected or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert landed["n"] == landed["ids"] == expected
    assert 0 < landed["users"] < landed["devices"]
    assert query_json("SELECT count(*) AS n FROM quarantine_events", server.lake) == [{"n": 0}]
    types = query_json("SELECT DISTINCT type FROM raw_events ORDER BY type", server.lake)
    assert [row["type"] for row in types] == ["alias", "identify", "page", "screen", "track"]


def test_bad_input_exits_2_with_one_line_on_stderr(tmp_path: Path, lake: Path) -> None:
    a_file = tmp_path / "taken"
    a_file.write_text("not a directory")
    for args, reason in (
        ((str(tmp_path / "x"), "--people", "0"), "Invalid value for '--people'"),
        ((str(tmp_path / "x"), "--seed", "abc"), "Invalid value for '--seed'"),
        ((str(a_file),), "exists and is not a directory"),
        ((), "Missing argument"),
    ):
        result = cdp("sample-data", *args, lake=lake)
        assert result.code == 2, result
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("cdp: error: ")
        assert reason in result.stderr
