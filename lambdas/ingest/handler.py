"""Ingest Lambda: API Gateway HTTP API (payload v2) → :class:`cdp.ingestion.service.IngestionService`.

Thin by design (STYLE 1): parse the event, call the domain, shape the response. ``cdp serve`` calls this
same ``lambda_handler`` with events it builds from local HTTP requests.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from typing import Any

import orjson
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from cdp.ingestion.service import IngestionService, IngestRequest
from cdp.settings import IngestionSettings
from cdp.wiring import build_ingestion_service

logger = Logger(service="cdp-ingest")
metrics = Metrics(namespace="CDP", service="cdp-ingest")
app = APIGatewayHttpResolver(serializer=lambda body: orjson.dumps(body).decode())

_service: IngestionService | None = None


def service() -> IngestionService:
    """Built on first use from the environment, then kept for the life of the execution environment."""
    global _service
    if _service is None:
        _service = build_ingestion_service(IngestionSettings.from_env(os.environ))
    return _service


def use_service(replacement: IngestionService | None) -> None:
    """Swap the wired service (tests and ``cdp serve`` wire their own)."""
    global _service
    _service = replacement


@app.post("/v1/<call>")
def ingest(call: str) -> Response[str]:
    event = app.current_event
    raw = event.body or ""
    try:
        body = base64.b64decode(raw) if event.is_base64_encoded else raw.encode("utf-8", "surrogatepass")
    except (binascii.Error, ValueError):
        return _json_response(400, {"code": "invalid_body", "message": "body is not valid base64"})
    result = service().handle(IngestRequest(call=call, body=body, headers=event.headers or {}))
    accepted = result.body.get("accepted", 0) if result.status == 200 else 0
    metrics.add_metric(name="EventsAccepted", unit=MetricUnit.Count, value=accepted)
    metrics.add_metric(
        name="EventsRejected", unit=MetricUnit.Count, value=len(result.body.get("rejected", []))
    )
    if result.status >= 400:
        logger.info("request refused", extra={"status": result.status, "code": result.body.get("code")})
    return _json_response(result.status, result.body, result.headers)


@app.not_found
def not_found(_: Exception) -> Response[str]:
    return _json_response(404, {"code": "not_found", "message": "no such route"})


def _json_response(
    status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=orjson.dumps(body).decode(),
        headers=dict(headers or {}),
    )


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
