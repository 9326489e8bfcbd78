"""Lookup loader Lambda: the lake's current profiles → the DynamoDB lookup table (pipeline step ``lookup``).

Invoked synchronously by the orchestrator after the profiles and segments steps, with
``{"lake_bucket": "<bucket>"}``; answers the load report. Thin (STYLE 1): parse the request, call
:func:`cdp.pipeline.lookup.refresh_lookup` with the DynamoDB store, return what it did.

The 15-minute limit: the load stops starting new batches a minute before the function's time runs out and
answers ``"complete": false``. Nothing is deleted then, and what was written stays written, so the
orchestrator simply invokes again until ``complete`` is true: each run skips the profiles already loaded
(their digests match). A steady-state run (a few percent of profiles changed) finishes in one invocation;
docs/lookup.md ("Loading") has the measured numbers and the estimate for a first load of a million.

Metrics (Powertools, namespace ``CDP``): ``LookupProfiles`` (profiles in the loaded snapshot),
``ProfilesWritten`` and ``ProfilesDeleted`` (what this invocation changed in the table).
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import asdict
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from cdp.lakefs import LakeFiles
from cdp.lookup_wiring import LoadRequest, LookupSettings, build_profile_store
from cdp.pipeline.lookup import refresh_lookup
from lambdas.metrics import handler_metrics, metrics_enabled

logger = Logger(service="cdp-lookup-loader")
metrics = handler_metrics("cdp-lookup-loader")
_METRICS_ON = metrics_enabled()
#: stop starting batches this long before the function's timeout
SAFETY_MARGIN_SECONDS = 60.0

_settings: LookupSettings | None = None


def settings() -> LookupSettings:
    global _settings
    if _settings is None:
        _settings = LookupSettings.from_env(os.environ)
    return _settings


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = LoadRequest.model_validate(event)
    lake = LakeFiles(request.lake_uri(settings()))
    remaining = context.get_remaining_time_in_millis() / 1000
    report = refresh_lookup(
        lake,
        build_profile_store(settings(), loading=True),
        deadline=time.monotonic() + max(0.0, remaining - SAFETY_MARGIN_SECONDS),
        scratch_dir=tempfile.gettempdir(),
    )
    result = {**asdict(report), "profiles_per_second": round(report.profiles_per_second, 1)}
    logger.info("lookup table refreshed" if report.complete else "lookup load paused", extra=result)
    if _METRICS_ON:
        metrics.add_metric(name="LookupProfiles", unit=MetricUnit.Count, value=report.profiles)
        metrics.add_metric(name="ProfilesWritten", unit=MetricUnit.Count, value=report.loaded)
        metrics.add_metric(name="ProfilesDeleted", unit=MetricUnit.Count, value=report.deleted)
        metrics.flush_metrics()
    return result
