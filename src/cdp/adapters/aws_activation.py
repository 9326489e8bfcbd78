"""What the AWS destination adapters share: how a client is made, and how a failure is classified.

Clients are made lazily (boto3 is imported on the first call, never at module import) with botocore's own
retries off: the deliverer owns retrying (backoff with jitter, counted attempts, dead letters), and two
layers of retries would multiply the waits and hide throttling from the report. ``endpoint_url`` points a
client at a moto server in the embedded mode.

A failure is *retryable* when the service said to slow down or was briefly unavailable, or the connection
failed; everything else is permanent. Botocore's own list of throttling codes is the model, plus the
SES, SNS, SQS and End User Messaging spellings.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

from cdp.activation.models import DeliveryOutcome, MembershipChange
from cdp.activation.ports import DeliveryError, DestinationRejectedError, DestinationThrottledError

THROTTLING_CODES: Final = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "Throttled",  # SNS
        "RequestThrottled",  # SQS
        "RequestThrottledException",
        "TooManyRequestsException",  # SES v2
        "SlowDown",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "KMSThrottlingException",
        "KmsThrottled",
    }
)
TRANSIENT_CODES: Final = frozenset(
    {
        "InternalError",
        "InternalFailure",
        "InternalErrorException",  # SNS
        "InternalException",  # EventBridge
        "InternalServerException",  # End User Messaging
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
        "ConcurrentModificationException",  # SES v2 UpdateContact: another update of the same contact
    }
)


def error_code(error: BaseException) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


def is_retryable_code(code: str) -> bool:
    return code in THROTTLING_CODES or code in TRANSIENT_CODES


def is_retryable(error: BaseException) -> bool:
    """Throttled, 5xx, or a connection/timeout failure (a ``BotoCoreError`` that is not a bad parameter)."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionError,
        HTTPClientError,
        ParamValidationError,
    )

    if isinstance(error, ClientError):
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return is_retryable_code(error_code(error)) or status >= 500
    if isinstance(error, ConnectionError | HTTPClientError):
        return True
    return isinstance(error, BotoCoreError) and not isinstance(error, ParamValidationError)


def classify(error: BaseException, what: str) -> DeliveryError:
    """The port's exception for a whole call that failed: throttled/unavailable, or rejected for good."""
    code = error_code(error)
    detail = f"{what}: {code + ': ' if code else ''}{_message(error)}"
    if is_retryable(error):
        return DestinationThrottledError(detail)
    return DestinationRejectedError(detail)


def _message(error: BaseException) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict) and response.get("Error", {}).get("Message"):
        return str(response["Error"]["Message"])
    return str(error)


class LazyClient:
    """One boto3 client, made on first use (thread-safe), or the one given (tests, moto, Stubber)."""

    def __init__(
        self,
        service: str,
        *,
        client: Any = None,
        region: str | None = None,
        endpoint_url: str | None = None,
        read_timeout: float = 10.0,
        attempts: int = 1,
    ) -> None:
        self._service = service
        self._client = client
        self._region = region
        self._endpoint_url = endpoint_url
        self._read_timeout = read_timeout
        self._attempts = attempts
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = make_client(
                        self._service,
                        region=self._region,
                        endpoint_url=self._endpoint_url,
                        read_timeout=self._read_timeout,
                        attempts=self._attempts,
                    )
        return self._client


_CLIENTS_LOCK = threading.Lock()


def make_client(
    service: str,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    read_timeout: float = 10.0,
    attempts: int = 1,
) -> Any:
    """A client with botocore's standard retry mode making ``attempts`` attempts in all (default 1: the
    deliverer retries itself; callers without their own retries ask for more)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=3,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": attempts},
    )
    # boto3's default session: its loaded service and endpoint data are shared by every client (a session per
    # client would parse them again, ~0.3 s each); making clients on it is not thread-safe, hence the lock
    create: Any = boto3.client  # Any: the service name is not one of the stubs' literals
    with _CLIENTS_LOCK:
        return create(service, region_name=region, endpoint_url=endpoint_url, config=config)


@contextmanager
def translated(what: str) -> Iterator[None]:
    """Around one API call: its failure becomes the port's exception (see :func:`classify`)."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (BotoCoreError, ClientError) as error:
        raise classify(error, what) from error


class EntryRefusedError(Exception):
    """One change was refused for good (an invalid address, an opted-out number); the others may go on."""


def one_by_one(
    changes: Sequence[MembershipChange], send: Callable[[MembershipChange], str]
) -> list[DeliveryOutcome]:
    """Outcomes of an API that takes one change per call (SES contacts, SMS): ``send`` returns the message
    id or raises :class:`EntryRefusedError` (this change) or a port error (the destination). After a
    throttle or a rejection the remaining changes are not attempted: they get the same outcome, so
    nothing already sent is reported failed and the deliverer retries only what needs it."""
    outcomes: list[DeliveryOutcome] = []
    for index, change in enumerate(changes):
        try:
            outcomes.append(DeliveryOutcome.delivered(change, send(change)))
        except EntryRefusedError as refused:
            outcomes.append(DeliveryOutcome.refused(change, str(refused)))
        except DeliveryError as error:
            retryable = not isinstance(error, DestinationRejectedError)
            prefix = "throttled or unavailable: " if retryable else "rejected: "
            outcomes.extend(
                DeliveryOutcome.refused(rest, prefix + str(error), retryable=retryable)
                for rest in changes[index:]
            )
            break
    return outcomes


def check_batch(changes: Sequence[MembershipChange], limit: int | None) -> None:
    if limit is not None and len(changes) > limit:
        raise ValueError(f"{len(changes)} changes exceed the batch limit {limit}")
