"""What ``cdp demo`` shows, as numbers: :class:`DemoReport`, built from the lake the demo leaves behind.

Numbers first, rendering separately (:mod:`cdp.demo.report_html`): the e2e test asserts this model against
independent reads of the lake and the generated files, and the HTML only formats it, so a number on the
page is a number that was checked. Every count comes from the lake (DuckDB over its tables, the way
``cdp query`` reads them, and the delivery ledger's files), from the run report the pipeline returned
(the resolve step's guards, step timings), or from what the demo read back from the moto server; nothing
is re-derived from the generator except what only it knows (rows per file, the ground truth).

The report holds no personal data: the erasure subject's address is masked (:func:`mask_email`), and the
rest is counts, codes and pseudonymous profile ids.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import duckdb
import orjson
import pyarrow.dataset as ds

from cdp.activation.consent import ConsentPurpose, parse_consent
from cdp.activation.lake import profile_contacts
from cdp.demo.aws import Arrival
from cdp.lake import LocalLake
from cdp.lakefs import LakeFiles
from cdp.pipeline.runner import RunReport
from cdp.pipeline.segments import evaluation_path
from cdp.query.catalog import connect
from cdp.sampledata.accuracy import PairwiseAccuracy
from cdp.sampledata.retailer import RetailerDataset
from cdp.tables import DELIVERIES

#: total spend bands (THB) of the spend distribution: fixed, so two runs' reports compare
SPEND_BANDS: Final = (0, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000)
#: width of a match-weight bin (bits of evidence)
WEIGHT_BIN: Final = 2.0
#: the resolve step's counters that are not blocks (how many label-propagation rounds ran)
NOT_GUARDS: Final = frozenset({"propagation_rounds"})
#: a probability of exactly 0 or 1 has an infinite weight: clipped to this many bits
MAX_WEIGHT: Final = 50.0


# -- the model ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepTiming:
    step: str
    seconds: float
    rows: dict[str, int]


@dataclass(frozen=True, slots=True)
class RunSection:
    run_id: str
    engine: str
    people: int  # true people the generator made
    seed: int
    generated_at: str  # ISO-8601 UTC
    steps: tuple[StepTiming, ...]
    #: the demo's stages (generate, send, import, …) → seconds
    stages: dict[str, float]


@dataclass(frozen=True, slots=True)
class ImportedSource:
    source: str
    file: str
    rows_in_file: int  # data rows the generator wrote
    accepted: int  # rows of ``import_rows``
    quarantined: int  # rows of ``quarantine_imports``


@dataclass(frozen=True, slots=True)
class SourcesSection:
    events_sent: int  # SDK calls plus the events of the half-bad batch
    events_stored: int  # rows of ``raw_events`` (deduplicated on message_id)
    events_by_type: dict[str, int]
    events_quarantined: int
    imports: tuple[ImportedSource, ...]

    @property
    def rows_imported(self) -> int:
        return sum(source.accepted for source in self.imports)

    @property
    def rows_quarantined(self) -> int:
        return sum(source.quarantined for source in self.imports)


@dataclass(frozen=True, slots=True)
class QuarantineReason:
    source: str  # a source id, or "events" for the ingestion API's quarantine
    code: str
    rows: int


@dataclass(frozen=True, slots=True)
class QuarantineSection:
    reasons: tuple[QuarantineReason, ...]

    @property
    def by_code(self) -> dict[str, int]:
        totals: Counter[str] = Counter()
        for reason in self.reasons:
            totals[reason.code] += reason.rows
        return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))


@dataclass(frozen=True, slots=True)
class RuleCount:
    rule: str  # ``identity_links.matched_by``
    records: int
    profiles: int


@dataclass(frozen=True, slots=True)
class WeightBin:
    low: float
    high: float
    pairs: int


@dataclass(frozen=True, slots=True)
class Accuracy:
    records: int
    true_pairs: int
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True, slots=True)
class IdentitySection:
    records: int  # ``identity_records``
    profiles: int  # distinct profiles of ``identity_links``
    multi_record_profiles: int
    largest_profile: int  # records of the largest profile
    by_rule: tuple[RuleCount, ...]  # records by the rule that joined them (matched_by)
    edges_accepted: dict[str, int]  # accepted edges (merges) by rule
    edges_refused: dict[str, int]  # refused edges by reason
    guards: dict[str, int]  # the resolve step's guards that fired
    history: dict[str, int]  # this run's identity_history events: merge, split, override
    probabilistic_pairs: int
    match_weights: tuple[WeightBin, ...]  # of the probabilistic pairs kept
    accuracy: Accuracy | None  # pairwise, against the generator's truth


@dataclass(frozen=True, slots=True)
class SpendBand:
    low: float
    high: float | None  # None: open-ended
    customers: int


@dataclass(frozen=True, slots=True)
class TraitsSection:
    profiles: int
    customers: int  # profiles with at least one order
    rfm_segments: dict[str, int]  # v_rfm.rfm_segment → customers
    spend: tuple[SpendBand, ...]  # total_spend of customers
    median_spend: float | None
    favourite_category: dict[str, int]  # the transactional trait → profiles
    age_band: dict[str, int]  # the demographic trait → profiles
    consent: dict[str, int]  # purpose → profiles that granted it


@dataclass(frozen=True, slots=True)
class SegmentSize:
    segment_id: str
    name: str
    destinations: tuple[str, ...]
    members: int
    entered: int  # in this run
    exited: int  # in this run


@dataclass(frozen=True, slots=True)
class DestinationDeliveries:
    destination_id: str
    outcomes: dict[str, int]  # this run's changes by their latest outcome
    arrival: Arrival | None  # what the service holds (AWS destinations on the moto server)
    #: what the service should hold after the ledger's ``sent``: the sent changes, or for a contact list
    #: the distinct addresses of the profiles sent in (a household's shared inbox is one contact)
    expected: int = 0

    @property
    def sent(self) -> int:
        return self.outcomes.get("sent", 0)


@dataclass(frozen=True, slots=True)
class PrivacySection:
    """The access request and the erasure of one person, from the privacy service's answers, with the
    lake's tables counted before and after by the demo itself (the rows that went are the person's)."""

    subject: str  # masked e-mail
    profiles: int
    records: int
    access_zones: dict[str, int]  # zone → rows the access document holds
    access_bytes: int
    access_seconds: float
    files_scanned: int
    files_rewritten: int
    rows_removed: dict[str, int]  # zone → rows
    lookup_deleted: int
    destinations: dict[str, int]  # destination → contacts deleted
    tombstones: int
    proof_hits: int
    proof_zones: dict[str, dict[str, int]]  # zone → {"files": n, "hits": n}
    seconds: float
    #: the subject's address was a contact of the demo's SES list before / after the erasure
    contact_before: bool | None = None
    contact_after: bool | None = None
    #: table → rows, counted before the access request and after the erasure
    tables_before: dict[str, int] = field(default_factory=dict)
    tables_after: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DemoReport:
    run: RunSection
    sources: SourcesSection
    quarantine: QuarantineSection
    identity: IdentitySection
    traits: TraitsSection
    segments: tuple[SegmentSize, ...]
    deliveries: tuple[DestinationDeliveries, ...]
    privacy: PrivacySection | None = None
    #: why a section is missing (e.g. the privacy service is not there yet)
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)


# -- building it ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoFacts:
    """What only the demo itself knows, handed to :func:`build_report` next to the lake."""

    run: RunReport
    dataset: RetailerDataset
    events_sent: int
    stages: Mapping[str, float]
    accuracy: PairwiseAccuracy | None = None
    arrivals: Sequence[Arrival] = ()
    privacy: PrivacySection | None = None
    notes: Sequence[str] = ()


def build_report(lake: LocalLake, facts: DemoFacts) -> DemoReport:
    connection = connect(lake)
    try:
        return DemoReport(
            run=_run_section(facts),
            sources=_sources(connection, facts),
            quarantine=_quarantine(connection),
            identity=_identity(connection, facts),
            traits=_traits(connection),
            segments=_segments(connection, LakeFiles(lake.root), facts.run.run_id),
            deliveries=_deliveries(LakeFiles(lake.root), facts.run.run_id, facts.arrivals),
            privacy=facts.privacy,
            notes=tuple(facts.notes),
        )
    finally:
        connection.close()


def _rows(connection: duckdb.DuckDBPyConnection, sql: str, *params: object) -> list[tuple[Any, ...]]:
    return connection.execute(sql, list(params)).fetchall()


def _counts(connection: duckdb.DuckDBPyConnection, sql: str, *params: object) -> dict[str, int]:
    """``SELECT label, count`` → label → count, largest first (ties by label)."""
    rows = [(str(label), int(count)) for label, count in _rows(connection, sql, *params) if label is not None]
    return dict(sorted(rows, key=lambda row: (-row[1], row[0])))


def _scalar(connection: duckdb.DuckDBPyConnection, sql: str, *params: object) -> int:
    [(value,)] = _rows(connection, sql, *params)
    return int(value or 0)


def _run_section(facts: DemoFacts) -> RunSection:
    return RunSection(
        run_id=facts.run.run_id,
        engine=facts.run.engine,
        people=facts.dataset.people,
        seed=facts.dataset.seed,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        steps=tuple(
            StepTiming(step.step, round(step.seconds, 3), dict(step.rows)) for step in facts.run.steps
        ),
        stages={name: round(seconds, 3) for name, seconds in facts.stages.items()},
    )


def _sources(connection: duckdb.DuckDBPyConnection, facts: DemoFacts) -> SourcesSection:
    accepted = _counts(connection, "SELECT source_id, count(*) FROM import_rows GROUP BY 1")
    quarantined = _counts(connection, "SELECT source_id, count(*) FROM quarantine_imports GROUP BY 1")
    dataset = facts.dataset
    imports = tuple(
        ImportedSource(
            source=source.source,
            file=source.path.name,
            rows_in_file=source.records,
            accepted=accepted.get(source.source, 0),
            quarantined=quarantined.get(source.source, 0),
        )
        for source in (dataset.crm, dataset.shop, dataset.survey)
    )
    return SourcesSection(
        events_sent=facts.events_sent,
        events_stored=_scalar(connection, "SELECT count(*) FROM raw_events"),
        events_by_type=_counts(connection, "SELECT type, count(*) FROM raw_events GROUP BY 1"),
        events_quarantined=_scalar(connection, "SELECT count(*) FROM quarantine_events"),
        imports=imports,
    )


def _quarantine(connection: duckdb.DuckDBPyConnection) -> QuarantineSection:
    rows = _rows(
        connection,
        "SELECT source_id, code, count(*) FROM quarantine_imports GROUP BY 1, 2 "
        "UNION ALL SELECT 'events', reason, count(*) FROM quarantine_events GROUP BY 1, 2",
    )
    reasons = sorted(
        (QuarantineReason(str(source), str(code), int(count)) for source, code, count in rows),
        key=lambda reason: (reason.source, -reason.rows, reason.code),
    )
    return QuarantineSection(tuple(reasons))


def match_weight(probability: float) -> float:
    """Splink's match weight of a pair: log2 of the posterior odds (prior included)."""
    if probability <= 0.0:
        return -MAX_WEIGHT
    if probability >= 1.0:
        return MAX_WEIGHT
    return max(-MAX_WEIGHT, min(MAX_WEIGHT, math.log2(probability / (1.0 - probability))))


