"""Privacy requests over the IAM-authorized HTTP API on AWS (SPEC 9): accepted at once, run in the background,
one at a time, their outcome kept in the lake.

Why the answer is not the erasure report itself: an HTTP API ends every Lambda integration after 30 seconds,
and an access request or an erasure reads every file of the lake (the proof must look everywhere), which on a
real lake takes minutes. So a request has three moves, each one function call:

1. :func:`submit` (the API function, ``POST /v1/privacy/access|erasure``): validates the body, stores it as
   ``privacy/requests/<id>/request.json`` — the identifiers stay in the encrypted lake, never in an event
   payload, a queue, a dead letter or a log line —, writes the request's status (``accepted``) and hands the
   worker ``{"action", "request_id"}``; the caller gets ``202`` with the request id.
2. :func:`run_job` (the worker function, reserved concurrency 1, so erasures serialize; Lambda keeps a
   throttled asynchronous event and retries it for hours): reads the request, runs
   :meth:`cdp.privacy.service.PrivacyService.access` or ``.erase``, writes the access document to
   ``privacy/requests/<id>/access.json`` (it may be large) or keeps the erasure report (counts only, never an
   identifier) in the status, which says ``running``, then ``done`` or ``failed``.
3. :func:`status_of` (``GET /v1/privacy/requests/{request_id}``): the status document.

An erasure removes the person from every JSON document under ``privacy/requests/`` too, its own
``request.json`` included (:mod:`cdp.privacy.files`): an erasure that failed after that point cannot be
re-read, and its status says to submit it again with the same ``request_id``, which resumes it (the erasure's
journal holds who it was about).

The worker has a third job, about nobody: ``{"action": "retention"}`` (:class:`RetentionJob`, sent weekly by
an EventBridge Scheduler schedule) runs :mod:`cdp.privacy.retention` on the worker's lake and records the run
in ``privacy/retention/<run id>.json`` (:func:`run_retention_job`): counts only, never an identifier. It runs
on the worker because the worker already has the reach it needs (every zone, the lookup table, the versions
to purge) and runs one job at a time, so a retention run never overlaps an erasure.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Protocol

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from cdp.lakefs import LakeFiles
from cdp.privacy.errors import (
    ErasureIncompleteError,
    LakeLockedError,
    PrivacyRequestError,
    RetentionConfigError,
)
from cdp.privacy.files import REQUESTS_PREFIX
from cdp.privacy.models import MAX_IDENTIFIER_LENGTH, SubjectQuery
from cdp.privacy.service import REQUEST_ID, new_request_id
from cdp.settings import validated_config

Status = Literal["accepted", "running", "done", "failed"]
RetentionStatus = Literal["running", "done", "failed"]
#: one document per retention run: ``<run id>.json``
RETENTION_PREFIX = "privacy/retention/"


class PrivacyAction(StrEnum):
    access = "access"
    erasure = "erasure"
    #: the worker's scheduled job, about nobody (:class:`RetentionJob`)
    retention = "retention"


#: what the API accepts about a person (``retention`` is the worker's own job)
RequestAction = Literal[PrivacyAction.access, PrivacyAction.erasure]


def request_key(request_id: str) -> str:
    """The request as submitted (identifiers: personal data, kept in the lake only)."""
    return f"{REQUESTS_PREFIX}{request_id}/request.json"


def status_key(request_id: str) -> str:
    return f"{REQUESTS_PREFIX}{request_id}/status.json"


def access_key(request_id: str) -> str:
    return f"{REQUESTS_PREFIX}{request_id}/access.json"


def retention_key(run_id: str) -> str:
    """A retention run's status and report (counts only)."""
    return f"{RETENTION_PREFIX}{run_id}.json"


class PrivacyRequestBody(BaseModel):
    """``{"email"?, "phone"?, "user_id"?, "request_id"?}``: who the request is about, at least one identifier;
    ``request_id`` resumes (or repeats) an earlier request, else a new one is made."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    email: str | None = Field(default=None, min_length=1, max_length=MAX_IDENTIFIER_LENGTH)
    phone: str | None = Field(default=None, min_length=1, max_length=MAX_IDENTIFIER_LENGTH)
    user_id: str | None = Field(default=None, min_length=1, max_length=MAX_IDENTIFIER_LENGTH)
    request_id: str | None = Field(default=None, pattern=REQUEST_ID.pattern)

    @model_validator(mode="after")
    def _names_someone(self) -> PrivacyRequestBody:
        if not (self.email or self.phone or self.user_id):
            raise ValueError("name the person: give at least one of email, phone, user_id")
        return self

    def query(self) -> SubjectQuery:
        return SubjectQuery(
            emails=(self.email,) if self.email else (),
            phones=(self.phone,) if self.phone else (),
            user_ids=(self.user_id,) if self.user_id else (),
        )


class PrivacyJob(BaseModel):
    """What the worker is invoked with for a request: no identifier, only where to find the request."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: RequestAction
    request_id: str = Field(pattern=REQUEST_ID.pattern)


