"""The privacy API on AWS (SPEC 9): access and erasure requests, one call each, IAM-authorized.

* :class:`PrivacyApi`: an HTTP API whose three routes use the ``AWS_IAM`` authorizer — ``POST
  /v1/privacy/access``, ``POST /v1/privacy/erasure`` and ``GET /v1/privacy/requests/{request_id}`` — in
  front of a small **API function** that validates, stores the request in the lake and hands it to the
  **worker function**, which runs it (``lambdas.privacy.handler``, :mod:`cdp.privacy.requests` says why
  two: an HTTP API ends a call after 30 s, an erasure reads the whole lake). The caller policy (for the data
  protection officer's role) may invoke those three routes and nothing else.

Who can do what, written out because the worker is **the broadest personal-data role of the platform**, by
necessity: an access request must read every zone, and an erasure must rewrite any file holding the person,
purge the versions it replaced, forget them in the lookup table and the destinations, and hash their
identifiers with the salt for the tombstones.

================================  ======================================================================
worker role                       why
================================  ======================================================================
lake: Get/Put/DeleteObject ``*``  access reads every zone; erasure rewrites any file (raw, landing, clean,
                                  quarantine, identity, profiles, segments, exports, privacy), holds the
                                  lake lock object ``_lock/lake.json``, deletes the Spark scratch
lake: ListBucket(Versions),       find every file; delete the noncurrent versions of the objects an
DeleteObjectVersion ``*``         erasure rewrote ("files are rewritten, not just hidden")
pseudonymized zone: the same      the analysts' rows of the person (salted hashes) are theirs too
both keys, through S3 only        the two buckets' objects (data key, zone key)
lookup table: GetItem,            the person's lookup document (access) and its deletion: the store
BatchWriteItem                    deletes the profile and identifier items in batches (IAM cannot limit
                                  BatchWriteItem to deletes; the function never puts)
data key through DynamoDB         the table is encrypted with it
salt secret (+ key through        tombstones and pseudonymized rows are salted hashes
Secrets Manager, this secret)
``ses:DeleteContact`` on the      the person leaves the marketing contact list (SES allows one per account)
stage's contact list
================================  ======================================================================

The API function may write ``privacy/requests/*/request.json`` (never read it back), read and write
``…/status.json``, list only under ``privacy/requests/`` (so a missing status is a 404, not a 403), and
invoke the worker: it reads no personal data. Both functions: Python 3.11 on arm64, X-Ray, CMK-encrypted
environment and log groups; the worker runs one request at a time (reserved concurrency 1: erasures
serialize, and Lambda keeps throttled asynchronous events, retrying them for up to six hours), and an event
that failed every attempt goes to a CMK-encrypted dead-letter queue. Its events name a request id, never a
person. Alarms: :class:`PrivacyAlarms`.

:class:`RetentionTrigger` is the EventBridge Scheduler schedule that hands the worker ``{"action":
"retention"}`` (anonymous-only profiles idle longer than ``privacy/retention.yaml`` allows, and old
quarantine, expire: :mod:`cdp.privacy.retention`), weekly by default (:data:`WEEKLY_RETENTION`, ``-c
retentionSchedule=…``), with its own dead-letter queue; its role may invoke the worker and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdp.privacy.files import REQUESTS_PREFIX
from cdp.privacy.requests import PrivacyAction
from infra.compliance import acknowledge_nag, cfn, nag_resource
from infra.components.alarms import AlarmTopic, ApiErrorRates
from infra.components.dead_letters import dead_letter_queue
from infra.components.encryption import use_key_through
from infra.components.functions import function_logs_and_role, python_function
from infra.components.http_api import (
    IAM_ACCESS_LOG_FIELDS,
    ApiThrottle,
    caller_policy,
    http_api_with_stage,
    iam_routes,
)
from infra.components.orchestration import PipelineSchedule
from infra.components.schedules import DeadLetteredSchedule

API_HANDLER = "lambdas.privacy.handler.api_handler"
WORKER_HANDLER = "lambdas.privacy.handler.worker_handler"
#: (method, path) of each route, as API Gateway names them
ROUTES = (
    ("POST", "/v1/privacy/access"),
    ("POST", "/v1/privacy/erasure"),
    ("GET", "/v1/privacy/requests/{request_id}"),
)
_FIVE_MINUTES = Duration.minutes(5)
#: what the schedule hands the worker (:class:`cdp.privacy.requests.RetentionJob`): no person, no cutoff
RETENTION_JOB = {"action": PrivacyAction.retention.value}
#: Sundays at 01:00 in the stage's time zone: a quiet hour, and before the pipeline's daily 02:00 run, whose
#: steps hold the lake lock for hours on a large lake (retention waits for that lock within the worker's
#: 15 minutes)
WEEKLY_RETENTION = PipelineSchedule(expression="cron(0 1 ? * SUN *)")


@dataclass(frozen=True, kw_only=True)
class PrivacyApiSizing:
    """The API function stores two small documents and invokes the worker: small and quick."""

    memory_mb: int = 512
    timeout_seconds: int = 10
    reserved_concurrency: int = 2


@dataclass(frozen=True, kw_only=True)
class PrivacyWorkerSizing:
    """One lake file in memory at a time (Parquet snapshots, import files), the whole 15 minutes."""

    memory_mb: int = 3008
    timeout_seconds: int = 900
    ephemeral_storage_mib: int = 2048
    #: how long a request may wait behind others (Lambda's limit for asynchronous events: 6 hours)
    max_event_age_hours: int = 6
    retry_attempts: int = 2

    def __post_init__(self) -> None:
        if not 1 <= self.max_event_age_hours <= 6:
            raise ValueError("Lambda keeps an asynchronous event between 1 minute and 6 hours")
        if not 0 <= self.retry_attempts <= 2:
            raise ValueError("Lambda retries an asynchronous event at most twice")


@dataclass(frozen=True, kw_only=True)
class PrivacyConfig:
    #: a handful of requests a day: a low ceiling keeps a runaway script from queueing thousands of erasures
    throttle: ApiThrottle = field(default_factory=lambda: ApiThrottle(rate_per_second=5, burst=10))
    api: PrivacyApiSizing = field(default_factory=PrivacyApiSizing)
    worker: PrivacyWorkerSizing = field(default_factory=PrivacyWorkerSizing)
    #: a request waiting longer than this pages someone (another request, or the lake lock, holds it up)
    waiting_alarm_minutes: int = 60
    api_error_rates: ApiErrorRates = field(default_factory=ApiErrorRates)
    #: when the worker runs retention, in the stage's time zone (``-c retentionSchedule``)
    retention_schedule: PipelineSchedule = WEEKLY_RETENTION


@dataclass(frozen=True, kw_only=True)
class PrivacyTargets:
    """What the worker reads and changes, all owned by other stacks (names and ARNs by their exports)."""

    lake: s3.IBucket
    lake_key: kms.IKey
    pseudonymized: s3.IBucket
    pseudonymized_key: kms.IKey
    #: where the lake's pseudonymized/ prefix is mounted (``s3://<zone bucket>/pseudonymized``)
    pseudonymized_root: str
    lookup_table_name: str
    lookup_table_arn: str
    salt_secret_arn: str
    contact_list_name: str


class PrivacyApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        code: lambda_.Code,
        targets: PrivacyTargets,
        config: PrivacyConfig,
        log_group_prefix: str,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        key = targets.lake_key
        stack = Stack.of(self)

        # -- the worker ---------------------------------------------------------------------------------
        self.dead_letters = dead_letter_queue(
            self,
            "WorkerDeadLetters",
            key=key,
            why=(
                "This queue is itself the dead-letter queue of the privacy worker's asynchronous "
                "invocations; a dead-letter queue of a dead-letter queue would only move the alarm."
            ),
        )
        # each function in a scope of its own: function_logs_and_role names its children alike
        worker_scope = Construct(self, "Worker")
        worker_logs, worker_role = function_logs_and_role(
            worker_scope,
            name="privacy-worker",
            description="The privacy worker: access and erasure over every zone, lookup table, contacts",
            key=key,
            log_group_prefix=log_group_prefix,
            log_retention=log_retention,
        )
        self.worker_role = worker_role
        for label, bucket, bucket_key in (
            ("Lake", targets.lake, targets.lake_key),
            ("PseudonymizedZone", targets.pseudonymized, targets.pseudonymized_key),
        ):
            worker_role.add_to_policy(
                iam.PolicyStatement(
                    sid=f"ListEveryFileAndVersionOfThe{label}",
                    actions=["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketVersions"],
                    resources=[bucket.bucket_arn],
                )
            )
            worker_role.add_to_policy(
                iam.PolicyStatement(
                    sid=f"ReadAndRewriteEveryFileOfThe{label}",
                    actions=[
                        "s3:GetObject",
                        "s3:PutObject",
                        "s3:DeleteObject",
                        "s3:AbortMultipartUpload",
                        "s3:DeleteObjectVersion",
                    ],
                    resources=[bucket.arn_for_objects("*")],
                )
            )
            worker_role.add_to_policy(
                use_key_through(
                    "s3",
                    bucket_key,
                    sid=f"EncryptAndDecryptThe{label}ThroughS3",
                    encrypt=True,
                )
            )
        worker_role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadAndForgetTheLookupDocuments",
                actions=["dynamodb:GetItem", "dynamodb:BatchWriteItem"],
                resources=[targets.lookup_table_arn],
            )
        )
        worker_role.add_to_policy(use_key_through("dynamodb", key, sid="DecryptTheLookupTable"))
        worker_role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadTheSalt",
                actions=["secretsmanager:GetSecretValue"],
                resources=[targets.salt_secret_arn],
            )
        )
        worker_role.add_to_policy(
            iam.PolicyStatement(
                sid="DecryptTheSaltThroughSecretsManager",
                actions=["kms:Decrypt"],
                resources=[key.key_arn],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": f"secretsmanager.{Aws.REGION}.amazonaws.com",
                        "kms:EncryptionContext:SecretARN": targets.salt_secret_arn,
                    }
                },
            )
        )
        contact_list_arn = stack.format_arn(
            service="ses", resource="contact-list", resource_name=targets.contact_list_name
        )
        worker_role.add_to_policy(
            iam.PolicyStatement(
                sid="DeleteThePersonsContacts", actions=["ses:DeleteContact"], resources=[contact_list_arn]
            )
        )
        worker_role.add_to_policy(
            iam.PolicyStatement(
                sid="DeadLetterFailedRequests",
                actions=["sqs:SendMessage"],
                resources=[self.dead_letters.queue_arn],
            )
        )
        worker_role.add_to_policy(use_key_through("sqs", key, sid="EncryptDeadLetters", encrypt=True))
        worker_policy = worker_role.node.find_child("DefaultPolicy")
        for label, bucket in (("lake", targets.lake), ("pseudonymized zone", targets.pseudonymized)):
            acknowledge_nag(
                worker_policy,
                f"AwsSolutions-IAM5[Resource::{nag_resource(worker_policy, bucket.bucket_arn)}/*]",
                f"Access requests read, and erasures rewrite, any object of the {label} holding the person "
                "(every zone: SPEC 9 names raw, clean, quarantine, identity, profiles, segments, exports) "
                "and delete the versions they replaced; objects are found at run time. This is the "
                "platform's one role with that reach, written out in infra/components/privacy.py.",
            )
        self.worker = python_function(
            worker_scope,
            description="Privacy requests (SPEC 9): access and erasure over every zone, one at a time",
            handler=WORKER_HANDLER,
            code=code,
            role=worker_role,
            log_group=worker_logs,
            key=key,
            memory_mb=config.worker.memory_mb,
            timeout_seconds=config.worker.timeout_seconds,
            ephemeral_storage_mib=config.worker.ephemeral_storage_mib,
            reserved_concurrency=1,  # erasures serialize (and the lake lock holds steps off)
            environment={
                "CDP_LAKE_BUCKET": targets.lake.bucket_name,
                "CDP_PSEUDONYMIZED_ROOT": targets.pseudonymized_root,
                "CDP_PROFILE_TABLE": targets.lookup_table_name,
                "CDP_SES_CONTACT_LISTS": targets.contact_list_name,
                "CDP_SALT_SECRET_ARN": targets.salt_secret_arn,
                "POWERTOOLS_SERVICE_NAME": "cdp-privacy-worker",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
            reaches="S3, DynamoDB, Secrets Manager, SES and SQS",
            no_dead_letters=None,
        )
        self.worker.configure_async_invoke(
            retry_attempts=config.worker.retry_attempts,
            max_event_age=Duration.hours(config.worker.max_event_age_hours),
        )
        # on the resource, not `dead_letter_queue=`, whose automatic grant adds wildcard KMS actions; the two
        # statements above are the narrow equivalent
        cfn(self.worker).add_property_override("DeadLetterConfig.TargetArn", self.dead_letters.queue_arn)

        # -- the API function ---------------------------------------------------------------------------
        api_scope = Construct(self, "Requests")
        api_logs, api_role = function_logs_and_role(
            api_scope,
            name="privacy-api",
            description="The privacy API: stores requests and their status, hands them to the worker",
            key=key,
            log_group_prefix=log_group_prefix,
            log_retention=log_retention,
        )
        self.api_role = api_role
        requests = targets.lake.arn_for_objects(f"{REQUESTS_PREFIX}*")
        api_role.add_to_policy(
            iam.PolicyStatement(
                sid="StoreRequests", actions=["s3:PutObject"], resources=[f"{requests}/request.json"]
            )
        )
        api_role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadAndWriteRequestStatus",
                actions=["s3:GetObject", "s3:PutObject"],
                resources=[f"{requests}/status.json"],
            )
        )
        api_role.add_to_policy(
            iam.PolicyStatement(
                sid="FindRequestStatus",
                actions=["s3:ListBucket"],
                resources=[targets.lake.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{REQUESTS_PREFIX}*"]}},
            )
        )
        api_role.add_to_policy(
            use_key_through("s3", key, sid="EncryptAndDecryptRequestDocumentsThroughS3", encrypt=True)
        )
        api_role.add_to_policy(
            iam.PolicyStatement(
                sid="HandRequestsToTheWorker",
                actions=["lambda:InvokeFunction"],
                resources=[self.worker.function_arn],
            )
        )
        api_policy = api_role.node.find_child("DefaultPolicy")
        lake_arn = nag_resource(api_policy, targets.lake.bucket_arn)
        for document in ("request", "status"):
            acknowledge_nag(
                api_policy,
                f"AwsSolutions-IAM5[Resource::{lake_arn}/{REQUESTS_PREFIX}*/{document}.json]",
                f"Each request has its own folder, named by its request id at run time; the grant is the one "
                f"document '{document}.json' of every request folder, no other object of the lake.",
            )
        self.function = python_function(
            api_scope,
            description="Privacy API (POST /v1/privacy/access|erasure, GET …/requests/{id}), IAM-authorized",
            handler=API_HANDLER,
            code=code,
            role=api_role,
            log_group=api_logs,
            key=key,
            memory_mb=config.api.memory_mb,
            timeout_seconds=config.api.timeout_seconds,
            reserved_concurrency=config.api.reserved_concurrency,
            environment={
                "CDP_LAKE_BUCKET": targets.lake.bucket_name,
                "CDP_PRIVACY_WORKER": self.worker.function_name,
                "POWERTOOLS_SERVICE_NAME": "cdp-privacy",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
            reaches="S3 and Lambda",
            no_dead_letters=(
                "API Gateway invokes the privacy API function synchronously only; a failed call is answered "
                "to the caller as an error, so there is no asynchronous event a dead-letter queue could keep."
            ),
        )

        # -- the HTTP API -------------------------------------------------------------------------------
        self.http_api, self.stage = http_api_with_stage(
            self,
            api_name=f"{name_prefix}privacy",
            description="Privacy requests (SPEC 9): access and erasure, AWS_IAM authorization",
            name="privacy",
            throttle=config.throttle,
            access_log_fields=IAM_ACCESS_LOG_FIELDS,
            key=key,
            log_group_prefix=log_group_prefix,
            log_retention=log_retention,
        )
        self.routes = iam_routes(self.http_api, self.function, integration_id="Privacy", routes=ROUTES)
        self.url = self.stage.url

        # -- who may call it ----------------------------------------------------------------------------
        self.caller_policy = caller_policy(
            self,
            http_api=self.http_api,
            routes=ROUTES,
            sid="MakePrivacyRequests",
            description="Attach to the data protection officer's role: the privacy API's three routes",
            managed_policy_name=f"{name_prefix}privacy-caller",
            path_parameter_reason=(
                "The '*' is the {request_id} path segment of GET /v1/privacy/requests/{request_id}: the "
                "officer follows any request by its id, which is what the route is for; method, stage and "
                "API are fixed."
            ),
        )


class _InvokeFunction(scheduler_targets.ScheduleTargetBase):
    """``LambdaInvoke`` with a narrower grant: ``lambda:InvokeFunction`` on the function's own ARN.
    ``LambdaInvoke`` grants its versions and aliases too (``ARN:*``), which the schedule never calls."""

    def __init__(
        self,
        function: lambda_.IFunction,
        *,
        sid: str,
        role: iam.IRole,
        input: scheduler.ScheduleTargetInput,
        dead_letter_queue: sqs.IQueue,
        retry_attempts: int,
        max_event_age: Duration,
    ) -> None:
        super().__init__(
            scheduler_targets.ScheduleTargetBaseProps(
                role=role,
                input=input,
                dead_letter_queue=dead_letter_queue,
                retry_attempts=retry_attempts,
                max_event_age=max_event_age,
            ),
            function.function_arn,
        )
        self._function_arn, self._sid = function.function_arn, sid

    def _add_target_action_to_role(self, role: iam.IRole) -> None:
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid=self._sid, actions=["lambda:InvokeFunction"], resources=[self._function_arn]
            )
        )


class RetentionTrigger(DeadLetteredSchedule):
    """The EventBridge Scheduler schedule ``<prefix>privacy-retention`` that invokes the privacy worker
    asynchronously with ``{"action": "retention"}``, encrypted with the data key, and the dead-letter queue
    of the invocations the scheduler could not make after its retries (alarmed by :class:`PrivacyAlarms`).
    A run that fails in the worker is the worker's: its error alarm, Lambda's retries, its dead-letter
    queue, and the ``failed`` document in ``privacy/retention/``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        worker: lambda_.IFunction,
        schedule: PipelineSchedule,
        time_zone: str,
        key: kms.IKey,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            name=name,
            expression=schedule.expression,
            enabled=schedule.enabled,
            time_zone=time_zone,
            key=key,
            target=partial(_InvokeFunction, worker, sid="InvokeThePrivacyWorker"),
            input=scheduler.ScheduleTargetInput.from_object(dict(RETENTION_JOB)),
            description=f"Retention of anonymous-only data by the privacy worker: {schedule.expression} in "
            f"{time_zone}",
            role_description=(
                f"EventBridge Scheduler: invoke the privacy worker for {name}, dead-letter failures"
            ),
            why_dead_letters_end_here=(
                "This queue is itself the dead-letter queue of the retention schedule (invocations of the "
                "worker that failed after every retry); it is alarmed, and an operator invokes the worker "
                "by hand."
            ),
        )


