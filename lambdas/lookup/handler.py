"""Lookup Lambda: HTTP API (payload v2) → :class:`cdp.lookup.service.ProfileLookupService`.

Thin by design (STYLE 1): read the route from the event, call the service, shape the response.

* ``GET /v1/profiles/{profile_id}`` → the profile document;
* ``GET /v1/profiles?email=…|phone=…|user_id=…|anonymous_id=…`` (exactly one) → the profile holding it.

Authorization happens before this function runs: on AWS the routes use the ``AWS_IAM`` authorizer (callers
sign with SigV4; API Gateway refuses unsigned or unauthorized requests with 403 and never invokes the
function), and ``cdp serve`` checks its ``x-api-key`` the same way, before the handler. So the handler
requires nothing itself; it logs who asked (the caller's IAM ARN, from the request context) and what kind
of lookup it was, never the identifier or the profile: lookups of personal data are audited, not copied
into logs. ``cdp serve`` calls this same ``lambda_handler`` with events built from local requests.

Cold start: no boto3 (the DynamoDB adapter makes its client on the first lookup) and no pyarrow.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext

from cdp.lookup.service import LookupResponse, ProfileLookupService
from cdp.lookup_wiring import LookupSettings, build_lookup_service
from lambdas.metrics import handler_metrics, metrics_enabled

logger = Logger(service="cdp-lookup")
metrics = handler_metrics("cdp-lookup")
_METRICS_ON = metrics_enabled()
COLLECTION = "/v1/profiles"
_ITEM_PREFIX = COLLECTION + "/"

_service: ProfileLookupService | None = None


def service() -> ProfileLookupService:
    """Built on first use from the environment, then kept for the life of the execution environment."""
    global _service
    if _service is None:
        _service = build_lookup_service(LookupSettings.from_env(os.environ))
    return _service


def use_service(replacement: ProfileLookupService | None) -> None:
    """Swap the wired service (tests, benchmarks and ``cdp serve`` wire their own)."""
    global _service
    _service = replacement


def _route(event: APIGatewayProxyEventV2) -> tuple[str, LookupResponse | None]:
    path = event.get("rawPath") or ""
    if event.request_context.http.method == "GET":
        if path == COLLECTION:
            return "by_identifier", service().by_identifier(event.get("rawQueryString") or "")
        profile_id = path.removeprefix(_ITEM_PREFIX) if path.startswith(_ITEM_PREFIX) else ""
        if profile_id and "/" not in profile_id:
            return "by_id", service().by_id(profile_id)
    return "none", None


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.set_correlation_id(event.get("requestContext", {}).get("requestId"))
    request = APIGatewayProxyEventV2(event)
    route, response = _route(request)
    status = response.status if response else 404
    outcome = response.outcome if response else "no_route"
    caller = request.request_context.authorizer.iam.user_arn or None
    logger.info(
        "profile lookup",
        extra={
            "route": route,
            "status": status,
            "outcome": outcome,
            "caller": caller,
            "function_request_id": context.aws_request_id,
        },
    )
    if _METRICS_ON:
        metrics.add_dimension(name="outcome", value=outcome)
        metrics.add_metric(name="ProfileLookups", unit=MetricUnit.Count, value=1)
        metrics.flush_metrics()
    if response is None:
        return _http(404, b'{"code":"not_found","message":"no such route"}', {})
    return _http(response.status, response.body, response.headers)


def _http(status: int, body: bytes, headers: Any) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **headers},
        "body": body.decode("utf-8"),
        "isBase64Encoded": False,
    }
