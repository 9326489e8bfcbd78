"""The deliverer: one run's membership deltas of one segment → its destinations (SPEC 8). Pure Python over
the ports; every clock, sleep and random draw is injected, so tests run it without waiting.

For each destination, each delta goes through these gates in order, and the first that holds it back
decides its ``deliveries.outcome``:

1. **already sent**: the ledger has it ``sent`` for this run (a re-run sends nothing twice); no new row;
2. **not applicable**: the destination does nothing with this change type (an SMS destination with only an
   ``entered`` template); no row;
3. **no profile**: the profile is not in ``profiles`` any more (erased, merged away) → ``skipped_no_contact``;
4. **suppressed**: any of the person's e-mails or phones is on the suppression list → ``suppressed``;
5. **consent**: the destination's purpose is not granted → ``skipped_consent``;
6. **contact**: the destination needs an e-mail or phone the person has none of → ``skipped_no_contact``.

Gates 4 and 5 are waived for one case: an ``exited`` change of a person the destination holds (its latest
``sent`` change for the segment was ``entered``). That exit *removes* them (topic OPT_OUT, an audience
removal row, an exit event): holding it back because they withdrew consent or asked to be suppressed
would keep them subscribed.

What passes is sent in batches of the destination's ``max_batch_size``, paced to its
``max_changes_per_second``. A whole call throttled (or briefly unavailable), and entries a batch API
reports as retryable, are tried again after an exponential backoff with full jitter, up to
``max_attempts`` in all; what still fails (and what was refused for good) is recorded ``failed`` and sent
to the dead-letter queue. Outcome rows are written to the ledger at checkpoints (every
``checkpoint_every`` rows or ``checkpoint_seconds``) and at the end: a crash between a send and its
checkpoint means those changes are sent again on the re-run (at least once, never silently lost).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from cdp.activation.consent import ConsentPurpose
from cdp.activation.models import (
    Change,
    DeadLetter,
    DeliveryOutcome,
    DeliveryRecord,
    MembershipChange,
    MembershipDelta,
    Outcome,
    ProfileContact,
)
from cdp.activation.ports import (
    DeadLetterQueue,
    DeliveryError,
    DeliveryLedger,
    Destination,
    DestinationRejectedError,
    DestinationThrottledError,
)
from cdp.activation.suppression import SuppressionList


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """``max_attempts`` calls per change at most; retry ``n`` waits a uniform draw in
    ``[0, min(max_delay, base_delay * 2**(n-1))]`` seconds (full jitter: retries of many changes spread out
    instead of hitting the service together again)."""

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 20.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def delay(self, retry: int, draw: Callable[[], float]) -> float:
        return draw() * min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))


@dataclass(frozen=True, slots=True)
class ActivationTarget:
    """A configured destination: its id and type from the config, the purpose it needs, the adapter."""

    destination_id: str
    kind: str
    purpose: ConsentPurpose
    destination: Destination


@dataclass(slots=True)
class DestinationReport:
    destination_id: str
    kind: str
    purpose: str
    changes: int = 0
    sent: int = 0
    skipped_consent: int = 0
    suppressed: int = 0
    skipped_no_contact: int = 0
    failed: int = 0
    already_sent: int = 0
    not_applicable: int = 0
    #: exits delivered to a holder whatever their consent or suppression is now
    retractions: int = 0
    calls: int = 0
    retries: int = 0
    dead_lettered: int = 0
    seconds: float = 0.0
    #: False when the deadline stopped the delivery: the rest waits for the next invocation
    complete: bool = True
    #: why changes failed, with counts (the detail of the ``failed`` rows, without message ids)
    failure_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def held_back(self) -> int:
        return self.skipped_consent + self.suppressed + self.skipped_no_contact

    def count(self, outcome: Outcome) -> None:
        name = outcome.value
        setattr(self, name, getattr(self, name) + 1)


@dataclass(slots=True)
class ExportReport:
    run_id: str
    segment_id: str
    changes: int = 0
    destinations: list[DestinationReport] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> int:
        return sum(report.failed for report in self.destinations)

    @property
    def complete(self) -> bool:
        return all(report.complete for report in self.destinations)

    def document(self) -> dict[str, Any]:
        """The report as JSON-ready data (``cdp export --format json``, the export function's answer)."""
        document = asdict(self)
        document.update(sent=self.sent, failed=self.failed, complete=self.complete)
        return document

    @property
    def sent(self) -> int:
        return sum(report.sent for report in self.destinations)


@dataclass(slots=True)
class _Pacer:
    """Keeps a destination at ``rate`` changes per second: waits before a call whose changes would run
    ahead of the pace. ``None``: no pacing."""

    rate: float | None
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    _next: float | None = None

    def next_start(self) -> float:
        """When the next call may start."""
        now = self.clock()
        return max(now, self._next) if self._next is not None else now

    def wait(self, changes: int) -> None:
        if self.rate is None:
            return
        now = self.clock()
        if self._next is not None and self._next > now:
            self.sleep(self._next - now)
            now = self._next
        self._next = max(now, self._next or now) + changes / self.rate


class Deliverer:
    def __init__(
        self,
        *,
        ledger: DeliveryLedger,
        dead_letters: DeadLetterQueue,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        jitter: Callable[[], float] = random.random,  # spreads retries; no secret
        checkpoint_every: int = 1000,
        checkpoint_seconds: float = 60.0,
    ) -> None:
        self._ledger = ledger
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self._checkpoints = _Checkpoints(
            ledger=ledger,
            dead_letters=dead_letters,
            clock=clock,
            now=now,
            every=checkpoint_every,
            seconds=checkpoint_seconds,
        )

    def deliver(
        self,
        *,
        run_id: str,
        segment_id: str,
        deltas: Sequence[MembershipDelta],
        people: Mapping[str, ProfileContact],
        targets: Sequence[ActivationTarget],
        suppression: SuppressionList,
        deadline: float | None = None,
    ) -> ExportReport:
        """``deadline``: a ``clock()`` value after which no new call starts (a Lambda's time running out);
        the report then says ``complete=False`` and a re-run picks up where this one stopped."""
        started = self._clock()
        report = ExportReport(run_id=run_id, segment_id=segment_id, changes=len(deltas))
        for target in targets:
            report.destinations.append(
                self._deliver_to(target, run_id, segment_id, deltas, people, suppression, deadline)
            )
        report.seconds = self._clock() - started
        return report

    # -- one destination ----------------------------------------------------------------------------

    def _deliver_to(
        self,
        target: ActivationTarget,
        run_id: str,
        segment_id: str,
        deltas: Sequence[MembershipDelta],
        people: Mapping[str, ProfileContact],
        suppression: SuppressionList,
        deadline: float | None,
    ) -> DestinationReport:
        started = self._clock()
        destination = target.destination
        report = DestinationReport(target.destination_id, target.kind, target.purpose.value)
        history = self._ledger.history(run_id, segment_id, target.destination_id)
        journal = _Journal(self._checkpoints, report, run_id, segment_id, target.destination_id)
        pending: list[MembershipChange] = []
        for delta in deltas:
            report.changes += 1
            if (delta.profile_id, delta.change) in history.sent:
                report.already_sent += 1
                continue
            if delta.change not in destination.acts_on:
                report.not_applicable += 1
                continue
            person = people.get(delta.profile_id)
            if person is None:
                journal.hold(delta, Outcome.SKIPPED_NO_CONTACT, "profile not in profiles (erased or merged)")
                continue
            retraction = delta.change is Change.EXITED and delta.profile_id in history.holders
            if retraction:
                report.retractions += 1
            elif suppression.suppresses(person):
                journal.hold(delta, Outcome.SUPPRESSED, "on the suppression list")
                continue
            elif not person.consent.get(target.purpose.value, False):
                journal.hold(delta, Outcome.SKIPPED_CONSENT, f"no {target.purpose.value} consent")
                continue
            needs = destination.needs_any
            if needs and not any(person.contact.get(name) for name in needs):
                wanted = " or ".join(sorted(name.value for name in needs))
                journal.hold(delta, Outcome.SKIPPED_NO_CONTACT, f"no {wanted}")
                continue
            pending.append(
                MembershipChange(
                    run_id=run_id,
                    segment_id=segment_id,
                    profile_id=delta.profile_id,
                    change=delta.change,
                    occurred_at=delta.occurred_at,
                    contact=person.contact,
                )
            )
        pacer = _Pacer(destination.limits.max_changes_per_second, self._clock, self._sleep)
        for batch in _batches(pending, destination.limits.max_batch_size):
            if deadline is not None and pacer.next_start() >= deadline:
                report.complete = False
                break
            for change, outcome, attempts in self._send(destination, batch, pacer, report):
                journal.result(change, outcome, attempts)
            journal.checkpoint_if_due()
        journal.checkpoint()
        report.seconds = self._clock() - started
        return report

    def _send(
        self,
        destination: Destination,
        batch: list[MembershipChange],
        pacer: _Pacer,
        report: DestinationReport,
    ) -> Iterator[tuple[MembershipChange, DeliveryOutcome, int]]:
        """Each change of ``batch`` with its final outcome and the attempts it took."""
        remaining = batch
        attempt = 0
        while remaining:
            attempt += 1
            pacer.wait(len(remaining))
            report.calls += 1
            outcomes = _call(destination, remaining)
            retry: list[MembershipChange] = []
            for change in remaining:
                outcome = outcomes.get(change.key) or DeliveryOutcome.refused(
                    change, "the destination returned no outcome for this change"
                )
                if outcome.sent or not outcome.retryable or attempt >= self._retry.max_attempts:
                    yield change, outcome, attempt
                else:
                    retry.append(change)
            if retry:
                report.retries += 1
                self._sleep(self._retry.delay(attempt, self._jitter))
            remaining = retry


def _call(
    destination: Destination, changes: list[MembershipChange]
) -> dict[tuple[str, Change], DeliveryOutcome]:
    try:
        outcomes = destination.deliver(changes)
    except DestinationThrottledError as error:
        outcomes = [
            DeliveryOutcome.refused(c, f"throttled or unavailable: {error}", retryable=True) for c in changes
        ]
    except DestinationRejectedError as error:
        outcomes = [DeliveryOutcome.refused(c, f"rejected: {error}") for c in changes]
    except DeliveryError as error:  # an adapter's own subclass: unknown, so treated as transient
        outcomes = [DeliveryOutcome.refused(c, str(error), retryable=True) for c in changes]
    return {(outcome.profile_id, outcome.change): outcome for outcome in outcomes}


@dataclass(frozen=True, kw_only=True)
class _Checkpoints:
    """Where and how often a journal writes: the ports, the clocks, every ``every`` rows or ``seconds``."""

    ledger: DeliveryLedger
    dead_letters: DeadLetterQueue
    clock: Callable[[], float]
    now: Callable[[], datetime]
    every: int
    seconds: float


class _Journal:
    """Collects outcome rows and dead letters; writes them at checkpoints (ledger first, then the DLQ, so
    a dead letter always has its ``failed`` row)."""

    def __init__(
        self,
        checkpoints: _Checkpoints,
        report: DestinationReport,
        run_id: str,
        segment_id: str,
        destination_id: str,
    ) -> None:
        self._at = checkpoints
        self._report = report
        self._run_id, self._segment_id, self._destination_id = run_id, segment_id, destination_id
        self._rows: list[DeliveryRecord] = []
        self._letters: list[DeadLetter] = []
        self._reasons: Counter[str] = Counter()
        self._last_checkpoint = checkpoints.clock()

    def hold(self, delta: MembershipDelta, outcome: Outcome, reason: str) -> None:
        self._add(delta.profile_id, delta.change, outcome, reason)

    def result(self, change: MembershipChange, outcome: DeliveryOutcome, attempts: int) -> None:
        if outcome.sent:
            self._add(change.profile_id, change.change, Outcome.SENT, outcome.detail)
            return
        reason = outcome.detail
        if outcome.retryable:
            reason = f"{reason} (gave up after {attempts} attempts)"
        self._add(change.profile_id, change.change, Outcome.FAILED, reason)
        self._reasons[outcome.detail] += 1
        self._letters.append(
            DeadLetter(
                run_id=self._run_id,
                segment_id=self._segment_id,
                destination_id=self._destination_id,
                profile_id=change.profile_id,
                change=change.change,
                reason=reason,
                attempts=attempts,
                failed_at=self._at.now(),
            )
        )

    def _add(self, profile_id: str, change: Change, outcome: Outcome, detail: str) -> None:
        self._report.count(outcome)
        self._rows.append(
            DeliveryRecord(
                run_id=self._run_id,
                segment_id=self._segment_id,
                destination_id=self._destination_id,
                profile_id=profile_id,
                change=change,
                outcome=outcome,
                detail=detail,
                attempted_at=self._at.now(),
            )
        )

    def checkpoint_if_due(self) -> None:
        elapsed = self._at.clock() - self._last_checkpoint
        if len(self._rows) >= self._at.every or (self._rows and elapsed >= self._at.seconds):
            self.checkpoint()

    def checkpoint(self) -> None:
        if self._rows:
            self._at.ledger.record(self._rows)
            self._rows = []
        if self._letters:
            self._at.dead_letters.send(self._letters)
            self._report.dead_lettered += len(self._letters)
            self._letters = []
        self._report.failure_reasons = dict(self._reasons.most_common(10))
        self._last_checkpoint = self._at.clock()


def _batches(changes: list[MembershipChange], size: int | None) -> Iterator[list[MembershipChange]]:
    if not changes:
        return
    step = size or len(changes)
    for start in range(0, len(changes), step):
        yield changes[start : start + step]
