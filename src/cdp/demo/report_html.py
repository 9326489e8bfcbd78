""":class:`~cdp.demo.report.DemoReport` as one self-contained HTML page (``.cdp/report.html``).

Offline by construction: inline CSS, charts as inline SVG (:mod:`cdp.demo.charts`), no script, no font,
no image fetched from anywhere. Every value that reaches the page goes through :func:`html.escape`
(source names, reason codes and segment names come from files a user can edit).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from cdp.demo import charts
from cdp.demo.report import DemoReport, PrivacySection, SpendBand

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans Thai",sans-serif;margin:0;color:#1d2430;
background:#f5f6f8}
header{background:#12263a;color:#fff;padding:24px 40px}header h1{margin:0 0 6px;font-size:24px}
header p{margin:0;color:#c9d3de;font-size:13px}
nav{padding:8px 40px;background:#fff;border-bottom:1px solid #dde1e6;font-size:13px}
nav a{margin-right:14px;color:#0b5cab;text-decoration:none}
main{padding:8px 40px 40px;max-width:1280px}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;margin:18px 0;padding:4px 20px 16px}
h2{font-size:18px;margin:14px 0 6px}h3{font-size:14px;margin:14px 0 4px;color:#3a4656}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:10px 16px;min-width:140px}
.card b{display:block;font-size:22px}.card span{font-size:12px;color:#5b6675}
.row{display:flex;flex-wrap:wrap;gap:24px;align-items:flex-start}
.row>div{flex:1 1 420px;min-width:320px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{padding:3px 10px;border-bottom:1px solid #eceff3;text-align:left}
th{background:#f0f2f5;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
figure.chart{margin:8px 0}figure.chart svg{max-width:100%;height:auto}
p.note{font-size:13px;color:#5b6675}.ok{color:#007a4d;font-weight:600}.bad{color:#b3261e;font-weight:600}
"""


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    svg: str


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _n(value: int | float) -> str:
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    def cell(tag: str, value: object) -> str:
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        text = _n(value) if numeric else _e(value)  # type: ignore[arg-type]
        return f'<{tag} class="n">{text}</{tag}>' if numeric else f"<{tag}>{text}</{tag}>"

    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(cell("td", v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(chart: Chart | None) -> str:
    if chart is None:
        return ""
    return f'<figure class="chart" aria-label="{_e(chart.title)}">{chart.svg}</figure>'


def _section(anchor: str, title: str, *parts: str) -> str:
    return f'<section id="{_e(anchor)}"><h2>{_e(title)}</h2>{"".join(parts)}</section>'


def _row(*columns: str) -> str:
    return '<div class="row">' + "".join(f"<div>{column}</div>" for column in columns if column) + "</div>"


def _note(text: str) -> str:
    return f'<p class="note">{_e(text)}</p>'


def _band(band: SpendBand) -> str:
    return f"≥ {band.low:,.0f}" if band.high is None else f"{band.low:,.0f}–{band.high:,.0f}"


def report_charts(report: DemoReport) -> dict[str, Chart]:
    """Every chart of the page by key; a chart with nothing to show is left out (its table says so)."""
    found: dict[str, Chart] = {}

    def add(key: str, title: str, svg: str) -> None:
        found[key] = Chart(title, svg)

    sources = report.sources
    if sources.events_by_type:
        add(
            "events",
            "Events stored, by type",
            charts.bar_chart("Events stored, by type", sources.events_by_type),
        )
    add(
        "imports",
        "Imported rows per source",
        charts.stacked_bar_chart(
            "Imported rows per source",
            [s.source for s in sources.imports],
            {
                "accepted": [s.accepted for s in sources.imports],
                "quarantined": [s.quarantined for s in sources.imports],
            },
            colours={"accepted": charts.PALETTE[2], "quarantined": charts.PALETTE[3]},
            xlabel="rows",
        ),
    )
    if report.quarantine.reasons:
        add(
            "quarantine",
            "Quarantined rows by reason",
            charts.bar_chart(
                "Quarantined rows by reason", report.quarantine.by_code, horizontal=True, xlabel="rows"
            ),
        )
    identity = report.identity
    if identity.by_rule:
        add(
            "rules",
            "Records by the rule that joined them",
            charts.bar_chart(
                "Records by the rule that joined them (matched_by)",
                {rule.rule: rule.records for rule in identity.by_rule},
                horizontal=True,
                xlabel="identity records",
            ),
        )
    blocks = {**identity.guards}
    if blocks:
        add(
            "guards",
            "What the guards blocked",
            charts.bar_chart(
                "What the resolve step's guards blocked", blocks, horizontal=True, xlabel="count"
            ),
        )
    if identity.match_weights:
        add(
            "weights",
            "Match weights of probabilistic pairs",
            charts.histogram_chart(
                "Match weights of the probabilistic pairs kept",
                [(b.low, b.high, b.pairs) for b in identity.match_weights],
                xlabel="match weight (log2 odds)",
                ylabel="pairs",
            ),
        )
    traits = report.traits
    if traits.rfm_segments:
        add(
            "rfm",
            "Customers by RFM segment",
            charts.bar_chart(
                "Customers by RFM segment (v_rfm)", traits.rfm_segments, horizontal=True, xlabel="customers"
            ),
        )
    if traits.customers:
        add(
            "spend",
            "Total spend of customers",
            charts.bar_chart(
                "Total spend of customers (THB)",
                {_band(b): b.customers for b in traits.spend},
                xlabel="customers",
            ),
        )
    if traits.favourite_category:
        add(
            "category",
            "Favourite category",
            charts.bar_chart(
                "Favourite category (trait)", traits.favourite_category, horizontal=True, xlabel="profiles"
            ),
        )
    if traits.age_band:
        add("age", "Age band", charts.bar_chart("Age band (trait)", traits.age_band, xlabel="profiles"))
    add(
        "consent",
        "Consent granted, by purpose",
        charts.bar_chart("Profiles that granted consent, by purpose", traits.consent, xlabel="profiles"),
    )
    if report.segments:
        add(
            "segments",
            "Segment sizes and this run's changes",
            charts.grouped_bar_chart(
                "Segment sizes and this run's changes",
                [s.segment_id for s in report.segments],
                {
                    "members": [s.members for s in report.segments],
                    "entered": [s.entered for s in report.segments],
                    "exited": [s.exited for s in report.segments],
                },
                ylabel="profiles",
            ),
        )
    if report.deliveries:
        outcomes = sorted({o for d in report.deliveries for o in d.outcomes}, key=_outcome_order)
        add(
            "deliveries",
            "Deliveries by outcome",
            charts.stacked_bar_chart(
                "This run's changes per destination, by outcome",
                [d.destination_id for d in report.deliveries],
                {o: [d.outcomes.get(o, 0) for d in report.deliveries] for o in outcomes},
                colours=charts.OUTCOME_COLOURS,
                xlabel="membership changes",
            ),
        )
    privacy = report.privacy
    if privacy is not None and privacy.rows_removed:
        add(
            "erasure",
            "Rows erased per zone",
            charts.bar_chart("Rows erased, per zone", privacy.rows_removed, horizontal=True, xlabel="rows"),
        )
    return found


def _outcome_order(outcome: str) -> tuple[int, str]:
    known = list(charts.OUTCOME_COLOURS)
    return (known.index(outcome) if outcome in known else len(known), outcome)


def render_report(report: DemoReport) -> str:
    figures = report_charts(report)

    def fig(key: str) -> str:
        return _figure(figures.get(key))

    sources, identity, traits = report.sources, report.identity, report.traits
    sent = sum(d.sent for d in report.deliveries)
    cards = [
        (sources.events_stored, "events stored"),
        (sources.rows_imported, "rows imported"),
        (sources.rows_quarantined + sources.events_quarantined, "rows quarantined"),
        (identity.records, "identity records"),
        (identity.profiles, "profiles"),
        (sum(1 for s in report.segments if s.members), "segments with members"),
        (sent, "changes delivered"),
    ]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>CDP demo report: run {_e(report.run.run_id)}</title>",
        f"<style>{CSS}</style></head><body>",
        "<header><h1>Customer Data Platform: demo report</h1>",
        f"<p>run {_e(report.run.run_id)} · engine {_e(report.run.engine)} · "
        f"{_n(report.run.people)} generated people (seed {_n(report.run.seed)}) · "
        f"written {_e(report.run.generated_at)}</p></header>",
        "<nav>"
        + "".join(
            f'<a href="#{a}">{_e(t)}</a>'
            for a, t in (
                ("sources", "Sources"),
                ("quarantine", "Quarantine"),
                ("identity", "Identity"),
                ("traits", "Traits"),
                ("segments", "Segments"),
                ("deliveries", "Deliveries"),
                ("privacy", "Privacy"),
                ("run", "Run"),
            )
        )
        + "</nav><main>",
        '<div class="cards">'
        + "".join(
            f"<div class='card'><b>{_n(value)}</b><span>{_e(label)}</span></div>" for value, label in cards
        )
        + "</div>",
    ]
    parts.append(
        _section(
            "sources",
            "Sources and row counts",
            _row(
                "<h3>Events (real Segment SDK → local API)</h3>"
                + _table(
                    ["", "events"],
                    [
                        ("sent", sources.events_sent),
                        ("stored in raw_events", sources.events_stored),
                        ("quarantined by the API", sources.events_quarantined),
                    ],
                )
                + _table(["type", "events"], sources.events_by_type.items()),
                fig("events"),
            ),
            _row(
                "<h3>Files (batch import with mappings)</h3>"
                + _table(
                    ["source", "file", "rows in file", "accepted", "quarantined"],
                    [(s.source, s.file, s.rows_in_file, s.accepted, s.quarantined) for s in sources.imports],
                ),
                fig("imports"),
            ),
        )
    )
    parts.append(
        _section(
            "quarantine",
            "Quarantine reasons",
            _row(
                _table(
                    ["source", "reason", "rows"],
                    [(r.source, r.code, r.rows) for r in report.quarantine.reasons],
                )
                if report.quarantine.reasons
                else _note("nothing was quarantined"),
                fig("quarantine"),
            ),
        )
    )
    accuracy = identity.accuracy
    parts.append(
        _section(
            "identity",
            "Identity resolution",
            _row(
                _table(
                    ["", "count"],
                    [
                        ("identity records", identity.records),
                        ("profiles", identity.profiles),
                        ("profiles with more than one record", identity.multi_record_profiles),
                        ("records in the largest profile", identity.largest_profile),
                        ("probabilistic pairs kept", identity.probabilistic_pairs),
                        *((f"history: {event}", count) for event, count in identity.history.items()),
                    ],
                )
                + (
                    _note(
                        f"Against the generator's truth ({accuracy.records:,} imported records, "
                        f"{accuracy.true_pairs:,} true pairs): pairwise precision {accuracy.precision:.4f}, "
                        f"recall {accuracy.recall:.4f}, F1 {accuracy.f1:.4f}."
                    )
                    if accuracy
                    else ""
                )
                + "<h3>Records by rule (matched_by)</h3>"
                + _table(
                    ["rule", "records", "profiles"],
                    [(r.rule, r.records, r.profiles) for r in identity.by_rule],
                ),
                fig("rules"),
            ),
            _row(
                "<h3>Merges: accepted edges by rule</h3>"
                + _table(["rule", "edges"], identity.edges_accepted.items())
                + "<h3>Guard blocks (resolve step)</h3>"
                + (
                    _table(["guard", "count"], identity.guards.items())
                    if identity.guards
                    else _note("no guard fired")
                )
                + "<h3>Refused edges by reason</h3>"
                + (
                    _table(["reason", "edges"], identity.edges_refused.items())
                    if identity.edges_refused
                    else _note("no edge was refused")
                ),
                fig("guards") + fig("weights"),
            ),
        )
    )
    parts.append(
        _section(
            "traits",
            "Customer 360: trait distributions",
            _note(
                f"{traits.profiles:,} profiles, {traits.customers:,} with orders"
                + (
                    f"; median total spend {traits.median_spend:,.2f} THB."
                    if traits.median_spend is not None
                    else "."
                )
            ),
            _row(_table(["RFM segment", "customers"], traits.rfm_segments.items()), fig("rfm")),
            _row(
                _table(["total spend (THB)", "customers"], [(_band(b), b.customers) for b in traits.spend]),
                fig("spend"),
            ),
            _row(
                _table(["favourite category", "profiles"], traits.favourite_category.items()), fig("category")
            ),
            _row(_table(["age band", "profiles"], traits.age_band.items()), fig("age")),
            _row(_table(["consent purpose", "profiles granted"], traits.consent.items()), fig("consent")),
        )
    )
    parts.append(
        _section(
            "segments",
            "Segments: sizes and deltas",
            _table(
                ["segment", "name", "destinations", "members", "entered", "exited"],
                [
                    (s.segment_id, s.name, ", ".join(s.destinations) or "–", s.members, s.entered, s.exited)
                    for s in report.segments
                ],
            ),
            fig("segments"),
        )
    )
    outcome_names = sorted({o for d in report.deliveries for o in d.outcomes}, key=_outcome_order)
    parts.append(
        _section(
            "deliveries",
            "Deliveries by outcome",
            _note(
                "This run's membership changes per destination, each counted once by its latest outcome in "
                "the delivery ledger; 'expected' is what the service should hold after the ledger's 'sent' "
                "(a contact list holds one contact per address), 'arrived' what the service on the moto "
                "server holds, read back after the export."
            ),
            _table(
                ["destination", *outcome_names, "service", "expected", "arrived", "what"],
                [
                    (
                        d.destination_id,
                        *(d.outcomes.get(o, 0) for o in outcome_names),
                        d.arrival.service if d.arrival else "local",
                        d.expected,
                        d.arrival.count if d.arrival else "–",
                        d.arrival.what if d.arrival else "",
                    )
                    for d in report.deliveries
                ],
            ),
            fig("deliveries"),
        )
    )
    parts.append(_section("privacy", "Access request and erasure", *_privacy(report.privacy, fig("erasure"))))
    parts.append(
        _section(
            "run",
            "The run",
            _row(
                "<h3>Pipeline steps (DuckDB)</h3>"
                + _table(
                    ["step", "seconds", "rows written"],
                    [
                        (s.step, f"{s.seconds:.2f}", ", ".join(f"{t} {n:,}" for t, n in s.rows.items()))
                        for s in report.run.steps
                    ],
                ),
                "<h3>Demo stages</h3>"
                + _table(
                    ["stage", "seconds"],
                    [(name, f"{sec:.2f}") for name, sec in report.run.stages.items() if name != "report"],
                ),
            ),
            *(_note(note) for note in report.notes),
        )
    )
    parts.append("</main></body></html>")
    return "\n".join(parts)


def _privacy(privacy: PrivacySection | None, chart: str) -> list[str]:
    if privacy is None:
        return [_note("No access request or erasure ran (see the notes under 'The run').")]
    proven = privacy.proof_hits == 0
    verdict = (
        '<p class="ok">Proof: a re-scan of every zone found 0 rows of the person.</p>'
        if proven
        else f'<p class="bad">Proof failed: the re-scan found {privacy.proof_hits:,} rows.</p>'
    )
    contact = ""
    if privacy.contact_before is not None:
        contact = _note(
            "SES contact list on the moto server: the address was "
            + ("a contact" if privacy.contact_before else "not a contact")
            + " before the erasure and "
            + ("is still one" if privacy.contact_after else "is not one")
            + " after it."
        )
    return [
        _note(
            f"Subject: {privacy.subject} ({privacy.profiles:,} profile(s)); the access document "
            f"({privacy.access_bytes:,} bytes) held data in {len(privacy.access_zones)} zone(s)."
        ),
        _row(
            "<h3>Access request: what the person's document holds</h3>"
            + _table(["zone", "items"], privacy.access_zones.items()),
            "<h3>Erasure</h3>"
            + _table(
                ["", "count"],
                [
                    ("files scanned", privacy.files_scanned),
                    ("files rewritten", privacy.files_rewritten),
                    *((f"rows removed: {zone}", rows) for zone, rows in privacy.rows_removed.items()),
                    *((f"contacts deleted: {name}", n) for name, n in privacy.destinations.items()),
                    ("seconds", f"{privacy.seconds:.2f}"),
                ],
            )
            + verdict
            + contact,
        ),
        _row(
            "<h3>The proof: every zone re-scanned</h3>"
            + _table(["zone", "files re-scanned", "rows found"], _proof_rows(privacy.proof_zones)),
            chart,
        ),
        "<h3>Tables before the request and after the erasure (rows)</h3>"
        + _table(
            ["table", "before", "after", "removed"],
            [
                (table, rows, privacy.tables_after.get(table, 0), rows - privacy.tables_after.get(table, 0))
                for table, rows in privacy.tables_before.items()
            ],
        ),
    ]


def _proof_rows(zones: Mapping[str, Mapping[str, int]]) -> list[tuple[str, int, int]]:
    return [(zone, int(counts.get("files", 0)), int(counts.get("hits", 0))) for zone, counts in zones.items()]
