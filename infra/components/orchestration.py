"""The batch pipeline on AWS, in order (issue 10): a Step Functions state machine, its schedule, its alarms.

:class:`PipelineStateMachine` is ``cdp-<stage>-pipeline`` (Standard, JSONata), the same six steps
``cdp run`` chains locally::

    standardize → resolve → profiles → segments      four Glue jobs, glue:startJobRun.sync
    → list activated segments → export (Map)          the export function: once to list, then per segment
    → refresh lookup                                  the lookup loader function

**One run id for every step.** It is the execution input's ``run_id`` when given (checked against
:data:`RUN_ID_PATTERN`, the export function's own pattern; anything else fails the execution at once with
``InvalidRunId``), else derived from the execution as ``cdp.tables.new_run_id`` would make it: the start time
in UTC and six hex digits of a hash of the execution ARN (``20261128T190000Z-3fa9c2``), so a scheduled run
needs no input and a retried execution can be given the id of the run it repeats. It is kept in the
workflow variable ``$run_id`` and passed as ``--run_id`` to every Glue job and as ``run_id`` to the export
function, so every snapshot, every membership delta and every delivery of the run carries it; the steps are
idempotent per run id (a step re-run replaces its own snapshot, deliveries already sent are not sent
again), which is what makes starting the same run id again a safe retry.

**Which segments are exported.** The segments Glue job cannot answer the state machine, and which segments
are activated is the lake's business (``segments/definitions/*.yaml`` with ``destinations:``, checked
against ``segments/destinations.yaml``). So the state machine asks the export function itself, which
already reads both: ``{"action": "list_activated_segments"}`` answers ``{"segment_ids": [...]}`` after the
same validation ``cdp run`` does before its steps (``cdp.activation.service.segments_to_export``). A Map
then invokes the function once per segment, at most as many at once as its reserved concurrency, each
``{"segment_id", "run_id"}`` again while it answers ``"complete": false`` (bounded: a segment still
incomplete after ``max_export_invocations`` fails the run). No state-machine permission on the lake, and no
second copy of the "activated" rule in the definition.

**Lookup refresh** invokes the loader with ``{"lake_bucket": …}`` until ``complete`` (bounded the same way).

**Failures.** Retries with exponential backoff and full jitter: a Glue job already running
(``ConcurrentRunsExceededException``: a run started by hand) waits minutes, Glue throttling and internal
errors seconds; Lambda's service errors and throttling likewise. A Glue job that *fails* is not retried (the
stage's Glue failure rule also reports it, with Glue's message). Every task and the Map catch every error
to "Notify failure", which publishes the run id, the state, the error and its cause to the stack's
encrypted alarm topic, then fails the execution with the same error; an execution that outlives its
timeout, which nothing can catch, is an alarm on the same topic (``infra/stacks/orchestration.py``).

**Least privilege.** The state machine's role may run and watch the four named Glue jobs, invoke the two
named functions, publish to the one topic (and use the data key only through SNS for it), and deliver its
logs and traces; it has no lake permission at all. Logs: every event, with execution data, to an encrypted
log group with the stage's retention; X-Ray tracing on.

:class:`PipelineTrigger` is the EventBridge Scheduler schedule that starts it: daily at 02:00 in the
business time zone by default (:class:`PipelineSchedule`, ``-c pipelineSchedule=…``), with a dead-letter
queue for the starts that failed after the scheduler's retries. On demand:
``aws stepfunctions start-execution`` (docs/deploy.md, "Run the pipeline").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import partial
from typing import Final

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as scheduler_targets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from infra.compliance import acknowledge_nag, cfn, ignore_cfn_lint, nag_resource
from infra.components.encryption import use_key_through
from infra.components.schedules import DeadLetteredSchedule

#: what a given run id must look like: the export function's ``ExportRequest.run_id`` pattern (an id it
#: would refuse must not start four Glue jobs first); no ``/``, so it is one folder of the lake
RUN_ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
#: the export function's request for the segments to export (``lambdas/export/handler.py``)
LIST_SEGMENTS_REQUEST: Final = {"action": "list_activated_segments"}
#: ``cdp.tables.new_run_id``'s shape, from the execution: start time (UTC) and 6 hex digits of its ARN's hash
DERIVED_RUN_ID: Final = (
    "$fromMillis($toMillis($states.context.Execution.StartTime), '[Y0001][M01][D01]T[H01][m01][s01]Z')"
    " & '-' & $substring($hash($states.context.Execution.Id, 'SHA-256'), 0, 6)"
)
#: the execution input names a run id that is not one
INVALID_RUN_ID: Final = (
    "$exists($states.input.run_id) and $not($type($states.input.run_id) = 'string'"
    f" and $contains($states.input.run_id, /{RUN_ID_PATTERN}/))"
)
GLUE_BUSY_ERRORS: Final = ("Glue.ConcurrentRunsExceededException",)
GLUE_TRANSIENT_ERRORS: Final = (
    "Glue.ThrottlingException",
    "Glue.InternalServiceException",
    "Glue.OperationTimeoutException",
    "Glue.AWSGlueException",  # the generic name under which Glue's "Rate exceeded" can surface
)
LAMBDA_THROTTLED_ERRORS: Final = ("Lambda.TooManyRequestsException",)
#: what LambdaInvoke retries by itself (``retry_on_service_exceptions``), named for the tests and the docs
LAMBDA_SERVICE_ERRORS: Final = (
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
)

_HH_MM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_CRON = re.compile(r"^cron\([^\s()]+( [^\s()]+){5}\)$")
_RATE = re.compile(r"^rate\([1-9]\d* (minute|minutes|hour|hours|day|days)\)$")
_OFF = frozenset({"off", "disabled", "none"})


def jsonata(expression: str) -> str:
    """A JSONata expression as an ASL field value."""
    return f"{{% {expression} %}}"


@dataclass(frozen=True, kw_only=True)
class PipelineSchedule:
    """When EventBridge Scheduler starts the pipeline, in the stage's business time zone: an expression
    (``cron(…)`` with six fields or ``rate(…)``) and whether the schedule is enabled. A disabled schedule is
    still deployed (state ``DISABLED``), so turning it on is a context change, not a new resource."""

    expression: str = "cron(0 2 * * ? *)"  # daily at 02:00: the day's events are in their dt partition
    enabled: bool = True

    def __post_init__(self) -> None:
        if not (_CRON.match(self.expression) or _RATE.match(self.expression)):
            raise ValueError(
                f"{self.expression!r}: give HH:MM (daily), cron(min hour day month weekday year), "
                "rate(N minutes|hours|days), or off"
            )

    @classmethod
    def parse(cls, text: str) -> PipelineSchedule:
        """``HH:MM`` (daily at that time), a ``cron(…)``/``rate(…)`` expression, or ``off``."""
        text = text.strip()
        if text.lower() in _OFF:
            return cls(enabled=False)
        if match := _HH_MM.match(text):
            return cls(expression=f"cron({int(match[2])} {int(match[1])} * * ? *)")
        return cls(expression=text)


@dataclass(frozen=True, kw_only=True)
class OrchestrationConfig:
    schedule: PipelineSchedule = field(default_factory=PipelineSchedule)
    #: invocations of the export function per segment before the run fails (each stops a minute before
    #: its 15 minutes: 24 is about six hours of SES's one contact a second, ~20,000 changes)
    max_export_invocations: int = 24
    #: invocations of the lookup loader per run (12 is about three hours: a first load of millions)
    max_lookup_invocations: int = 12
    #: longer than four Glue timeouts (2 h each) plus the loops, shorter than a day: a stuck run ends (and
    #: alarms) before the next scheduled one starts
    timeout_hours: int = 23

    def __post_init__(self) -> None:
        for name in ("max_export_invocations", "max_lookup_invocations", "timeout_hours"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")


@dataclass(frozen=True, kw_only=True)
class PipelineJobs:
    """The Glue jobs of the pipeline stack, by name (deterministic, so no cross-stack reference)."""

    standardize: str
    resolve: str
    profiles: str
    segments: str

    def in_order(self) -> tuple[tuple[str, str], ...]:
        """(state name, job name) in run order."""
        return (
            ("Standardize", self.standardize),
            ("Resolve identities", self.resolve),
            ("Build profiles", self.profiles),
            ("Evaluate segments", self.segments),
        )


def _failure(state: str) -> str:
    """A Catch's output: what "Notify failure" reports (a missing cause is left out, not an error)."""
    return jsonata(
        f"{{'run_id': $run_id, 'state': '{state}', "
        "'error': $states.errorOutput.Error, 'cause': $states.errorOutput.Cause}"
    )


