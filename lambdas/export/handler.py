"""Export Lambda: one segment's membership changes of one run → its destinations (pipeline step ``export``).

Invoked synchronously by the orchestrator, once per activated segment, with
``{"segment_id": "vip", "run_id": "<run>"}`` (``run_id`` optional: the published memberships' run).
Thin (STYLE 1): parse the request, call :func:`cdp.activation.service.deliver_run` on the lake bucket,
answer the delivery report.

Before the first segment the orchestrator asks which segments to export, with
``{"action": "list_activated_segments"}``: the answer is ``{"segment_ids": [...]}`` (segments whose
definition lists destinations), after the destinations file, the suppression list and every activated
segment's destinations were checked, so a bad file fails the run before anything is delivered
(:func:`cdp.activation.service.segments_to_export`, the check ``cdp run`` makes before its steps).

SES contact lists take about one change per second, so a large segment may not fit one invocation: no new
call starts in the last minute of the function's time, the answer then says ``"complete": false``, and the
orchestrator invokes again with the same run id. Nothing is sent twice (the ``deliveries`` ledger), so it
simply repeats until ``complete`` is true. Changes that failed after every attempt are in the SQS
dead-letter queue (``CDP_DEAD_LETTER_QUEUE_URL``), which is alarmed.

Metrics (Powertools, namespace ``CDP``): ``Deliveries`` per invocation with the dimension ``outcome`` (sent,
skipped_consent, suppressed, skipped_no_contact, failed, already_sent), summed over the segment's
destinations: the dashboard's "deliveries by outcome".
"""

from __future__ import annotations

import os
import time
from typing import Any, Literal

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from cdp.activation.config import ActivationSettings
from cdp.activation.deliver import ExportReport
from cdp.activation.service import deliver_run, segments_to_export
from cdp.lakefs import LakeFiles
from lambdas.metrics import handler_metrics, metrics_enabled

logger = Logger(service="cdp-export")
metrics = handler_metrics("cdp-export")
_METRICS_ON = metrics_enabled()
#: the outcomes of :class:`cdp.activation.deliver.DestinationReport` counted as ``Deliveries``
DELIVERY_OUTCOMES = ("sent", "skipped_consent", "suppressed", "skipped_no_contact", "failed", "already_sent")
#: no new call starts this long before the function's timeout
SAFETY_MARGIN_SECONDS = 60.0

_settings: ActivationSettings | None = None


class ExportRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    segment_id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    run_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


class SegmentsToExportRequest(BaseModel):
    """The orchestrator's question before the exports: which segments are activated?"""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Literal["list_activated_segments"]


def settings() -> ActivationSettings:
    global _settings
    if _settings is None:
        _settings = ActivationSettings.from_env(os.environ)
    return _settings


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "action" in event:
        SegmentsToExportRequest.model_validate(event)
        segment_ids = segments_to_export(LakeFiles(settings().lake_uri))
        logger.info("activated segments listed", extra={"segment_ids": segment_ids})
        return {"segment_ids": segment_ids}
    request = ExportRequest.model_validate(event)
    remaining = context.get_remaining_time_in_millis() / 1000
    report = deliver_run(
        LakeFiles(settings().lake_uri),
        request.segment_id,
        run_id=request.run_id,
        settings=settings(),
        deadline=time.monotonic() + max(0.0, remaining - SAFETY_MARGIN_SECONDS),
    )
    result = report.document()
    summary = {key: result[key] for key in ("segment_id", "run_id", "changes", "sent", "failed", "complete")}
    logger.info("segment delivered" if report.complete else "segment delivery paused", extra=summary)
    if _METRICS_ON:
        count_deliveries(report)
    return result


def count_deliveries(report: ExportReport) -> None:
    """One ``Deliveries`` value per outcome (zeros too, so the dashboard's lines do not break)."""
    for outcome in DELIVERY_OUTCOMES:
        metrics.add_dimension(name="outcome", value=outcome)
        delivered = sum(getattr(destination, outcome) for destination in report.destinations)
        metrics.add_metric(name="Deliveries", unit=MetricUnit.Count, value=delivered)
        metrics.flush_metrics()  # one EMF document per dimension set
