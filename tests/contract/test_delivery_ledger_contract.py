"""The DeliveryLedger and DeadLetterQueue contracts: memory, the lake (Parquet, JSON lines), SQS (moto)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import orjson
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from cdp.activation.models import Change, DeadLetter, DeliveryRecord, Outcome
from cdp.activation.ports import DeadLetterQueue, DeliveryLedger
from cdp.adapters.aws_sqs_dead_letters import SqsDeadLetters
from cdp.adapters.lake_deliveries import LakeDeliveryLedger
from cdp.adapters.local_destination import LocalDeadLetters
from cdp.adapters.memory_activation import InMemoryDeadLetters, InMemoryDeliveryLedger
from cdp.lakefs import LakeFiles
from cdp.tables import DELIVERIES

T0 = datetime(2026, 3, 1, tzinfo=UTC)
R1, R2 = "20260301T000000Z-aaaaaa", "20260308T000000Z-bbbbbb"


def row(
    profile_id: str,
    change: Change,
    outcome: Outcome,
    *,
    run_id: str = R1,
    minutes: int = 0,
    segment_id: str = "vip",
    destination_id: str = "newsletter",
) -> DeliveryRecord:
    return DeliveryRecord(
        run_id=run_id,
        segment_id=segment_id,
        destination_id=destination_id,
        profile_id=profile_id,
        change=change,
        outcome=outcome,
        detail="m-1" if outcome is Outcome.SENT else "why",
        attempted_at=T0 + timedelta(minutes=minutes),
    )


@contextmanager
def memory_ledger(_: Path) -> Iterator[DeliveryLedger]:
    yield InMemoryDeliveryLedger()


@contextmanager
def lake_ledger(tmp: Path) -> Iterator[DeliveryLedger]:
    yield LakeDeliveryLedger(LakeFiles(tmp / "lake"))


LEDGERS: dict[str, Callable[[Path], AbstractContextManager[DeliveryLedger]]] = {
    "memory": memory_ledger,
    "lake": lake_ledger,
}


@pytest.fixture(params=sorted(LEDGERS))
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DeliveryLedger]:
    with LEDGERS[request.param](tmp_path) as built:
        yield built


def test_an_empty_ledger_has_no_history(ledger: DeliveryLedger) -> None:
    history = ledger.history(R1, "vip", "newsletter")
    assert (history.sent, history.holders) == (set(), set())


def test_only_sent_changes_of_the_run_count_as_sent(ledger: DeliveryLedger) -> None:
    ledger.record(
        [
            row("p1", Change.ENTERED, Outcome.SENT),
            row("p2", Change.ENTERED, Outcome.FAILED),
            row("p3", Change.ENTERED, Outcome.SKIPPED_CONSENT),
            row("p4", Change.ENTERED, Outcome.SENT, run_id=R2),
            row("p5", Change.ENTERED, Outcome.SENT, destination_id="sms"),
            row("p6", Change.ENTERED, Outcome.SENT, segment_id="lapsed"),
        ]
    )
    ledger.record([row("p2", Change.ENTERED, Outcome.SENT, minutes=5)])  # the retry of p2 succeeded
    assert ledger.history(R1, "vip", "newsletter").sent == {("p1", Change.ENTERED), ("p2", Change.ENTERED)}
    assert ledger.history(R2, "vip", "newsletter").sent == {("p4", Change.ENTERED)}


def test_holders_are_the_profiles_whose_latest_sent_change_is_an_entry(ledger: DeliveryLedger) -> None:
    ledger.record(
        [
            row("p1", Change.ENTERED, Outcome.SENT),
            row("p2", Change.ENTERED, Outcome.SENT),
            row("p3", Change.ENTERED, Outcome.SKIPPED_CONSENT),
        ]
    )
    ledger.record(
        [
            row("p2", Change.EXITED, Outcome.SENT, run_id=R2, minutes=60),
            row("p1", Change.EXITED, Outcome.FAILED, run_id=R2, minutes=60),
        ]
    )
    assert ledger.history(R2, "vip", "newsletter").holders == {"p1"}


def test_the_lake_ledger_is_append_only_parquet_of_the_deliveries_contract(tmp_path: Path) -> None:
    files = LakeFiles(tmp_path / "lake")
    ledger = LakeDeliveryLedger(files)
    ledger.record([row("p1", Change.ENTERED, Outcome.SENT)])
    ledger.record([row("p1", Change.EXITED, Outcome.SENT, run_id=R2, minutes=1)])
    written = files.find(DELIVERIES.prefix, lambda name: name.endswith(".parquet"))
    assert len(written) == 2
    assert written[0].startswith(f"{DELIVERIES.prefix}/vip/newsletter/{R1}/part-")
    assert written[1].startswith(f"{DELIVERIES.prefix}/vip/newsletter/{R2}/part-")
    table = pq.read_table(files.path(written[0]))
    assert table.schema.equals(DELIVERIES.schema)
    assert table.to_pylist()[0]["outcome"] == "sent"
    with pytest.raises(ValueError, match="cannot name a folder"):
        ledger.history(R1, "../etc", "newsletter")


# -- dead letters ------------------------------------------------------------------------------------


def letter(profile_id: str) -> DeadLetter:
    return DeadLetter(
        run_id=R1,
        segment_id="vip",
        destination_id="newsletter",
        profile_id=profile_id,
        change=Change.ENTERED,
        reason="throttled (gave up after 6 attempts)",
        attempts=6,
        failed_at=T0,
    )


class DeadLettersUnderTest:
    def __init__(self, queue: DeadLetterQueue, read: Callable[[], list[dict[str, Any]]]) -> None:
        self.queue, self.read = queue, read


@contextmanager
def memory_dead_letters(_: Path) -> Iterator[DeadLettersUnderTest]:
    queue = InMemoryDeadLetters()
    yield DeadLettersUnderTest(queue, lambda: [item.document() for item in queue.letters])


@contextmanager
def local_dead_letters(tmp: Path) -> Iterator[DeadLettersUnderTest]:
    queue = LocalDeadLetters(LakeFiles(tmp / "lake"))
    yield DeadLettersUnderTest(queue, queue.letters)


@contextmanager
def sqs_dead_letters(_: Path) -> Iterator[DeadLettersUnderTest]:
    with mock_aws():
        sqs = boto3.client("sqs", region_name="ap-southeast-1")
        url = sqs.create_queue(QueueName="cdp-test-export-dead-letters")["QueueUrl"]

        def read() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = []
            while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
                found.extend(orjson.loads(message["Body"]) for message in batch)
                for message in batch:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            return found

        yield DeadLettersUnderTest(SqsDeadLetters(queue_url=url, client=sqs), read)


DEAD_LETTERS: dict[str, Callable[[Path], AbstractContextManager[DeadLettersUnderTest]]] = {
    "memory": memory_dead_letters,
    "local-lake": local_dead_letters,
    "sqs-moto": sqs_dead_letters,
}


@pytest.fixture(params=sorted(DEAD_LETTERS))
def dead_letters(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[DeadLettersUnderTest]:
    with DEAD_LETTERS[request.param](tmp_path) as built:
        yield built


def test_every_dead_letter_is_kept_with_its_ids_and_reason(dead_letters: DeadLettersUnderTest) -> None:
    dead_letters.queue.send([letter(f"p{n:02d}") for n in range(23)])  # more than one SQS batch
    stored = sorted(dead_letters.read(), key=lambda item: item["profile_id"])
    assert [item["profile_id"] for item in stored] == [f"p{n:02d}" for n in range(23)]
    assert stored[0] == {
        "run_id": R1,
        "segment_id": "vip",
        "destination_id": "newsletter",
        "profile_id": "p00",
        "change": "entered",
        "reason": "throttled (gave up after 6 attempts)",
        "attempts": 6,
        "failed_at": "2026-03-01T00:00:00.000Z",
    }