def _backoff(
    task: sfn.TaskStateBase | sfn.CustomState, errors: tuple[str, ...], interval: Duration, attempts: int
) -> None:
    task.add_retry(
        errors=list(errors),
        interval=interval,
        backoff_rate=2,
        max_attempts=attempts,
        max_delay=Duration.minutes(30),
        jitter_strategy=sfn.JitterType.FULL,
    )


class PipelineStateMachine(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        jobs: PipelineJobs,
        export_function_name: str,
        export_concurrency: int,
        loader_function_name: str,
        lake_bucket_name: str,
        notify: sns.ITopic,
        key: kms.IKey,
        config: OrchestrationConfig,
        log_group_prefix: str,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        self.state_machine_name = name
        export_function = lambda_.Function.from_function_name(self, "ExportFunction", export_function_name)
        loader_function = lambda_.Function.from_function_name(self, "LookupLoader", loader_function_name)

        # -- failure: notify, then fail with the error that was caught ------------------------------------
        run_failed = sfn.Fail.jsonata(
            self,
            "Run failed",
            error=jsonata("$states.input.error"),
            cause=jsonata(
                "$exists($states.input.cause) ? $string($states.input.cause) : $states.input.error"
            ),
        )
        message = (
            f"'CDP pipeline {name}: run ' & $states.input.run_id & ' failed in state ' & $states.input.state"
            " & '.\\n\\nError: ' & $states.input.error & '\\nCause: ' & $states.input.cause"
            " & '\\n\\nExecution: ' & $states.context.Execution.Id"
            " & '\\nEvery step is idempotent per run id: to retry, start an execution with the input'"
            " & ' {\"run_id\": \"' & $states.input.run_id & '\"}.'"
        )
        self.notify_failure = tasks.SnsPublish.jsonata(
            self,
            "Notify failure",
            topic=notify,
            subject=f"CDP pipeline run failed ({name})",
            message=sfn.TaskInput.from_text(jsonata(message)),
            outputs=jsonata("$states.input"),
        )
        _backoff(self.notify_failure, ("States.TaskFailed",), Duration.seconds(5), 3)
        self.notify_failure.add_catch(run_failed, errors=["States.ALL"], outputs=jsonata("$states.input"))
        self.notify_failure.next(run_failed)

        # -- the run id -----------------------------------------------------------------------------------
        choose_run_id = sfn.Choice.jsonata(self, "Choose run id")
        refuse_run_id = sfn.Fail.jsonata(
            self,
            "Refuse run id",
            error="InvalidRunId",
            cause=f"run_id must be a string matching {RUN_ID_PATTERN} (or be left out: one is derived)",
        )
        name_run = sfn.Pass.jsonata(
            self,
            "Name the run",
            assign={
                "run_id": jsonata(f"$exists($states.input.run_id) ? $states.input.run_id : {DERIVED_RUN_ID}"),
                "lookup_invocations": 0,
            },
        )
        choose_run_id.when(sfn.Condition.jsonata(jsonata(INVALID_RUN_ID)), refuse_run_id)
        choose_run_id.otherwise(name_run)

        # -- the Glue steps ---------------------------------------------------------------------------
        # Written out rather than tasks.GlueStartJobRun, which renders "NotificationProperty": null into a
        # JSONata state's Arguments (sent to Glue as is); the role's grant is the one that task would add.
        # The Catch is written out too: a custom state's add_catch drops a JSONata Catch's Output.
        chain: sfn.INextable = name_run
        self.glue_steps: list[sfn.CustomState] = []
        for state, job_name in jobs.in_order():
            step = sfn.CustomState(
                self,
                state,
                state_json={
                    "Type": "Task",
                    "Resource": f"arn:{Aws.PARTITION}:states:::glue:startJobRun.sync",
                    "Arguments": {"JobName": job_name, "Arguments": {"--run_id": jsonata("$run_id")}},
                    "Output": jsonata(
                        f"{{'run_id': $run_id, 'job_name': '{job_name}', 'job_run_id': $states.result.Id, "
                        "'execution_seconds': $states.result.ExecutionTime}"
                    ),
                    "Catch": [
                        {
                            "ErrorEquals": ["States.ALL"],
                            "Next": self.notify_failure.state_id,
                            "Output": _failure(state),
                        }
                    ],
                },
            )
            # a run started by hand holds the job (one run at a time): wait for it, minutes apart
            _backoff(step, GLUE_BUSY_ERRORS, Duration.minutes(5), 5)
            _backoff(step, GLUE_TRANSIENT_ERRORS, Duration.seconds(30), 4)
            chain.next(step)
            chain = step
            self.glue_steps.append(step)

        # -- exports: list the activated segments, then each until complete -------------------------------
        self.list_segments = tasks.LambdaInvoke.jsonata(
            self,
            "List activated segments",
            lambda_function=export_function,
            payload=sfn.TaskInput.from_object(dict(LIST_SEGMENTS_REQUEST)),
            outputs=jsonata("$states.result.Payload"),
        )
        self.deliver_segment = tasks.LambdaInvoke.jsonata(
            self,
            "Deliver segment",
            lambda_function=export_function,
            payload=sfn.TaskInput.from_object(
                {"segment_id": jsonata("$export_segment_id"), "run_id": jsonata("$run_id")}
            ),
            assign={"export_invocations": jsonata("$export_invocations + 1")},
            outputs=jsonata("$states.result.Payload"),
        )
        start_segment = sfn.Pass.jsonata(
            self,
            "Start segment export",
            assign={"export_segment_id": jsonata("$states.input"), "export_invocations": 0},
        )
        segment_delivered = sfn.Succeed.jsonata(
            self,
            "Segment delivered",
            outputs=jsonata(
                "{'segment_id': $states.input.segment_id, 'changes': $states.input.changes, "
                "'sent': $states.input.sent, 'failed': $states.input.failed, "
                "'invocations': $export_invocations}"
            ),
        )
        export_incomplete = sfn.Fail.jsonata(
            self,
            "Export incomplete",
            error="ExportIncomplete",
            cause=jsonata(
                "'segment ' & $export_segment_id & ' was still incomplete after "
                f"{config.max_export_invocations} invocations of the export function'"
            ),
        )
        segment_done = (
            sfn.Choice.jsonata(self, "Segment delivered?")
            .when(sfn.Condition.jsonata(jsonata("$states.input.complete = true")), segment_delivered)
            .when(
                sfn.Condition.jsonata(jsonata(f"$export_invocations >= {config.max_export_invocations}")),
                export_incomplete,
            )
            .otherwise(self.deliver_segment)
        )
        self.export_segments = sfn.Map.jsonata(
            self,
            "Export segments",
            items=sfn.ProvideItems.jsonata(jsonata("$states.input.segment_ids")),
            # the function's reserved concurrency: more would only be throttled
            max_concurrency=export_concurrency,
            outputs=jsonata("{'run_id': $run_id, 'segments': $states.result}"),
        )
        self.export_segments.item_processor(start_segment.next(self.deliver_segment).next(segment_done))
        self.export_segments.add_catch(
            self.notify_failure, errors=["States.ALL"], outputs=_failure("Export segments")
        )

        # -- lookup refresh until complete --------------------------------------------------------------
        self.refresh_lookup = tasks.LambdaInvoke.jsonata(
            self,
            "Refresh lookup",
            lambda_function=loader_function,
            payload=sfn.TaskInput.from_object({"lake_bucket": lake_bucket_name}),
            assign={"lookup_invocations": jsonata("$lookup_invocations + 1")},
            outputs=jsonata("$states.result.Payload"),
        )
        run_complete = sfn.Succeed.jsonata(
            self, "Run complete", outputs=jsonata("{'run_id': $run_id, 'lookup': $states.input}")
        )
        lookup_incomplete = sfn.Pass.jsonata(
            self,
            "Lookup incomplete",
            outputs=jsonata(
                "{'run_id': $run_id, 'state': 'Refresh lookup', 'error': 'LookupRefreshIncomplete', "
                f"'cause': 'the lookup loader was still incomplete after {config.max_lookup_invocations} "
                "invocations'}"
            ),
        )
        lookup_incomplete.next(self.notify_failure)
        lookup_done = (
            sfn.Choice.jsonata(self, "Lookup loaded?")
            .when(sfn.Condition.jsonata(jsonata("$states.input.complete = true")), run_complete)
            .when(
                sfn.Condition.jsonata(jsonata(f"$lookup_invocations >= {config.max_lookup_invocations}")),
                lookup_incomplete,
            )
            .otherwise(self.refresh_lookup)
        )

        for task in (self.list_segments, self.deliver_segment, self.refresh_lookup):
            # LambdaInvoke retries Lambda's service errors itself; throttling waits longer
            _backoff(task, LAMBDA_THROTTLED_ERRORS, Duration.seconds(10), 6)
        for task, state in (
            (self.list_segments, "List activated segments"),
            (self.refresh_lookup, "Refresh lookup"),
        ):
            task.add_catch(self.notify_failure, errors=["States.ALL"], outputs=_failure(state))
        chain.next(self.list_segments).next(self.export_segments).next(self.refresh_lookup).next(lookup_done)

        # -- the state machine ------------------------------------------------------------------------
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"{log_group_prefix}states/pipeline",
            encryption_key=key,
            retention=log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=name,
            comment="CDP batch pipeline: standardize, resolve, profiles, segments (Glue); exports; lookup",
            definition_body=sfn.DefinitionBody.from_chainable(choose_run_id),
            query_language=sfn.QueryLanguage.JSONATA,
            state_machine_type=sfn.StateMachineType.STANDARD,
            timeout=Duration.hours(config.timeout_hours),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True
            ),
        )
        ignore_cfn_lint(
            cfn(self.state_machine),
            "W3005",
            "CDK's StateMachine adds DependsOn on its role as well as on the role's policy; the role entry "
            "duplicates the order the RoleArn GetAtt already gives and changes nothing.",
        )
        glue_arn = f"arn:{Aws.PARTITION}:glue:{Aws.REGION}:{Aws.ACCOUNT_ID}"
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                sid="RunAndWatchThePipelineGlueJobs",
                actions=["glue:StartJobRun", "glue:GetJobRun", "glue:GetJobRuns", "glue:BatchStopJobRun"],
                resources=[f"{glue_arn}:job/{job_name}" for _, job_name in jobs.in_order()],
            )
        )
        self.state_machine.add_to_role_policy(
            use_key_through(
                "sns",
                key,
                sid="PublishToTheEncryptedAlarmTopic",
                encrypt=True,
            )
        )
        policy = self.state_machine.role.node.find_child("DefaultPolicy")
        for function_name in (export_function_name, loader_function_name):
            acknowledge_nag(
                policy,
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:"
                f"function:{nag_resource(policy, function_name)}:*]",
                "Step Functions' Lambda integration grants lambda:InvokeFunction on the function's versions "
                "and aliases too (ARN:*); the grant names this one function and that one action.",
            )
        acknowledge_nag(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "Log delivery (logs:CreateLogDelivery, GetLogDelivery, UpdateLogDelivery, DeleteLogDelivery, "
            "ListLogDeliveries, PutResourcePolicy, DescribeResourcePolicies, DescribeLogGroups) and X-Ray "
            "(xray:PutTraceSegments, PutTelemetryRecords, GetSamplingRules, GetSamplingTargets) have no "
            "resource-level permissions, so '*' is the only resource IAM accepts for them.",
        )


class PipelineTrigger(DeadLetteredSchedule):
    """The EventBridge Scheduler schedule that starts the pipeline, encrypted with the data key, and the
    dead-letter queue of the starts that failed after the scheduler's retries (alarmed by the stack)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        state_machine: sfn.IStateMachine,
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
            target=partial(scheduler_targets.StepFunctionsStartExecution, state_machine),
            input=scheduler.ScheduleTargetInput.from_object({"trigger": "schedule"}),
            description=f"Starts the CDP pipeline state machine: {schedule.expression} in {time_zone}",
            role_description=f"EventBridge Scheduler: start {name}, dead-letter failed starts",
            why_dead_letters_end_here=(
                "This queue is itself the dead-letter queue of the pipeline schedule (starts that failed "
                "after every retry); it is alarmed, and an operator starts the run by hand instead."
            ),
        )
