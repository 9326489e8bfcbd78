"""The AWS :class:`~cdp.activation.ports.DeadLetterQueue`: failed changes as JSON messages on an SQS queue.

Each message is :meth:`cdp.activation.models.DeadLetter.document` (ids, reason, attempts: no e-mail or
phone), sent with ``SendMessageBatch`` (≤ 10 per call) and message attributes ``destination_id`` and
``segment_id``. The queue is KMS-encrypted and alarmed (``infra/components/activation.py``); an operator
reads it, fixes the cause and re-runs ``cdp export`` (or the export function) for the run: the ledger still
has those changes as ``failed``, so exactly they are tried again.

Entries SQS refuses are resent a few times; if some still cannot be queued the call raises, and the export
fails loudly (their ``failed`` rows are already in the ledger, so nothing is lost).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from cdp.activation.models import DeadLetter
from cdp.activation.ports import DeliveryError
from cdp.adapters.aws_activation import LazyClient, translated


class SqsDeadLetters:
    def __init__(
        self,
        *,
        queue_url: str,
        client: Any = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        retry_delays: Sequence[float] = (0.2, 1.0, 3.0),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._queue_url = queue_url
        self._client = LazyClient("sqs", client=client, region=region, endpoint_url=endpoint_url)
        self._retry_delays = tuple(retry_delays)
        self._sleep = sleep

    def send(self, letters: Sequence[DeadLetter]) -> None:
        for start in range(0, len(letters), 10):
            self._send_batch(list(letters[start : start + 10]))

    def _send_batch(self, letters: list[DeadLetter]) -> None:
        pending = {str(index): letter for index, letter in enumerate(letters)}
        for delay in (*self._retry_delays, None):
            entries = [
                {
                    "Id": key,
                    "MessageBody": orjson.dumps(letter.document()).decode(),
                    "MessageAttributes": {
                        "destination_id": {"DataType": "String", "StringValue": letter.destination_id},
                        "segment_id": {"DataType": "String", "StringValue": letter.segment_id},
                    },
                }
                for key, letter in pending.items()
            ]
            try:
                with translated(f"sqs SendMessageBatch {self._queue_url}"):
                    response = self._client().send_message_batch(QueueUrl=self._queue_url, Entries=entries)
            except DeliveryError:
                if delay is None:
                    raise
                self._sleep(delay)
                continue
            failed = {entry["Id"] for entry in response.get("Failed", [])}
            pending = {key: letter for key, letter in pending.items() if key in failed}
            if not pending:
                return
            if delay is not None:
                self._sleep(delay)
        raise DeliveryError(
            f"dead-letter queue {self._queue_url}: {len(pending)} letters could not be queued"
        )
