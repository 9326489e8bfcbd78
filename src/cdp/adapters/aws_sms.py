"""SMS through AWS End User Messaging (``pinpoint-sms-voice-v2`` ``SendTextMessage``), SPEC 8.

Amazon Pinpoint reaches end of support on 2026-10-30; End User Messaging SMS is its successor for sending
and is what this adapter calls. One text per change whose type has a template in the destination config
(usually ``entered`` only: nobody wants a text saying they left a segment). The template may use
``{first_name}`` (empty when unknown) and ``{segment_id}``; it is validated when the config is loaded.
The message carries ``Context`` (segment, profile, run and event ids, never the phone) into the service's
delivery events.

``SendTextMessage`` takes one number per call: batches of one, paced at the origination identity's MPS
(``max_per_second``; default 1, what a toll-free or long-code number gets). Errors: throttling and 5xx are
retried by the deliverer; a refused number (``ValidationException``, ``ConflictException`` for an
opted-out number) fails that change only; a missing origination identity, denied access or an exhausted
spend quota (``ServiceQuotaExceededException``) rejects the destination.

moto does not implement this service: the contract suite runs this adapter with botocore's ``Stubber``,
which checks every request against the service model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cdp.activation.models import Change, ContactField, DeliveryOutcome, DestinationLimits, MembershipChange
from cdp.adapters.aws_activation import (
    EntryRefusedError,
    LazyClient,
    check_batch,
    classify,
    error_code,
    one_by_one,
)

SERVICE = "pinpoint-sms-voice-v2"
DEFAULT_RATE = 1.0
#: refusals of this number only (invalid, opted out); anything else is about the destination
ENTRY_ERRORS = frozenset({"ValidationException", "ConflictException"})


class SmsDestination:
    needs_any = frozenset({ContactField.PHONE})

    def __init__(
        self,
        *,
        origination_identity: str,
        templates: Mapping[Change, str],
        message_type: str = "PROMOTIONAL",
        max_price: str | None = None,
        client: Any = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        max_changes_per_second: float | None = DEFAULT_RATE,
    ) -> None:
        self._identity = origination_identity
        self._templates = dict(templates)
        self._message_type = message_type
        self._max_price = max_price
        self._client = LazyClient(SERVICE, client=client, region=region, endpoint_url=endpoint_url)
        self.acts_on = frozenset(self._templates)
        self.limits = DestinationLimits(max_batch_size=1, max_changes_per_second=max_changes_per_second)

    def deliver(self, changes: Sequence[MembershipChange]) -> list[DeliveryOutcome]:
        check_batch(changes, self.limits.max_batch_size)
        return one_by_one(changes, self._send)

    def message(self, change: MembershipChange) -> str:
        return (
            self._templates[change.change]
            .format(first_name=change.contact.first_name or "", segment_id=change.segment_id)
            .strip()
        )

    def _send(self, change: MembershipChange) -> str:
        from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

        phone = change.contact.phone
        if not phone:
            raise EntryRefusedError("no phone number")
        if change.change not in self._templates:
            raise EntryRefusedError(f"no template for {change.change.value}")
        request: dict[str, Any] = {
            "DestinationPhoneNumber": phone,
            "OriginationIdentity": self._identity,
            "MessageBody": self.message(change),
            "MessageType": self._message_type,
            "Context": {
                "segment_id": change.segment_id,
                "profile_id": change.profile_id,
                "run_id": change.run_id,
                "event_id": change.event_id,
            },
        }
        if self._max_price is not None:
            request["MaxPrice"] = self._max_price
        try:
            response = self._client().send_text_message(**request)
        except ParamValidationError as error:  # this number or this text, as the service model sees it
            raise EntryRefusedError(f"sms request refused by the service model: {error}") from error
        except (BotoCoreError, ClientError) as error:
            code = error_code(error)
            if code in ENTRY_ERRORS:
                message = getattr(error, "response", {}).get("Error", {}).get("Message", str(error))
                raise EntryRefusedError(f"sms {code}: {message}") from error
            raise classify(error, f"sms SendTextMessage from {self._identity}") from error
        return str(response["MessageId"])
