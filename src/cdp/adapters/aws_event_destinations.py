"""Event destinations (SPEC 8): SNS topic, SQS queue, EventBridge bus; the same event, three transports.

Each change becomes :func:`cdp.activation.models.segment_event` (``type`` ``segment.entered`` /
``segment.exited``, ``event_id``, ``segment_id``, ``profile_id``, ``change``, ``occurred_at``, ``run_id`` and
the ``contact`` fields the destination config includes):

- **SNS** ``PublishBatch`` (≤ 10 entries): the event as the message, with message attributes
  ``event_type`` and ``segment_id`` for subscription filter policies. A FIFO topic (``.fifo``) gets
  ``MessageGroupId`` = profile id (one person's changes stay in order) and ``MessageDeduplicationId`` =
  event id, so a retried publish within SNS's five minutes is delivered once.
- **SQS** ``SendMessageBatch`` (≤ 10 entries): the same body and attributes, the same FIFO fields.
- **EventBridge** ``PutEvents`` (≤ 10 entries): ``Source`` from the config (default ``cdp.segments``),
  ``DetailType`` ``segment.entered`` / ``segment.exited``, ``Detail`` = the event, ``Time`` = when the change
  happened. Rules match on ``source`` and ``detail-type`` (and ``detail.segment_id``); a rule with an SQS
  target is the "SQS variant" without this adapter.

Entries a batch API refuses are outcomes, not exceptions: retryable when the service says so (throttled,
internal error, ``SenderFault`` false), permanent otherwise. A whole call that fails (topic, queue or bus
missing, access denied, throttled) raises the port's error.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

import orjson

from cdp.activation.models import (
    Change,
    ContactField,
    DeliveryOutcome,
    DestinationLimits,
    MembershipChange,
    segment_event,
)
from cdp.adapters.aws_activation import LazyClient, check_batch, is_retryable_code, translated

#: PublishBatch, SendMessageBatch and PutEvents take at most ten entries
MAX_ENTRIES: Final = 10


def _attributes(change: MembershipChange) -> dict[str, Any]:
    return {
        "event_type": {"DataType": "String", "StringValue": change.change.event_type},
        "segment_id": {"DataType": "String", "StringValue": change.segment_id},
    }


def _batch_outcomes(
    changes: Sequence[MembershipChange],
    successful: Iterable[dict[str, Any]],
    failed: Iterable[dict[str, Any]],
) -> list[DeliveryOutcome]:
    """Outcomes from a ``Successful``/``Failed`` answer (SNS, SQS), entries identified by their index."""
    sent = {entry["Id"]: str(entry.get("MessageId", "")) for entry in successful}
    refused = {entry["Id"]: entry for entry in failed}
    outcomes = []
    for index, change in enumerate(changes):
        key = str(index)
        if key in sent:
            outcomes.append(DeliveryOutcome.delivered(change, sent[key]))
            continue
        entry = refused.get(
            key, {"Code": "Missing", "Message": "no result for this entry", "SenderFault": False}
        )
        code = str(entry.get("Code", ""))
        retryable = is_retryable_code(code) or not entry.get("SenderFault", False)
        outcomes.append(
            DeliveryOutcome.refused(
                change, f"{code}: {entry.get('Message', '')}".strip(), retryable=retryable
            )
        )
    return outcomes


class _EventDestination:
    needs_any: frozenset[ContactField] = frozenset()
    acts_on: frozenset[Change] = frozenset(Change)

    def __init__(self, include: Iterable[ContactField], max_changes_per_second: float | None) -> None:
        self._include = frozenset(include)
        self.limits = DestinationLimits(
            max_batch_size=MAX_ENTRIES, max_changes_per_second=max_changes_per_second
        )

    def body(self, change: MembershipChange) -> str:
        return orjson.dumps(segment_event(change, self._include)).decode()

    def batch_entries(
        self, changes: Sequence[MembershipChange], *, body_key: str, fifo: bool
    ) -> list[dict[str, Any]]:
        """SNS PublishBatch and SQS SendMessageBatch entries (they differ in the body's key only): ids are
        the change's index, FIFO groups by profile and deduplicates on the change's event id."""
        entries = []
        for index, change in enumerate(changes):
            entry: dict[str, Any] = {
                "Id": str(index),
                body_key: self.body(change),
                "MessageAttributes": _attributes(change),
            }
            if fifo:
                entry["MessageGroupId"] = change.profile_id
                entry["MessageDeduplicationId"] = change.event_id
            entries.append(entry)
        return entries


class SnsTopicDestination(_EventDestination):
    def __init__(
        self,
        *,
        topic_arn: str,
        include: Iterable[ContactField] = (),
        client: Any = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        max_changes_per_second: float | None = None,
    ) -> None:
        super().__init__(include, max_changes_per_second)
        self._topic_arn = topic_arn
        self._fifo = topic_arn.endswith(".fifo")
        self._client = LazyClient("sns", client=client, region=region, endpoint_url=endpoint_url)

    def deliver(self, changes: Sequence[MembershipChange]) -> list[DeliveryOutcome]:
        check_batch(changes, self.limits.max_batch_size)
        if not changes:
            return []
        entries = self.batch_entries(changes, body_key="Message", fifo=self._fifo)
        with translated(f"sns PublishBatch {self._topic_arn}"):
            response = self._client().publish_batch(
                TopicArn=self._topic_arn, PublishBatchRequestEntries=entries
            )
        return _batch_outcomes(changes, response.get("Successful", []), response.get("Failed", []))


class SqsQueueDestination(_EventDestination):
    def __init__(
        self,
        *,
        queue_url: str,
        include: Iterable[ContactField] = (),
        client: Any = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        max_changes_per_second: float | None = None,
    ) -> None:
        super().__init__(include, max_changes_per_second)
        self._queue_url = queue_url
        self._fifo = queue_url.endswith(".fifo")
        self._client = LazyClient("sqs", client=client, region=region, endpoint_url=endpoint_url)

    def deliver(self, changes: Sequence[MembershipChange]) -> list[DeliveryOutcome]:
        check_batch(changes, self.limits.max_batch_size)
        if not changes:
            return []
        entries = self.batch_entries(changes, body_key="MessageBody", fifo=self._fifo)
        with translated(f"sqs SendMessageBatch {self._queue_url}"):
            response = self._client().send_message_batch(QueueUrl=self._queue_url, Entries=entries)
        return _batch_outcomes(changes, response.get("Successful", []), response.get("Failed", []))


#: EventBridge entry error codes worth another try
_EVENTBRIDGE_RETRYABLE: Final = frozenset({"ThrottlingException", "InternalFailure", "InternalException"})


class EventBridgeDestination(_EventDestination):
    def __init__(
        self,
        *,
        event_bus: str,
        source: str = "cdp.segments",
        include: Iterable[ContactField] = (),
        client: Any = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        max_changes_per_second: float | None = None,
    ) -> None:
        super().__init__(include, max_changes_per_second)
        self._bus = event_bus
        self._source = source
        self._client = LazyClient("events", client=client, region=region, endpoint_url=endpoint_url)

    def deliver(self, changes: Sequence[MembershipChange]) -> list[DeliveryOutcome]:
        check_batch(changes, self.limits.max_batch_size)
        if not changes:
            return []
        entries = [
            {
                "Source": self._source,
                "DetailType": change.change.event_type,
                "Detail": self.body(change),
                "EventBusName": self._bus,
                "Time": change.occurred_at,
            }
            for change in changes
        ]
        with translated(f"events PutEvents {self._bus}"):
            response = self._client().put_events(Entries=entries)
        results = response.get("Entries", [])
        outcomes = []
        for index, change in enumerate(changes):
            result = results[index] if index < len(results) else {"ErrorCode": "Missing"}
            if result.get("EventId"):
                outcomes.append(DeliveryOutcome.delivered(change, str(result["EventId"])))
                continue
            code = str(result.get("ErrorCode", ""))
            outcomes.append(
                DeliveryOutcome.refused(
                    change,
                    f"{code}: {result.get('ErrorMessage', '')}".strip(),
                    retryable=code in _EVENTBRIDGE_RETRYABLE or code == "Missing",
                )
            )
        return outcomes
