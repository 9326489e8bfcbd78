"""``cdp demo``: the embedded mode end to end, on a generated Thai retailer, through the real entry points.

1. generate the retailer's files (CRM in TIS-620, shop orders, survey, app events) into ``landing/``, as an
   upload to S3 would put them;
2. start the local API on the real Lambda handler and send the app events with ``segment-analytics-python``
   (only the host changed), plus one half-bad batch to show partial acceptance;
3. import the three files with their mappings (bad rows to quarantine);
4. run the pipeline on DuckDB (standardize, resolve, profiles, segments, export, lookup);
5. show what landed with the Athena SQL an analyst would run;
6. show who is who: profiles by the rule that joined them, what the guards blocked, and pairwise precision
   and recall against the generator's ``truth.csv``;
7. show the Customer 360: RFM segments, trait sets, pseudonymized profiles (v_rfm, v_profiles);
8. evaluate the example segments (``examples/segments``), show their sizes and deliver their changes to
   the example destinations (``examples/destinations.yaml``: local stand-ins), with consent enforced.
Later issues extend it with moto-served AWS destinations and privacy.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path

import requests
from rich.console import Console
from rich.table import Table
from segment.analytics import Client

from cdp.activation.config import DESTINATIONS_PATH
from cdp.adapters.local_imports import LocalImportStore
from cdp.engine.duckdb_engine import DuckDbEngine
from cdp.imports.mapping import load_mapping
from cdp.imports.service import ImportReport, ImportService
from cdp.lake import LocalLake
from cdp.lakefs import LakeFiles
from cdp.localapi.runtime import start_local_api
from cdp.pipeline.runner import run_pipeline
from cdp.query.catalog import run_query
from cdp.sampledata.accuracy import pairwise_accuracy, true_people
from cdp.sampledata.app_events import read_sdk_calls
from cdp.sampledata.population import AS_OF
from cdp.sampledata.retailer import generate_retailer
from cdp.settings import IngestionSettings
from cdp.sources.keys import SourceExistsError, WriteKeyStore
from cdp.wiring import build_key_store

DEMO_PEOPLE = 300
DEMO_SEED = 42


class DemoSetupError(RuntimeError):
    """Something the demo needs from the repository is missing."""


@dataclass(frozen=True, slots=True)
class DemoResult:
    events_sent: int
    events_stored: int
    rows_imported: int
    rows_quarantined: int
    identity_records: int
    profiles: int
    run_id: str


def example_mappings() -> Path:
    """``examples/mappings`` of the checkout the demo runs from (the current directory or the package's)."""
    for root in (Path.cwd(), Path(__file__).resolve().parents[3]):
        candidate = root / "examples" / "mappings"
        if candidate.is_dir():
            return candidate
    raise DemoSetupError("examples/mappings not found: run the demo from the repository checkout")


def _fresh_key(store: WriteKeyStore, source: str) -> str:
    """The demo is re-runnable: an existing source gets a rotated key."""
    try:
        return store.create_source(source).write_key
    except SourceExistsError:
        return store.rotate(source).write_key


def run_demo(settings: IngestionSettings, *, console: Console, people: int = DEMO_PEOPLE) -> DemoResult:
    lake = LocalLake.at(settings.lake)
    mappings = example_mappings()

    console.rule(f"[bold]1. a Thai retailer's data ({people} people) lands in landing/")
    dataset = generate_retailer(lake.path("landing", "demo"), people=people, seed=DEMO_SEED)
    for source in dataset.sources:
        console.print(f"{source.source:<7} {source.path.name:<20} {source.records:>6,} records")

    console.rule("[bold]2. the app sends events with a real Segment SDK to the local API")
    store = build_key_store(settings)
    app_key = _fresh_key(store, "app")
    before = _count(lake, "raw_events")
    server = start_local_api(settings, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.serve_forever, name="cdp-local-api", daemon=True)
    thread.start()
    errors: list[str] = []
    try:
        client = Client(
            write_key=app_key,
            host=server.url,
            on_error=lambda error, _batch: errors.append(str(error)),
            max_retries=2,
            upload_size=250,
            gzip=True,
        )
        sent = 0
        for call in read_sdk_calls(dataset.app.path):
            getattr(client, call.method)(**call.kwargs)
            sent += 1
        client.flush()
        client.shutdown()
        if errors:
            raise RuntimeError(f"the SDK reported {len(errors)} upload errors, first: {errors[0]}")
        response = requests.post(
            f"{server.url}/v1/batch",
            auth=(app_key, ""),
            json={
                "batch": [
                    {
                        "type": "track",
                        "event": "Coupon Applied",
                        "userId": "demo-1",
                        "properties": {"code": "ลด10"},
                    },
                    {"type": "track", "userId": "demo-2"},
                    {"type": "identify", "traits": {"email": "nobody@gmail.com"}},
                ]
            },
            timeout=10,
        )
    finally:
        server.shutdown()
        server.server_close()
    stored = _count(lake, "raw_events") - before
    console.print(f"segment-analytics-python sent {sent:,} events; {stored:,} new rows in raw_events")
    console.print(f"a batch with 2 bad events of 3: HTTP {response.status_code} {response.text}")

    console.rule("[bold]3. files are imported with their mappings")
    service = ImportService(LocalImportStore(lake))
    reports: list[ImportReport] = []
    for source in (dataset.crm, dataset.shop, dataset.survey):
        mapping = load_mapping(mappings / (source.mapping or ""))
        report = service.import_file(source.source, source.path.name, source.path.read_bytes(), mapping)
        reports.append(report)
        _ensure_source(store, source.source)
        console.print(
            f"{source.source:<7} {report.status:<17} accepted {report.rows_accepted:>6,}  "
            f"quarantined {report.rows_rejected:>4,}"
        )

    console.rule("[bold]4. the pipeline on DuckDB: standardize, resolve, profiles, segments, export, lookup")
    installed = _install_example_segments(lake)
    console.print(f"segment definitions in segments/definitions/: {installed}")
    engine = DuckDbEngine()
    try:
        # windows and recency relative to the day the retailer exported its data, not to today
        run = run_pipeline(
            LakeFiles(lake.root),
            engine,
            steps=["standardize", "resolve", "profiles", "segments", "export", "lookup"],
            as_of=datetime.combine(AS_OF, time(23, 59, 59), tzinfo=UTC),
        )
    finally:
        engine.close()
    for step in run.steps:
        rows = ", ".join(f"{table} {count:,} rows" for table, count in step.rows.items())
        console.print(f"{step.step:<11} {step.seconds:5.2f} s  {rows}")

    console.rule("[bold]5. what landed (Athena SQL over the lake, run by DuckDB)")
    _show(console, lake, "SELECT type, count(*) AS events FROM raw_events GROUP BY type ORDER BY events DESC")
    _show(
        console,
        lake,
        "SELECT source_id, code, count(*) AS rows FROM quarantine_imports GROUP BY 1, 2 ORDER BY 1, 3 DESC",
    )
    _show(
        console,
        lake,
        "SELECT origin, kind, count(*) AS records, count(email_key) AS emails, count(phone_e164) AS phones, "
        "count(date_of_birth) AS birth_dates, count(province_code) AS provinces "
        "FROM identity_records GROUP BY 1, 2 ORDER BY 1, 2",
    )
    _show(
        console,
        lake,
        "SELECT category, count(DISTINCT order_id) AS orders, "
        "round(sum(quantity * unit_price)) AS revenue_thb "
        "FROM orders WHERE category IS NOT NULL GROUP BY 1 ORDER BY 3 DESC LIMIT 5",
    )

    console.rule("[bold]6. who is who: one profile per person")
    guards = next(step for step in run.steps if step.step == "resolve").guards
    fired = [f"{name} {count:,}" for name, count in guards.items() if count and name != "propagation_rounds"]
    console.print("guards: " + (", ".join(fired) or "none fired"))
    _show(
        console,
        lake,
        "SELECT matched_by, count(*) AS records, count(DISTINCT profile_id) AS profiles "
        "FROM identity_links GROUP BY 1 ORDER BY 2 DESC",
    )
    found = {
        row["record_id"]: row["profile_id"]
        for row in run_query(lake, "SELECT record_id, profile_id FROM identity_links").to_pylist()
    }
    truth = true_people((lake.root / "clean" / "import_rows").rglob("*.parquet"), dataset.truth)
    accuracy = pairwise_accuracy(truth, found)
    profiles = len(set(found.values()))
    console.print(
        f"against truth.csv ({accuracy.records:,} imported records, {accuracy.true_pairs:,} true pairs): "
        f"pairwise precision {accuracy.precision:.4f}, recall {accuracy.recall:.4f}, F1 {accuracy.f1:.4f}"
    )

    console.rule("[bold]7. Customer 360: profiles, traits and RFM (what analysts see is pseudonymized)")
    _show(
        console,
        lake,
        "SELECT rfm_segment, count(*) AS customers, round(avg(total_spend)) AS avg_spend_thb "
        "FROM v_rfm GROUP BY 1 ORDER BY 2 DESC",
    )
    _show(
        console,
        lake,
        "SELECT trait_set, count(DISTINCT trait) AS traits, count(*) AS values "
        "FROM profile_traits GROUP BY 1 ORDER BY 1",
    )
    _show(
        console,
        lake,
        "SELECT profile_id, substr(first_name_hash, 1, 12) AS first_name_hash, birth_year, province, "
        "order_count, rfm_score FROM v_profiles WHERE order_count > 0 ORDER BY total_spend DESC LIMIT 3",
    )

    console.rule("[bold]8. segments marketers defined in YAML (examples/segments)")
    _show(console, lake, "SELECT segment_id, members, entered, exited FROM v_segment_sizes ORDER BY 1")
    export = next(step for step in run.steps if step.step == "export")
    held = ", ".join(
        f"{name} {count:,}" for name, count in export.guards.items() if count and name != "segments"
    )
    console.print(
        f"delivered {export.rows['deliveries_sent']:,} membership changes of {export.guards['segments']} "
        f"segments to their destinations (exports/<destination>/ in the lake); held back: {held or 'none'}"
    )

    lookup = next(step for step in run.steps if step.step == "lookup")
    console.print(
        f"the real-time lookup store holds {lookup.rows['profile_lookup']:,} profiles: "
        f"cdp lookup-keys add me --lake {lake.root}, then cdp serve --lake {lake.root} and "
        "GET /v1/profiles?email=… with header x-api-key"
    )

    records = _count(lake, "identity_records")
    imported = sum(r.rows_accepted for r in reports)
    quarantined = sum(r.rows_rejected for r in reports)
    hint = 'cdp query "SELECT * FROM identity_records LIMIT 5"'
    console.print(
        f"[bold green]done[/]: {stored:,} events and {imported:,} imported rows "
        f"({quarantined:,} quarantined) became {records:,} standardized identity records "
        f"and {profiles:,} profiles. "
        f"Try: {hint} --lake {lake.root}"
    )
    return DemoResult(
        events_sent=sent + 3,
        events_stored=stored,
        rows_imported=imported,
        rows_quarantined=quarantined,
        identity_records=records,
        profiles=profiles,
        run_id=run.run_id,
    )


def _install_example_segments(lake: LocalLake) -> int:
    """Copy ``examples/segments/*.yaml`` and their ``examples/destinations.yaml`` into the lake, keeping any
    the user changed."""
    examples = example_mappings().parent / "segments"
    target = lake.path("segments", "definitions")
    target.mkdir(parents=True, exist_ok=True)
    for definition in sorted(examples.glob("*.yaml")):
        destination = target / definition.name
        if not destination.exists():
            destination.write_bytes(definition.read_bytes())
    destinations = lake.path(*DESTINATIONS_PATH.split("/"))
    if not destinations.exists():
        destinations.write_bytes((examples.parent / "destinations.yaml").read_bytes())
    return len(list(target.glob("*.yaml")))


def _ensure_source(store: WriteKeyStore, source: str) -> None:
    with contextlib.suppress(SourceExistsError):
        store.create_source(source)


def _count(lake: LocalLake, table: str) -> int:
    return int(run_query(lake, f"SELECT count(*) AS n FROM {table}").column("n")[0].as_py())  # noqa: S608


def _show(console: Console, lake: LocalLake, sql: str) -> None:
    result = run_query(lake, sql)
    table = Table(*result.column_names, title=sql, title_justify="left", title_style="dim")
    for row in result.to_pylist():
        table.add_row(*("NULL" if value is None else str(value) for value in row.values()))
    console.print(table)
