"""``deliver_run``: one segment's deltas of one run, delivered to the segment's destinations;
``segments_to_export``: which segments those are, once the activation config has been checked.

What ``cdp export SEGMENT_ID``, the pipeline's ``export`` step (:mod:`cdp.pipeline.export`) and the export
Lambda (``lambdas/export``) call. Everything is read and validated before the first destination is
called: the segment's definition, ``segments/destinations.yaml``, the run's membership snapshot, the
people's contact fields, the suppression list. A bad file fails the export with nothing sent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from cdp.activation.config import (
    DESTINATIONS_PATH,
    ActivationSettings,
    DestinationConfig,
    load_destinations,
)
from cdp.activation.deliver import ActivationTarget, Deliverer, ExportReport, RetryPolicy
from cdp.activation.errors import ActivationInputError
from cdp.activation.lake import (
    activated_segments,
    check_segment_id,
    load_suppression,
    membership_deltas,
    profile_contacts,
    published_membership_run,
    segment_destination_ids,
)
from cdp.activation.ports import DeadLetterQueue, DeliveryLedger, Destination
from cdp.activation.wiring import build_dead_letters, build_destination, build_ledger
from cdp.lakefs import LakeFiles


def segments_to_export(files: LakeFiles) -> list[str]:
    """The activated segments (a definition listing destinations), by id, after checking what every export
    will read: ``segments/destinations.yaml``, the suppression list, and that each activated segment names
    only destinations the file defines. A bad file fails here, before any segment is delivered."""
    configs = load_destinations(files)
    load_suppression(files)
    segment_ids = activated_segments(files)
    for segment_id in segment_ids:
        unknown = [name for name in segment_destination_ids(files, segment_id) if name not in configs]
        if unknown:
            raise ActivationInputError(
                f"segment {segment_id!r} names destination {unknown[0]!r}, which {DESTINATIONS_PATH} "
                f"does not define (it has: {', '.join(sorted(configs)) or 'none'})"
            )
    return segment_ids


def deliver_run(
    files: LakeFiles,
    segment_id: str,
    *,
    run_id: str | None = None,
    settings: ActivationSettings | None = None,
    destinations: Mapping[str, DestinationConfig] | None = None,
    build: Callable[[DestinationConfig], Destination] | None = None,
    ledger: DeliveryLedger | None = None,
    dead_letters: DeadLetterQueue | None = None,
    sleep: Callable[[float], None] = time.sleep,
    deadline: float | None = None,
) -> ExportReport:
    """Deliver run ``run_id``'s changes of ``segment_id`` (default: the published memberships' run).

    ``destinations`` (default: the lake's ``segments/destinations.yaml``), ``build`` (default: the adapters
    of :mod:`cdp.activation.wiring`), ``ledger`` and ``dead_letters`` may be given by tests and benchmarks;
    ``deadline`` is a ``time.monotonic()`` value after which no new call starts (``complete=False``).
    """
    settings = settings or ActivationSettings()
    check_segment_id(segment_id)
    wanted = segment_destination_ids(files, segment_id)
    configs = load_destinations(files) if destinations is None else destinations
    unknown = [destination for destination in wanted if destination not in configs]
    if unknown:
        raise ActivationInputError(
            f"segment {segment_id!r} names destination {unknown[0]!r}, which segments/destinations.yaml "
            f"does not define (it has: {', '.join(sorted(configs)) or 'none'})"
        )
    run_id = run_id or published_membership_run(files)
    deltas = membership_deltas(files, segment_id, run_id)
    people = profile_contacts(files, {delta.profile_id for delta in deltas})
    suppression = load_suppression(files)
    make = build or (lambda config: build_destination(config, files))
    targets = [
        ActivationTarget(
            destination_id=configs[name].id,
            kind=configs[name].type,
            purpose=configs[name].consent_purpose,
            destination=make(configs[name]),
        )
        for name in wanted
    ]
    deliverer = Deliverer(
        ledger=ledger or build_ledger(files),
        dead_letters=dead_letters or build_dead_letters(settings, files),
        retry=RetryPolicy(
            max_attempts=settings.max_attempts,
            base_delay=settings.base_delay_seconds,
            max_delay=settings.max_delay_seconds,
        ),
        sleep=sleep,
    )
    return deliverer.deliver(
        run_id=run_id,
        segment_id=segment_id,
        deltas=deltas,
        people=people,
        targets=targets,
        suppression=suppression,
        deadline=deadline,
    )