def weight_bins(weights: Sequence[float], width: float = WEIGHT_BIN) -> tuple[WeightBin, ...]:
    """Equal-width bins from the lowest to the highest weight (empty bins in between kept)."""
    if not weights:
        return ()
    first = math.floor(min(weights) / width)
    last = math.floor(max(weights) / width)
    counts = Counter(math.floor(weight / width) for weight in weights)
    return tuple(
        WeightBin(index * width, (index + 1) * width, counts.get(index, 0))
        for index in range(first, last + 1)
    )


def _identity(connection: duckdb.DuckDBPyConnection, facts: DemoFacts) -> IdentitySection:
    by_rule = tuple(
        RuleCount(str(rule), int(records), int(profiles))
        for rule, records, profiles in _rows(
            connection,
            "SELECT matched_by, count(*) AS records, count(DISTINCT profile_id) FROM identity_links "
            "GROUP BY 1 ORDER BY records DESC, matched_by",
        )
    )
    [(profiles, multi, largest)] = _rows(
        connection,
        "SELECT count(*), count(*) FILTER (WHERE n > 1), max(n) "
        "FROM (SELECT profile_id, count(*) AS n FROM identity_links GROUP BY 1)",
    )
    probabilities = [
        float(p)
        for (p,) in _rows(
            connection,
            "SELECT match_probability FROM identity_edges "
            "WHERE rule = 'probabilistic' AND status = 'accepted'",
        )
    ]
    resolve = next((step for step in facts.run.steps if step.step == "resolve"), None)
    guards = {
        name: count
        for name, count in (resolve.guards if resolve else {}).items()
        if count and name not in NOT_GUARDS
    }
    accuracy = facts.accuracy
    return IdentitySection(
        records=_scalar(connection, "SELECT count(*) FROM identity_records"),
        profiles=int(profiles or 0),
        multi_record_profiles=int(multi or 0),
        largest_profile=int(largest or 0),
        by_rule=by_rule,
        edges_accepted=_counts(
            connection, "SELECT rule, count(*) FROM identity_edges WHERE status = 'accepted' GROUP BY 1"
        ),
        edges_refused=_counts(
            connection, "SELECT reason, count(*) FROM identity_edges WHERE status = 'refused' GROUP BY 1"
        ),
        guards=dict(sorted(guards.items(), key=lambda item: (-item[1], item[0]))),
        history=_counts(
            connection,
            "SELECT event, count(*) FROM identity_history WHERE run_id = ? GROUP BY 1",
            facts.run.run_id,
        ),
        probabilistic_pairs=len(probabilities),
        match_weights=weight_bins([match_weight(p) for p in probabilities]),
        accuracy=None
        if accuracy is None
        else Accuracy(
            records=accuracy.records,
            true_pairs=accuracy.true_pairs,
            precision=round(accuracy.precision, 4),
            recall=round(accuracy.recall, 4),
            f1=round(accuracy.f1, 4),
        ),
    )


