"""``cdp serve``: a threaded HTTP server that hands each request to the same Lambda handler as AWS.

Like API Gateway it caps the payload at 10 MiB and answers 502 if the handler itself fails (which the
fuzz tests make sure never happens for client input). Like Lambda, a function serves one invocation at a
time: requests arrive on many threads, but each handler runs alone (Powertools' resolver keeps the current
event in shared state, so two concurrent invocations would read each other's request). Like API Gateway, a
route may have an authorizer that is asked first (:mod:`cdp.localapi.authorizers`): a refused request
never reaches the handler.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import orjson

from cdp.localapi.apigw import LocalLambdaContext, http_api_event
from cdp.localapi.authorizers import RouteAuthorizer

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Route:
    """Requests whose method is ``method`` and path starts with ``prefix`` go to ``handler``."""

    method: str
    prefix: str
    function_name: str
    handler: LambdaHandler
    authorizer: RouteAuthorizer | None = None


class LocalApiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # SDK bursts open many connections at once

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client hanging up mid-request is routine, not a server fault worth a traceback
        logger.debug("connection from %s ended early", client_address, exc_info=True)

    def __init__(self, address: tuple[str, int], routes: list[Route]) -> None:
        super().__init__(address, _RequestHandler)
        self.routes = routes
        #: one lock per function: its single execution environment
        self.invocation_locks = {route.function_name: threading.Lock() for route in routes}

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _RequestHandler(BaseHTTPRequestHandler):
    server: LocalApiServer
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds a silent connection may hold a thread (API Gateway's integration limit)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def do_POST(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        try:
            length = int(self.headers.get("content-length") or 0)
        except ValueError:
            self.close_connection = True  # where the body ends is unknown, so is where a next request starts
            self._reply(400, {"code": "invalid_body", "message": "bad Content-Length"})
            return
        if length < 0:
            self.close_connection = True
            self._reply(400, {"code": "invalid_body", "message": "bad Content-Length"})
            return
        if length > MAX_PAYLOAD_BYTES:
            self.close_connection = True
            self._reply(413, {"code": "request_too_large", "message": "payload exceeds 10 MiB"})
            return
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            # the client stopped sending: API Gateway never invokes a function with part of a body
            self.close_connection = True
            self._reply(400, {"code": "invalid_body", "message": "body shorter than its Content-Length"})
            return
        url = urlsplit(self.path)
        route = next(
            (r for r in self.server.routes if r.method == self.command and url.path.startswith(r.prefix)),
            None,
        )
        if route is None:
            self._reply(404, {"code": "not_found", "message": "no such route"})
            return
        headers = list(self.headers.items())
        identity = None
        if route.authorizer is not None:
            decision = route.authorizer({name.lower(): value for name, value in headers})
            if decision.context is None:
                self._reply(decision.status, dict(decision.body))
                return
            identity = decision.context
            headers = [
                (name, value) for name, value in headers if name.lower() not in route.authorizer.consumes
            ]
        event = http_api_event(
            method=self.command,
            path=url.path,
            query=url.query,
            headers=headers,
            body=body,
            source_ip=self.client_address[0],
            authorizer=identity,
        )
        try:
            with self.server.invocation_locks[route.function_name]:
                result = route.handler(event, LocalLambdaContext(function_name=route.function_name))
        except Exception:
            logger.exception("handler %s failed", route.function_name)
            self._reply(502, {"code": "internal_error", "message": "Internal Server Error"})
            return
        self._send_lambda_result(result)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        # http.server answers a method it has no do_* for with 501; that is the client's doing, and API
        # Gateway answers a method no route takes with 404, as _dispatch does for GET
        if code == HTTPStatus.NOT_IMPLEMENTED:
            code = HTTPStatus.NOT_FOUND
        super().send_error(code, message, explain)

    def _send_lambda_result(self, result: dict[str, Any]) -> None:
        raw = result.get("body") or ""
        payload = base64.b64decode(raw) if result.get("isBase64Encoded") else str(raw).encode("utf-8")
        self.send_response(int(result.get("statusCode", 200)))
        headers = {str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()}
        headers.setdefault("content-type", "application/json")
        for name, value in headers.items():
            if name not in ("content-length", "connection"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _reply(self, status: int, body: dict[str, str]) -> None:
        payload = orjson.dumps(body)
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
