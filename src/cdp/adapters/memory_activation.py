"""In-memory activation adapters: a destination, a delivery ledger and a dead-letter queue for tests.

:class:`InMemoryDestination` passes the destination contract like the real ones, and can be told to
misbehave the ways services do (throttle whole calls, refuse some entries for a while or for good, reject
everything), so the deliverer's retries and dead letters are tested without AWS.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from cdp.activation.models import (
    Change,
    ContactField,
    DeadLetter,
    DeliveryOutcome,
    DeliveryRecord,
    DestinationLimits,
    MembershipChange,
    Outcome,
)
from cdp.activation.ports import (
    DeliveryHistory,
    DestinationRejectedError,
    DestinationThrottledError,
)


@dataclass
class InMemoryDestination:
    limits: DestinationLimits = field(default_factory=lambda: DestinationLimits(max_batch_size=10))
    needs_any: frozenset[ContactField] = frozenset()
    acts_on: frozenset[Change] = frozenset(Change)
    #: what was delivered, in order
    delivered: list[MembershipChange] = field(default_factory=list)
    #: sizes of the calls made (also the ones that failed)
    calls: list[int] = field(default_factory=list)
    #: the next this-many calls raise DestinationThrottledError
    throttle_calls: int = 0
    #: every call raises DestinationRejectedError with this reason
    reject_all: str | None = None
    #: profile id → how many more times its entry fails retryably
    flaky: dict[str, int] = field(default_factory=dict)
    #: profile id → permanent refusal reason
    refuse: dict[str, str] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def deliver(self, changes: Sequence[MembershipChange]) -> list[DeliveryOutcome]:
        if self.limits.max_batch_size is not None and len(changes) > self.limits.max_batch_size:
            raise ValueError(f"{len(changes)} changes exceed the batch limit {self.limits.max_batch_size}")
        self.calls.append(len(changes))
        if self.reject_all is not None:
            raise DestinationRejectedError(self.reject_all)
        if self.throttle_calls > 0:
            self.throttle_calls -= 1
            raise DestinationThrottledError("slow down")
        outcomes = []
        for change in changes:
            if change.profile_id in self.refuse:
                outcomes.append(DeliveryOutcome.refused(change, self.refuse[change.profile_id]))
            elif self.flaky.get(change.profile_id, 0) > 0:
                self.flaky[change.profile_id] -= 1
                outcomes.append(DeliveryOutcome.refused(change, "entry throttled", retryable=True))
            else:
                self.delivered.append(change)
                outcomes.append(DeliveryOutcome.delivered(change, f"mem-{next(self._ids)}"))
        return outcomes


@dataclass
class InMemoryDeliveryLedger:
    rows: list[DeliveryRecord] = field(default_factory=list)
    #: sizes of the record() calls (checkpoints)
    writes: list[int] = field(default_factory=list)

    def history(self, run_id: str, segment_id: str, destination_id: str) -> DeliveryHistory:
        history = DeliveryHistory()
        latest: dict[str, Change] = {}
        sent = [
            row
            for row in self.rows
            if row.segment_id == segment_id
            and row.destination_id == destination_id
            and row.outcome is Outcome.SENT
        ]
        for row in sorted(sent, key=lambda r: r.attempted_at):
            latest[row.profile_id] = row.change
            if row.run_id == run_id:
                history.sent.add((row.profile_id, row.change))
        history.holders = {profile for profile, change in latest.items() if change is Change.ENTERED}
        return history

    def record(self, rows: Sequence[DeliveryRecord]) -> None:
        self.writes.append(len(rows))
        self.rows.extend(rows)


@dataclass
class InMemoryDeadLetters:
    letters: list[DeadLetter] = field(default_factory=list)

    def send(self, letters: Sequence[DeadLetter]) -> None:
        self.letters.extend(letters)