def spend_bands(spends: Sequence[float], edges: Sequence[float] = SPEND_BANDS) -> tuple[SpendBand, ...]:
    bands = []
    for index, low in enumerate(edges):
        high = edges[index + 1] if index + 1 < len(edges) else None
        customers = sum(1 for spend in spends if spend >= low and (high is None or spend < high))
        bands.append(SpendBand(float(low), None if high is None else float(high), customers))
    return tuple(bands)


def _traits(connection: duckdb.DuckDBPyConnection) -> TraitsSection:
    spends = [
        float(spend)
        for (spend,) in _rows(connection, "SELECT total_spend FROM profiles WHERE order_count > 0 ORDER BY 1")
    ]
    consent: Counter[str] = Counter()
    for (text,) in _rows(connection, "SELECT consent FROM profiles"):
        for purpose, granted in parse_consent(text).items():
            if granted:
                consent[purpose] += 1
    trait = "SELECT value, count(*) FROM profile_traits WHERE trait = ? AND value IS NOT NULL GROUP BY 1"
    return TraitsSection(
        profiles=_scalar(connection, "SELECT count(*) FROM profiles"),
        customers=len(spends),
        rfm_segments=_counts(connection, "SELECT rfm_segment, count(*) FROM v_rfm GROUP BY 1"),
        spend=spend_bands(spends),
        median_spend=round(_median(spends), 2) if spends else None,
        favourite_category=_counts(connection, trait, "favourite_category"),
        age_band=dict(sorted(_counts(connection, trait, "age_band").items())),
        consent={purpose.value: consent.get(purpose.value, 0) for purpose in ConsentPurpose},
    )


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _segments(
    connection: duckdb.DuckDBPyConnection, files: LakeFiles, run_id: str
) -> tuple[SegmentSize, ...]:
    """Every segment the run evaluated (its manifest names them, empty ones too), sized from the
    ``segment_memberships`` snapshot: members = open spans, entered/exited = spans this run opened/closed."""
    manifest = files.read_bytes(evaluation_path(run_id, "manifest.json"))
    evaluated = orjson.loads(manifest)["segments"] if manifest else []
    sizes = {
        str(segment): (int(members), int(entered), int(exited))
        for segment, members, entered, exited in _rows(
            connection,
            "SELECT segment_id, count(*) FILTER (WHERE exited_at IS NULL), "
            "count(*) FILTER (WHERE exited_at IS NULL AND run_id = ?), "
            "count(*) FILTER (WHERE exited_at IS NOT NULL AND run_id = ?) "
            "FROM segment_memberships GROUP BY 1",
            run_id,
            run_id,
        )
    }
    found = []
    for segment in evaluated:
        members, entered, exited = sizes.get(segment["id"], (0, 0, 0))
        found.append(
            SegmentSize(
                segment_id=segment["id"],
                name=segment.get("name") or segment["id"],
                destinations=tuple(segment.get("destinations") or ()),
                members=members,
                entered=entered,
                exited=exited,
            )
        )
    return tuple(found)


