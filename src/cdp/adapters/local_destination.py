"""Embedded-mode activation adapters (SPEC 2): what a destination would receive, recorded in the lake.

- :class:`LocalDestination` (type ``local``): each call writes one JSON-lines file under
  ``exports/<destination_id>/run_id=<run_id>/``, one :func:`~cdp.activation.models.segment_event` per line
  with the contact fields the destination config includes. The message id is the event id.
- :class:`LocalDeadLetters`: dead letters as JSON lines under ``exports/dead_letters/run_id=<run_id>/``;
  the SQS dead-letter queue's stand-in, readable with any JSON-lines tool.

Files are written whole (temp + rename), so a reader never sees half a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from cdp.activation.models import (
    Change,
    ContactField,
    DeadLetter,
    DeliveryOutcome,
    DestinationLimits,
    MembershipChange,
    segment_event,
)
from cdp.lake import part_name
from cdp.lakefs import LakeFiles

DEAD_LETTERS = "exports/dead_letters"


def local_folder(destination_id: str, run_id: str) -> str:
    return f"exports/{destination_id}/run_id={run_id}"


class LocalDestination:
    def __init__(
        self,
        files: LakeFiles,
        destination_id: str,
        *,
        include: Iterable[ContactField] = (),
        needs_any: Iterable[ContactField] = (),
        acts_on: Iterable[Change] = tuple(Change),
        max_batch_size: int = 1000,
        max_changes_per_second: float | None = None,
    ) -> None:
        self._files = files
        self._destination_id = destination_id
        self._include = frozenset(include)
        self.needs_any = frozenset(needs_any)
        self.acts_on = frozenset(acts_on)
        self.limits = DestinationLimits(max_batch_size, max_changes_per_second)

    def deliver(self, changes: Sequence[MembershipChange]) -> list[DeliveryOutcome]:
        if not changes:
            return []
        if self.limits.max_batch_size is not None and len(changes) > self.limits.max_batch_size:
            raise ValueError(f"{len(changes)} changes exceed the batch limit {self.limits.max_batch_size}")
        by_run: dict[str, list[MembershipChange]] = {}
        for change in changes:
            by_run.setdefault(change.run_id, []).append(change)
        for run_id, group in by_run.items():
            lines = b"".join(orjson.dumps(segment_event(change, self._include)) + b"\n" for change in group)
            self._files.write_bytes(
                f"{local_folder(self._destination_id, run_id)}/{part_name('jsonl')}", lines
            )
        return [DeliveryOutcome.delivered(change, change.event_id) for change in changes]

    def recorded(self, run_id: str | None = None) -> list[dict[str, Any]]:
        """Every event recorded (for one run, or all), oldest file first."""
        prefix = local_folder(self._destination_id, run_id) if run_id else f"exports/{self._destination_id}"
        return list(_json_lines(self._files, prefix))


class LocalDeadLetters:
    def __init__(self, files: LakeFiles) -> None:
        self._files = files

    def send(self, letters: Sequence[DeadLetter]) -> None:
        by_run: dict[str, list[DeadLetter]] = {}
        for letter in letters:
            by_run.setdefault(letter.run_id, []).append(letter)
        for run_id, group in by_run.items():
            lines = b"".join(orjson.dumps(letter.document()) + b"\n" for letter in group)
            self._files.write_bytes(f"{DEAD_LETTERS}/run_id={run_id}/{part_name('jsonl')}", lines)

    def letters(self) -> list[dict[str, Any]]:
        return list(_json_lines(self._files, DEAD_LETTERS))


def _json_lines(files: LakeFiles, prefix: str) -> Iterable[dict[str, Any]]:
    for name in files.find(prefix, lambda name: name.endswith(".jsonl")):
        data = files.read_bytes(name) or b""
        for line in data.splitlines():
            if line.strip():
                yield orjson.loads(line)
