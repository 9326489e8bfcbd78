"""Ports the activation domain needs; adapters live in :mod:`cdp.adapters` (one contract suite each).

Errors a destination raises for a whole call are of two kinds, and the deliverer treats them differently:

- :class:`DestinationThrottledError`: throttled, or briefly unavailable (5xx, connection reset, timeout).
  Nothing in the call was applied, or applying it again is harmless: the deliverer backs off and retries.
- :class:`DestinationRejectedError`: the call can never succeed as it is (access denied, topic or queue or
  contact list missing, invalid configuration). Every change of the call is recorded ``failed`` at once
  and dead-lettered; retrying would only burn the quota.

A failure of one entry in a batch API is not an exception: it is that entry's
:class:`~cdp.activation.models.DeliveryOutcome`, ``retryable`` or not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from cdp.activation.models import (
    Change,
    ContactField,
    DeadLetter,
    DeliveryOutcome,
    DeliveryRecord,
    DestinationLimits,
    MembershipChange,
)


class DeliveryError(RuntimeError):
    """A destination call failed as a whole."""


class DestinationThrottledError(DeliveryError):
    """Throttled or briefly unavailable: retry the same call later (with backoff)."""


class DestinationRejectedError(DeliveryError):
    """Permanent: the call cannot succeed until someone changes the destination or its configuration."""


class Destination(Protocol):
    """Where a segment's membership changes go (SES contact list, SMS, SNS, SQS, EventBridge, S3, local).

    ``deliver`` returns exactly one outcome per change given, in any order; it never gets more than
    ``limits.max_batch_size`` changes, nor a change whose contact lacks every field of ``needs_any``, nor a
    change type outside ``acts_on`` (the deliverer filters those first).
    """

    @property
    def limits(self) -> DestinationLimits: ...

    @property
    def needs_any(self) -> frozenset[ContactField]:
        """The change is deliverable only if the contact has at least one of these (empty: none needed)."""
        ...

    @property
    def acts_on(self) -> frozenset[Change]:
        """The change types this destination does something with (an SMS destination may only greet)."""
        ...

    def deliver(self, changes: Sequence[MembershipChange]) -> list[DeliveryOutcome]: ...


@dataclass(slots=True)
class DeliveryHistory:
    """What a destination already got for one segment, from the earlier ``deliveries`` rows.

    ``sent``: ``(profile_id, change)`` of the run's changes recorded ``sent`` (never sent again);
    ``holders``: profiles whose latest ``sent`` change, in any run, is ``entered``: the destination holds
    them, so their exit is a retraction and goes through whatever their consent is now.
    """

    sent: set[tuple[str, Change]] = field(default_factory=set)
    holders: set[str] = field(default_factory=set)


class DeliveryLedger(Protocol):
    """The ``deliveries`` table: append-only outcome rows, and the idempotency state read back from them."""

    def history(self, run_id: str, segment_id: str, destination_id: str) -> DeliveryHistory: ...

    def record(self, rows: Sequence[DeliveryRecord]) -> None:
        """Store ``rows`` durably, all or nothing (one call = one file or object)."""
        ...


class DeadLetterQueue(Protocol):
    """Where changes go that failed after every attempt (SQS on AWS, JSON lines in the lake locally)."""

    def send(self, letters: Sequence[DeadLetter]) -> None: ...
