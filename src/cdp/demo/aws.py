"""The demo's AWS: a moto server on 127.0.0.1 serving SES v2, SNS, SQS, EventBridge and S3 (SPEC 2).

``cdp demo`` exports through the real AWS adapters (:mod:`cdp.activation.wiring`), so what the export step
sends is real API traffic; only the endpoint is local. :class:`DemoAws` starts ``ThreadedMotoServer`` on a
free port, creates the resources ``examples/demo/destinations.yaml`` names, points those destinations at
the server, and afterwards reads back what arrived (contacts in the list, messages on the queues, rows in
the audience files), so the demo can put the ledger's ``sent`` next to what the services received.

Nothing may reach real AWS: every destination gets ``endpoint_url`` = the moto server, and the process
signs with dummy credentials set only while the server runs (:func:`dummy_aws_environment`), the previous
environment restored afterwards.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import orjson
import yaml

from cdp.activation.config import (
    DESTINATIONS_PATH,
    DestinationConfig,
    EventBridgeConfig,
    LocalConfig,
    S3AudienceConfig,
    SesContactListConfig,
    SmsConfig,
    SnsConfig,
    SqsConfig,
    parse_destinations,
)
from cdp.activation.models import Change, ContactField

REGION: Final = "ap-southeast-1"
#: set while the demo's moto server runs; the names removed could point boto3 at a real account
DUMMY_ENVIRONMENT: Final = {
    "AWS_ACCESS_KEY_ID": "demo",
    "AWS_SECRET_ACCESS_KEY": "demo",  # moto accepts any key; nothing leaves 127.0.0.1
    "AWS_DEFAULT_REGION": REGION,
}
REMOVED_ENVIRONMENT: Final = (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
)


class DemoAwsError(RuntimeError):
    """A destination of the demo's file cannot be served by moto."""


@dataclass(frozen=True, slots=True)
class Arrival:
    """What one destination's service holds after the export, read back from moto."""

    destination_id: str
    service: str  # e.g. "SES v2 contact list cdp-demo-audiences"
    what: str  # what ``count`` counts
    count: int
    #: contacts (one per address: two profiles sharing an inbox are one contact), messages, or rows
    unit: str = "messages"


@contextmanager
def dummy_aws_environment() -> Iterator[None]:
    """Dummy credentials and region for this process, the previous values restored on exit.

    boto3's default session caches the credentials it resolved first, so it is dropped on entry and exit:
    clients made inside sign with the dummy keys, clients made after with whatever the user had.
    """
    import boto3

    names = (*DUMMY_ENVIRONMENT, *REMOVED_ENVIRONMENT)
    saved = {name: os.environ.get(name) for name in names}
    for name in REMOVED_ENVIRONMENT:
        os.environ.pop(name, None)
    os.environ.update(DUMMY_ENVIRONMENT)
    boto3.DEFAULT_SESSION = None
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        boto3.DEFAULT_SESSION = None


@contextmanager
def _ses_create_contact_like_ses() -> Iterator[None]:
    """moto 5's CreateContact overwrites an existing contact, topic preferences included, where SES answers
    ``AlreadyExistsException``; the SES adapter relies on that answer to add a topic to an existing contact
    (a person in two e-mail segments keeps both topics). While the demo's server runs it answers like SES,
    so the adapter's real path runs and the contact list holds what SES would hold."""
    from moto.core.exceptions import JsonRESTError
    from moto.ses.models import ContactList

    original = ContactList.create_contact

    def create_contact(self: Any, contact_list_name: str, params: dict[str, Any]) -> None:
        if params["EmailAddress"] in self.contacts:
            raise JsonRESTError("AlreadyExistsException", f"Contact already exists in {contact_list_name}")
        original(self, contact_list_name, params)

    ContactList.create_contact = create_contact  # type: ignore[method-assign]
    try:
        yield
    finally:
        ContactList.create_contact = original  # type: ignore[method-assign]


