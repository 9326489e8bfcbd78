"""``cdp demo`` on a small retailer (60 people): the numbers of its report against the data they describe.

One run of the installed command (module fixture): generated files, the SDK, imports, the pipeline on
DuckDB, AWS destinations on a moto server, an access request and an erasure, then ``report.html`` and
its numbers ``report.json``. The report describes the run as it happened, before the erasure; it is
checked against records of that moment that the erasure leaves alone or that are independent of it:

- the generator's files and answer key (``sample/truth.csv``, ``app_events.jsonl``): rows per file,
  accepted and quarantined per source and reason, events sent and stored by type;
- what the pipeline itself printed per step (rows written) and the segments step's evaluation manifest;
- the delivery ledger against what the moto server received (read back by the demo in the same run);
- the lake after the erasure, counted here with ``cdp query``: the report's "after" counts must equal it,
  and before − after must be exactly the rows the erasure removed, with no trace of the person left.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from cdp.demo.report import (
    DemoReport,
    IdentitySection,
    QuarantineSection,
    RunSection,
    SegmentSize,
    SourcesSection,
    TraitsSection,
)
from cdp.demo.report_html import render_report
from tests.e2e.conftest import CliResult, cdp, query_json

PEOPLE = 60


@dataclass(frozen=True)
class DemoRun:
    result: CliResult
    lake: Path
    sample: Path
    html: str
    report: dict[str, Any]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    root = tmp_path_factory.mktemp("demo")
    lake = root / "lake"
    report = root / "out" / "report.html"
    result = cdp("demo", "--people", str(PEOPLE), "--report", str(report), lake=lake, timeout=240)
    assert result.code == 0, result.stderr + result.stdout[-3000:]
    return DemoRun(
        result=result,
        lake=lake,
        sample=root / "sample",  # beside the lake, never in it
        html=report.read_text(encoding="utf-8"),
        report=json.loads(report.with_suffix(".json").read_text(encoding="utf-8")),
    )


def _truth(demo: DemoRun) -> list[dict[str, str]]:
    with (demo.sample / "truth.csv").open(encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


def _printed_rows(demo: DemoRun) -> dict[str, int]:
    """table → rows, as the pipeline's step lines printed them (``resolve  1.2 s  identity_links 1,126
    rows, …``)."""
    found = {}
    for line in demo.result.stdout.splitlines():
        if re.match(r"^(standardize|resolve|profiles|segments|export|lookup)\s+[0-9.]+ s\s", line):
            for table, rows in re.findall(r"(\w+) ([0-9,]+) rows", line):
                found[table] = int(rows.replace(",", ""))
    return found


def test_the_generated_data_stays_outside_the_lake(demo: DemoRun) -> None:
    assert {path.name for path in demo.sample.iterdir()} >= {
        "truth.csv",
        "people.csv",
        "crm_customers.csv",
        "shop_orders.jsonl",
        "survey.csv",
        "app_events.jsonl",
    }
    in_lake = {path.name for path in demo.lake.rglob("*") if path.is_file()}
    assert not in_lake & {"truth.csv", "people.csv"}
    landing = demo.lake / "landing"
    assert not landing.exists() or not [p for p in landing.rglob("*") if p.is_file()]


def test_sources_and_quarantine_reasons_match_the_generated_files(demo: DemoRun) -> None:
    truth = _truth(demo)
    sources = demo.report["sources"]
    for imported in sources["imports"]:
        rows = [row for row in truth if row["source"] == imported["source"]]
        assert imported["rows_in_file"] == len(rows)
        assert imported["accepted"] == sum(row["expected"] == "accepted" for row in rows)
        assert imported["quarantined"] == len(rows) - imported["accepted"]
    expected_reasons = Counter(
        (row["source"], row["expected"]) for row in truth if row["expected"] != "accepted"
    )
    reported = {
        (reason["source"], reason["code"]): reason["rows"]
        for reason in demo.report["quarantine"]["reasons"]
        if reason["source"] != "events"
    }
    assert reported == dict(expected_reasons)
    assert {
        reason["code"]: reason["rows"]
        for reason in demo.report["quarantine"]["reasons"]
        if reason["source"] == "events"
    } == {"event is required": 1, "userId or anonymousId is required": 1}  # the half-bad batch

    lines = [
        json.loads(line)
        for line in (demo.sample / "app_events.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    types = Counter(line["type"] for line in lines)
    types["track"] += 1  # the good event of the half-bad batch
    assert sources["events_sent"] == len(lines) + 3
    assert sources["events_stored"] == len(lines) + 1
    assert sources["events_by_type"] == dict(types)
    assert sources["events_quarantined"] == 2


def test_identity_traits_and_segments_match_what_the_pipeline_wrote(demo: DemoRun) -> None:
    printed = _printed_rows(demo)
    identity, traits = demo.report["identity"], demo.report["traits"]
    assert identity["records"] == printed["identity_records"] == printed["identity_links"]
    assert sum(rule["records"] for rule in identity["by_rule"]) == identity["records"]
    assert identity["profiles"] == traits["profiles"] == printed["profiles"]
    assert identity["multi_record_profiles"] <= identity["profiles"] < identity["records"]
    assert (
        sum(identity["edges_accepted"].values()) + sum(identity["edges_refused"].values())
        == printed["identity_edges"]
    )
    probabilistic = identity["edges_accepted"].get("probabilistic", 0)
    assert (
        identity["probabilistic_pairs"] == probabilistic == sum(b["pairs"] for b in identity["match_weights"])
    )
    guards = re.search(r"^guards: (.*)$", demo.result.stdout, re.MULTILINE)
    assert guards is not None
    printed_guards = dict(re.findall(r"(\w+) ([0-9,]+)", guards.group(1)))
    assert {name: f"{count:,}" for name, count in identity["guards"].items()} == printed_guards

    assert sum(band["customers"] for band in traits["spend"]) == traits["customers"]
    assert sum(traits["rfm_segments"].values()) == traits["customers"]  # every customer has RFM scores

    run_id = demo.report["run"]["run_id"]
    manifest = json.loads(
        (demo.lake / "segments" / "evaluations" / f"run_id={run_id}" / "manifest.json").read_text(
            encoding="utf-8"
        )
    )
    assert [(s["segment_id"], s["members"], s["entered"], s["exited"]) for s in demo.report["segments"]] == [
        (s["id"], s["members"], s["entered"], s["exited"]) for s in manifest["segments"]
    ]
    assert sum(s["members"] for s in demo.report["segments"]) == printed["segment_memberships"]  # a first run


def test_deliveries_match_the_ledger_and_what_the_moto_server_received(demo: DemoRun) -> None:
    deliveries = {d["destination_id"]: d for d in demo.report["deliveries"]}
    assert set(deliveries) == {
        "ses_newsletter",
        "ses_winback",
        "s3_ads_audience",
        "sns_push_promotions",
        "crm_events",
        "crm_queue",
    }
    for destination in deliveries.values():
        arrival = destination["arrival"]
        assert arrival is not None, destination["destination_id"]
        sent = destination["outcomes"].get("sent", 0)
        assert arrival["count"] == destination["expected"], destination
        if arrival["unit"] == "contacts":  # one contact per address: a shared inbox is one contact
            assert destination["expected"] <= sent
        else:
            assert destination["expected"] == sent
    assert (
        sum(d["outcomes"].get("sent", 0) for d in deliveries.values())
        == _printed_rows(demo)["deliveries_sent"]
    )
    assert deliveries["crm_events"]["outcomes"] == deliveries["crm_queue"]["outcomes"]  # one segment, both
    assert deliveries["crm_queue"]["outcomes"].get("sent", 0) > 0

    # the ledger as the lake holds it now: the report's counts less the erased person's rows
    run_id = demo.report["run"]["run_id"]
    ledger = ds.dataset(sorted((demo.lake / "exports" / "deliveries").rglob("*.parquet")), format="parquet")
    latest: dict[tuple[str, str, str, str], tuple[Any, str]] = {}
    for row in ledger.to_table().to_pylist():
        if row["run_id"] == run_id:
            key = (row["segment_id"], row["destination_id"], row["profile_id"], row["change"])
            if key not in latest or row["attempted_at"] >= latest[key][0]:
                latest[key] = (row["attempted_at"], row["outcome"])
    now = Counter((destination, outcome) for (_, destination, _, _), (_, outcome) in latest.items())
    before = Counter(
        {
            (d["destination_id"], outcome): n
            for d in deliveries.values()
            for outcome, n in d["outcomes"].items()
        }
    )
    erased = demo.report["privacy"]
    assert all(now[key] <= before[key] for key in now)  # never more rows now than the report had
    assert (
        sum((before - now).values())
        == erased["tables_before"]["deliveries"] - erased["tables_after"]["deliveries"]
    )

    # the moto server is gone: the lake's destinations are local stand-ins with the same ids
    destinations = (demo.lake / "segments" / "destinations.yaml").read_text(encoding="utf-8")
    assert destinations.count("type: local") == len(deliveries)
    assert "127.0.0.1" not in destinations


def test_the_erasure_leaves_no_trace_and_its_counts_are_the_lake(demo: DemoRun) -> None:
    privacy = demo.report["privacy"]
    assert privacy is not None, demo.report["notes"]
    match = re.search(r"^access request for (\S+@\S+): ", demo.result.stdout, re.MULTILINE)
    assert match is not None
    email = match.group(1).lower()
    assert privacy["subject"] == f"{email[0]}•••@{email.split('@')[1]}"
    assert privacy["proof_hits"] == 0
    assert privacy["profiles"] == 1
    ses_sent = sum(
        d["outcomes"].get("sent", 0)
        for d in demo.report["deliveries"]
        if d["destination_id"].startswith("ses_")
    )
    if ses_sent:  # the demo prefers someone it just subscribed: the erasure must reach the contact list
        assert privacy["contact_before"] is True
        assert sum(privacy["destinations"].values()) >= 1
    assert privacy["contact_after"] is False

    # the tables after the erasure, as cdp query counts them now
    after = privacy["tables_after"]
    for table in (
        "raw_events",
        "import_rows",
        "identity_records",
        "identity_links",
        "profiles",
        "segment_memberships",
    ):
        [row] = query_json(f"SELECT count(*) AS n FROM {table}", demo.lake)
        assert row["n"] == after[table], table
    before = privacy["tables_before"]
    assert before["raw_events"] == demo.report["sources"]["events_stored"]
    assert before["import_rows"] == sum(s["accepted"] for s in demo.report["sources"]["imports"])
    assert before["identity_records"] == demo.report["identity"]["records"]
    assert before["profiles"] - after["profiles"] == 1
    assert before["identity_records"] - after["identity_records"] == privacy["records"]
    removed = sum(before[t] - after[t] for t in before)
    assert removed > 0
    assert all(before[t] >= after[t] for t in before)

    # an independent scan of every file of the lake: decoded Parquet cells, and bytes of everything else
    for path in sorted(p for p in demo.lake.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            table = pq.read_table(path)
            for column in table.columns:
                if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                    values = column.to_pylist()
                elif pa.types.is_list(column.type):
                    values = [v for cell in column.to_pylist() if cell for v in cell]
                else:
                    continue
                assert not any(isinstance(v, str) and email in v.lower() for v in values), path
        else:
            assert email.encode() not in path.read_bytes().lower(), path


def test_the_report_page_shows_the_numbers_with_one_svg_per_chart(demo: DemoRun) -> None:
    html = demo.html
    figures = html.count('<figure class="chart"')
    assert html.count("<svg") == figures >= 12
    for title in (
        "Events stored, by type",
        "Imported rows per source",
        "Quarantined rows by reason",
        "Records by the rule that joined them",
        "Match weights of probabilistic pairs",
        "Customers by RFM segment",
        "Segment sizes and this run&#x27;s changes",
        "Deliveries by outcome",
        "Rows erased per zone",
    ):
        assert f'aria-label="{title}"' in html, title
    report = demo.report
    numbers = [
        report["sources"]["events_stored"],
        report["identity"]["records"],
        report["identity"]["profiles"],
        *(s["accepted"] for s in report["sources"]["imports"]),
        *(s["members"] for s in report["segments"]),
        *(d["outcomes"].get("sent", 0) for d in report["deliveries"]),
        report["privacy"]["files_scanned"],
    ]
    for number in numbers:
        assert f'<td class="n">{number:,}</td>' in html, number
    # offline: nothing is fetched from anywhere
    for fetching in ("<script", "<link", "src=", "@import"):
        assert fetching not in html
    assert not re.search(r'href="(?!#)', html)
    assert "Proof: a re-scan of every zone found 0 rows of the person." in html


def test_every_value_that_reaches_the_page_is_escaped() -> None:
    hostile = "<script>alert('x')</script>"
    report = DemoReport(
        run=RunSection("r&1", "duckdb", 1, 42, "2026-01-01T00:00:00+00:00", (), {"generate": 0.1}),
        sources=SourcesSection(1, 1, {hostile: 1}, 0, ()),
        quarantine=QuarantineSection(()),
        identity=IdentitySection(1, 1, 0, 1, (), {}, {}, {}, {}, 0, (), None),
        traits=TraitsSection(1, 0, {}, (), None, {hostile: 1}, {}, {"email": 0}),
        segments=(SegmentSize(hostile, hostile, (hostile,), 1, 1, 0),),
        deliveries=(),
        notes=(hostile,),
    )
    page = render_report(report)
    assert "<script" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "r&amp;1" in page
