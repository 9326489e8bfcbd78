"""The Destination contract (STYLE 2): memory, local, and each AWS adapter behave the same.

AWS adapters run against moto in-process and are checked by reading back what the service holds: the SES
contact and its topic preference, the SNS messages (through an SQS subscription), the SQS messages, the
EventBridge events (through a rule with an SQS target), the S3 object's rows. moto does not implement
End User Messaging SMS, so the SMS adapter runs on a client with botocore's ``Stubber``, which checks every
request against the service model; what it sent is read from the validated requests.

Each factory gives three variants of its destination: working, broken (its topic, queue, bus, list,
bucket or number does not exist) and throttled (the service answers with its throttling error, through a
Stubber on a real client of that service).
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from cdp.activation.audience import AUDIENCE_COLUMNS, email_hash, phone_hash
from cdp.activation.models import (
    Change,
    Contact,
    ContactField,
    DeliveryOutcome,
    DestinationLimits,
    MembershipChange,
)
from cdp.activation.ports import Destination, DestinationRejectedError, DestinationThrottledError
from cdp.adapters.aws_event_destinations import (
    EventBridgeDestination,
    SnsTopicDestination,
    SqsQueueDestination,
)
from cdp.adapters.aws_s3_audience import S3AudienceDestination
from cdp.adapters.aws_ses_contacts import SesContactListDestination
from cdp.adapters.aws_sms import SmsDestination
from cdp.adapters.local_destination import LocalDestination
from cdp.adapters.memory_activation import InMemoryDestination
from cdp.lakefs import LakeFiles

REGION = "ap-southeast-1"
ACCOUNT = "123456789012"
RUN = "20260301T000000Z-aaaaaa"
SEGMENT = "vip"
T0 = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)

#: twelve people with every contact field (valid Thai mobiles)
PEOPLE = {
    f"p{n:02d}": Contact(
        email=f"person{n:02d}@example.co.th",
        phone=f"+668197530{n:02d}",
        first_name=f"คน{n}",
        user_id=f"u-{n:02d}",
    )
    for n in range(1, 13)
}
BY_EMAIL = {contact.email: pid for pid, contact in PEOPLE.items()}
BY_EMAIL_HASH = {email_hash(contact.email or ""): pid for pid, contact in PEOPLE.items()}
BY_PHONE = {contact.phone: pid for pid, contact in PEOPLE.items()}


def change(profile_id: str, kind: Change = Change.ENTERED, *, minutes: int = 0) -> MembershipChange:
    return MembershipChange(
        run_id=RUN,
        segment_id=SEGMENT,
        profile_id=profile_id,
        change=kind,
        occurred_at=T0 + timedelta(minutes=minutes),
        contact=PEOPLE[profile_id],
    )


@dataclass
class DestinationUnderTest:
    destination: Destination
    #: (profile_id, change, occurred_at or None) of what the service holds or received, as read back
    read_back: Callable[[], list[tuple[str, Change, str | None]]]
    #: True when the service keeps state (SES contact), False when it keeps every message
    state_based: bool = False

    def latest(self) -> dict[str, Change]:
        """Per profile, the change the destination ends with (messages ordered by ``occurred_at``)."""
        seen = sorted(self.read_back(), key=lambda item: item[2] or "")
        return {profile: kind for profile, kind, _ in seen}


Factory = Callable[[Path], AbstractContextManager[DestinationUnderTest]]


# -- memory and local --------------------------------------------------------------------------------


@contextmanager
def memory(_: Path) -> Iterator[DestinationUnderTest]:
    destination = InMemoryDestination(limits=DestinationLimits(max_batch_size=10))
    yield DestinationUnderTest(
        destination,
        lambda: [(c.profile_id, c.change, c.occurred_at.isoformat()) for c in destination.delivered],
    )


@contextmanager
def memory_broken(_: Path) -> Iterator[DestinationUnderTest]:
    yield DestinationUnderTest(InMemoryDestination(reject_all="no such topic"), list)


@contextmanager
def memory_throttled(_: Path) -> Iterator[DestinationUnderTest]:
    yield DestinationUnderTest(InMemoryDestination(throttle_calls=1000), list)


@contextmanager
def local(tmp: Path) -> Iterator[DestinationUnderTest]:
    destination = LocalDestination(LakeFiles(tmp / "lake"), "preview", include=[ContactField.EMAIL])
    yield DestinationUnderTest(
        destination,
        lambda: [
            (event["profile_id"], Change(event["change"]), event["occurred_at"])
            for event in destination.recorded(RUN)
        ],
    )


# -- AWS under moto ---------------------------------------------------------------------------------


def _queue(sqs: Any, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
    ).get("Messages", []):
        messages.extend(batch)
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
        )
    return messages


class Received:
    """Messages drained from a queue, kept: a read-back reads the queue once and remembers."""

    def __init__(self, sqs: Any, url: str, event_of: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
        self._sqs, self._url, self._event_of = sqs, url, event_of
        self.messages: list[dict[str, Any]] = []

    def __call__(self) -> list[tuple[str, Change, str | None]]:
        self.messages.extend(_drain(self._sqs, self._url))
        events = [self._event_of(message) for message in self.messages]
        return [(e["profile_id"], Change(e["change"]), e["occurred_at"]) for e in events]


def _body(message: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = orjson.loads(message["Body"])
    return event


def _detail(message: dict[str, Any]) -> dict[str, Any]:
    envelope = orjson.loads(message["Body"])
    assert envelope["source"] == "cdp.segments"
    assert envelope["detail-type"] == f"segment.{envelope['detail']['change']}"
    detail: dict[str, Any] = envelope["detail"]
    return detail


@contextmanager
def sns(_: Path) -> Iterator[DestinationUnderTest]:
    with mock_aws():
        client = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        topic = client.create_topic(Name="cdp-test-segment-changes")["TopicArn"]
        url, arn = _queue(sqs, "sns-subscriber")
        client.subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
        )
        yield DestinationUnderTest(
            SnsTopicDestination(topic_arn=topic, client=client), Received(sqs, url, _body)
        )


@contextmanager
def sns_broken(_: Path) -> Iterator[DestinationUnderTest]:
    with mock_aws():
        client = boto3.client("sns", region_name=REGION)
        topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:never-created"
        yield DestinationUnderTest(SnsTopicDestination(topic_arn=topic, client=client), list)


@contextmanager
def sqs(_: Path) -> Iterator[DestinationUnderTest]:
    with mock_aws():
        client = boto3.client("sqs", region_name=REGION)
        url, _ = _queue(client, "cdp-test-segment-changes")
        yield DestinationUnderTest(
            SqsQueueDestination(queue_url=url, client=client), Received(client, url, _body)
        )


@contextmanager
def sqs_broken(_: Path) -> Iterator[DestinationUnderTest]:
    with mock_aws():
        client = boto3.client("sqs", region_name=REGION)
        url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/never-created"
        yield DestinationUnderTest(SqsQueueDestination(queue_url=url, client=client), list)


@contextmanager
def eventbridge(_: Path) -> Iterator[DestinationUnderTest]:
    with mock_aws():
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        events.create_event_bus(Name="cdp-test-segments")
        url, arn = _queue(sqs, "segment-events")
        events.put_rule(
            Name="segments-to-queue",
            EventBusName="cdp-test-segments",
            EventPattern=orjson.dumps(
                {"source": ["cdp.segments"], "detail-type": ["segment.entered", "segment.exited"]}
            ).decode(),
        )
        events.put_targets(
            Rule="segments-to-queue", EventBusName="cdp-test-segments", Targets=[{"Id": "q", "Arn": arn}]
        )
        destination = EventBridgeDestination(event_bus="cdp-test-segments", client=events)
        yield DestinationUnderTest(destination, Received(sqs, url, _detail))


@contextmanager
def eventbridge_broken(_: Path) -> Iterator[DestinationUnderTest]:
    with mock_aws():
        events = boto3.client("events", region_name=REGION)
        yield DestinationUnderTest(EventBridgeDestination(event_bus="never-created", client=events), list)


SES_LIST = "cdp-test-audiences"


def ses_contact_list(client: Any, topics: Sequence[str] = ("vip", "newsletter")) -> None:
    client.create_contact_list(
        ContactListName=SES_LIST,
        Topics=[
            {"TopicName": t, "DisplayName": t.title(), "DefaultSubscriptionStatus": "OPT_OUT"} for t in topics
        ],
    )


def _ses_read_back(client: Any, topic: str) -> Callable[[], list[tuple[str, Change, str | None]]]:
    def read() -> list[tuple[str, Change, str | None]]:
        found = []
        for contact in client.list_contacts(ContactListName=SES_LIST)["Contacts"]:
            stored = client.get_contact(ContactListName=SES_LIST, EmailAddress=contact["EmailAddress"])
            status = {p["TopicName"]: p["SubscriptionStatus"] for p in stored["TopicPreferences"]}.get(topic)
            if status is not None:
                kind = Change.ENTERED if status == "OPT_IN" else Change.EXITED
                found.append((BY_EMAIL[contact["EmailAddress"]], kind, None))
        return found

    return read


@contextmanager
def ses(_: Path) -> Iterator[DestinationUnderTest]:
    with mock_aws():
        client = boto3.client("sesv2", region_name=REGION)
        ses_contact_list(client)
        destination = SesContactListDestination(
            contact_list=SES_LIST, topic="vip", client=client, max_changes_per_second=None
        )
        yield DestinationUnderTest(destination, _ses_read_back(client, "vip"), state_based=True)


@contextmanager
def ses_broken(_: Path) -> Iterator[DestinationUnderTest]:
    with mock_aws():
        client = boto3.client("sesv2", region_name=REGION)
        destination = SesContactListDestination(contact_list="never-created", topic="vip", client=client)
        yield DestinationUnderTest(destination, list, state_based=True)


BUCKET = "cdp-test-lake"


def _audience_rows(client: Any, prefix: str) -> list[tuple[str, Change, str | None]]:
    found = []
    listed = client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    for item in sorted(listed, key=lambda i: i["LastModified"]):
        body = client.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read().decode()
        rows = list(csv.DictReader(io.StringIO(body)))
        assert tuple(rows[0]) == AUDIENCE_COLUMNS if rows else True
        for index, row in enumerate(rows):
            profile = BY_EMAIL_HASH[row["email_sha256"]]
            assert row["phone_sha256"] == phone_hash(PEOPLE[profile].phone or "")
            assert row["segment_id"] == SEGMENT
            found.append((profile, Change(row["change"]), f"{item['LastModified'].isoformat()}#{index:06d}"))
    return found


@contextmanager
def s3_audience(_: Path) -> Iterator[DestinationUnderTest]:
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
        destination = S3AudienceDestination(
            bucket=BUCKET, prefix="exports/ads/", kms_key_id=key, client=client
        )
        yield DestinationUnderTest(destination, lambda: _audience_rows(client, "exports/ads/"))


@contextmanager
def s3_audience_broken(_: Path) -> Iterator[DestinationUnderTest]:
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        yield DestinationUnderTest(
            S3AudienceDestination(bucket="never-created", prefix="x/", client=client), list
        )


# -- SMS with the Stubber ------------------------------------------------------------------------------


def _stubbed_client(service: str) -> tuple[Any, Stubber]:
    client = boto3.client(
        service,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    stubber = Stubber(client)
    stubber.activate()
    return client, stubber


class StubbedSms:
    """The real :class:`SmsDestination` on a stubbed client: each call queues the service's answer for the
    requests the adapter will make, and the requests it made (validated by botocore) are the read-back."""

    def __init__(self, answer: Callable[[Stubber], None] | None = None) -> None:
        self.client, self.stubber = _stubbed_client("pinpoint-sms-voice-v2")
        self.sent: list[dict[str, Any]] = []
        # first: the Stubber's before-call handler answers and ends the chain; what is recorded is the
        # serialized request body, built only after botocore validated the call against the service model
        self.client.meta.events.register_first("before-call.*.*", self._record)
        self._answer = answer or (
            lambda s: s.add_response("send_text_message", {"MessageId": uuid.uuid4().hex})
        )
        self.inner = SmsDestination(
            origination_identity=f"arn:aws:sms-voice:{REGION}:{ACCOUNT}:phone-number/phone-0123456789abcdef",
            templates={Change.ENTERED: "Hi {first_name}, welcome to {segment_id}", Change.EXITED: "Goodbye"},
            client=self.client,
            max_changes_per_second=None,
        )
        self.limits, self.needs_any, self.acts_on = (
            self.inner.limits,
            self.inner.needs_any,
            self.inner.acts_on,
        )

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "SendTextMessage":
            self.sent.append(orjson.loads(params["body"]))

    def deliver(self, changes: Sequence[MembershipChange]) -> list[DeliveryOutcome]:
        if len(changes) <= (self.limits.max_batch_size or len(changes)):
            for _ in changes:
                self._answer(self.stubber)
        return self.inner.deliver(changes)


def _sms_change_of(params: dict[str, Any]) -> Change:
    return Change.EXITED if params["MessageBody"] == "Goodbye" else Change.ENTERED


@contextmanager
def sms(_: Path) -> Iterator[DestinationUnderTest]:
    stubbed = StubbedSms()
    yield DestinationUnderTest(
        stubbed,
        lambda: [
            (params["Context"]["profile_id"], _sms_change_of(params), f"{i:06d}")
            for i, params in enumerate(stubbed.sent)
        ],
    )


@contextmanager
def sms_broken(_: Path) -> Iterator[DestinationUnderTest]:
    stubbed = StubbedSms(
        lambda s: s.add_client_error(
            "send_text_message", "ResourceNotFoundException", "origination identity not found", 404
        )
    )
    yield DestinationUnderTest(stubbed, list)


# -- throttled: a real client of each service, answering with its throttling error ------------------


def _throttled(
    service: str, operations: Sequence[tuple[str, str, int]], build: Callable[[Any], Destination]
) -> Factory:
    @contextmanager
    def factory(_: Path) -> Iterator[DestinationUnderTest]:
        client, stubber = _stubbed_client(service)
        for _ in range(20):
            for operation, code, status in operations:
                stubber.add_client_error(operation, code, "slow down", status)
        yield DestinationUnderTest(build(client), list)

    return factory


THROTTLED: dict[str, Factory] = {
    "memory": memory_throttled,
    "ses": _throttled(
        "sesv2",
        [("get_contact_list", "TooManyRequestsException", 429)],
        lambda c: SesContactListDestination(contact_list=SES_LIST, topic="vip", client=c),
    ),
    "sns": _throttled(
        "sns",
        [("publish_batch", "Throttled", 400)],
        lambda c: SnsTopicDestination(topic_arn=f"arn:aws:sns:{REGION}:{ACCOUNT}:t", client=c),
    ),
    "sqs": _throttled(
        "sqs",
        [("send_message_batch", "RequestThrottled", 400)],
        lambda c: SqsQueueDestination(queue_url=f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/q", client=c),
    ),
    "eventbridge": _throttled(
        "events",
        [("put_events", "ThrottlingException", 400)],
        lambda c: EventBridgeDestination(event_bus="b", client=c),
    ),
    "s3-audience": _throttled(
        "s3",
        [("put_object", "SlowDown", 503)],
        lambda c: S3AudienceDestination(bucket=BUCKET, prefix="x/", client=c),
    ),
    "sms": _throttled(
        "pinpoint-sms-voice-v2",
        [("send_text_message", "ThrottlingException", 400)],
        lambda c: SmsDestination(
            origination_identity="phone-0123", templates={Change.ENTERED: "Hi"}, client=c
        ),
    ),
}

WORKING: dict[str, Factory] = {
    "memory": memory,
    "local": local,
    "ses-moto": ses,
    "sns-moto": sns,
    "sqs-moto": sqs,
    "eventbridge-moto": eventbridge,
    "s3-audience-moto": s3_audience,
    "sms-stubber": sms,
}
BROKEN: dict[str, Factory] = {
    "memory": memory_broken,
    "ses-moto": ses_broken,
    "sns-moto": sns_broken,
    "sqs-moto": sqs_broken,
    "eventbridge-moto": eventbridge_broken,
    "s3-audience-moto": s3_audience_broken,
    "sms-stubber": sms_broken,
}


@pytest.fixture(params=sorted(WORKING))
def under_test(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DestinationUnderTest]:
    with WORKING[request.param](tmp_path) as built:
        yield built


@pytest.fixture(params=sorted(BROKEN))
def broken(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DestinationUnderTest]:
    with BROKEN[request.param](tmp_path) as built:
        yield built


@pytest.fixture(params=sorted(THROTTLED))
def throttled(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DestinationUnderTest]:
    with THROTTLED[request.param](tmp_path) as built:
        yield built


def deliver_all(destination: Destination, changes: Sequence[MembershipChange]) -> list[DeliveryOutcome]:
    """In batches of the declared size, as the deliverer calls it."""
    size = destination.limits.max_batch_size or len(changes)
    outcomes: list[DeliveryOutcome] = []
    for start in range(0, len(changes), size):
        outcomes.extend(destination.deliver(changes[start : start + size]))
    return outcomes


def final(destination: Destination, changes: Sequence[MembershipChange]) -> list[DeliveryOutcome]:
    """Outcomes, with a whole-call error turned into one outcome per change as the deliverer does."""
    try:
        return destination.deliver(changes)
    except DestinationRejectedError as error:
        return [DeliveryOutcome.refused(c, str(error)) for c in changes]
    except DestinationThrottledError as error:
        return [DeliveryOutcome.refused(c, str(error), retryable=True) for c in changes]


# -- the contract ----------------------------------------------------------------------------------


def test_every_entered_change_reaches_the_destination_with_a_message_id(
    under_test: DestinationUnderTest,
) -> None:
    changes = [change(pid, minutes=i) for i, pid in enumerate(sorted(PEOPLE))]
    outcomes = deliver_all(under_test.destination, changes)

    assert sorted((o.profile_id, o.change) for o in outcomes) == sorted(c.key for c in changes)
    assert all(o.sent and o.detail for o in outcomes), [o for o in outcomes if not o.sent]
    assert under_test.latest() == dict.fromkeys(PEOPLE, Change.ENTERED)
    if not under_test.state_based:  # each change arrived exactly once
        assert len(under_test.read_back()) == len(changes)


def test_an_exit_after_an_entry_is_what_the_destination_ends_with(under_test: DestinationUnderTest) -> None:
    destination = under_test.destination
    assert Change.EXITED in destination.acts_on
    deliver_all(destination, [change("p01"), change("p02"), change("p03")])
    outcomes = deliver_all(destination, [change("p01", Change.EXITED, minutes=5)])
    assert [(o.profile_id, o.change, o.sent) for o in outcomes] == [("p01", Change.EXITED, True)]
    assert under_test.latest() == {"p01": Change.EXITED, "p02": Change.ENTERED, "p03": Change.ENTERED}


def test_an_exit_of_someone_the_destination_never_had_is_accepted(under_test: DestinationUnderTest) -> None:
    outcomes = deliver_all(under_test.destination, [change("p07", Change.EXITED)])
    assert [(o.change, o.sent) for o in outcomes] == [(Change.EXITED, True)]


def test_more_changes_than_the_declared_batch_limit_are_refused_before_any_call(
    under_test: DestinationUnderTest,
) -> None:
    limit = under_test.destination.limits.max_batch_size
    if limit is None:
        pytest.skip("no batch limit: the whole run is one call")
    too_many = [change(f"p{n:02d}") for n in range(1, 13)] * (limit // 12 + 1)
    with pytest.raises(ValueError, match="batch limit"):
        under_test.destination.deliver(too_many[: limit + 1])
    assert under_test.read_back() == []


def test_an_empty_call_sends_nothing(under_test: DestinationUnderTest) -> None:
    assert under_test.destination.deliver([]) == []
    assert under_test.read_back() == []


def test_a_missing_resource_is_a_permanent_failure_of_every_change(broken: DestinationUnderTest) -> None:
    changes = [change("p01"), change("p02")][: broken.destination.limits.max_batch_size or 2]
    outcomes = final(broken.destination, changes)
    assert len(outcomes) == len(changes)
    assert all(not o.sent and not o.retryable and o.detail for o in outcomes)


def test_throttling_is_retryable_never_permanent(throttled: DestinationUnderTest) -> None:
    changes = [change("p01"), change("p02")][: throttled.destination.limits.max_batch_size or 2]
    outcomes = final(throttled.destination, changes)
    assert len(outcomes) == len(changes)
    assert all(not o.sent and o.retryable for o in outcomes)


def test_limits_are_declared(under_test: DestinationUnderTest) -> None:
    limits = under_test.destination.limits
    assert limits.max_batch_size is None or 1 <= limits.max_batch_size <= 1000
    assert limits.max_changes_per_second is None or limits.max_changes_per_second > 0
    assert under_test.destination.acts_on <= set(Change)