class DemoAws:
    """The moto server, the demo's resources on it, and what they received."""

    def __init__(self, endpoint: str) -> None:
        import boto3

        self.endpoint = endpoint
        self._clients: dict[str, Any] = {}
        self._make_client: Any = boto3.client  # Any: the service name is not one of the stubs' literals
        self._readers: dict[str, tuple[str, str]] = {}  # destination id → (service, reader queue/prefix)
        self._configs: dict[str, DestinationConfig] = {}
        self._received: dict[str, int] = {}  # messages drained so far, per destination

    @classmethod
    @contextmanager
    def started(cls) -> Iterator[DemoAws]:
        """A moto server on a free port of 127.0.0.1 for the ``with`` block (stopped after)."""
        from moto.server import ThreadedMotoServer

        # werkzeug logs every request at INFO to stderr: the demo's progress is what should show
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        with _ses_create_contact_like_ses():
            server.start()
            try:
                host, port = server.get_host_and_port()
                with dummy_aws_environment():
                    yield cls(f"http://{host}:{port}")
            finally:
                server.stop()

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self._make_client(
                service, region_name=REGION, endpoint_url=self.endpoint
            )
        return self._clients[service]

    # -- resources -------------------------------------------------------------------------------------

    def provision(self, configs: Mapping[str, DestinationConfig]) -> dict[str, DestinationConfig]:
        """Create what each destination names on the server; the configs pointed at it (same ids)."""
        topics: dict[str, list[str]] = {}
        for config in configs.values():
            if isinstance(config, SesContactListConfig):
                topics.setdefault(config.contact_list, []).append(config.topic)
        for contact_list, names in topics.items():
            self.client("sesv2").create_contact_list(
                ContactListName=contact_list,
                Topics=[
                    {"TopicName": name, "DisplayName": name, "DefaultSubscriptionStatus": "OPT_OUT"}
                    for name in dict.fromkeys(names)
                ],
            )
        served: dict[str, DestinationConfig] = {}
        for destination_id, config in configs.items():
            served[destination_id] = self._provision_one(config)
        self._configs = served
        return served

    def _provision_one(self, config: DestinationConfig) -> DestinationConfig:
        local = {"endpoint_url": self.endpoint, "region": REGION}
        if isinstance(config, LocalConfig):
            return config
        if isinstance(config, SmsConfig):
            raise DemoAwsError(
                f"destination {config.id!r}: moto has no pinpoint-sms-voice-v2, so the demo cannot serve SMS"
            )
        if isinstance(config, SesContactListConfig):
            self._readers[config.id] = (f"SES v2 contact list {config.contact_list}", config.topic)
            return config.model_copy(update=local)
        if isinstance(config, SnsConfig):
            name = config.topic_arn.rsplit(":", 1)[1]
            arn = self.client("sns").create_topic(Name=name)["TopicArn"]
            url, queue_arn = self._queue(f"{name}-subscriber")
            self.client("sns").subscribe(
                TopicArn=arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
            )
            self._readers[config.id] = (f"SNS topic {name}", url)
            return config.model_copy(update={**local, "topic_arn": arn})
        if isinstance(config, EventBridgeConfig):
            bus = config.event_bus.rsplit("/", 1)[-1]
            if bus != "default":
                self.client("events").create_event_bus(Name=bus)
            url, queue_arn = self._queue(f"{bus}-rule-target")
            rule = f"{config.id}-changes"
            self.client("events").put_rule(
                Name=rule, EventBusName=bus, EventPattern=orjson.dumps({"source": [config.source]}).decode()
            )
            self.client("events").put_targets(
                Rule=rule, EventBusName=bus, Targets=[{"Id": "reader", "Arn": queue_arn}]
            )
            self._readers[config.id] = (f"EventBridge bus {bus}", url)
            return config.model_copy(update=local)
        if isinstance(config, SqsConfig):
            name = config.queue_url.rsplit("/", 1)[1]
            url, _ = self._queue(name)
            self._readers[config.id] = (f"SQS queue {name}", url)
            return config.model_copy(update={**local, "queue_url": url})
        if isinstance(config, S3AudienceConfig):
            self.client("s3").create_bucket(
                Bucket=config.bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
            )
            self._readers[config.id] = (f"S3 bucket {config.bucket}", config.key_prefix)
            return config.model_copy(update=local)
        raise DemoAwsError(f"destination {config.id!r}: no moto resource for its type")

    def _queue(self, name: str) -> tuple[str, str]:
        sqs = self.client("sqs")
        url: str = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return url, arn

    # -- what arrived ----------------------------------------------------------------------------------

    def arrivals(self) -> tuple[Arrival, ...]:
        """Per provisioned AWS destination: what its service holds (queues are drained and counted once,
        so a second call adds only what arrived since)."""
        found = []
        for destination_id, (service, where) in sorted(self._readers.items()):
            config = self._configs[destination_id]
            if isinstance(config, SesContactListConfig):
                subscribed = self.subscribed(config.contact_list).get(config.topic, set())
                what = f"contacts opted in to {where}"
                found.append(Arrival(destination_id, service, what, len(subscribed), unit="contacts"))
            elif isinstance(config, S3AudienceConfig):
                rows = self._audience_rows(config.bucket, where)
                found.append(
                    Arrival(destination_id, service, f"audience rows under {where}", rows, unit="rows")
                )
            else:
                self._received[destination_id] = self._received.get(destination_id, 0) + self._drain(where)
                found.append(Arrival(destination_id, service, "messages", self._received[destination_id]))
        return tuple(found)

    def subscribed(self, contact_list: str) -> dict[str, set[str]]:
        """topic → the addresses opted in to it."""
        ses = self.client("sesv2")
        found: dict[str, set[str]] = {}
        for email in self.contacts(contact_list):
            contact = ses.get_contact(ContactListName=contact_list, EmailAddress=email)
            for preference in contact.get("TopicPreferences", []):
                if preference["SubscriptionStatus"] == "OPT_IN":
                    found.setdefault(preference["TopicName"], set()).add(email)
        return found

    def contacts(self, contact_list: str) -> list[str]:
        ses = self.client("sesv2")
        emails: list[str] = []
        request: dict[str, Any] = {"ContactListName": contact_list, "PageSize": 1000}
        while True:
            page = ses.list_contacts(**request)
            emails.extend(contact["EmailAddress"] for contact in page.get("Contacts", []))
            if not page.get("NextToken"):
                return emails
            request["NextToken"] = page["NextToken"]

    def contact_lists(self) -> list[str]:
        return sorted({c.contact_list for c in self._configs.values() if isinstance(c, SesContactListConfig)})

    def _drain(self, queue_url: str) -> int:
        sqs = self.client("sqs")
        count = 0
        while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
            count += len(messages)
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(messages)
                ],
            )
        return count

    def _audience_rows(self, bucket: str, prefix: str) -> int:
        s3 = self.client("s3")
        rows = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().decode("utf-8")
                rows += sum(1 for _ in csv.DictReader(io.StringIO(body)))
        return rows


