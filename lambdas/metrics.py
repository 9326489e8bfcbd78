"""The Powertools metrics every handler emits: namespace ``CDP``, dimensions ``service`` and ``stage``.

One place for what the five handlers would otherwise each repeat: ``infra/`` sets ``CDP_STAGE`` on every
function of a stage (``infra.components.operations.StageDimension``), so dev and prod metrics stay apart
in one account and the stage's dashboard reads its own; without it (``cdp serve``, tests) the stage is
``local``. The names match the Glue steps' (``cdp.pipeline.metrics``), which this module does not import:
the ingest function must not load pyarrow on a cold start.

``POWERTOOLS_METRICS_DISABLED`` is honoured before anything is added, not only at flush: Powertools keeps
accumulating (and every 100 values prints) metrics even when disabled.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from aws_lambda_powertools import Metrics

NAMESPACE = "CDP"
STAGE_VARIABLE = "CDP_STAGE"
LOCAL_STAGE = "local"


def metrics_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get("POWERTOOLS_METRICS_DISABLED", "").strip().lower() not in ("1", "true")


def handler_metrics(service: str, environ: Mapping[str, str] = os.environ) -> Metrics:
    """The handler's ``Metrics``, with ``stage`` as a default dimension (kept across flushes)."""
    metrics = Metrics(namespace=NAMESPACE, service=service)
    metrics.set_default_dimensions(stage=environ.get(STAGE_VARIABLE) or LOCAL_STAGE)
    return metrics
