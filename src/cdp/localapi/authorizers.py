"""What API Gateway does before it invokes a function, for ``cdp serve``: refuse unauthorized requests.

On AWS the lookup routes use the ``AWS_IAM`` authorizer: API Gateway checks the SigV4 signature and the
caller's ``execute-api:Invoke`` permission, answers 403 without invoking the function when either fails,
and passes the caller's identity to the function in ``requestContext.authorizer.iam``. Locally there is
no IAM, so an API key (``x-api-key``, see :mod:`cdp.lookup.api_keys`) stands in for the signature: the
local server asks an authorizer here before it builds the event, refuses (401 without a key, 403 with a
bad or revoked one) without invoking the handler, and otherwise hands the handler an IAM-shaped identity
(``arn:aws:iam::000000000000:user/cdp-lookup-key/<name>``). The key itself never reaches the handler, as a
signature never does on AWS in any form the function could reuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from cdp.adapters.local_lookup_keys import LocalLookupKeyStore
from cdp.lookup.api_keys import HEADER

LOCAL_ACCOUNT = "000000000000"


@dataclass(frozen=True, slots=True)
class Authorization:
    """``context`` (for ``requestContext.authorizer``) when allowed; else the refusal to send."""

    context: Mapping[str, Any] | None
    status: int = 200
    body: Mapping[str, str] = field(default_factory=dict)


class RouteAuthorizer(Protocol):
    #: request headers (lower-case) the authorizer consumes: they are not passed to the handler
    consumes: frozenset[str]

    def __call__(self, headers: Mapping[str, str]) -> Authorization: ...


class ApiKeyAuthorizer:
    consumes = frozenset({HEADER})

    def __init__(self, keys: LocalLookupKeyStore) -> None:
        self._keys = keys

    def __call__(self, headers: Mapping[str, str]) -> Authorization:
        presented = headers.get(HEADER, "").strip()
        if not presented:
            return Authorization(
                None,
                401,
                {"code": "unauthorized", "message": f"missing {HEADER} header (cdp lookup-keys add)"},
            )
        caller = self._keys.authenticate(presented)
        if caller is None:
            return Authorization(None, 403, {"code": "forbidden", "message": "invalid or revoked API key"})
        return Authorization(
            {
                "iam": {
                    "accessKey": caller.key_id,
                    "accountId": LOCAL_ACCOUNT,
                    "callerId": caller.key_id,
                    "userArn": f"arn:aws:iam::{LOCAL_ACCOUNT}:user/cdp-lookup-key/{caller.name}",
                    "userId": caller.key_id,
                    "principalOrgId": None,
                    "cognitoIdentity": None,
                }
            }
        )
