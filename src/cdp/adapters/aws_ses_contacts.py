"""SES v2 contact list + topic (SPEC 8, e-mail): a segment is a topic of the account's contact list.

- **entered** → ``CreateContact`` with the topic ``OPT_IN``; if the address is already a contact
  (``AlreadyExistsException``), ``GetContact`` then ``UpdateContact`` with this topic set to ``OPT_IN`` and
  every other topic preference, ``UnsubscribeAll`` and ``AttributesData`` passed back as they were
  (``UpdateContact`` replaces the preference list, so sending only ours would erase the others).
- **exited** → the topic ``OPT_OUT`` the same way (``GetContact`` + ``UpdateContact``); a contact that does
  not exist has nothing to leave, which counts as delivered.

Why OPT_OUT and not ``DeleteContact`` on exit: an account has one contact list, shared by every segment's
topic, and the contact also carries the person's own choices made on SES's subscription page
(``UnsubscribeAll``, other topics' opt-outs). Deleting it would forget those and unsubscribe the person from
every other segment's topic. ``DeleteContact`` belongs to erasure (SPEC 9), which removes the person
everywhere.

SES answers no message id for these calls; the outcome's id is the request id of the call that applied
the change. SES throttles its non-sending API actions at about one request per second per account, so the
adapter declares batches of one and a pace of one change per second by default (``max_per_second``
overrides it); a contact that already exists costs three calls. The contact list and its topic are checked
once per adapter (``GetContactList``): a missing list or topic rejects the destination instead of failing
each contact.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cdp.activation.models import Change, ContactField, DeliveryOutcome, DestinationLimits, MembershipChange
from cdp.activation.ports import DestinationRejectedError
from cdp.adapters.aws_activation import (
    EntryRefusedError,
    LazyClient,
    check_batch,
    classify,
    error_code,
    one_by_one,
    translated,
)

#: SES v2's rate for API actions other than sending: one request per second per account
DEFAULT_RATE = 1.0
OPT_IN = "OPT_IN"
OPT_OUT = "OPT_OUT"


class SesContactListDestination:
    needs_any = frozenset({ContactField.EMAIL})
    acts_on = frozenset(Change)

    def __init__(
        self,
        *,
        contact_list: str,
        topic: str,
        client: Any = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        max_changes_per_second: float | None = DEFAULT_RATE,
    ) -> None:
        self._list = contact_list
        self._topic = topic
        self._client = LazyClient("sesv2", client=client, region=region, endpoint_url=endpoint_url)
        self.limits = DestinationLimits(max_batch_size=1, max_changes_per_second=max_changes_per_second)
        self._checked = False

    def deliver(self, changes: Sequence[MembershipChange]) -> list[DeliveryOutcome]:
        check_batch(changes, self.limits.max_batch_size)
        if not changes:
            return []
        try:
            self._check_list()
        except DestinationRejectedError as error:
            return [DeliveryOutcome.refused(change, f"rejected: {error}") for change in changes]
        return one_by_one(changes, self._apply)

    def _check_list(self) -> None:
        if self._checked:
            return
        with translated(f"ses GetContactList {self._list}"):
            found = self._client().get_contact_list(ContactListName=self._list)
        topics = {topic.get("TopicName") for topic in found.get("Topics", [])}
        if self._topic not in topics:
            raise DestinationRejectedError(
                f"topic {self._topic!r} is not declared on contact list {self._list!r} "
                f"(it has {', '.join(sorted(t for t in topics if t)) or 'no topics'})"
            )
        self._checked = True

    def _apply(self, change: MembershipChange) -> str:
        email = change.contact.email
        if not email:
            raise EntryRefusedError("no email address")
        if change.change is Change.ENTERED:
            return self._subscribe(email)
        return self._set_topic(email, OPT_OUT, missing_ok=True)

    def _subscribe(self, email: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        preference = [{"TopicName": self._topic, "SubscriptionStatus": OPT_IN}]
        try:
            response = self._client().create_contact(
                ContactListName=self._list, EmailAddress=email, TopicPreferences=preference
            )
        except ClientError as error:
            if error_code(error) == "AlreadyExistsException":
                return self._set_topic(email, OPT_IN, missing_ok=False)
            raise self._failure(error, "CreateContact") from error
        except BotoCoreError as error:
            raise self._failure(error, "CreateContact") from error
        return _receipt(response, OPT_IN, self._topic, "created")

    def _set_topic(self, email: str, status: str, *, missing_ok: bool) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            contact = self._client().get_contact(ContactListName=self._list, EmailAddress=email)
        except ClientError as error:
            if error_code(error) == "NotFoundException" and missing_ok:
                return f"{OPT_OUT} {self._topic}: not a contact"
            raise self._failure(error, "GetContact") from error
        except BotoCoreError as error:
            raise self._failure(error, "GetContact") from error
        preferences = [
            {"TopicName": p["TopicName"], "SubscriptionStatus": p["SubscriptionStatus"]}
            for p in contact.get("TopicPreferences", [])
            if p.get("TopicName") != self._topic
        ]
        preferences.append({"TopicName": self._topic, "SubscriptionStatus": status})
        update: dict[str, Any] = {
            "ContactListName": self._list,
            "EmailAddress": email,
            "TopicPreferences": preferences,
        }
        if "UnsubscribeAll" in contact:
            update["UnsubscribeAll"] = bool(contact["UnsubscribeAll"])
        if contact.get("AttributesData"):
            update["AttributesData"] = contact["AttributesData"]
        try:
            response = self._client().update_contact(**update)
        except (BotoCoreError, ClientError) as error:
            raise self._failure(error, "UpdateContact") from error
        return _receipt(response, status, self._topic, "updated")

    def _failure(self, error: Exception, operation: str) -> Exception:
        if error_code(error) == "BadRequestException":
            return EntryRefusedError(f"ses {operation}: {_message(error)}")
        return classify(error, f"ses {operation} on {self._list}")


def _receipt(response: dict[str, Any], status: str, topic: str, how: str) -> str:
    request = response.get("ResponseMetadata", {}).get("RequestId", "")
    return f"{status} {topic} ({how}, request {request})"


def _message(error: Exception) -> str:
    response = getattr(error, "response", {}) or {}
    return str(response.get("Error", {}).get("Message", error))


class SesContactEraser:
    """Erasure's side of a contact list (SPEC 9): ``DeleteContact`` for each of the person's addresses.

    A missing contact is not an error (the person may never have entered a segment exported there, or a
    previous attempt deleted it); any other failure raises, so the erasure stops before its proof and the
    request is re-run.
    """

    def __init__(
        self,
        *,
        contact_list: str,
        client: Any = None,
        region: str | None = None,
        endpoint_url: str | None = None,
    ) -> None:
        self._list = contact_list
        self._client = LazyClient("sesv2", client=client, region=region, endpoint_url=endpoint_url)

    @property
    def name(self) -> str:
        return f"ses:{self._list}"

    def erase_contacts(self, emails: Sequence[str], phones: Sequence[str]) -> int:
        from botocore.exceptions import ClientError

        deleted = 0
        for email in emails:
            if "@" not in email:
                continue
            try:
                self._client().delete_contact(ContactListName=self._list, EmailAddress=email)
                deleted += 1
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "NotFoundException":
                    raise
        return deleted