def _latest_outcomes(files: LakeFiles, run_id: str) -> dict[tuple[str, str, str, str], str]:
    """(segment, destination, profile, change) → the outcome of its latest attempt in ``run_id`` (the ledger
    is append-only: a retried change has several rows, the last one is its outcome)."""
    paths = [
        files.path(name) for name in files.find(DELIVERIES.prefix, lambda name: name.endswith(".parquet"))
    ]
    if not paths:
        return {}
    table = ds.dataset(paths, filesystem=files.fs, format="parquet", schema=DELIVERIES.schema).to_table(
        columns=["run_id", "segment_id", "destination_id", "profile_id", "change", "outcome", "attempted_at"]
    )
    latest: dict[tuple[str, str, str, str], tuple[datetime, str]] = {}
    for row in table.to_pylist():
        if row["run_id"] != run_id:
            continue
        key = (row["segment_id"], row["destination_id"], row["profile_id"], row["change"])
        if key not in latest or row["attempted_at"] >= latest[key][0]:
            latest[key] = (row["attempted_at"], row["outcome"])
    return {key: outcome for key, (_, outcome) in latest.items()}


def ledger_outcomes(files: LakeFiles, run_id: str) -> dict[str, dict[str, int]]:
    """destination → outcome → this run's changes, each counted once by its latest attempt."""
    outcomes: dict[str, Counter[str]] = {}
    for (_, destination, _, _), outcome in _latest_outcomes(files, run_id).items():
        outcomes.setdefault(destination, Counter())[outcome] += 1
    return {destination: dict(sorted(counts.items())) for destination, counts in sorted(outcomes.items())}


