"""Import Lambda: S3 "Object Created" events for ``landing/{source}/…`` (via EventBridge) → LandingImporter.

Thin by design (STYLE 1): read the event with the Powertools data class, hand the upload to
:meth:`cdp.imports.landing.LandingImporter.handle`, log and count what happened. The importer decides the
rest: small files are imported here, large ones start the Glue import job; a file that cannot be imported
as it is (bad mapping, unreadable file) is recorded under ``quarantine/import_failures/`` and the
invocation *succeeds*, because retrying cannot fix it. Anything else raises: EventBridge invokes
asynchronously, so Lambda retries twice and then sends the event to the function's dead-letter queue.

Redelivery is harmless: the import id is the file's content hash, and an upload already imported has been
removed from ``landing/`` (a second delivery finds it gone).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import S3EventBridgeNotificationEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from cdp.import_wiring import UploadPathSettings, build_landing_importer
from cdp.imports.landing import LandedFile, LandingImporter
from lambdas.metrics import handler_metrics, metrics_enabled

logger = Logger(service="cdp-import")
metrics = handler_metrics("cdp-import")
_METRICS_ON = metrics_enabled()

_importer: LandingImporter | None = None


def importer() -> LandingImporter:
    """Built on first use from the environment, then kept for the life of the execution environment."""
    global _importer
    if _importer is None:
        _importer = build_landing_importer(UploadPathSettings.from_env(os.environ))
    return _importer


def use_importer(replacement: LandingImporter | None) -> None:
    """Swap the wired importer (tests wire their own clients)."""
    global _importer
    _importer = replacement


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    notification = S3EventBridgeNotificationEvent(event)
    uploaded = notification.detail.object
    landed = LandedFile(key=uploaded.key, size=uploaded.size, version_id=uploaded.get("version-id"))
    outcome = importer().handle(landed)
    fields = outcome.log_fields()
    if outcome.status == "failed":
        logger.warning("upload not imported", extra=fields)
    else:
        logger.info("upload handled", extra=fields)
    if _METRICS_ON:
        metrics.add_dimension(name="outcome", value=outcome.status)
        metrics.add_metric(name="Uploads", unit=MetricUnit.Count, value=1)
        if outcome.report is not None and outcome.status == "imported":
            metrics.add_metric(name="RowsAccepted", unit=MetricUnit.Count, value=outcome.report.rows_accepted)
            metrics.add_metric(name="RowsRejected", unit=MetricUnit.Count, value=outcome.report.rows_rejected)
        metrics.flush_metrics()
    return fields