# -- the lake's destinations file ------------------------------------------------------------------------


def load_demo_destinations(path: Path) -> dict[str, DestinationConfig]:
    """``examples/demo/destinations.yaml``, validated like any lake's destinations file."""
    return parse_destinations(path.read_bytes(), str(path))


def write_destinations(lake_root: Path, configs: Mapping[str, DestinationConfig], header: str) -> Path:
    """Write ``configs`` as the lake's ``segments/destinations.yaml`` (validated again on the way)."""
    document = {
        "destinations": [config.model_dump(mode="json", exclude_none=True) for config in configs.values()]
    }
    text = "".join(f"# {line}\n" for line in header.splitlines()) + yaml.safe_dump(
        document, sort_keys=False, allow_unicode=True
    )
    parse_destinations(text)
    path = lake_root.joinpath(*DESTINATIONS_PATH.split("/"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def local_stand_ins(configs: Mapping[str, DestinationConfig]) -> dict[str, DestinationConfig]:
    """A ``local`` destination for each config, with its id, purpose and contact needs: what the lake
    keeps once the moto server is gone, so a later ``cdp run`` delivers somewhere instead of failing
    against a dead endpoint."""
    stand_ins: dict[str, DestinationConfig] = {}
    for destination_id, config in configs.items():
        if isinstance(config, LocalConfig):
            stand_ins[destination_id] = config
            continue
        kind = str(config.type)
        needs: tuple[ContactField, ...] = ()
        acts_on: tuple[Change, ...] = (Change.ENTERED, Change.EXITED)
        if isinstance(config, SesContactListConfig):
            needs = (ContactField.EMAIL,)
        elif isinstance(config, S3AudienceConfig):
            needs = (ContactField.EMAIL, ContactField.PHONE)
        elif isinstance(config, SmsConfig):
            needs = (ContactField.PHONE,)
            acts_on = tuple(config.templates)
        stand_ins[destination_id] = LocalConfig(
            id=destination_id,
            type="local",
            purpose=config.consent_purpose,
            description=f"stands in for the {kind} destination of the demo (its moto server has stopped)",
            include=tuple(getattr(config, "include", ())) or needs,
            needs_any=needs,
            acts_on=acts_on,
        )
    return stand_ins
