"""Batch import on AWS (SPEC 2, 5): uploads to ``landing/{source}/`` are imported, small ones by a Lambda
function and large ones by a Glue job, both running :class:`cdp.imports.landing.LandingImporter`.

The lake bucket sends its object events to EventBridge (the data stack turns that on); one rule here
matches "Object Created" for keys under ``landing/`` of that bucket and invokes the import function
asynchronously. The function imports files up to ``max_inline_mib`` itself and starts the Glue import job
(``glue_jobs/import_file.py``) for larger ones. Both write the same objects: the original, unchanged, in
``raw/imports/{source}/{import_id}/``, the rows in ``clean/import_rows/``, the rejected rows in
``quarantine/imports/`` and the manifest last; a file that cannot be imported gets a failure record in
``quarantine/import_failures/`` and stays in ``landing/``. A source's mapping is
``config/mappings/{source}.yaml`` in the lake; without one the default mapping applies.

Failures, and where they end up: EventBridge retries an invocation it cannot make, then sends the event to
the rule's dead-letter queue; the function raising (S3 or Glue unavailable) is retried twice by Lambda,
then the event goes to the function's dead-letter queue. Both queues and the function's errors are
alarmed (:class:`~infra.components.pipeline_alarms.PipelineAlarms`).

Least privilege: the function may read and remove uploads (by version), read mappings, read and write the
import zones, write failure records, start runs of its one Glue job, and write its logs, traces and
dead letters. The Glue job has the same lake access and no Glue or Lambda permission at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdp.imports.landing import IMPORT_FAILURES, LANDING, MAPPINGS
from cdp.imports.layout import IMPORT_ROWS, IMPORTS_RAW, QUARANTINE_IMPORTS
from infra.compliance import cfn
from infra.components.dead_letters import dead_letter_queue
from infra.components.encryption import use_key_through
from infra.components.functions import PYARROW_WHEELS, function_logs_and_role, python_function
from infra.components.glue_jobs import GlueJobSizing, GlueRuntime, LakeAccess, LakeGlueJob, grant_lake_access

HANDLER = "lambdas.imports.handler.lambda_handler"

#: what importing a file touches, for the function and the Glue job alike
IMPORT_ACCESS = LakeAccess(
    reads=(f"{MAPPINGS}/", f"{IMPORTS_RAW}/"),
    writes=(f"{IMPORTS_RAW}/", f"{IMPORT_ROWS}/", f"{QUARANTINE_IMPORTS}/", f"{IMPORT_FAILURES}/"),
    versioned=(f"{LANDING}/",),
)


@dataclass(frozen=True, kw_only=True)
class ImportSizing:
    """The function holds a file, its Arrow batches, its rows and their Parquet in memory at once."""

    memory_mb: int = 3008
    timeout_seconds: int = 300
    reserved_concurrency: int = 10
    #: files above this many MiB go to the Glue job
    max_inline_mib: int = 50
    glue: GlueJobSizing = field(
        default_factory=lambda: GlueJobSizing(
            worker_type="G.2X", workers=2, timeout_minutes=120, max_concurrent_runs=10, max_retries=1
        )
    )

    def __post_init__(self) -> None:
        if self.max_inline_mib * 6 > self.memory_mb:
            raise ValueError("give the function about six times the largest inline file in memory")


class BatchImport(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        bucket: s3.IBucket,
        key: kms.IKey,
        code: lambda_.Code,
        runtime: GlueRuntime,
        sizing: ImportSizing,
        log_group_prefix: str,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)

        # -- the Glue job for large files -----------------------------------------------------------
        self.job = LakeGlueJob(
            self,
            "ImportJob",
            name_prefix=name_prefix,
            short_name="import-file",
            description="Imports one large upload from landing/ (glue_jobs/import_file.py)",
            script="import_file.py",
            runtime=runtime,
            bucket=bucket,
            access=IMPORT_ACCESS,
            sizing=sizing.glue,
            # not a pipeline step: its imports are counted by the function's metrics and the manifests
            step_metrics=False,
            log_group_prefix=log_group_prefix,
            log_retention=log_retention,
        )

        # -- the function -----------------------------------------------------------------------------
        self.dead_letters = dead_letter_queue(
            self,
            "FunctionDeadLetters",
            key=key,
            why=(
                "This queue is itself the dead-letter queue of the import function's asynchronous "
                "invocations; a dead-letter queue of a dead-letter queue would only move the alarm."
            ),
        )
        self.rule_dead_letters = dead_letter_queue(
            self,
            "RuleDeadLetters",
            key=key,
            why=(
                "This queue is itself the dead-letter queue of the upload rule's target (events EventBridge "
                "could not deliver to the function); a dead-letter queue of it would only move the alarm."
            ),
        )
        function_logs, role = function_logs_and_role(
            self,
            name="import",
            description="The import function: uploads, mappings and import zones of the lake; its Glue job",
            key=key,
            log_group_prefix=log_group_prefix,
            log_retention=log_retention,
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="StartTheImportJobForLargeFiles",
                actions=["glue:StartJobRun"],
                resources=[self.job.job_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="DeadLetterFailedAsyncInvocations",
                actions=["sqs:SendMessage"],
                resources=[self.dead_letters.queue_arn],
            )
        )
        role.add_to_policy(use_key_through("sqs", key, sid="EncryptDeadLetters", encrypt=True))
        policy = role.node.find_child("DefaultPolicy")
        grant_lake_access(
            role, policy, bucket=bucket, key=key, access=IMPORT_ACCESS, who="The import function"
        )

        self.function = python_function(
            self,
            description="Imports uploads from landing/{source}/ (small ones here, large ones via Glue)",
            handler=HANDLER,
            code=code,
            role=role,
            log_group=function_logs,
            key=key,
            memory_mb=sizing.memory_mb,
            timeout_seconds=sizing.timeout_seconds,
            reserved_concurrency=sizing.reserved_concurrency,
            environment={
                "CDP_LAKE_BUCKET": bucket.bucket_name,
                "CDP_IMPORT_JOB_NAME": self.job.job_name,
                "CDP_IMPORT_MAX_INLINE_MIB": str(sizing.max_inline_mib),
                "POWERTOOLS_SERVICE_NAME": "cdp-import",
                "POWERTOOLS_METRICS_NAMESPACE": "CDP",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
            reaches="S3, Glue",
            no_dead_letters=None,
            wheels=PYARROW_WHEELS,
        )
        self.function.configure_async_invoke(retry_attempts=2, max_event_age=Duration.hours(6))
        # Set on the resource rather than through `dead_letter_queue=`, whose automatic grant would add
        # wildcard KMS actions; the two statements above are the narrow equivalent.
        cfn(self.function).add_property_override("DeadLetterConfig.TargetArn", self.dead_letters.queue_arn)

        # -- the rule: uploads under landing/ of the lake bucket ------------------------------------
        self.rule = events.Rule(
            self,
            "UploadRule",
            rule_name=f"{name_prefix}import-uploads",
            description="Object Created under landing/ of the lake bucket -> the import function",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [bucket.bucket_name]},
                    "object": {"key": [{"prefix": f"{LANDING}/"}]},
                },
            ),
        )
        self.rule.add_target(
            targets.LambdaFunction(
                self.function,
                dead_letter_queue=self.rule_dead_letters,
                retry_attempts=8,
                max_event_age=Duration.hours(24),
            )
        )
