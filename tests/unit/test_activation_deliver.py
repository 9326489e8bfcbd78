"""The deliverer over in-memory ports: gates, idempotency, batching, pacing, retries, dead letters.

Time is fake (a clock the injected ``sleep`` advances), so backoff and pacing are asserted exactly and the
tests never wait.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from cdp.activation.consent import ConsentPurpose
from cdp.activation.deliver import ActivationTarget, Deliverer, ExportReport, RetryPolicy
from cdp.activation.models import (
    Change,
    Contact,
    ContactField,
    DestinationLimits,
    MembershipDelta,
    Outcome,
    ProfileContact,
)
from cdp.activation.suppression import SuppressionList, parse_suppression
from cdp.adapters.memory_activation import InMemoryDeadLetters, InMemoryDeliveryLedger, InMemoryDestination

RUN = "20260301T000000Z-aaaaaa"
SEGMENT = "vip"
AT = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def person(
    profile_id: str,
    *,
    email: str | None = None,
    phone: str | None = None,
    consent: Sequence[str] = ("email", "sms", "push", "ads"),
    emails: Sequence[str] = (),
) -> ProfileContact:
    return ProfileContact(
        profile_id=profile_id,
        contact=Contact(email=email, phone=phone, first_name="สมชาย", user_id=f"u-{profile_id}"),
        emails=tuple(emails or ([email] if email else [])),
        phones=(phone,) if phone else (),
        consent=dict.fromkeys(consent, True),
    )


def entered(*profile_ids: str) -> list[MembershipDelta]:
    return [MembershipDelta(p, Change.ENTERED, AT) for p in profile_ids]


def exited(*profile_ids: str) -> list[MembershipDelta]:
    return [MembershipDelta(p, Change.EXITED, AT) for p in profile_ids]


class Harness:
    def __init__(self, destination: InMemoryDestination | None = None, **deliverer: object) -> None:
        self.time = FakeTime()
        self.ledger = InMemoryDeliveryLedger()
        self.dead_letters = InMemoryDeadLetters()
        self.destination = destination or InMemoryDestination(needs_any=frozenset({ContactField.EMAIL}))
        self.deliverer = Deliverer(
            ledger=self.ledger,
            dead_letters=self.dead_letters,
            retry=RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=4.0),
            sleep=self.time.sleep,
            clock=self.time.clock,
            jitter=lambda: 1.0,  # the top of each backoff window: exact, reproducible delays
            **deliverer,  # type: ignore[arg-type]
        )

    def run(
        self,
        deltas: Sequence[MembershipDelta],
        people: Sequence[ProfileContact],
        *,
        purpose: ConsentPurpose = ConsentPurpose.EMAIL,
        suppression: SuppressionList | None = None,
        run_id: str = RUN,
    ) -> ExportReport:
        return self.deliverer.deliver(
            run_id=run_id,
            segment_id=SEGMENT,
            deltas=deltas,
            people={p.profile_id: p for p in people},
            targets=[ActivationTarget("newsletter", "memory", purpose, self.destination)],
            suppression=suppression or SuppressionList(),
        )

    def outcomes(self) -> dict[str, Outcome]:
        return {row.profile_id: row.outcome for row in self.ledger.rows}


def test_only_consenting_unsuppressed_people_with_an_address_are_sent() -> None:
    h = Harness()
    people = [
        person("p1", email="a@example.com"),
        person("p2", email="b@example.com", consent=("sms",)),  # no email consent
        person("p3", email="blocked@example.com"),
        person("p4", phone="+66812345678"),  # no e-mail at all
        person("p5", email="e@example.com", consent=()),
    ]
    suppression = parse_suppression([b'{"email": "Blocked@Example.com", "reason": "complaint"}'])
    report = h.run(entered("p1", "p2", "p3", "p4", "p5", "p-gone"), people, suppression=suppression)

    assert [c.profile_id for c in h.destination.delivered] == ["p1"]
    assert h.outcomes() == {
        "p1": Outcome.SENT,
        "p2": Outcome.SKIPPED_CONSENT,
        "p3": Outcome.SUPPRESSED,
        "p4": Outcome.SKIPPED_NO_CONTACT,
        "p5": Outcome.SKIPPED_CONSENT,
        "p-gone": Outcome.SKIPPED_NO_CONTACT,  # erased or merged away since the segment ran
    }
    [destination] = report.destinations
    assert (destination.sent, destination.skipped_consent, destination.suppressed) == (1, 2, 1)
    assert (destination.skipped_no_contact, destination.failed, destination.held_back) == (2, 0, 5)
    sent = next(row for row in h.ledger.rows if row.outcome is Outcome.SENT)
    assert str(sent.detail).startswith("mem-")  # the destination's message id
    skipped = {row.profile_id: row.detail for row in h.ledger.rows}
    assert skipped["p2"] == "no email consent"
    assert skipped["p4"] == "no email"


def test_suppression_beats_consent_and_checks_every_address_of_the_person() -> None:
    h = Harness()
    people = [
        person("p1", email="new@example.com", emails=["new@example.com", "old@example.com"]),
        person("p2", email="s.o.m+news@gmail.com"),
        person("p3", email="fine@example.com", phone="+66819753042"),
    ]
    suppression = parse_suppression(
        [b'{"email": "OLD@example.com"}', b'{"email": "som@gmail.com"}', b'{"phone": "081-975-3042"}']
    )
    h.run(entered("p1", "p2", "p3"), people, suppression=suppression)
    assert h.outcomes() == {"p1": Outcome.SUPPRESSED, "p2": Outcome.SUPPRESSED, "p3": Outcome.SUPPRESSED}
    assert h.destination.delivered == []


def test_a_rerun_of_the_same_run_sends_nothing_twice_but_retries_what_failed() -> None:
    h = Harness()
    people = [person(p, email=f"{p}@example.com") for p in ("p1", "p2", "p3")]
    h.destination.refuse = {"p2": "mailbox refused"}
    first = h.run(entered("p1", "p2", "p3"), people)
    assert (first.destinations[0].sent, first.destinations[0].failed) == (2, 1)

    h.destination.refuse = {}
    second = h.run(entered("p1", "p2", "p3"), people)
    [report] = second.destinations
    assert (report.already_sent, report.sent, report.failed) == (2, 1, 0)
    assert [c.profile_id for c in h.destination.delivered] == ["p1", "p3", "p2"]

    third = h.run(entered("p1", "p2", "p3"), people)
    assert (third.destinations[0].already_sent, third.destinations[0].sent) == (3, 0)
    assert len(h.destination.delivered) == 3
    # a later run's change of the same person is a new change, sent again
    later = h.run(entered("p1"), people, run_id="20260302T000000Z-bbbbbb")
    assert later.destinations[0].sent == 1


def test_batches_respect_the_destination_limit() -> None:
    h = Harness(InMemoryDestination(limits=DestinationLimits(max_batch_size=10)))
    people = [person(f"p{i:02d}", email=f"p{i}@example.com") for i in range(25)]
    h.run(entered(*(p.profile_id for p in people)), people)
    assert h.destination.calls == [10, 10, 5]


def test_a_destination_without_a_batch_limit_gets_the_whole_run_in_one_call() -> None:
    h = Harness(InMemoryDestination(limits=DestinationLimits(max_batch_size=None)))
    people = [person(f"p{i:02d}", email=f"p{i}@example.com") for i in range(25)]
    h.run(entered(*(p.profile_id for p in people)), people)
    assert h.destination.calls == [25]


def test_throttled_calls_are_retried_with_exponential_backoff_then_succeed() -> None:
    h = Harness(InMemoryDestination(throttle_calls=3))
    report = h.run(entered("p1"), [person("p1", email="a@example.com")])
    [destination] = report.destinations
    assert (destination.sent, destination.calls, destination.retries) == (1, 4, 3)
    assert h.time.sleeps == [0.5, 1.0, 2.0]  # base * 2**(n-1), jitter at its top


def test_backoff_is_capped_and_jittered_within_its_window() -> None:
    policy = RetryPolicy(max_attempts=10, base_delay=0.5, max_delay=4.0)
    assert [policy.delay(n, lambda: 1.0) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert policy.delay(3, lambda: 0.25) == 0.5
    assert policy.delay(3, lambda: 0.0) == 0.0


def test_changes_still_throttled_after_every_attempt_are_failed_and_dead_lettered() -> None:
    h = Harness(InMemoryDestination(throttle_calls=100))
    report = h.run(entered("p1", "p2"), [person(p, email=f"{p}@example.com") for p in ("p1", "p2")])
    [destination] = report.destinations
    assert (destination.failed, destination.calls, destination.dead_lettered) == (2, 4, 2)
    assert h.time.sleeps == [0.5, 1.0, 2.0]  # no sleep after the last attempt
    [row, _] = [r for r in h.ledger.rows if r.outcome is Outcome.FAILED]
    assert row.detail == "throttled or unavailable: slow down (gave up after 4 attempts)"
    letters = h.dead_letters.letters
    assert [(letter.profile_id, letter.attempts) for letter in letters] == [("p1", 4), ("p2", 4)]
    document = letters[0].document()
    assert set(document) == {
        "run_id",
        "segment_id",
        "destination_id",
        "profile_id",
        "change",
        "reason",
        "attempts",
        "failed_at",
    }  # ids and the reason: no e-mail or phone in a dead letter
    assert "example.com" not in str(document)


def test_a_rejected_destination_fails_at_once_without_retries() -> None:
    h = Harness(InMemoryDestination(reject_all="topic does not exist"))
    report = h.run(entered("p1", "p2"), [person(p, email=f"{p}@example.com") for p in ("p1", "p2")])
    [destination] = report.destinations
    assert (destination.failed, destination.calls, destination.retries) == (2, 1, 0)
    assert h.time.sleeps == []
    assert destination.failure_reasons == {"rejected: topic does not exist": 2}
    assert len(h.dead_letters.letters) == 2


def test_only_the_entries_refused_retryably_are_sent_again() -> None:
    h = Harness(InMemoryDestination(flaky={"p2": 2}))
    people = [person(p, email=f"{p}@example.com") for p in ("p1", "p2", "p3")]
    report = h.run(entered("p1", "p2", "p3"), people)
    assert h.destination.calls == [3, 1, 1]
    assert report.destinations[0].sent == 3
    assert sorted(c.profile_id for c in h.destination.delivered) == ["p1", "p2", "p3"]


def test_a_permanently_refused_entry_does_not_hold_back_the_others() -> None:
    h = Harness(InMemoryDestination(refuse={"p2": "invalid address"}))
    people = [person(p, email=f"{p}@example.com") for p in ("p1", "p2", "p3")]
    h.run(entered("p1", "p2", "p3"), people)
    assert h.destination.calls == [3]
    assert h.outcomes() == {"p1": Outcome.SENT, "p2": Outcome.FAILED, "p3": Outcome.SENT}
    assert [letter.reason for letter in h.dead_letters.letters] == ["invalid address"]


def test_calls_are_paced_to_the_declared_rate() -> None:
    destination = InMemoryDestination(limits=DestinationLimits(max_batch_size=2, max_changes_per_second=4.0))
    h = Harness(destination)
    people = [person(f"p{i}", email=f"p{i}@example.com") for i in range(6)]
    h.run(entered(*(p.profile_id for p in people)), people)
    assert destination.calls == [2, 2, 2]
    assert h.time.sleeps == [0.5, 0.5]  # 2 changes at 4/s: each next call waits half a second


def test_an_exit_retracts_what_the_destination_holds_even_without_consent_now() -> None:
    h = Harness()
    h.run(entered("p1", "p2"), [person("p1", email="a@example.com"), person("p2", email="b@example.com")])
    later = "20260308T000000Z-cccccc"
    # p1 withdrew consent, p2 asked to be suppressed; p3 never got the entered change and has no consent
    people = [
        person("p1", email="a@example.com", consent=()),
        person("p2", email="b@example.com"),
        person("p3", email="c@example.com", consent=()),
    ]
    suppression = parse_suppression([b'{"email": "b@example.com"}'])
    report = h.run(exited("p1", "p2", "p3"), people, suppression=suppression, run_id=later)
    exits = [c.profile_id for c in h.destination.delivered if c.change is Change.EXITED]
    assert exits == ["p1", "p2"]
    [destination] = report.destinations
    assert (destination.sent, destination.retractions, destination.skipped_consent) == (2, 2, 1)


def test_changes_the_destination_does_not_act_on_are_neither_sent_nor_recorded() -> None:
    greeter = InMemoryDestination(acts_on=frozenset({Change.ENTERED}))
    h = Harness(greeter)
    people = [person("p1", phone="+66812345678"), person("p2", phone="+66812345679")]
    report = h.run([*entered("p1"), *exited("p2")], people, purpose=ConsentPurpose.SMS)
    assert [c.profile_id for c in greeter.delivered] == ["p1"]
    assert report.destinations[0].not_applicable == 1
    assert [row.profile_id for row in h.ledger.rows] == ["p1"]


def test_outcome_rows_are_written_at_checkpoints_and_at_the_end() -> None:
    h = Harness(InMemoryDestination(limits=DestinationLimits(max_batch_size=2)), checkpoint_every=4)
    people = [person(f"p{i}", email=f"p{i}@example.com") for i in range(9)]
    h.run(entered(*(p.profile_id for p in people)), people)
    assert h.ledger.writes == [4, 4, 1]


def test_the_contact_given_to_the_destination_is_the_profile_s() -> None:
    h = Harness()
    h.run(entered("p1"), [person("p1", email="a@example.com", phone="+66812345678")])
    [change] = h.destination.delivered
    assert (change.run_id, change.segment_id, change.change) == (RUN, SEGMENT, Change.ENTERED)
    assert change.contact.email == "a@example.com"
    assert change.occurred_at == AT
    assert len(change.event_id) == 32


@pytest.mark.parametrize("attempts", [0, -1])
def test_a_retry_policy_needs_an_attempt(attempts: int) -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=attempts)


def test_a_deadline_stops_new_calls_and_a_rerun_finishes_the_rest() -> None:
    destination = InMemoryDestination(limits=DestinationLimits(max_batch_size=1, max_changes_per_second=1.0))
    h = Harness(destination)
    people = [person(f"p{i}", email=f"p{i}@example.com") for i in range(5)]
    deltas = entered(*(p.profile_id for p in people))
    first = h.deliverer.deliver(
        run_id=RUN,
        segment_id=SEGMENT,
        deltas=deltas,
        people={p.profile_id: p for p in people},
        targets=[ActivationTarget("newsletter", "memory", ConsentPurpose.EMAIL, destination)],
        suppression=SuppressionList(),
        deadline=h.time.now + 2.5,  # at one change a second: three calls start before it
    )
    assert (first.complete, first.sent) == (False, 3)
    second = h.run(deltas, people)
    assert (second.complete, second.sent, second.destinations[0].already_sent) == (True, 2, 3)
    assert len(destination.delivered) == 5
