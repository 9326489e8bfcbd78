"""``cdp demo``: the embedded mode end to end, on a generated Thai retailer, through the real entry points.

1. generate the retailer's files (CRM in TIS-620, shop orders, survey, app events) and the generator's
   answer key (``truth.csv``, ``people.csv``) into ``<lake>/../sample/``, outside the lake: the key is not
   lake data, and after an erasure a scan of the lake must find no trace of the person;
2. start the local API on the real Lambda handler and send the app events with ``segment-analytics-python``
   (only the host changed), plus one half-bad batch to show partial acceptance;
3. import the three files with their mappings (bad rows to quarantine);
4. start a moto server on 127.0.0.1 and create the SES contact list, SNS topic, SQS queue, EventBridge bus
   and S3 bucket that ``examples/demo/destinations.yaml`` names (:mod:`cdp.demo.aws`);
5. run the pipeline on DuckDB (standardize, resolve, profiles, segments, export, lookup): the export step
   delivers through the real AWS adapters to the moto server;
6. show what landed with the Athena SQL an analyst would run;
7. show who is who: profiles by the rule that joined them, what the guards blocked, and pairwise precision
   and recall against the generator's ``truth.csv``;
8. show the Customer 360: RFM segments, trait sets, pseudonymized profiles (v_rfm, v_profiles);
9. show segment sizes and deltas, and the delivery ledger next to what the services received;
10. answer one access request and one erasure, with the proof (:mod:`cdp.demo.privacy`);
11. write ``<lake>/../report.html`` (and its numbers as ``report.json``) and print the summary.

When the demo ends, the lake's destinations become local stand-ins with the same ids: the moto server is
gone, and a later ``cdp run`` should deliver somewhere rather than fail against a dead endpoint.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any, Final

import requests
from rich.console import Console
from rich.table import Table
from segment.analytics import Client

from cdp.adapters.local_imports import LocalImportStore
from cdp.demo.aws import (
    Arrival,
    DemoAws,
    DemoAwsError,
    load_demo_destinations,
    local_stand_ins,
    write_destinations,
)
from cdp.demo.privacy import PrivacyUnavailableError, Subject, lake_mentions, run_privacy_requests
from cdp.demo.report import (
    DemoFacts,
    DemoReport,
    PrivacySection,
    build_report,
    ledger_profiles,
    table_rows,
)
from cdp.engine.duckdb_engine import DuckDbEngine
from cdp.imports.mapping import load_mapping
from cdp.imports.service import ImportReport, ImportService
from cdp.lake import LocalLake
from cdp.lakefs import LakeFiles
from cdp.localapi.runtime import start_local_api
from cdp.pipeline.runner import RunReport, run_pipeline
from cdp.query.catalog import run_query
from cdp.sampledata.accuracy import PairwiseAccuracy, pairwise_accuracy, true_people
from cdp.sampledata.app_events import read_sdk_calls
from cdp.sampledata.population import AS_OF
from cdp.sampledata.retailer import RetailerDataset, generate_retailer
from cdp.settings import IngestionSettings
from cdp.sources.keys import SourceExistsError, WriteKeyStore
from cdp.wiring import build_key_store

DEMO_PEOPLE: Final = 300
DEMO_SEED: Final = 42
#: beside the lake (``.cdp/`` for ``make demo``): the generator's files, and the report
SAMPLE_DIR: Final = "sample"
REPORT_FILE: Final = "report.html"
STEPS: Final = ("standardize", "resolve", "profiles", "segments", "export", "lookup")


class DemoSetupError(RuntimeError):
    """Something the demo needs from the repository is missing."""


@dataclass(frozen=True, slots=True)
class DemoPaths:
    lake: Path
    sample: Path  # generated files and the answer key, outside the lake
    report: Path  # report.html; its numbers go beside it as report.json

    @classmethod
    def beside(cls, lake: Path, report: Path | None = None) -> DemoPaths:
        lake = lake.absolute()
        return cls(lake=lake, sample=lake.parent / SAMPLE_DIR, report=(report or lake.parent / REPORT_FILE))

    @property
    def report_json(self) -> Path:
        return self.report.with_suffix(".json")


@dataclass(frozen=True, slots=True)
class DemoResult:
    events_sent: int
    events_stored: int
    rows_imported: int
    rows_quarantined: int
    identity_records: int
    profiles: int
    run_id: str
    report: Path
    erased: bool


def example_mappings() -> Path:
    """``examples/mappings`` of the checkout the demo runs from (the current directory or the package's)."""
    for root in (Path.cwd(), Path(__file__).resolve().parents[3]):
        candidate = root / "examples" / "mappings"
        if candidate.is_dir():
            return candidate
    raise DemoSetupError("examples/mappings not found: run the demo from the repository checkout")


class _Stages:
    """Numbered stage headers as the demo goes, and how long each took (for the report)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str, title: str) -> Iterator[None]:
        self.console.rule(f"[bold]{len(self.seconds) + 1}. {title}")
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = time.perf_counter() - started


def run_demo(
    settings: IngestionSettings,
    *,
    console: Console,
    people: int = DEMO_PEOPLE,
    report_path: Path | None = None,
) -> DemoResult:
    lake = LocalLake.at(settings.lake)
    paths = DemoPaths.beside(lake.root, report_path)
    mappings = example_mappings()
    demo_examples = mappings.parent / "demo"
    stages = _Stages(console)
    started = time.perf_counter()

    with stages.stage("generate", f"a Thai retailer's data ({people} people), generated outside the lake"):
        dataset = generate_retailer(paths.sample, people=people, seed=DEMO_SEED)
        for source in dataset.sources:
            console.print(f"{source.source:<7} {source.path.name:<20} {source.records:>6,} records")
        console.print(
            f"in {paths.sample} with the answer key (truth.csv, people.csv), which never enters the lake"
        )

    store = build_key_store(settings)
    with stages.stage("send", "the app sends events with a real Segment SDK to the local API"):
        sent, stored = _send_events(settings, lake, dataset, store, console)

    with stages.stage("import", "files are imported with their mappings"):
        reports = _import_files(lake, dataset, store, mappings, console)

    configs = load_demo_destinations(demo_examples / "destinations.yaml")
    header = (
        "Written by `cdp demo` from examples/demo/destinations.yaml: the destinations point at the\n"
        "demo's moto server on 127.0.0.1 while it runs."
    )
    notes: list[str] = []
    try:
        with DemoAws.started() as aws:
            with stages.stage("aws", "AWS destinations on a moto server (SES v2, SNS, SQS, EventBridge, S3)"):
                served = aws.provision(configs)
                installed = _install_segments(lake, demo_examples / "segments")
                written = write_destinations(lake.root, served, header)
                console.print(f"moto server at {aws.endpoint}; {len(served)} destinations in {written}")
                console.print(f"segment definitions in segments/definitions/: {installed}")

            with stages.stage("pipeline", f"the pipeline on DuckDB: {', '.join(STEPS)}"):
                run = _run_pipeline(lake, console)

            with stages.stage("landed", "what landed (Athena SQL over the lake, run by DuckDB)"):
                _show_landed(console, lake)

            with stages.stage("identity", "who is who: one profile per person"):
                accuracy = _show_identity(console, lake, run, dataset)

            with stages.stage(
                "customer360", "Customer 360: profiles, traits and RFM (analysts see pseudonyms)"
            ):
                _show_customer_360(console, lake)

            with stages.stage("activation", "segments, and what the services on the moto server received"):
                arrivals = aws.arrivals()
                facts = DemoFacts(
                    run=run,
                    dataset=dataset,
                    events_sent=sent + 3,
                    stages=stages.seconds,
                    accuracy=accuracy,
                    arrivals=arrivals,
                )
                report = build_report(lake, facts)
                _show_activation(console, lake, run, report)

            with stages.stage("privacy", "a data protection officer's access request and erasure"):
                privacy = _privacy_stage(console, lake, aws, report, notes)
    except DemoAwsError as error:
        raise DemoSetupError(str(error)) from None
    finally:
        if (lake.root / "segments" / "destinations.yaml").exists():
            write_destinations(
                lake.root,
                local_stand_ins(configs),
                "Written by `cdp demo` when it ended: local stand-ins for examples/demo/destinations.yaml\n"
                "(the moto server is gone); they record deliveries under exports/<id>/ in the lake.",
            )

    with stages.stage("report", "the summary and the report"):
        stage_seconds = dict(stages.seconds)  # the page cannot time its own writing: report.json has it
        report = dataclasses.replace(
            report,
            run=dataclasses.replace(report.run, stages=_rounded(stage_seconds)),
            privacy=privacy,
            notes=tuple(notes),
        )
        html_seconds = _write_report(report, paths)
        stage_seconds["report"] = html_seconds
        report = dataclasses.replace(
            report, run=dataclasses.replace(report.run, stages=_rounded(stage_seconds))
        )
        paths.report_json.write_bytes(report.to_json())
        console.print(f"report: {paths.report} (charts inline, works offline); numbers: {paths.report_json}")

    imported = sum(r.rows_accepted for r in reports)
    quarantined = sum(r.rows_rejected for r in reports)
    identity = report.identity
    hint = 'cdp query "SELECT * FROM identity_records LIMIT 5"'
    console.print(
        f"[bold green]done[/] in {time.perf_counter() - started:.1f} s: {stored:,} events and "
        f"{imported:,} imported rows ({quarantined:,} quarantined) became {identity.records:,} "
        f"standardized identity records and {identity.profiles:,} profiles. "
        f"Try: {hint} --lake {lake.root}"
    )
    return DemoResult(
        events_sent=sent + 3,
        events_stored=stored,
        rows_imported=imported,
        rows_quarantined=quarantined,
        identity_records=identity.records,
        profiles=identity.profiles,
        run_id=run.run_id,
        report=paths.report,
        erased=privacy is not None,
    )


def _rounded(seconds: dict[str, float]) -> dict[str, float]:
    return {name: round(value, 3) for name, value in seconds.items()}


# -- stages -------------------------------------------------------------------------------------------------


def _fresh_key(store: WriteKeyStore, source: str) -> str:
    """The demo is re-runnable: an existing source gets a rotated key."""
    try:
        return store.create_source(source).write_key
    except SourceExistsError:
        return store.rotate(source).write_key


def _send_events(
    settings: IngestionSettings,
    lake: LocalLake,
    dataset: RetailerDataset,
    store: WriteKeyStore,
    console: Console,
) -> tuple[int, int]:
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
    return sent, stored


def _import_files(
    lake: LocalLake, dataset: RetailerDataset, store: WriteKeyStore, mappings: Path, console: Console
) -> list[ImportReport]:
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
    return reports


def _run_pipeline(lake: LocalLake, console: Console) -> RunReport:
    engine = DuckDbEngine()
    try:
        with console.status("standardize …") as status:
            # windows and recency relative to the day the retailer exported its data, not to today
            run = run_pipeline(
                LakeFiles(lake.root),
                engine,
                steps=list(STEPS),
                as_of=datetime.combine(AS_OF, clock_time(23, 59, 59), tzinfo=UTC),
                on_step=lambda step: status.update(f"{step} …"),
            )
    finally:
        engine.close()
    for step in run.steps:
        rows = ", ".join(f"{table} {count:,} rows" for table, count in step.rows.items())
        console.print(f"{step.step:<11} {step.seconds:5.2f} s  {rows}")
    return run


def _show_landed(console: Console, lake: LocalLake) -> None:
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


def _show_identity(
    console: Console, lake: LocalLake, run: RunReport, dataset: RetailerDataset
) -> PairwiseAccuracy:
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
    console.print(
        f"against truth.csv ({accuracy.records:,} imported records, {accuracy.true_pairs:,} true pairs): "
        f"pairwise precision {accuracy.precision:.4f}, recall {accuracy.recall:.4f}, F1 {accuracy.f1:.4f}"
    )
    return accuracy


def _show_customer_360(console: Console, lake: LocalLake) -> None:
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


def _show_activation(console: Console, lake: LocalLake, run: RunReport, report: DemoReport) -> None:
    segments = Table("segment", "destinations", "members", "entered", "exited", title="this run's segments")
    for segment in report.segments:
        segments.add_row(
            segment.segment_id,
            ", ".join(segment.destinations) or "-",
            f"{segment.members:,}",
            f"{segment.entered:,}",
            f"{segment.exited:,}",
        )
    console.print(segments)
    outcomes = sorted({outcome for d in report.deliveries for outcome in d.outcomes})
    deliveries = Table(
        "destination",
        *outcomes,
        "service on moto",
        "expected",
        "arrived",
        title="the delivery ledger and what arrived",
    )
    mismatched = []
    for destination in report.deliveries:
        arrival: Arrival | None = destination.arrival
        if arrival is not None and arrival.count != destination.expected:
            mismatched.append(destination.destination_id)
        deliveries.add_row(
            destination.destination_id,
            *(f"{destination.outcomes.get(outcome, 0):,}" for outcome in outcomes),
            arrival.service if arrival else "local",
            f"{destination.expected:,}",
            f"{arrival.count:,} {arrival.what}" if arrival else "-",
        )
    console.print(deliveries)
    export = next(step for step in run.steps if step.step == "export")
    held = ", ".join(
        f"{name} {count:,}" for name, count in export.guards.items() if count and name != "segments"
    )
    console.print(
        f"delivered {export.rows['deliveries_sent']:,} membership changes of {export.guards['segments']} "
        f"segments; held back: {held or 'none'}; "
        + (
            f"[bold red]the services hold a different number for {', '.join(mismatched)}[/]"
            if mismatched
            else "every AWS destination received exactly what the ledger says was sent"
        )
    )
    lookup = next(step for step in run.steps if step.step == "lookup")
    console.print(
        f"the real-time lookup store holds {lookup.rows['profile_lookup']:,} profiles: "
        f"cdp lookup-keys add me --lake {lake.root}, then cdp serve --lake {lake.root} and "
        "GET /v1/profiles?email=… with header x-api-key"
    )


def _privacy_stage(
    console: Console, lake: LocalLake, aws: DemoAws, report: DemoReport, notes: list[str]
) -> PrivacySection | None:
    """Access and erasure of one person (preferably one the run subscribed to an SES list), with the lake's
    tables counted before and after; ``None`` (and a note) when the privacy service is not available."""
    ses_destinations = {
        d.destination_id for d in report.deliveries if d.arrival and "SES" in d.arrival.service
    }
    preferred = _sent_profiles(lake, report.run.run_id, ses_destinations)

    def contacts() -> list[str]:
        return [email for name in aws.contact_lists() for email in aws.contacts(name)]

    def show_access(subject: Subject, document: dict[str, Any]) -> None:
        console.print(
            f"access request for {subject.email}: {len(document.get('profiles', []))} profile(s), rows in "
            + ", ".join(f"{zone} {rows:,}" for zone, rows in document.get("summary", {}).items())
        )

    before = table_rows(lake)
    try:
        subject, section = run_privacy_requests(
            lake, preferred=preferred, contacts=contacts, on_access=show_access
        )
    except PrivacyUnavailableError as error:
        notes.append(f"No access request or erasure ran: {error}.")
        console.print(f"[yellow]skipped[/]: {error}")
        return None
    after = table_rows(lake)
    section = dataclasses.replace(section, tables_before=before, tables_after=after)
    removed = ", ".join(f"{zone} {rows:,}" for zone, rows in section.rows_removed.items())
    console.print(
        f"erased {subject.email}: {section.files_rewritten:,} files rewritten, rows removed: {removed}; "
        f"lookup profiles deleted {section.lookup_deleted}; "
        + ", ".join(f"{name}: {count} contact(s) deleted" for name, count in section.destinations.items())
    )
    changed = ", ".join(
        f"{table} {before[table]:,} → {after[table]:,}"
        for table in before
        if before[table] != after.get(table)
    )
    console.print(f"tables before → after: {changed}")
    mentions = lake_mentions(lake.root, subject.email)
    console.print(
        f"proof: the service re-scanned {section.files_scanned:,} files and found {section.proof_hits} rows; "
        f"a plain byte search of the lake for the address finds it in {len(mentions)} files"
        + (f" ({', '.join(mentions[:3])})" if mentions else "")
    )
    return section


def _sent_profiles(lake: LocalLake, run_id: str, destinations: set[str]) -> set[str]:
    """Profiles the run delivered to ``destinations`` (``sent`` rows of the ledger)."""
    return ledger_profiles(LakeFiles(lake.root), run_id, destinations)


def _write_report(report: DemoReport, paths: DemoPaths) -> float:
    from cdp.demo.report_html import render_report

    started = time.perf_counter()
    paths.report.parent.mkdir(parents=True, exist_ok=True)
    paths.report.write_text(render_report(report), encoding="utf-8")
    return time.perf_counter() - started


# -- helpers ------------------------------------------------------------------------------------------------


def _install_segments(lake: LocalLake, demo_segments: Path) -> int:
    """Copy ``examples/segments/*.yaml`` and the demo's own (``examples/demo/segments``) into the lake,
    keeping any the user changed."""
    target = lake.path("segments", "definitions")
    target.mkdir(parents=True, exist_ok=True)
    examples = example_mappings().parent / "segments"
    for definition in sorted([*examples.glob("*.yaml"), *demo_segments.glob("*.yaml")]):
        destination = target / definition.name
        if not destination.exists():
            destination.write_bytes(definition.read_bytes())
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
