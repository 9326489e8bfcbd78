"""``python -m benchmarks.export``: export throughput (profiles/s) per destination adapter, beside the raw
service calls, in one run.

The lake: ``--changes`` people (default 10,000), each with an e-mail, an E.164 phone and every consent
purpose granted, published as ``profiles`` with pyarrow; one segment per adapter, each with every person
entered in the same run (``segment_memberships``), and ``exports/destinations.yaml`` naming one destination
per segment. AWS is moto in-process (``mock_aws``); SMS, which moto lacks, is a botocore ``Stubber`` client
(request validation against the service model, no HTTP). Service pacing is lifted
(``max_per_second: 100000``): SES's real one request a second would make this a 3-hour sleep, and what is
measured is our code plus the emulated service.

For each adapter:

1. **export**: :func:`cdp.activation.service.deliver_run` for its segment, wall clock: reading the run's
   deltas and the people's contact fields and consent from the lake, the suppression list, the ledger
   history, the gates, batching, the adapter's calls, the ``deliveries`` Parquet and the report.
2. **raw calls** (the baseline): the same service calls made directly with boto3, bodies built in advance,
   no deliverer, no lake: ``CreateContact`` per person, ``PublishBatch`` / ``SendMessageBatch`` /
   ``PutEvents`` by tens, one ``PutObject`` of the same CSV, ``SendTextMessage`` per person; for the local
   destination, the same events as JSON lines written through ``LakeFiles.write_bytes``.

The ratio export/raw is what the deliverer and lake I/O add on top of the calls a destination needs anyway.

SQS runs ``--sqs-changes`` (default 2,000) people: moto's SQS recounts the visibility of every message in the
queue on each send, so a send costs O(queue depth) and 10,000 would take tens of minutes of moto alone.
The raw calls go to a queue of their own, starting empty like the export's.
"""

from __future__ import annotations

import argparse
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

import boto3
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from botocore.stub import Stubber
from moto import mock_aws
from rich.console import Console
from rich.table import Table

from benchmarks.batch.__main__ import default_work_root
from benchmarks.machine import REPO, CpuNeighbours, describe_machine
from cdp.activation.audience import audience_csv
from cdp.activation.config import DestinationConfig, SmsConfig
from cdp.activation.models import Change, Contact, MembershipChange, segment_event
from cdp.activation.ports import Destination
from cdp.activation.service import deliver_run
from cdp.activation.wiring import build_destination
from cdp.adapters.aws_sms import SmsDestination
from cdp.lake import part_name
from cdp.lakefs import LakeFiles
from cdp.tables import PROFILES, SEGMENT_MEMBERSHIPS, publish, snapshot_path

DEFAULT_OUTPUT = REPO / "benchmarks" / "results" / "export.json"
REGION = "ap-southeast-1"
RUN = "20260301T000000Z-bench0"
AS_OF = datetime(2026, 3, 1, tzinfo=UTC)
ADAPTERS = ("local", "ses_contact_list", "sns", "sqs", "eventbridge", "s3_audience", "sms")
CONSENT = orjson.dumps(
    {
        p: {"granted": True, "at": "2026-01-01T00:00:00Z", "source": "bench"}
        for p in ("ads", "email", "push", "sms")
    }
).decode()


def people(count: int) -> list[tuple[str, Contact]]:
    return [
        (
            f"p{n:07d}",
            Contact(
                email=f"person{n:07d}@example.co.th",
                phone=f"+6681{n % 10_000_000:07d}",
                first_name="สมชาย",
                user_id=f"u-{n:07d}",
            ),
        )
        for n in range(count)
    ]


def build_lake(root: Path, crowd: Sequence[tuple[str, Contact]], sizes: dict[str, int]) -> LakeFiles:
    files = LakeFiles(root)
    profile_rows = [
        {
            "profile_id": pid,
            "first_name": c.first_name,
            "emails": [c.email],
            "phones": [c.phone],
            "primary_email": c.email,
            "primary_phone": c.phone,
            "user_ids": [c.user_id],
            "consent": CONSENT,
            "updated_at": AS_OF,
            "run_id": RUN,
        }
        for pid, c in crowd
    ]
    memberships = [
        {
            "segment_id": f"bench-{adapter.replace('_', '-')}",
            "profile_id": pid,
            "entered_at": AS_OF,
            "exited_at": None,
            "run_id": RUN,
        }
        for adapter in ADAPTERS
        for pid, _ in crowd[: sizes[adapter]]
    ]
    for table, rows in ((PROFILES, profile_rows), (SEGMENT_MEMBERSHIPS, memberships)):
        data = pa.Table.from_pylist(rows, schema=table.schema)
        directory = snapshot_path(table, RUN)
        files.make_parent(f"{directory}/part-000.parquet")
        pq.write_table(data, files.path(f"{directory}/part-000.parquet"))
        publish(files, table, RUN, data.num_rows)
    for adapter in ADAPTERS:
        segment = f"bench-{adapter.replace('_', '-')}"
        definition = {
            "id": segment,
            "name": segment,
            "destinations": [segment],
            "condition": {"trait": "rfm_score", "eq": "555"},
        }
        files.write_bytes(f"segments/definitions/{segment}.yaml", yaml.safe_dump(definition).encode())
    return files


