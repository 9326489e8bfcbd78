"""What activation moves: membership changes with contact fields in, outcomes per profile out.

A :class:`MembershipChange` is one row of a run's ``segment_memberships`` deltas (SPEC 4) joined to the
person's current contact fields from ``profiles``. Destinations receive only what they need of it
(:class:`ContactField`), and event-style destinations (SNS, SQS, EventBridge, the local recorder) send the
same JSON document, :func:`segment_event`, so a consumer reads one shape whichever transport it is on.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final


class Change(StrEnum):
    ENTERED = "entered"
    EXITED = "exited"

    @property
    def event_type(self) -> str:
        """``segment.entered`` / ``segment.exited``: the EventBridge detail-type and the events' ``type``."""
        return f"segment.{self.value}"


class ContactField(StrEnum):
    """Contact fields a destination may be given (data minimization: only those it declares)."""

    EMAIL = "email"
    PHONE = "phone"
    FIRST_NAME = "first_name"
    USER_ID = "user_id"


@dataclass(frozen=True, slots=True)
class Contact:
    """The person's primary identifiers from ``profiles``: normalized e-mail, E.164 phone."""

    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    user_id: str | None = None

    def get(self, name: ContactField) -> str | None:
        value: str | None = getattr(self, name.value)
        return value

    def only(self, fields: Collection[ContactField]) -> dict[str, str]:
        """The present fields among ``fields``, by name: what a destination that declared them receives."""
        if not fields:
            return {}
        return {f.value: value for f in ContactField if f in fields and (value := self.get(f)) is not None}


@dataclass(frozen=True, slots=True)
class ProfileContact:
    """What the deliverer knows of a person: contact fields, every e-mail and phone (suppression is checked
    against all of them, not just the primary ones) and consent per purpose (``True`` only when granted)."""

    profile_id: str
    contact: Contact
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    consent: dict[str, bool] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MembershipDelta:
    """One row of a run's ``segment_memberships`` deltas: ``exited_at`` null → entered in the run."""

    profile_id: str
    change: Change
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class MembershipChange:
    """A delta ready for a destination: who, what changed, when, in which run, and how to reach them."""

    run_id: str
    segment_id: str
    profile_id: str
    change: Change
    occurred_at: datetime
    contact: Contact = Contact()

    @property
    def key(self) -> tuple[str, Change]:
        return (self.profile_id, self.change)

    @property
    def event_id(self) -> str:
        """Stable across retries and re-runs: consumers deduplicate on it (SQS/SNS FIFO use it too)."""
        return event_id(self.run_id, self.segment_id, self.profile_id, self.change)


def event_id(run_id: str, segment_id: str, profile_id: str, change: Change) -> str:
    text = "\x1f".join((run_id, segment_id, profile_id, change.value))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


#: the version of :func:`segment_event`'s document; consumers may branch on it
EVENT_SCHEMA_VERSION: Final = 1


def segment_event(change: MembershipChange, fields: Collection[ContactField] = ()) -> dict[str, Any]:
    """The JSON document SNS, SQS and the local recorder send, and EventBridge's ``detail``.

    Only the contact fields in ``fields`` are included (each destination declares them in its config).
    """
    document: dict[str, Any] = {
        "type": change.change.event_type,
        "schema_version": EVENT_SCHEMA_VERSION,
        "event_id": change.event_id,
        "segment_id": change.segment_id,
        "profile_id": change.profile_id,
        "change": change.change.value,
        "occurred_at": iso_utc(change.occurred_at),
        "run_id": change.run_id,
    }
    contact = change.contact.only(fields)
    if contact:
        document["contact"] = contact
    return document


def iso_utc(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class DestinationLimits:
    """What the deliverer must respect when calling a destination.

    ``max_batch_size``: changes per :meth:`~cdp.activation.ports.Destination.deliver` call (``None``: the
    whole run in one call, e.g. one audience file); ``max_changes_per_second``: the pace (``None``: as fast
    as the service answers).
    """

    max_batch_size: int | None
    max_changes_per_second: float | None = None

    def __post_init__(self) -> None:
        if self.max_batch_size is not None and self.max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1")
        if self.max_changes_per_second is not None and self.max_changes_per_second <= 0:
            raise ValueError("max_changes_per_second must be positive")


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """One change's result: sent (``detail`` = the service's message id) or failed (``detail`` = why).

    A failure is ``retryable`` when the service was throttling or briefly unavailable for that entry; the
    deliverer tries it again with backoff, and records it ``failed`` only when the attempts run out.
    """

    profile_id: str
    change: Change
    sent: bool
    detail: str
    retryable: bool = False

    @classmethod
    def delivered(cls, change: MembershipChange, message_id: str) -> DeliveryOutcome:
        return cls(change.profile_id, change.change, True, message_id)

    @classmethod
    def refused(cls, change: MembershipChange, reason: str, *, retryable: bool = False) -> DeliveryOutcome:
        return cls(change.profile_id, change.change, False, reason, retryable)


class Outcome(StrEnum):
    """``deliveries.outcome`` (:data:`cdp.tables.DELIVERIES`)."""

    SENT = "sent"
    SKIPPED_CONSENT = "skipped_consent"
    SUPPRESSED = "suppressed"
    #: the destination needs an e-mail or phone the profile does not have, or the profile is gone (erased)
    SKIPPED_NO_CONTACT = "skipped_no_contact"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class DeliveryRecord:
    """One row of ``deliveries``."""

    run_id: str
    segment_id: str
    destination_id: str
    profile_id: str
    change: Change
    outcome: Outcome
    detail: str | None
    attempted_at: datetime


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A change that failed after every attempt. Ids only, no e-mail or phone: a redrive re-reads the
    contact fields (and consent) from ``profiles``, so a dead letter never outlives an erasure's reach."""

    run_id: str
    segment_id: str
    destination_id: str
    profile_id: str
    change: Change
    reason: str
    attempts: int
    failed_at: datetime

    def document(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "segment_id": self.segment_id,
            "destination_id": self.destination_id,
            "profile_id": self.profile_id,
            "change": self.change.value,
            "reason": self.reason,
            "attempts": self.attempts,
            "failed_at": iso_utc(self.failed_at),
        }
