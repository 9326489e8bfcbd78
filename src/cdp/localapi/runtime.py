"""Wire the real Lambda handlers to local adapters and serve them over HTTP."""

from __future__ import annotations

import os

from cdp.localapi.server import LocalApiServer, Route
from cdp.settings import IngestionSettings


def start_local_api(settings: IngestionSettings, *, host: str, port: int) -> LocalApiServer:
    """Bind (not yet serving) a server whose ``/v1/*`` POSTs go to the ingest Lambda handler."""
    # Local runs print no EMF metrics and only warnings, unless the user asks otherwise.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "cdp-local")

    from cdp.wiring import build_ingestion_service
    from lambdas.ingest import handler as ingest

    ingest.use_service(build_ingestion_service(settings))
    routes = [Route(method="POST", prefix="/v1/", function_name="cdp-ingest", handler=ingest.lambda_handler)]
    return LocalApiServer((host, port), routes)
