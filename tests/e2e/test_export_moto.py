"""``cdp export`` end to end: the installed command, a lake as the pipeline leaves it, and real AWS APIs
served by a ``moto_server`` process on 127.0.0.1 (the embedded mode's stand-in for AWS, SPEC 2).

Destinations: an SES v2 contact list topic, an SNS topic (read through an SQS subscription), an EventBridge
bus (read through a rule with an SQS target), an SQS queue and an S3 audience file (SSE-KMS). Everything
is asserted by reading back from moto: exactly the consenting, unsuppressed members with the contact
each destination needs arrive; the report's counts match; a second export sends nothing new.
"""

from __future__ import annotations

import csv
import io
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest
import requests

from cdp.activation.audience import email_hash, phone_hash
from tests.activation_data import (
    AS_OF_1,
    RUN_1,
    Person,
    configure_destinations,
    define_segment,
    membership,
    publish_memberships,
    publish_people,
    suppress,
)
from tests.e2e.conftest import cdp

MOTO_SERVER = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or "moto_server"
REGION = "ap-southeast-1"
ACCOUNT = "123456789012"

PEOPLE = [
    Person("p1", "somchai@example.co.th", "+66819753001"),  # everything granted: every destination
    Person("p2", "malee@example.co.th", "+66819753002", granted=("email",)),  # e-mail only
    Person("p3", "niran@example.co.th", "+66819753003", granted=("push",)),  # notifications only
    Person("p4", "ploy@example.co.th", "+66819753004", granted=("ads",)),  # ad audiences only
    Person("p5", "blocked@example.co.th", "+66819753005"),  # everything granted, but suppressed
    Person("p6", "nobody@example.co.th", "+66819753006", granted=()),  # nothing granted
    Person("p7", None, "+66819753007"),  # everything granted, no e-mail address
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(
        [MOTO_SERVER, "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{url}/moto-api/", timeout=1).status_code < 500:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("moto_server did not start")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Aws:
    """Clients of the moto server, and the destinations' resources created on it."""

    def __init__(self, endpoint: str) -> None:
        def client(service: str) -> Any:
            return boto3.client(
                service,
                region_name=REGION,
                endpoint_url=endpoint,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )

        self.endpoint = endpoint
        self.ses, self.sns, self.sqs = client("sesv2"), client("sns"), client("sqs")
        self.events, self.s3, self.kms = client("events"), client("s3"), client("kms")

        self.ses.create_contact_list(
            ContactListName="cdp-e2e-audiences",
            Topics=[
                {"TopicName": "vip", "DisplayName": "VIP offers", "DefaultSubscriptionStatus": "OPT_OUT"}
            ],
        )
        self.topic_arn = self.sns.create_topic(Name="cdp-e2e-segment-changes")["TopicArn"]
        self.sns_queue, sns_queue_arn = self._queue("sns-subscriber")
        self.sns.subscribe(
            TopicArn=self.topic_arn,
            Protocol="sqs",
            Endpoint=sns_queue_arn,
            Attributes={"RawMessageDelivery": "true"},
        )
        self.events.create_event_bus(Name="cdp-e2e-segments")
        self.rule_queue, rule_queue_arn = self._queue("segment-events")
        self.events.put_rule(
            Name="segment-changes",
            EventBusName="cdp-e2e-segments",
            EventPattern=orjson.dumps({"source": ["cdp.segments"]}).decode(),
        )
        self.events.put_targets(
            Rule="segment-changes",
            EventBusName="cdp-e2e-segments",
            Targets=[{"Id": "q", "Arn": rule_queue_arn}],
        )
        self.direct_queue, _ = self._queue("cdp-e2e-segment-changes")
        self.bucket = "cdp-e2e-audiences"
        self.s3.create_bucket(Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        self.key_arn = self.kms.create_key(Description="audience files")["KeyMetadata"]["Arn"]

    def _queue(self, name: str) -> tuple[str, str]:
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return url, arn

    def drain(self, queue_url: str) -> list[dict[str, Any]]:
        bodies = []
        while messages := self.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get(
            "Messages"
        ):
            for message in messages:
                bodies.append(orjson.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return bodies

    def subscribed(self) -> dict[str, str]:
        """email → the contact's vip topic status."""
        found = {}
        for contact in self.ses.list_contacts(ContactListName="cdp-e2e-audiences")["Contacts"]:
            stored = self.ses.get_contact(
                ContactListName="cdp-e2e-audiences", EmailAddress=contact["EmailAddress"]
            )
            for preference in stored["TopicPreferences"]:
                if preference["TopicName"] == "vip":
                    found[contact["EmailAddress"]] = preference["SubscriptionStatus"]
        return found

    def audience_objects(self) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="exports/ads/").get("Contents", [])
        return [item["Key"] for item in listed]

    def destinations(self) -> list[dict[str, Any]]:
        common = {"region": REGION, "endpoint_url": self.endpoint}
        return [
            {
                "id": "vip-email",
                "type": "ses_contact_list",
                "contact_list": "cdp-e2e-audiences",
                "topic": "vip",
                "max_per_second": 1000,
                **common,
            },
            {"id": "app-push", "type": "sns", "topic_arn": self.topic_arn, "include": ["user_id"], **common},
            {"id": "crm-events", "type": "eventbridge", "event_bus": "cdp-e2e-segments", **common},
            {"id": "crm-queue", "type": "sqs", "queue_url": self.direct_queue, **common},
            {"id": "ads", "type": "s3_audience", "bucket": self.bucket, "kms_key_id": self.key_arn, **common},
        ]


@pytest.fixture
def aws(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Aws:
    # what the cdp process signs its (moto-bound) calls with; nothing leaves 127.0.0.1
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return Aws(moto_endpoint)


@pytest.fixture
def activated_lake(lake: Path, aws: Aws) -> Path:
    publish_people(lake, PEOPLE)
    publish_memberships(
        lake, [membership("vip", p.profile_id, RUN_1, entered=AS_OF_1) for p in PEOPLE], RUN_1
    )
    define_segment(lake, "vip", ["vip-email", "app-push", "crm-events", "crm-queue", "ads"])
    configure_destinations(lake, aws.destinations())
    suppress(lake, {"email": "BLOCKED@example.co.th", "reason": "complaint"})
    return lake


def test_cdp_export_reaches_exactly_the_consenting_unsuppressed_members_once(
    activated_lake: Path, aws: Aws
) -> None:
    result = cdp("export", "vip", "--format", "json", lake=activated_lake, timeout=120)
    assert result.code == 0, result.stderr
    report = orjson.loads(result.stdout)
    assert (report["segment_id"], report["run_id"], report["changes"], report["failed"]) == (
        "vip",
        RUN_1,
        7,
        0,
    )

    # SES: the e-mail consenters with an address, subscribed to the vip topic
    assert aws.subscribed() == {"somchai@example.co.th": "OPT_IN", "malee@example.co.th": "OPT_IN"}
    # SNS (via its SQS subscription), EventBridge (via its rule's SQS target), SQS: the push consenters
    pushed = aws.drain(aws.sns_queue)
    assert sorted(m["profile_id"] for m in pushed) == ["p1", "p3", "p7"]
    assert {m["type"] for m in pushed} == {"segment.entered"}
    assert {m["profile_id"]: m["contact"] for m in pushed}["p3"] == {"user_id": "u-p3"}
    events = aws.drain(aws.rule_queue)
    assert sorted(e["detail"]["profile_id"] for e in events) == ["p1", "p3", "p7"]
    assert {(e["source"], e["detail-type"]) for e in events} == {("cdp.segments", "segment.entered")}
    assert sorted(m["profile_id"] for m in aws.drain(aws.direct_queue)) == ["p1", "p3", "p7"]
    # the audience file: the ads consenters, hashed, KMS-encrypted, one object
    [key] = aws.audience_objects()
    assert key.startswith(f"exports/ads/run_id={RUN_1}/vip-")
    head = aws.s3.head_object(Bucket=aws.bucket, Key=key)
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", aws.key_arn)
    rows = list(
        csv.DictReader(io.StringIO(aws.s3.get_object(Bucket=aws.bucket, Key=key)["Body"].read().decode()))
    )
    by_phone = {phone_hash(p.phone or ""): p for p in PEOPLE}
    assert sorted(by_phone[r["phone_sha256"]].profile_id for r in rows) == ["p1", "p4", "p7"]
    hashed = {r["phone_sha256"]: r["email_sha256"] for r in rows}
    assert hashed[phone_hash("+66819753001")] == email_hash("somchai@example.co.th")
    assert hashed[phone_hash("+66819753007")] == ""  # no e-mail: the phone alone

    counts = {
        d["destination_id"]: (
            d["sent"],
            d["skipped_consent"],
            d["suppressed"],
            d["skipped_no_contact"],
            d["failed"],
        )
        for d in report["destinations"]
    }
    assert counts == {
        "vip-email": (2, 3, 1, 1, 0),  # p1 p2 | p3 p4 p6 | p5 | p7
        "app-push": (3, 3, 1, 0, 0),  # p1 p3 p7 | p2 p4 p6 | p5
        "crm-events": (3, 3, 1, 0, 0),
        "crm-queue": (3, 3, 1, 0, 0),
        "ads": (3, 3, 1, 0, 0),  # p1 p4 p7 | p2 p3 p6 | p5
    }

    again = cdp("export", "vip", "--format", "json", lake=activated_lake, timeout=120)
    assert again.code == 0, again.stderr
    second = orjson.loads(again.stdout)
    assert second["sent"] == 0
    assert {d["destination_id"]: d["already_sent"] for d in second["destinations"]} == {
        "vip-email": 2,
        "app-push": 3,
        "crm-events": 3,
        "crm-queue": 3,
        "ads": 3,
    }
    assert aws.drain(aws.sns_queue) == []
    assert aws.drain(aws.rule_queue) == []
    assert aws.drain(aws.direct_queue) == []
    assert len(aws.audience_objects()) == 1
    assert aws.subscribed() == {"somchai@example.co.th": "OPT_IN", "malee@example.co.th": "OPT_IN"}


def test_cdp_export_prints_a_table_and_refuses_bad_input_with_exit_code_2(
    activated_lake: Path, aws: Aws
) -> None:
    shown = cdp("export", "vip", lake=activated_lake, timeout=120)
    assert shown.code == 0, shown.stderr
    assert f"segment vip, run {RUN_1}: 7 change(s)" in shown.stdout
    assert "vip-email" in shown.stdout
    unknown = cdp("export", "nobody", lake=activated_lake)
    assert unknown.code == 2
    assert unknown.stderr.startswith("cdp: error: no segment 'nobody'")
    assert len(unknown.stderr.strip().splitlines()) == 1