class Services:
    """The moto resources each destination writes to."""

    def __init__(self) -> None:
        self.ses = boto3.client("sesv2", region_name=REGION)
        self.sns = boto3.client("sns", region_name=REGION)
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.events = boto3.client("events", region_name=REGION)
        self.s3 = boto3.client("s3", region_name=REGION)
        self.ses.create_contact_list(
            ContactListName="bench",
            Topics=[{"TopicName": "vip", "DisplayName": "VIP", "DefaultSubscriptionStatus": "OPT_OUT"}],
        )
        self.ses.create_contact_list(
            ContactListName="raw",
            Topics=[{"TopicName": "vip", "DisplayName": "VIP", "DefaultSubscriptionStatus": "OPT_OUT"}],
        )
        self.topic = self.sns.create_topic(Name="bench")["TopicArn"]
        self.queue = self.sqs.create_queue(QueueName="bench")["QueueUrl"]
        self.raw_queue = self.sqs.create_queue(QueueName="raw")["QueueUrl"]
        self.events.create_event_bus(Name="bench")
        self.s3.create_bucket(
            Bucket="cdp-bench-lake", CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        self.key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]

    def destinations(self) -> list[dict[str, Any]]:
        fast = {"region": REGION, "max_per_second": 100_000}
        configs: dict[str, dict[str, Any]] = {
            "local": {"type": "local", "purpose": "email", "include": ["email"]},
            "ses_contact_list": {"type": "ses_contact_list", "contact_list": "bench", "topic": "vip"},
            "sns": {"type": "sns", "topic_arn": self.topic},
            "sqs": {"type": "sqs", "queue_url": self.queue},
            "eventbridge": {"type": "eventbridge", "event_bus": "bench"},
            "s3_audience": {"type": "s3_audience", "bucket": "cdp-bench-lake", "kms_key_id": self.key},
            "sms": {
                "type": "sms",
                "origination_identity": "phone-0123456789abcdef",
                "templates": {"entered": "สวัสดี {first_name}!"},
            },
        }
        return [
            {"id": f"bench-{name.replace('_', '-')}", **fast, **config} for name, config in configs.items()
        ]


def stubbed_sms(count: int) -> tuple[Any, Stubber]:
    client = boto3.client(
        "pinpoint-sms-voice-v2", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y"
    )
    stubber = Stubber(client)
    for _ in range(count):
        stubber.add_response("send_text_message", {"MessageId": uuid.uuid4().hex})
    stubber.activate()
    return client, stubber


def raw_calls(
    adapter: str, services: Services, files: LakeFiles, crowd: Sequence[tuple[str, Contact]]
) -> tuple[float, int]:
    """Seconds and calls of the same service calls without the deliverer: the request bodies are built
    inside the timed calls (what any sender must do), the changes themselves beforehand."""
    changes = [
        MembershipChange(
            run_id=RUN, segment_id="raw", profile_id=pid, change=Change.ENTERED, occurred_at=AS_OF, contact=c
        )
        for pid, c in crowd
    ]

    def body(index: int) -> str:
        return orjson.dumps(segment_event(changes[index])).decode()

    tens = [list(range(i, min(i + 10, len(changes)))) for i in range(0, len(changes), 10)]
    calls: list[Callable[[], Any]] = []
    if adapter == "local":
        calls = [
            (
                lambda chunk=changes[i : i + 1000]: files.write_bytes(
                    f"exports/raw/run_id={RUN}/{part_name('jsonl')}",
                    b"".join(orjson.dumps(segment_event(change)) + b"\n" for change in chunk),
                )
            )
            for i in range(0, len(changes), 1000)
        ]
    elif adapter == "ses_contact_list":
        calls = [
            (
                lambda e=c.email: services.ses.create_contact(
                    ContactListName="raw",
                    EmailAddress=e,
                    TopicPreferences=[{"TopicName": "vip", "SubscriptionStatus": "OPT_IN"}],
                )
            )
            for _, c in crowd
        ]
    elif adapter == "sns":
        calls = [
            (
                lambda ids=ids: services.sns.publish_batch(
                    TopicArn=services.topic,
                    PublishBatchRequestEntries=[{"Id": str(i), "Message": body(i)} for i in ids],
                )
            )
            for ids in tens
        ]
    elif adapter == "sqs":
        calls = [
            (
                lambda ids=ids: services.sqs.send_message_batch(
                    QueueUrl=services.raw_queue,
                    Entries=[{"Id": str(i), "MessageBody": body(i)} for i in ids],
                )
            )
            for ids in tens
        ]
    elif adapter == "eventbridge":
        calls = [
            (
                lambda ids=ids: services.events.put_events(
                    Entries=[
                        {
                            "Source": "cdp.segments",
                            "DetailType": "segment.entered",
                            "Detail": body(i),
                            "EventBusName": "bench",
                        }
                        for i in ids
                    ]
                )
            )
            for ids in tens
        ]
    elif adapter == "s3_audience":
        calls = [
            lambda: services.s3.put_object(
                Bucket="cdp-bench-lake",
                Key="raw/audience.csv",
                Body=audience_csv(changes),
                ServerSideEncryption="aws:kms",
                SSEKMSKeyId=services.key,
            )
        ]
    elif adapter == "sms":
        client, _ = stubbed_sms(len(crowd))
        calls = [
            (
                lambda p=c.phone: client.send_text_message(
                    DestinationPhoneNumber=p,
                    OriginationIdentity="phone-0123456789abcdef",
                    MessageBody="สวัสดี สมชาย!",
                    MessageType="PROMOTIONAL",
                )
            )
            for _, c in crowd
        ]
    started = time.perf_counter()
    for call in calls:
        call()
    return time.perf_counter() - started, len(calls)


