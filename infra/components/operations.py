"""Operations: the stage dimension of every metric, and the stage's CloudWatch dashboard (SPEC 2).

:class:`StageDimension` is a CDK aspect, applied to the whole app like the tags: it sets ``CDP_STAGE`` on
every Lambda function (read by ``lambdas.metrics``) and ``--stage`` on every Glue job (read by
``cdp.pipeline.jobs``), so every metric in the ``CDP`` namespace carries ``stage`` and dev and prod stay
apart even in one account. An aspect rather than a parameter of each construct: every function and job of
a stage needs the same value, including those later stacks add, and none of them has anything to decide.

:class:`OperationsDashboard` is the one screen an operator opens: ingestion rate and what became of the
events, the APIs' error rates, pipeline duration and failures (the Step Functions state machine and the
Glue job-failure rule), profiles, merges blocked by the identity guards, deliveries by outcome, imports,
dead-letter queue depths, Glue step runtimes, and the functions' errors and throttles. It reads AWS metrics
of the resources it is given and the custom metrics of the handlers (Powertools EMF) and the Glue steps
(:mod:`cdp.pipeline.metrics`), all in namespace ``CDP`` with the dimensions ``stage`` and ``service``.
Alarms stay with the resources they watch (each path's :class:`~infra.components.alarms.AlarmTopic`); the
dashboard pages nobody.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import jsii
from aws_cdk import Aws, Duration, IAspect
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_glue as glue
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

from cdp.pipeline.metrics import (
    MERGES_BLOCKED,
    METRICS_NAMESPACE,
    PIPELINE_SERVICE,
    PROFILES,
    STEP_DURATION,
)
from infra.components.alarms import ApiErrorRates, api_error_rate

#: the environment variable ``lambdas.metrics`` reads the stage dimension from
STAGE_VARIABLE = "CDP_STAGE"
#: the Glue job argument ``cdp.pipeline.jobs`` reads it from
STAGE_ARGUMENT = "--stage"
#: the outcomes the export function counts ``Deliveries`` by (``lambdas/export/handler.py``)
DELIVERY_OUTCOMES = ("sent", "skipped_consent", "suppressed", "skipped_no_contact", "failed", "already_sent")
#: the Powertools ``service`` of each handler
INGEST_SERVICE = "cdp-ingest"
IMPORT_SERVICE = "cdp-import"
EXPORT_SERVICE = "cdp-export"
LOADER_SERVICE = "cdp-lookup-loader"

_PERIOD = Duration.minutes(5)
_WIDTH = 12
_HEIGHT = 6


@jsii.implements(IAspect)
class StageDimension:
    """Every Lambda function gets ``CDP_STAGE``, every Glue job ``--stage`` (module docstring: why)."""

    def __init__(self, stage: str) -> None:
        self.stage = stage

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, lambda_.Function):
            node.add_environment(STAGE_VARIABLE, self.stage)
        elif isinstance(node, glue.CfnJob):
            node.add_property_override(f"DefaultArguments.{STAGE_ARGUMENT}", self.stage)


@dataclass(frozen=True, kw_only=True)
class ObservedApi:
    """An HTTP API on the dashboard, with the error-rate floor its alarms use; ``label`` is lower-case
    letters (it also names the API's metric ids in the dashboard's expressions)."""

    label: str
    api: apigw.IHttpApi
    rates: ApiErrorRates


@dataclass(frozen=True, kw_only=True)
class ObservedPlatform:
    """What the dashboard shows. Resources of other stacks are passed as constructs (CloudFormation
    exports, so this stack deploys after them); named ones (jobs, rule, state machine) by name only."""

    stage: str
    ingestion_api: ObservedApi
    lookup_api: ObservedApi
    #: label -> function (errors, throttles)
    functions: Mapping[str, lambda_.IFunction]
    #: label -> dead-letter queue (depth)
    dead_letter_queues: Mapping[str, sqs.IQueue]
    #: the pipeline steps run as Glue jobs (``StepDuration`` per step)
    glue_steps: Sequence[str]
    #: the EventBridge rule that publishes Glue job failures to the pipeline's alarm topic
    glue_failure_rule_name: str
    #: the Step Functions state machine that runs the pipeline
    state_machine_name: str


class OperationsDashboard(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, dashboard_name: str, platform: ObservedPlatform
    ) -> None:
        super().__init__(scope, construct_id)
        self.platform = platform
        stage = platform.stage
        state_machine_arn = (
            f"arn:{Aws.PARTITION}:states:{Aws.REGION}:{Aws.ACCOUNT_ID}:stateMachine:"
            f"{platform.state_machine_name}"
        )

        def cdp(
            name: str, service: str, label: str, statistic: str = "Sum", **extra: str
        ) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=METRICS_NAMESPACE,
                metric_name=name,
                dimensions_map={"stage": stage, "service": service, **extra},
                statistic=statistic,
                period=_PERIOD,
                label=label,
            )

        def states(name: str, label: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/States",
                metric_name=name,
                dimensions_map={"StateMachineArn": state_machine_arn},
                statistic=statistic,
                period=_PERIOD,
                label=label,
            )

        def graph(
            title: str, left: Sequence[cloudwatch.IMetric], **options: object
        ) -> cloudwatch.GraphWidget:
            return cloudwatch.GraphWidget(
                title=title,
                left=list(left),
                width=_WIDTH,
                height=_HEIGHT,
                **options,  # type: ignore[arg-type]
            )

        apis = (platform.ingestion_api, platform.lookup_api)
        ingestion = platform.ingestion_api.api
        widgets: list[list[cloudwatch.IWidget]] = [
            [
                cloudwatch.TextWidget(
                    markdown=(
                        f"# CDP {stage}\n"
                        "Custom metrics: namespace `CDP`, dimensions `stage` and `service` "
                        '(docs/deploy.md, "Operations"). Alarms page through each stack\'s alarm topic; '
                        "this dashboard pages nobody."
                    ),
                    width=24,
                    height=2,
                )
            ],
            [
                graph(
                    "Ingestion rate (per 5 minutes)",
                    [
                        ingestion.metric_count(period=_PERIOD, statistic="Sum", label="API requests"),
                        cdp("EventsAccepted", INGEST_SERVICE, "events accepted"),
                        cdp("EventsRejected", INGEST_SERVICE, "events rejected (quarantined)"),
                        cdp("EventsSuppressed", INGEST_SERVICE, "events suppressed (repeated messageId)"),
                    ],
                ),
                graph(
                    "API error rates (share of requests)",
                    [
                        api_error_rate(
                            observed.api,
                            kind,
                            min_requests=observed.rates.min_requests,
                            label=f"{observed.label} {kind}",
                            ids=observed.label,
                        )
                        for observed in apis
                        for kind in ("5xx", "4xx")
                    ],
                    left_y_axis=cloudwatch.YAxisProps(min=0, max=1),
                ),
            ],
            [
                graph(
                    "Pipeline duration (state machine, minutes)",
                    [
                        cloudwatch.MathExpression(
                            expression="duration / 60000",
                            using_metrics={"duration": states("ExecutionTime", "duration", "Maximum")},
                            period=_PERIOD,
                            label="run duration (max)",
                        )
                    ],
                ),
                graph(
                    "Pipeline failures",
                    [
                        states("ExecutionsFailed", "runs failed", "Sum"),
                        states("ExecutionsTimedOut", "runs timed out", "Sum"),
                        states("ExecutionsAborted", "runs aborted", "Sum"),
                        cloudwatch.Metric(
                            namespace="AWS/Events",
                            metric_name="TriggeredRules",
                            dimensions_map={"RuleName": platform.glue_failure_rule_name},
                            statistic="Sum",
                            period=_PERIOD,
                            label="Glue job runs failed",
                        ),
                    ],
                ),
            ],
            [
                graph(
                    "Profiles",
                    [
                        cdp(
                            PROFILES,
                            PIPELINE_SERVICE,
                            "published by the profiles step",
                            "Maximum",
                            step="profiles",
                        ),
                        cdp("LookupProfiles", LOADER_SERVICE, "loaded into the lookup table", "Maximum"),
                    ],
                ),
                graph(
                    "Merges blocked by the identity guards",
                    [
                        cdp(MERGES_BLOCKED, PIPELINE_SERVICE, "all guards", step="resolve"),
                        cloudwatch.SearchExpression(
                            expression=(
                                f"SEARCH('{{{METRICS_NAMESPACE},guard,service,stage,step}} "
                                f'MetricName="{MERGES_BLOCKED}" stage="{stage}"\', \'Sum\', 300)'
                            ),
                            period=_PERIOD,
                        ),
                    ],
                ),
            ],
            [
                graph(
                    "Deliveries by outcome",
                    [
                        cdp("Deliveries", EXPORT_SERVICE, outcome.replace("_", " "), outcome=outcome)
                        for outcome in DELIVERY_OUTCOMES
                    ],
                    stacked=True,
                ),
                graph(
                    "Imports (small files, in the function)",
                    [
                        cdp("RowsAccepted", IMPORT_SERVICE, "rows imported", outcome="imported"),
                        cdp("RowsRejected", IMPORT_SERVICE, "rows quarantined", outcome="imported"),
                        cdp("Uploads", IMPORT_SERVICE, "uploads failed", outcome="failed"),
                    ],
                ),
            ],
            [
                graph(
                    "Dead-letter queues (messages waiting)",
                    [
                        queue.metric_approximate_number_of_messages_visible(
                            period=_PERIOD, statistic="Maximum", label=label
                        )
                        for label, queue in platform.dead_letter_queues.items()
                    ],
                ),
                graph(
                    "Glue step runtimes (seconds)",
                    [
                        cdp(STEP_DURATION, PIPELINE_SERVICE, step, "Maximum", step=step)
                        for step in platform.glue_steps
                    ],
                ),
            ],
            [
                graph(
                    "Function errors",
                    [
                        function.metric_errors(period=_PERIOD, statistic="Sum", label=label)
                        for label, function in platform.functions.items()
                    ],
                ),
                graph(
                    "Function throttles",
                    [
                        function.metric_throttles(period=_PERIOD, statistic="Sum", label=label)
                        for label, function in platform.functions.items()
                    ],
                ),
            ],
        ]
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name,
            default_interval=Duration.days(1),
            widgets=widgets,
        )
