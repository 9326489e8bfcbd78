"""Privacy Lambdas (SPEC 9): the IAM-authorized API and its worker, two functions of one module.

Thin (STYLE 1): parse, call :mod:`cdp.privacy.requests`, shape the answer. The API and the worker are separate
functions because an HTTP API ends a call after 30 s while an access request or an erasure reads the whole
lake, and because erasures run one at a time (the worker's reserved concurrency 1) while the API must keep
answering (:mod:`cdp.privacy.requests` has the flow).

``api_handler`` (HTTP API payload v2; API Gateway has checked the caller's SigV4 signature and
``execute-api:Invoke`` before this runs):

* ``POST /v1/privacy/access`` and ``POST /v1/privacy/erasure`` with ``{"email"?, "phone"?, "user_id"?,
  "request_id"?}`` → ``202`` and the request's status (``request_id``: poll it); ``400`` with
  ``{"code", "message"}`` for a body that names nobody or is not JSON;
* ``GET /v1/privacy/requests/{request_id}`` → the status: ``accepted``, ``running``, ``done`` (with the
  access document's key, or the erasure report) or ``failed`` (with the reason); ``404`` when unknown.

``worker_handler`` (asynchronous invocations from the API: ``{"action", "request_id"}``) runs the request
with :func:`cdp.privacy.wiring.aws_privacy_service`; from the weekly schedule, ``{"action": "retention"}``
runs retention and records it in ``privacy/retention/<run id>.json``. Logs name the caller, the route and the
request id (or the retention run and its counts), never an identifier: requests about people are audited,
not copied into logs.
"""

from __future__ import annotations

import base64
import os
from typing import Any

import orjson
from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext

from cdp.privacy.requests import (
    InvalidPrivacyRequestError,
    JobDispatcher,
    PrivacyAction,
    PrivacyRunner,
    PrivacySettings,
    RequestAction,
    RequestStore,
    RetentionJob,
    parse_body,
    parse_job,
    run_job,
    run_retention_job,
    status_of,
    submit,
)

logger = Logger(service="cdp-privacy")
ROUTES: dict[str, RequestAction] = {
    "/v1/privacy/access": PrivacyAction.access,
    "/v1/privacy/erasure": PrivacyAction.erasure,
}
STATUS_PREFIX = "/v1/privacy/requests/"

_settings: PrivacySettings | None = None
_api: tuple[RequestStore, JobDispatcher] | None = None
_worker: tuple[RequestStore, PrivacyRunner] | None = None


def settings() -> PrivacySettings:
    global _settings
    if _settings is None:
        _settings = PrivacySettings.from_env(os.environ)
    return _settings


def api_wiring() -> tuple[RequestStore, JobDispatcher]:
    """The lake bucket's request documents and the worker function, built on first use."""
    global _api
    if _api is None:
        from cdp.adapters.aws_privacy_requests import LambdaJobDispatcher, S3RequestStore

        worker = settings().worker_function
        if not worker:
            raise RuntimeError("CDP_PRIVACY_WORKER is not set: the API has no worker to hand requests to")
        _api = (S3RequestStore(settings().lake_bucket), LambdaJobDispatcher(worker))
    return _api


def worker_wiring() -> tuple[RequestStore, PrivacyRunner]:
    """The lake (its pseudonymized zone mounted), the lookup table, the contact lists and the salt."""
    global _worker
    if _worker is None:
        from cdp.adapters.aws_secrets import read_salt
        from cdp.privacy.requests import LakeRequestStore
        from cdp.privacy.wiring import aws_privacy_service

        config = settings()
        if not config.salt_secret_arn:
            raise RuntimeError("CDP_SALT_SECRET_ARN is not set: the worker cannot match pseudonymized rows")
        service = aws_privacy_service(
            config.lake_uri,
            pseudonymized_root=config.pseudonymized_root,
            lookup_table=config.profile_table,
            ses_contact_lists=config.ses_contact_lists,
            salt=read_salt(config.salt_secret_arn),
        )
        _worker = (LakeRequestStore(service.files), service)
    return _worker


def use_wiring(
    *,
    api: tuple[RequestStore, JobDispatcher] | None = None,
    worker: tuple[RequestStore, PrivacyRunner] | None = None,
) -> None:
    """Swap the wired stores, dispatcher and service (tests; a local lake and an in-process worker)."""
    global _api, _worker
    _api, _worker = api, worker


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def api_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = APIGatewayProxyEventV2(event)
    method, path = request.request_context.http.method, request.raw_path or ""
    store, dispatcher = api_wiring()
    try:
        if method == "POST" and path in ROUTES:
            status = submit(ROUTES[path], parse_body(_body(request)), store=store, dispatcher=dispatcher)
            answer = _http(202, status.document())
        elif method == "GET" and path.startswith(STATUS_PREFIX) and "/" not in path[len(STATUS_PREFIX) :]:
            found = status_of(path[len(STATUS_PREFIX) :], store=store)
            answer = _http(200, found.document()) if found else _error(404, "not_found", "no such request")
        else:
            answer = _error(404, "not_found", "no such route")
    except InvalidPrivacyRequestError as error:
        answer = _error(400, "invalid_request", str(error))
    logger.info(
        "privacy request",
        extra={
            "route": f"{method} {path if path in ROUTES else path.rsplit('/', 1)[0]}",
            "status": answer["statusCode"],
            "request_id": orjson.loads(answer["body"]).get("request_id"),
            "caller": request.request_context.authorizer.iam.user_arn or None,
        },
    )
    return answer


@logger.inject_lambda_context(clear_state=True)
def worker_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    job = parse_job(event)
    store, runner = worker_wiring()
    if isinstance(job, RetentionJob):
        logger.info("retention started", extra={"action": job.action, "run_id": job.run_id})
        run = run_retention_job(job, store=store, runner=runner)
        logger.info(
            "retention finished",
            extra={"action": job.action, "run_id": job.run_id, "status": run.status, "report": run.report},
        )
        return run.document()
    logger.info("privacy request started", extra={"action": job.action, "request_id": job.request_id})
    status = run_job(job, store=store, runner=runner)
    logger.info(
        "privacy request finished",
        extra={"action": job.action, "request_id": job.request_id, "status": status.status},
    )
    return status.document()


def _body(request: APIGatewayProxyEventV2) -> bytes:
    body = request.body or ""
    return base64.b64decode(body) if request.is_base64_encoded else body.encode("utf-8")


def _http(status: int, document: dict[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": orjson.dumps(document).decode("utf-8"),
        "isBase64Encoded": False,
    }


def _error(status: int, code: str, message: str) -> dict[str, Any]:
    return _http(status, {"code": code, "message": message})