class RetentionJob(BaseModel):
    """``{"action": "retention", "run_id"?}``: what the schedule sends (no run id: one is made, so each
    attempt Lambda makes of the event records its own run). Nothing else is accepted: the cutoff comes from
    the lake's ``privacy/retention.yaml`` and the clock, not from whoever can invoke the worker."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: Literal[PrivacyAction.retention]
    run_id: str = Field(default_factory=new_request_id, pattern=REQUEST_ID.pattern)


WorkerJob = Annotated[PrivacyJob | RetentionJob, Field(discriminator="action")]
_WORKER_JOB: TypeAdapter[PrivacyJob | RetentionJob] = TypeAdapter(WorkerJob)


def parse_job(event: Mapping[str, Any]) -> PrivacyJob | RetentionJob:
    """The worker's event as its job, or a :class:`~pydantic.ValidationError` naming the bad field."""
    return _WORKER_JOB.validate_python(event)


class RequestStatus(BaseModel):
    """``privacy/requests/<id>/status.json``: never an identifier (the erasure report holds counts only)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    request_id: str
    action: RequestAction
    status: Status
    updated_at: datetime
    #: access: where the document is (and its size); erasure: the report
    result_key: str | None = None
    result_bytes: int | None = None
    report: dict[str, Any] | None = None
    error: str | None = None

    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class RetentionRun(BaseModel):
    """``privacy/retention/<run id>.json``: ``running``, then ``done`` with the report (days, cutoff and
    counts: :class:`cdp.privacy.retention.RetentionReport`) or ``failed`` with the reason."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    run_id: str
    action: Literal[PrivacyAction.retention] = PrivacyAction.retention
    status: RetentionStatus
    started_at: datetime
    updated_at: datetime
    report: dict[str, Any] | None = None
    error: str | None = None

    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class InvalidPrivacyRequestError(ValueError):
    """The caller's request is invalid; the message says which field and why (an HTTP 400)."""


def parse_body(body: bytes | str | None) -> PrivacyRequestBody:
    """The JSON body as a :class:`PrivacyRequestBody`, or an error of one line saying what is wrong."""
    if not body:
        raise InvalidPrivacyRequestError(
            "the body must be a JSON object naming the person (email, phone or user_id)"
        )
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidPrivacyRequestError("the body is not valid JSON") from None
    if not isinstance(raw, dict):
        raise InvalidPrivacyRequestError("the body must be a JSON object")
    try:
        parsed = PrivacyRequestBody.model_validate(raw)
        parsed.query()  # the domain's own checks (control characters …)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        raise InvalidPrivacyRequestError(f"{where}: {message}" if where else message) from None
    except PrivacyRequestError as error:
        raise InvalidPrivacyRequestError(str(error)) from None
    return parsed


def valid_request_id(request_id: str) -> str:
    if not REQUEST_ID.match(request_id):
        raise InvalidPrivacyRequestError(f"request id {request_id!r}: letters, digits, '_', '.', '-' only")
    return request_id


# -- ports ------------------------------------------------------------------------------------------------


class RequestStore(Protocol):
    """Small JSON documents of the lake by key (``privacy/requests/…``)."""

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes | None: ...


class JobDispatcher(Protocol):
    """Hands a job to the worker without waiting for it (an asynchronous Lambda invocation on AWS)."""

    def dispatch(self, job: PrivacyJob) -> None: ...