def bench(
    adapter: str, files: LakeFiles, services: Services, crowd: Sequence[tuple[str, Contact]]
) -> dict[str, Any]:
    segment = f"bench-{adapter.replace('_', '-')}"

    def build(config: DestinationConfig) -> Destination:
        if isinstance(config, SmsConfig):
            client, _ = stubbed_sms(len(crowd))
            return SmsDestination(
                origination_identity=config.origination_identity,
                templates=config.templates,
                client=client,
                max_changes_per_second=config.max_per_second,
            )
        return build_destination(config, files)

    started = time.perf_counter()
    report = deliver_run(files, segment, run_id=RUN, build=build)
    seconds = time.perf_counter() - started
    [destination] = report.destinations
    assert destination.sent == len(crowd), (adapter, destination)
    raw_seconds, raw_call_count = raw_calls(adapter, services, files, crowd)
    return {
        "adapter": adapter,
        "changes": len(crowd),
        "export_seconds": round(seconds, 3),
        "deliver_seconds": round(destination.seconds, 3),
        "profiles_per_second": round(len(crowd) / seconds, 1),
        "calls": destination.calls,
        "raw_seconds": round(raw_seconds, 3),
        "raw_calls": raw_call_count,
        "raw_profiles_per_second": round(len(crowd) / raw_seconds, 1),
        "export_over_raw": round(seconds / raw_seconds, 2),
    }


def render(results: dict[str, Any], console: Console) -> None:
    table = Table(
        "adapter",
        "changes",
        "export s",
        "of which delivering",
        "profiles/s",
        "calls",
        "raw s",
        "raw profiles/s",
        "export / raw",
        title="export throughput per adapter (moto in-process; SMS stubbed)",
    )
    for row in results["adapters"]:
        table.add_row(
            row["adapter"],
            f"{row['changes']:,}",
            f"{row['export_seconds']:.2f}",
            f"{row['deliver_seconds']:.2f}",
            f"{row['profiles_per_second']:,.0f}",
            f"{row['calls']:,}",
            f"{row['raw_seconds']:.2f}",
            f"{row['raw_profiles_per_second']:,.0f}",
            f"{row['export_over_raw']:.2f}x",
        )
    console.print(table)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.export", description=__doc__)
    parser.add_argument(
        "--changes", type=int, default=10_000, help="people entering each segment (default 10,000)"
    )
    parser.add_argument(
        "--sqs-changes", type=int, default=2_000, help="people for SQS (moto's SQS is O(depth) per send)"
    )
    parser.add_argument(
        "--adapters", default=",".join(ADAPTERS), help=f"comma-separated subset of {', '.join(ADAPTERS)}"
    )
    parser.add_argument("--work-root", type=Path, default=default_work_root(), help="where the lake goes")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where the JSON results go")
    args = parser.parse_args(argv)
    args.adapters = [name.strip() for name in args.adapters.split(",") if name.strip()]
    unknown = sorted(set(args.adapters) - set(ADAPTERS))
    if unknown:
        parser.error(f"unknown adapter {unknown[0]!r}")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    console = Console(width=170)
    work = Path(mkdtemp(prefix="cdp-bench-export-", dir=args.work_root))
    neighbours = CpuNeighbours()
    started = time.perf_counter()
    try:
        machine = describe_machine(work)
        crowd = people(args.changes)
        sizes = dict.fromkeys(ADAPTERS, args.changes) | {"sqs": min(args.changes, args.sqs_changes)}
        with mock_aws():
            services = Services()
            files = build_lake(work / "lake", crowd, sizes)
            files.write_bytes(
                "exports/destinations.yaml",
                yaml.safe_dump({"destinations": services.destinations()}, allow_unicode=True).encode(),
            )
            rows = []
            for adapter in args.adapters:
                console.print(f"{adapter} …")
                rows.append(bench(adapter, files, services, crowd[: sizes[adapter]]))
        results = {
            "benchmark": "export",
            "finished_at": datetime.now(UTC).isoformat(),
            "machine": machine,
            "changes": args.changes,
            "adapters": rows,
        }
        results["machine"]["other_cpu_share_during_run"] = neighbours.share()
        results["total_seconds"] = round(time.perf_counter() - started, 1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    render(results, console)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n")
    console.print(f"written to {args.output}")


if __name__ == "__main__":
    main()
