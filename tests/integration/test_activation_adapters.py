"""What each AWS destination adapter does beyond the shared contract: SES keeps the contact's other choices,
SMS renders its template and tells a refused number from a refused destination, the audience file is
KMS-encrypted and idempotent, FIFO transports deduplicate, events carry only the configured contact fields.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import orjson
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from cdp.activation.audience import email_hash
from cdp.activation.models import Change, Contact, ContactField, MembershipChange
from cdp.adapters.aws_event_destinations import (
    EventBridgeDestination,
    SnsTopicDestination,
    SqsQueueDestination,
)
from cdp.adapters.aws_s3_audience import S3AudienceDestination
from cdp.adapters.aws_ses_contacts import SesContactListDestination
from cdp.adapters.aws_sms import SmsDestination

REGION = "ap-southeast-1"
RUN = "20260301T000000Z-aaaaaa"


def change(profile_id: str = "p1", kind: Change = Change.ENTERED, **contact: str) -> MembershipChange:
    fields = {
        "email": "somchai@example.co.th",
        "phone": "+66819753042",
        "first_name": "สมชาย",
        "user_id": "u-1",
    }
    return MembershipChange(
        run_id=RUN,
        segment_id="vip",
        profile_id=profile_id,
        change=kind,
        occurred_at=datetime(2026, 3, 1, 7, 0, tzinfo=UTC),
        contact=Contact(**{**fields, **contact}),
    )


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def stubbed(service: str) -> tuple[Any, Stubber]:
    client = boto3.client(
        service, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    stubber = Stubber(client)
    stubber.activate()
    return client, stubber


# -- SES v2 -------------------------------------------------------------------------------------------

LIST_ANSWER = {
    "ContactListName": "audiences",
    "Topics": [
        {"TopicName": "vip", "DisplayName": "VIP", "DefaultSubscriptionStatus": "OPT_OUT"},
        {"TopicName": "newsletter", "DisplayName": "News", "DefaultSubscriptionStatus": "OPT_OUT"},
    ],
}


def test_ses_entry_of_an_existing_contact_keeps_its_other_topics_and_its_unsubscribe_all() -> None:
    client, stubber = stubbed("sesv2")
    stubber.add_response("get_contact_list", LIST_ANSWER, {"ContactListName": "audiences"})
    stubber.add_client_error("create_contact", "AlreadyExistsException", "exists", 400)
    stubber.add_response(
        "get_contact",
        {
            "ContactListName": "audiences",
            "EmailAddress": "somchai@example.co.th",
            "TopicPreferences": [
                {"TopicName": "newsletter", "SubscriptionStatus": "OPT_OUT"},
                {"TopicName": "vip", "SubscriptionStatus": "OPT_OUT"},
            ],
            "UnsubscribeAll": True,
            "AttributesData": '{"tier": "gold"}',
        },
        {"ContactListName": "audiences", "EmailAddress": "somchai@example.co.th"},
    )
    stubber.add_response(
        "update_contact",
        {},
        {
            "ContactListName": "audiences",
            "EmailAddress": "somchai@example.co.th",
            "TopicPreferences": [
                {"TopicName": "newsletter", "SubscriptionStatus": "OPT_OUT"},  # the person's choice, kept
                {"TopicName": "vip", "SubscriptionStatus": "OPT_IN"},
            ],
            "UnsubscribeAll": True,  # SES's "unsubscribe from everything" still wins when sending
            "AttributesData": '{"tier": "gold"}',
        },
    )
    destination = SesContactListDestination(contact_list="audiences", topic="vip", client=client)
    [outcome] = destination.deliver([change()])
    assert outcome.sent
    assert outcome.detail.startswith("OPT_IN vip (updated")
    stubber.assert_no_pending_responses()


def test_ses_exit_opts_out_of_the_topic_and_never_deletes_the_contact(aws: None) -> None:
    # (an entry of an existing contact is the Stubber test above: moto's CreateContact overwrites an
    # existing contact instead of answering AlreadyExistsException as SES does)
    client = boto3.client("sesv2", region_name=REGION)
    client.create_contact_list(
        ContactListName="audiences",
        Topics=[
            {"TopicName": t, "DisplayName": t, "DefaultSubscriptionStatus": "OPT_OUT"}
            for t in ("vip", "news")
        ],
    )
    client.create_contact(
        ContactListName="audiences",
        EmailAddress="somchai@example.co.th",
        TopicPreferences=[{"TopicName": "news", "SubscriptionStatus": "OPT_IN"}],
    )
    destination = SesContactListDestination(contact_list="audiences", topic="vip", client=client)
    [outcome] = destination.deliver([change(kind=Change.EXITED)])
    assert outcome.sent
    stored = client.get_contact(ContactListName="audiences", EmailAddress="somchai@example.co.th")
    preferences = {p["TopicName"]: p["SubscriptionStatus"] for p in stored["TopicPreferences"]}
    assert preferences == {"news": "OPT_IN", "vip": "OPT_OUT"}


def test_ses_refuses_a_topic_the_contact_list_does_not_declare(aws: None) -> None:
    client = boto3.client("sesv2", region_name=REGION)
    client.create_contact_list(ContactListName="audiences", Topics=[])
    destination = SesContactListDestination(contact_list="audiences", topic="vip", client=client)
    [outcome] = destination.deliver([change()])
    assert not outcome.sent
    assert not outcome.retryable
    assert "topic 'vip' is not declared on contact list 'audiences'" in outcome.detail
    assert client.list_contacts(ContactListName="audiences")["Contacts"] == []


def test_ses_declares_batches_of_one_at_the_account_s_one_request_per_second() -> None:
    limits = SesContactListDestination(contact_list="l", topic="t", client=object()).limits
    assert (limits.max_batch_size, limits.max_changes_per_second) == (1, 1.0)


# -- SMS ----------------------------------------------------------------------------------------------

IDENTITY = "arn:aws:sms-voice:ap-southeast-1:123456789012:phone-number/phone-0123456789abcdef"


def test_sms_renders_the_template_and_sends_ids_but_never_the_phone_as_context() -> None:
    client, stubber = stubbed("pinpoint-sms-voice-v2")
    stubber.add_response(
        "send_text_message",
        {"MessageId": "msg-1"},
        {
            "DestinationPhoneNumber": "+66819753042",
            "OriginationIdentity": IDENTITY,
            "MessageBody": "สวัสดี สมชาย, welcome to vip",
            "MessageType": "TRANSACTIONAL",
            "MaxPrice": "0.05",
            "Context": {"segment_id": "vip", "profile_id": "p1", "run_id": RUN, "event_id": ANY},
        },
    )
    destination = SmsDestination(
        origination_identity=IDENTITY,
        templates={Change.ENTERED: "สวัสดี {first_name}, welcome to {segment_id}"},
        message_type="TRANSACTIONAL",
        max_price="0.05",
        client=client,
    )
    assert destination.acts_on == {Change.ENTERED}  # no exit template: exits are not its business
    [outcome] = destination.deliver([change()])
    assert (outcome.sent, outcome.detail) == (True, "msg-1")
    stubber.assert_no_pending_responses()


def test_sms_a_refused_number_fails_alone_a_missing_identity_fails_the_rest() -> None:
    client, stubber = stubbed("pinpoint-sms-voice-v2")
    destination = SmsDestination(
        origination_identity=IDENTITY, templates={Change.ENTERED: "Hi"}, client=client
    )
    stubber.add_client_error("send_text_message", "ValidationException", "opted out number", 400)
    [refused] = destination.deliver([change("p1")])
    assert (refused.sent, refused.retryable) == (False, False)
    assert refused.detail == "sms ValidationException: opted out number"
    stubber.add_client_error("send_text_message", "ResourceNotFoundException", "no such phone number", 404)
    [rejected] = destination.deliver([change("p2")])
    assert (rejected.sent, rejected.retryable) == (False, False)
    assert rejected.detail.startswith("rejected: sms SendTextMessage from")
    stubber.add_client_error("send_text_message", "InternalServerException", "oops", 500)
    [transient] = destination.deliver([change("p3")])
    assert (transient.sent, transient.retryable) == (False, True)


def test_sms_refuses_a_request_the_service_model_would_refuse() -> None:
    client, stubber = stubbed("pinpoint-sms-voice-v2")
    stubber.add_response("send_text_message", {"MessageId": "never"})
    destination = SmsDestination(
        origination_identity=IDENTITY, templates={Change.ENTERED: "{first_name}"}, client=client
    )
    [outcome] = destination.deliver([change(first_name="")])  # an empty MessageBody: below the model's min
    assert not outcome.sent
    assert not outcome.retryable
    assert outcome.detail.startswith("sms request refused by the service model")


# -- S3 audience ---------------------------------------------------------------------------------------


def test_the_audience_file_is_kms_encrypted_and_a_retry_rewrites_the_same_object(aws: None) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="cdp-test-lake", CreateBucketConfiguration={"LocationConstraint": REGION})
    key_arn = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    destination = S3AudienceDestination(
        bucket="cdp-test-lake", prefix="exports/ads/", kms_key_id=key_arn, client=s3
    )
    changes = [change("p1"), change("p2", Change.EXITED, email="other@example.com", phone="+66819753043")]
    first = destination.deliver(changes)
    second = destination.deliver(changes)  # a retry of the same call
    assert first == second
    [item] = s3.list_objects_v2(Bucket="cdp-test-lake", Prefix="exports/ads/")["Contents"]
    assert item["Key"].startswith(f"exports/ads/run_id={RUN}/vip-")
    assert first[0].detail.startswith(f"s3://cdp-test-lake/{item['Key']}")
    head = s3.head_object(Bucket="cdp-test-lake", Key=item["Key"])
    assert head["ServerSideEncryption"] == "aws:kms"
    assert head["SSEKMSKeyId"] == key_arn
    assert head["Metadata"] == {"rows": "2", "segment-id": "vip", "run-id": RUN}
    rows = list(
        csv.DictReader(
            io.StringIO(s3.get_object(Bucket="cdp-test-lake", Key=item["Key"])["Body"].read().decode())
        )
    )
    assert [(r["change"], r["email_sha256"]) for r in rows] == [
        ("entered", email_hash("somchai@example.co.th")),
        ("exited", email_hash("other@example.com")),
    ]
    assert "somchai" not in str(rows)  # hashes only


# -- events --------------------------------------------------------------------------------------------


def test_a_fifo_queue_groups_by_person_and_deduplicates_a_retried_batch(aws: None) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="changes.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    destination = SqsQueueDestination(queue_url=url, include=[ContactField.USER_ID], client=sqs)
    destination.deliver([change("p1"), change("p2")])
    destination.deliver([change("p1"), change("p2")])  # a retry: same event ids
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
    )["Messages"]
    assert len(messages) == 2
    first = messages[0]
    body = orjson.loads(first["Body"])
    assert first["Attributes"]["MessageGroupId"] == body["profile_id"]
    assert first["Attributes"]["MessageDeduplicationId"] == body["event_id"]
    assert first["MessageAttributes"]["event_type"]["StringValue"] == "segment.entered"
    assert body["contact"] == {"user_id": "u-1"}  # only what the destination includes


def test_sns_messages_carry_filterable_attributes_and_no_contact_by_default(aws: None) -> None:
    sns = boto3.client("sns", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    topic = sns.create_topic(Name="changes")["TopicArn"]
    url = sqs.create_queue(QueueName="only-exits")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={
            "RawMessageDelivery": "true",
            "FilterPolicy": orjson.dumps({"event_type": ["segment.exited"]}).decode(),
        },
    )
    SnsTopicDestination(topic_arn=topic, client=sns).deliver([change("p1"), change("p2", Change.EXITED)])
    [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    body = orjson.loads(message["Body"])
    assert (body["profile_id"], body["type"]) == ("p2", "segment.exited")
    assert "contact" not in body


def test_eventbridge_events_have_the_documented_source_detail_type_and_time(aws: None) -> None:
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    events.create_event_bus(Name="cdp-test-segments")
    url = sqs.create_queue(QueueName="vip-entries")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(
        Name="vip-entries",
        EventBusName="cdp-test-segments",
        EventPattern=orjson.dumps(
            {
                "source": ["cdp.segments"],
                "detail-type": ["segment.entered"],
                "detail": {"segment_id": ["vip"]},
            }
        ).decode(),
    )
    events.put_targets(
        Rule="vip-entries", EventBusName="cdp-test-segments", Targets=[{"Id": "q", "Arn": arn}]
    )
    destination = EventBridgeDestination(
        event_bus="cdp-test-segments", include=[ContactField.EMAIL], client=events
    )
    outcomes = destination.deliver([change("p1"), change("p2", Change.EXITED)])
    assert all(o.sent for o in outcomes)
    [message] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    envelope = orjson.loads(message["Body"])
    assert (envelope["source"], envelope["detail-type"]) == ("cdp.segments", "segment.entered")
    assert envelope["time"] == "2026-03-01T07:00:00Z"
    assert envelope["detail"]["contact"] == {"email": "somchai@example.co.th"}
