"""The local-lake :class:`~cdp.ingestion.ports.EventSink`: JSON lines under ``raw/events/dt=…/``.

One file per call, written atomically, mirroring what Firehose delivers on AWS (JSON lines, date partitions
in the business time zone).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from cdp.ingestion.ports import SinkUnavailableError
from cdp.ingestion.records import QuarantinedEvent, RawEventRecord
from cdp.lake import QUARANTINE_EVENTS, RAW_EVENTS, LocalLake, part_name


class LocalLakeEventSink:
    def __init__(self, lake: LocalLake) -> None:
        self._lake = lake

    def write_events(self, records: Sequence[RawEventRecord]) -> None:
        self._write(RAW_EVENTS, records)

    def write_rejections(self, rejections: Sequence[QuarantinedEvent]) -> None:
        self._write(QUARANTINE_EVENTS, rejections)

    def _write(self, zone: str, records: Sequence[Mapping[str, Any]]) -> None:
        by_partition: dict[str, list[bytes]] = defaultdict(list)
        for record in records:
            line = {key: value for key, value in record.items() if key != "dt"}
            by_partition[record["dt"]].append(orjson.dumps(line))
        try:
            for dt, lines in by_partition.items():
                self._lake.write_atomic(f"{zone}/dt={dt}/{part_name('jsonl')}", b"\n".join(lines) + b"\n")
        except OSError as error:
            raise SinkUnavailableError(f"local lake write failed: {error}") from error
