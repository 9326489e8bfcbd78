"""Pipeline step ``export``: the run's membership changes → every activated segment's destinations (SPEC 8).

Not an engine step (no SQL): for each segment whose definition lists destinations it calls
:func:`cdp.activation.service.deliver_run` for the run that just evaluated the segments, exactly what
``cdp export SEGMENT_ID --run-id R`` does. On AWS the orchestrator invokes the export function
(``lambdas/export``) once per segment instead, with ``{"segment_id": …, "run_id": …}``.

Failed deliveries do not fail the step: they are recorded ``failed`` in ``deliveries``, dead-lettered and
counted in the step's guards (``failed``), and a re-run of the step retries exactly them.
"""

from __future__ import annotations

import time

from cdp.activation.config import ActivationSettings
from cdp.activation.lake import activated_segments
from cdp.activation.service import deliver_run, segments_to_export
from cdp.lakefs import LakeFiles
from cdp.pipeline.standardize import StepReport


def export_step(
    files: LakeFiles,
    *,
    run_id: str,
    engine: str,
    deltas_of: str | None = None,
    settings: ActivationSettings | None = None,
) -> StepReport:
    """Deliver every activated segment; ``deltas_of`` is the run whose membership changes are delivered
    (the pipeline passes its own run id when it evaluated the segments; ``None``: the published
    memberships' run, for ``cdp run --steps export`` alone)."""
    started = time.perf_counter()
    guards = {
        "segments": 0,
        "skipped_consent": 0,
        "suppressed": 0,
        "skipped_no_contact": 0,
        "failed": 0,
        "already_sent": 0,
    }
    sent = 0
    for segment_id in activated_segments(files):
        report = deliver_run(files, segment_id, run_id=deltas_of, settings=settings)
        guards["segments"] += 1
        for destination in report.destinations:
            sent += destination.sent
            for name in ("skipped_consent", "suppressed", "skipped_no_contact", "failed", "already_sent"):
                guards[name] += getattr(destination, name)
    return StepReport(
        step="export",
        run_id=run_id,
        engine=engine,
        rows={"deliveries_sent": sent},
        seconds=time.perf_counter() - started,
        guards=guards,
    )


def check_export_config(files: LakeFiles) -> None:
    """Fail before any step runs when an activated segment names a destination ``destinations.yaml`` does
    not define, or the file or the suppression list is invalid: otherwise the segments step would publish
    deltas that the export then cannot deliver (``cdp export SEGMENT --run-id`` would be the only way).
    The same check the export function makes when the orchestrator asks it which segments to export."""
    segments_to_export(files)
