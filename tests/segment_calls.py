"""The ingest Lambda handler called as API Gateway calls it: one Segment call, the write key as HTTP Basic."""

from __future__ import annotations

import base64
import json
from typing import Any

from cdp.localapi.apigw import LocalLambdaContext, http_api_event


def call_ingest_handler(path: str, body: object, key: str, *, source_ip: str = "127.0.0.1") -> dict[str, Any]:
    """The handler's answer (``statusCode``, ``headers``, ``body``) to ``POST path`` with ``body`` as JSON.

    The handler is imported here, not above: its callers set the Powertools environment before it loads.
    """
    from lambdas.ingest import handler

    token = base64.b64encode(f"{key}:".encode()).decode()
    event = http_api_event(
        method="POST",
        path=path,
        query="",
        headers=[("Content-Type", "application/json"), ("Authorization", f"Basic {token}")],
        body=json.dumps(body, ensure_ascii=False).encode(),
        source_ip=source_ip,
    )
    result: dict[str, Any] = handler.lambda_handler(event, LocalLambdaContext(function_name="cdp-ingest"))
    return result
