"""``deliver_run`` on a local lake with local destinations (the embedded mode): what the lake holds
afterwards (recorded deliveries, the ``deliveries`` rows, dead letters), re-runs, older runs, bad input,
the pipeline's ``export`` step and the export Lambda's handler."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds
import pytest

from cdp.activation.config import ActivationSettings
from cdp.activation.errors import ActivationInputError, UnknownSegmentError
from cdp.activation.models import ContactField
from cdp.activation.service import deliver_run
from cdp.adapters.local_destination import LocalDeadLetters, LocalDestination
from cdp.adapters.memory_activation import InMemoryDestination
from cdp.lake import LocalLake
from cdp.lakefs import LakeFiles
from cdp.localapi.apigw import LocalLambdaContext
from cdp.pipeline.export import export_step
from cdp.query.catalog import run_query
from cdp.settings import ConfigError
from cdp.tables import DELIVERIES
from tests.activation_data import (
    AS_OF_1,
    AS_OF_2,
    RUN_1,
    RUN_2,
    Person,
    configure_destinations,
    define_segment,
    membership,
    publish_memberships,
    publish_people,
    suppress,
)

PEOPLE = [
    Person("p1", "somchai@example.co.th", "+66819753001"),
    Person("p2", "malee@example.co.th", "+66819753002", granted=("sms",)),  # no e-mail consent
    Person("p3", "blocked@example.co.th", "+66819753003"),  # suppressed
    Person("p4", None, "+66819753004"),  # no e-mail address
    Person("p5", "ploy@example.co.th", None, granted=("email", "ads")),
]
DESTINATIONS = [
    {"id": "newsletter", "type": "local", "purpose": "email", "needs_any": ["email"], "include": ["email"]},
    {"id": "texts", "type": "local", "purpose": "sms", "needs_any": ["phone"], "acts_on": ["entered"]},
]


@dataclass
class Lake:
    root: Path

    @property
    def files(self) -> LakeFiles:
        return LakeFiles(self.root)

    def recorded(self, destination: str, run_id: str | None = None) -> list[dict[str, Any]]:
        return LocalDestination(self.files, destination).recorded(run_id)

    def deliveries(self) -> list[dict[str, Any]]:
        paths = [
            self.files.path(n) for n in self.files.find(DELIVERIES.prefix, lambda n: n.endswith(".parquet"))
        ]
        if not paths:
            return []
        rows: list[dict[str, Any]] = ds.dataset(paths, format="parquet").to_table().to_pylist()
        return rows


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    root = tmp_path / "lake"
    publish_people(root, PEOPLE)
    publish_memberships(
        root, [membership("vip", p.profile_id, RUN_1, entered=AS_OF_1) for p in PEOPLE], RUN_1
    )
    define_segment(root, "vip", ["newsletter", "texts"])
    configure_destinations(root, DESTINATIONS)
    suppress(root, {"email": "Blocked@Example.co.th", "reason": "asked on the phone"})
    return Lake(root)


def test_an_export_sends_exactly_the_consenting_unsuppressed_reachable_members(lake: Lake) -> None:
    report = deliver_run(lake.files, "vip")

    assert report.run_id == RUN_1
    newsletter = lake.recorded("newsletter", RUN_1)
    assert sorted(event["profile_id"] for event in newsletter) == ["p1", "p5"]
    assert {event["contact"]["email"] for event in newsletter} == {
        "somchai@example.co.th",
        "ploy@example.co.th",
    }
    texts = lake.recorded("texts", RUN_1)
    assert sorted(event["profile_id"] for event in texts) == ["p1", "p2", "p4"]
    assert "contact" not in texts[0]  # it includes no contact fields

    by_destination = {d.destination_id: d for d in report.destinations}
    email = by_destination["newsletter"]
    assert (email.sent, email.skipped_consent, email.suppressed, email.skipped_no_contact, email.failed) == (
        2,
        1,
        1,
        1,
        0,
    )
    sms = by_destination["texts"]
    assert (sms.sent, sms.skipped_consent, sms.suppressed, sms.skipped_no_contact) == (3, 1, 1, 0)

    rows = {(r["destination_id"], r["profile_id"]): r for r in lake.deliveries()}
    assert len(rows) == 10
    assert rows[("newsletter", "p2")]["outcome"] == "skipped_consent"
    assert rows[("newsletter", "p3")]["outcome"] == "suppressed"
    assert rows[("newsletter", "p4")]["outcome"] == "skipped_no_contact"
    assert rows[("texts", "p5")]["outcome"] == "skipped_consent"
    sent = rows[("newsletter", "p1")]
    assert (sent["outcome"], sent["run_id"], sent["segment_id"], sent["change"]) == (
        "sent",
        RUN_1,
        "vip",
        "entered",
    )
    assert sent["detail"] == newsletter[[e["profile_id"] for e in newsletter].index("p1")]["event_id"]
    # the ledger is a table for cdp query (and Athena): every row, from every run's files
    outcomes = run_query(
        LocalLake.at(lake.files.base), "SELECT outcome, count(*) AS n FROM deliveries GROUP BY 1 ORDER BY 1"
    ).to_pylist()
    assert outcomes == [
        {"outcome": "sent", "n": 5},
        {"outcome": "skipped_consent", "n": 2},
        {"outcome": "skipped_no_contact", "n": 1},
        {"outcome": "suppressed", "n": 2},
    ]


def test_a_second_export_of_the_same_run_sends_nothing_new(lake: Lake) -> None:
    deliver_run(lake.files, "vip")
    again = deliver_run(lake.files, "vip")
    assert again.sent == 0
    assert {d.destination_id: d.already_sent for d in again.destinations} == {"newsletter": 2, "texts": 3}
    assert len(lake.recorded("newsletter")) == 2
    assert len(lake.recorded("texts")) == 3


def test_the_next_run_delivers_its_own_deltas_and_an_older_run_can_be_named(lake: Lake) -> None:
    deliver_run(lake.files, "vip")
    # run 2: p1 leaves, p6 joins (the snapshot holds every span; run 1's own snapshot is kept)
    publish_people(lake.root, [*PEOPLE, Person("p6", "new@example.co.th", None)], RUN_2)
    spans = [
        membership("vip", "p1", RUN_2, entered=AS_OF_1, exited=AS_OF_2),
        *(membership("vip", p.profile_id, RUN_1, entered=AS_OF_1) for p in PEOPLE[1:]),
        membership("vip", "p6", RUN_2, entered=AS_OF_2),
    ]
    publish_memberships(lake.root, spans, RUN_2)

    report = deliver_run(lake.files, "vip")
    assert report.run_id == RUN_2
    newsletter = [(e["profile_id"], e["change"]) for e in lake.recorded("newsletter", RUN_2)]
    assert sorted(newsletter) == [("p1", "exited"), ("p6", "entered")]
    texts = {d.destination_id: d for d in report.destinations}["texts"]
    assert texts.not_applicable == 1  # the texts destination greets only

    older = deliver_run(lake.files, "vip", run_id=RUN_1)  # run 1's deltas come from run 1's own snapshot
    assert (older.changes, older.sent) == (5, 0)


def test_an_exit_retracts_a_held_person_even_after_they_withdrew_consent(lake: Lake) -> None:
    deliver_run(lake.files, "vip")
    withdrawn = [Person("p1", "somchai@example.co.th", "+66819753001", granted=()), *PEOPLE[1:]]
    publish_people(lake.root, withdrawn, RUN_2)
    publish_memberships(lake.root, [membership("vip", "p1", RUN_2, entered=AS_OF_1, exited=AS_OF_2)], RUN_2)
    report = deliver_run(lake.files, "vip")
    assert [(e["profile_id"], e["change"]) for e in lake.recorded("newsletter", RUN_2)] == [("p1", "exited")]
    assert {d.destination_id: d.retractions for d in report.destinations}["newsletter"] == 1


def test_failures_are_recorded_and_dead_lettered_then_retried_by_the_next_export(lake: Lake) -> None:
    flaky = InMemoryDestination(
        needs_any=frozenset({ContactField.EMAIL}), refuse={"p1": "mailbox unavailable"}
    )
    report = deliver_run(
        lake.files,
        "vip",
        build=lambda config: flaky if config.id == "newsletter" else LocalDestination(lake.files, config.id),
    )
    assert report.failed == 1
    [letter] = LocalDeadLetters(lake.files).letters()
    assert (letter["profile_id"], letter["destination_id"], letter["reason"]) == (
        "p1",
        "newsletter",
        "mailbox unavailable",
    )
    assert "somchai" not in str(letter)

    flaky.refuse = {}
    retry = deliver_run(
        lake.files,
        "vip",
        build=lambda config: flaky if config.id == "newsletter" else LocalDestination(lake.files, config.id),
    )
    newsletter = {d.destination_id: d for d in retry.destinations}["newsletter"]
    assert (newsletter.sent, newsletter.already_sent) == (1, 1)
    assert [c.profile_id for c in flaky.delivered] == ["p5", "p1"]


@pytest.mark.parametrize(
    ("setup", "error", "message"),
    [
        (lambda lake: None, UnknownSegmentError, "no segment 'lapsed' among the definitions"),
        (
            lambda lake: define_segment(lake.root, "lapsed", ["ads"]),
            ActivationInputError,
            "segment 'lapsed' names destination 'ads', which segments/destinations.yaml does not define",
        ),
        (
            lambda lake: (
                define_segment(lake.root, "lapsed", ["newsletter"]),
                configure_destinations(lake.root, [{"id": "newsletter", "type": "sms"}]),
            ),
            ActivationInputError,
            "destination 'newsletter' (sms) field origination_identity: Field required",
        ),
        (
            lambda lake: (
                define_segment(lake.root, "lapsed", ["newsletter"]),
                (lake.root / "privacy" / "suppression.jsonl").write_text("oops\n"),
            ),
            ActivationInputError,
            "privacy/suppression.jsonl line 1: not JSON",
        ),
    ],
)
def test_bad_input_fails_before_anything_is_sent(
    lake: Lake, setup: Any, error: type[Exception], message: str
) -> None:
    setup(lake)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")) as raised:
        deliver_run(lake.files, "lapsed")
    assert isinstance(raised.value, ConfigError)
    assert lake.recorded("newsletter") == []
    assert lake.deliveries() == []


def test_an_unknown_run_is_refused(lake: Lake) -> None:
    with pytest.raises(UnknownSegmentError, match="no segment_memberships snapshot for run 'nope'"):
        deliver_run(lake.files, "vip", run_id="nope")


def test_the_pipeline_step_delivers_every_activated_segment(lake: Lake) -> None:
    define_segment(lake.root, "quiet", [])  # not activated: skipped
    step = export_step(lake.files, run_id=RUN_1, engine="duckdb", deltas_of=RUN_1)
    assert step.step == "export"
    assert step.rows == {"deliveries_sent": 5}
    assert step.guards["segments"] == 1
    assert (step.guards["skipped_consent"], step.guards["suppressed"], step.guards["failed"]) == (2, 2, 0)
    alone = export_step(lake.files, run_id="20260302T000000Z-cccccc", engine="duckdb")  # `--steps export`
    assert (alone.run_id, alone.rows, alone.guards["already_sent"]) == (
        "20260302T000000Z-cccccc",
        {"deliveries_sent": 0},
        5,
    )


def test_the_export_lambda_answers_the_report(lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    import lambdas.export.handler as handler

    monkeypatch.setattr(handler, "_settings", ActivationSettings(lake=str(lake.root)))

    context = LocalLambdaContext(function_name="cdp-test-export", timeout_seconds=900)
    answer = handler.lambda_handler({"segment_id": "vip", "run_id": RUN_1}, context)  # type: ignore[arg-type]
    assert (answer["segment_id"], answer["run_id"], answer["sent"], answer["complete"]) == (
        "vip",
        RUN_1,
        5,
        True,
    )
    assert [d["destination_id"] for d in answer["destinations"]] == ["newsletter", "texts"]


def test_a_pipeline_run_refuses_a_missing_destination_before_any_step_publishes(lake: Lake) -> None:
    """Otherwise the segments step would publish deltas the export step then cannot deliver."""
    from cdp.engine.duckdb_engine import DuckDbEngine
    from cdp.pipeline.runner import run_pipeline
    from cdp.tables import SEGMENT_MEMBERSHIPS, current

    define_segment(lake.root, "vip", ["newsletter", "push"])
    before = current(lake.files, SEGMENT_MEMBERSHIPS)
    engine = DuckDbEngine()
    try:
        with pytest.raises(ActivationInputError, match="names destination 'push'"):
            run_pipeline(lake.files, engine, steps=["segments", "export"], run_id="r-new")
    finally:
        engine.close()
    assert current(lake.files, SEGMENT_MEMBERSHIPS) == before