def ledger_profiles(files: LakeFiles, run_id: str, destinations: Collection[str]) -> set[str]:
    """Profiles whose changes ``run_id`` sent to any of ``destinations``."""
    return {
        profile
        for (_, destination, profile, _), outcome in _latest_outcomes(files, run_id).items()
        if destination in destinations and outcome == "sent"
    }


def _deliveries(
    files: LakeFiles, run_id: str, arrivals: Sequence[Arrival]
) -> tuple[DestinationDeliveries, ...]:
    latest = _latest_outcomes(files, run_id)
    outcomes = ledger_outcomes(files, run_id)
    arrived = {arrival.destination_id: arrival for arrival in arrivals}
    found = []
    for destination in sorted(set(outcomes) | set(arrived)):
        arrival = arrived.get(destination)
        expected = outcomes.get(destination, {}).get("sent", 0)
        if arrival is not None and arrival.unit == "contacts":
            entered = {
                profile
                for (_, where, profile, change), outcome in latest.items()
                if where == destination and outcome == "sent" and change == "entered"
            }
            addresses = {
                person.contact.email.lower()
                for person in profile_contacts(files, entered).values()
                if person.contact.email
            }
            expected = len(addresses)
        found.append(DestinationDeliveries(destination, outcomes.get(destination, {}), arrival, expected))
    return tuple(found)


#: the tables :func:`table_rows` counts (those a person's rows live in)
COUNTED_TABLES: Final = (
    "raw_events",
    "quarantine_events",
    "import_rows",
    "quarantine_imports",
    "events",
    "orders",
    "identity_records",
    "identity_links",
    "profiles",
    "profile_traits",
    "segment_memberships",
)


def table_rows(lake: LocalLake) -> dict[str, int]:
    """Rows of each of :data:`COUNTED_TABLES` as ``cdp query`` sees them, and of the delivery ledger."""
    connection = connect(lake)
    try:
        counts: dict[str, int] = {}
        for table in COUNTED_TABLES:  # names from the constant above, never from input
            counts[table] = _scalar(connection, f"SELECT count(*) FROM {table}")  # noqa: S608
    finally:
        connection.close()
    files = LakeFiles(lake.root)
    ledger = [files.path(n) for n in files.find(DELIVERIES.prefix, lambda name: name.endswith(".parquet"))]
    counts["deliveries"] = (
        ds.dataset(ledger, filesystem=files.fs, format="parquet", schema=DELIVERIES.schema).count_rows()
        if ledger
        else 0
    )
    return counts


def mask_email(address: str) -> str:
    """``somchai.j@example.co.th`` → ``s•••@example.co.th``: enough to tell people apart on a page,
    not enough to contact anyone."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}•••@{domain}" if domain else "•••"