class ErasureOutcome(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class RetentionOutcome(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class PrivacyRunner(Protocol):
    """What :class:`cdp.privacy.service.PrivacyService` offers the worker."""

    def access(self, query: SubjectQuery) -> dict[str, Any]: ...

    def erase(self, query: SubjectQuery, *, request_id: str | None = None) -> ErasureOutcome: ...

    def expire(self) -> RetentionOutcome: ...


class LakeRequestStore:
    """The lake itself (:class:`~cdp.lakefs.LakeFiles`): the worker's store, and every store locally."""

    def __init__(self, files: LakeFiles) -> None:
        self.files = files

    def put(self, key: str, data: bytes) -> None:
        self.files.write_bytes(key, data)

    def get(self, key: str) -> bytes | None:
        return self.files.read_bytes(key)


# -- the three moves --------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _save(store: RequestStore, status: RequestStatus) -> RequestStatus:
    store.put(status_key(status.request_id), orjson.dumps(status.document(), option=orjson.OPT_INDENT_2))
    return status


def submit(
    action: RequestAction, body: PrivacyRequestBody, *, store: RequestStore, dispatcher: JobDispatcher
) -> RequestStatus:
    """Store the request, mark it accepted and hand it to the worker."""
    request_id = body.request_id or new_request_id()
    store.put(request_key(request_id), orjson.dumps(body.model_dump(exclude_none=True)))
    status = _save(
        store, RequestStatus(request_id=request_id, action=action, status="accepted", updated_at=_now())
    )
    dispatcher.dispatch(PrivacyJob(action=action, request_id=request_id))
    return status


def status_of(request_id: str, *, store: RequestStore) -> RequestStatus | None:
    data = store.get(status_key(valid_request_id(request_id)))
    return None if data is None else RequestStatus.model_validate_json(data)


def run_job(job: PrivacyJob, *, store: RequestStore, runner: PrivacyRunner) -> RequestStatus:
    """Run one accepted request and record its outcome. A request the domain refuses (an identifier shared
    by several profiles, …) ends ``failed`` with the reason; anything else is recorded and raised, so the
    platform retries it and, at last, dead-letters and alarms."""

    def status(state: Status, **outcome: Any) -> RequestStatus:
        return _save(
            store,
            RequestStatus(
                request_id=job.request_id, action=job.action, status=state, updated_at=_now(), **outcome
            ),
        )

    raw = store.get(request_key(job.request_id))
    if raw is None:
        return status(
            "failed",
            error="the request document is gone (an erasure removes its own once it ran): submit it again "
            "with the same request_id to resume it",
        )
    query = PrivacyRequestBody.model_validate_json(raw).query()
    status("running")
    try:
        if job.action is PrivacyAction.access:
            document = orjson.dumps(runner.access(query), option=orjson.OPT_INDENT_2)
            store.put(access_key(job.request_id), document)
            return status("done", result_key=access_key(job.request_id), result_bytes=len(document))
        report = runner.erase(query, request_id=job.request_id)
        return status("done", report=report.to_dict())
    except PrivacyRequestError as refused:
        return status("failed", error=str(refused))
    except (ErasureIncompleteError, LakeLockedError) as error:
        status("failed", error=str(error))  # their messages name files and holders, never a value
        raise
    except Exception as error:
        # an unexpected error's text may quote what it failed on: the type here, the rest in the logs
        status("failed", error=f"{type(error).__name__}: see the worker's log for request {job.request_id}")
        raise


def run_retention_job(job: RetentionJob, *, store: RequestStore, runner: PrivacyRunner) -> RetentionRun:
    """Expire what retention allows (:meth:`cdp.privacy.service.PrivacyService.expire`) and record the run.
    Every failure is recorded and raised, a bad ``privacy/retention.yaml`` included: nobody polls a
    scheduled run, so the worker's error alarm (and, after Lambda's retries, its dead-letter queue) is how
    it is seen."""
    started = _now()

    def record(state: RetentionStatus, **outcome: Any) -> RetentionRun:
        run = RetentionRun(run_id=job.run_id, status=state, started_at=started, updated_at=_now(), **outcome)
        store.put(retention_key(job.run_id), orjson.dumps(run.document(), option=orjson.OPT_INDENT_2))
        return run

    record("running")
    try:
        report = runner.expire()
    except (RetentionConfigError, LakeLockedError) as error:
        record("failed", error=str(error))  # they name the file and field, or the lock's holder
        raise
    except Exception as error:
        record("failed", error=f"{type(error).__name__}: see the worker's log for retention run {job.run_id}")
        raise
    return record("done", report=report.to_dict())


# -- configuration ----------------------------------------------------------------------------------------


class PrivacySettings(BaseModel):
    """What the two privacy functions read from their environment (``CDP_*``), once per cold start."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lake_bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
    #: where the lake's pseudonymized/ prefix lives (``s3://<zone bucket>/pseudonymized``)
    pseudonymized_root: str | None = Field(
        default=None, pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/\S+$"
    )
    profile_table: str | None = Field(default=None, min_length=3, max_length=255)
    ses_contact_lists: tuple[str, ...] = ()
    #: the worker's: the pseudonymization salt (tombstones, pseudonymized rows)
    salt_secret_arn: str | None = Field(default=None, pattern=r"^arn:aws[a-z-]*:secretsmanager:")
    #: the API's: the worker function it hands jobs to
    worker_function: str | None = Field(default=None, min_length=1, max_length=140)

    @property
    def lake_uri(self) -> str:
        return f"s3://{self.lake_bucket}"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PrivacySettings:
        """:class:`~cdp.settings.ConfigError` names the bad variable."""
        raw: dict[str, Any] = {
            field: env[variable] for field, variable in _ENV_VARS.items() if env.get(variable)
        }
        if "ses_contact_lists" in raw:
            raw["ses_contact_lists"] = tuple(
                n.strip() for n in raw["ses_contact_lists"].split(",") if n.strip()
            )
        return validated_config(cls, raw, _ENV_VARS)


_ENV_VARS: dict[str, str] = {
    "lake_bucket": "CDP_LAKE_BUCKET",
    "pseudonymized_root": "CDP_PSEUDONYMIZED_ROOT",
    "profile_table": "CDP_PROFILE_TABLE",
    "ses_contact_lists": "CDP_SES_CONTACT_LISTS",
    "salt_secret_arn": "CDP_SALT_SECRET_ARN",
    "worker_function": "CDP_PRIVACY_WORKER",
}