class PrivacyAlarms(AlarmTopic):
    """What pages someone: the API answering 5xx (count and rate) or too many 4xx, its function failing or
    throttled; the worker failing or throttled, a request dead-lettered (it failed every attempt), a
    request waiting longer than ``waiting_alarm_minutes``, or the retention schedule unable to invoke the
    worker. The worker's throttles mean a request arrived while another ran (reserved concurrency 1: Lambda
    retries it later), so one alone is news, not harm; the event-age alarm says when waiting has become a
    problem."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        privacy: PrivacyApi,
        retention: RetentionTrigger,
        key: kms.IKey,
        config: PrivacyConfig,
        alarm_email: str | None,
    ) -> None:
        super().__init__(
            scope, construct_id, display_name="CDP privacy alarms", key=key, alarm_email=alarm_email
        )
        self.alarm(
            "Api5xx",
            privacy.http_api.metric_server_error(period=_FIVE_MINUTES, statistic="Sum"),
            "The privacy API answered 5xx: a request could not be stored or handed to the worker.",
        )
        self.alarm(
            "FunctionErrors",
            privacy.function.metric_errors(period=_FIVE_MINUTES, statistic="Sum"),
            "The privacy API function raised instead of answering: the caller saw a 5xx.",
        )
        self.alarm(
            "FunctionThrottles",
            privacy.function.metric_throttles(period=_FIVE_MINUTES, statistic="Sum"),
            "The privacy API function hit its reserved concurrency: a script is calling it in a loop?",
        )
        self.alarm(
            "WorkerErrors",
            privacy.worker.metric_errors(period=_FIVE_MINUTES, statistic="Sum"),
            "A privacy request failed (its status says why; Lambda retries it): an erasure not proven, the "
            "lake lock held too long, or a fault.",
        )
        self.alarm(
            "WorkerThrottles",
            privacy.worker.metric_throttles(period=_FIVE_MINUTES, statistic="Sum"),
            "A privacy request arrived while another ran (one at a time): Lambda retries it for up to six "
            "hours; see RequestsWaiting if it keeps happening.",
        )
        self.alarm(
            "WorkerDeadLetters",
            privacy.dead_letters.metric_approximate_number_of_messages_visible(
                period=_FIVE_MINUTES, statistic="Maximum"
            ),
            "A privacy request failed every attempt (or waited longer than Lambda keeps an event): it is in "
            "the worker's dead-letter queue, by request id; resubmit it with the same request_id. A "
            'retention run ({"action": "retention"}) runs again on its schedule, or invoke the worker with '
            "it by hand (privacy/retention/ says why it failed).",
        )
        self.alarm(
            "RetentionScheduleDeadLetters",
            retention.dead_letters.metric_approximate_number_of_messages_visible(
                period=_FIVE_MINUTES, statistic="Maximum"
            ),
            "The retention schedule could not invoke the privacy worker after its retries: this week's "
            'retention did not run; invoke the worker with {"action": "retention"} and drain the queue.',
        )
        self.alarm(
            "RequestsWaiting",
            privacy.worker.metric(
                "AsyncEventAge", period=_FIVE_MINUTES, statistic="Maximum", unit=cloudwatch.Unit.MILLISECONDS
            ),
            f"A privacy request has waited more than {config.waiting_alarm_minutes} minutes to start (one "
            "runs at a time, and each waits for the lake lock).",
            threshold=config.waiting_alarm_minutes * 60 * 1000,
        )
        self.api_error_rate_alarms(privacy.http_api, config.api_error_rates, what="privacy API")
