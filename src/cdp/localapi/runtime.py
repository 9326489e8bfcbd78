"""Wire the real Lambda handlers to local adapters and serve them over HTTP."""

from __future__ import annotations

import os

from cdp.localapi.server import LocalApiServer, Route
from cdp.lookup_wiring import LookupSettings
from cdp.settings import IngestionSettings


def start_local_api(
    settings: IngestionSettings, *, host: str, port: int, lookup: LookupSettings | None = None
) -> LocalApiServer:
    """Bind (not yet serving) a server with the ingest handler on ``POST /v1/*`` and the profile lookup
    handler on ``GET /v1/profiles…``, the latter behind the lake's lookup API keys (``x-api-key``), checked
    before the handler runs as API Gateway's IAM authorizer is on AWS."""
    # Local runs print no EMF metrics and only warnings, unless the user asks otherwise.
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "cdp-local")

    from cdp.adapters.local_lookup_keys import LocalLookupKeyStore
    from cdp.lake import LocalLake
    from cdp.localapi.authorizers import ApiKeyAuthorizer
    from cdp.lookup_wiring import build_lookup_service
    from cdp.wiring import build_ingestion_service
    from lambdas.ingest import handler as ingest
    from lambdas.lookup import handler as lookup_handler

    lookup = lookup or LookupSettings(lake=settings.lake)
    ingest.use_service(build_ingestion_service(settings))
    lookup_handler.use_service(build_lookup_service(lookup))
    keys = LocalLookupKeyStore(LocalLake.at(settings.lake))
    routes = [
        Route(
            method="GET",
            prefix=lookup_handler.COLLECTION,
            function_name="cdp-lookup",
            handler=lookup_handler.lambda_handler,
            authorizer=ApiKeyAuthorizer(keys),
        ),
        Route(method="POST", prefix="/v1/", function_name="cdp-ingest", handler=ingest.lambda_handler),
    ]
    return LocalApiServer((host, port), routes)
