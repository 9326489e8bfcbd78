"""The operations stack: the stage's CloudWatch dashboard. Stateless, holds nothing: safe to redeploy.

Why a stack of its own (STYLE 5, stacks by lifecycle): the dashboard changes with what operators want to
see, far more often than what it shows, and must never redeploy the ingestion API or the Glue jobs for a
new graph. It reads the other stacks' APIs, functions and dead-letter queues (whose names CloudFormation
generates) by reference: CDK publishes each as an output of its stack and this template reads it with
``Fn::GetStackOutput``, a weak reference, so it deploys after them and never blocks a change to them
(there is no export to hold on to). The value is read when this stack deploys: after a change replaces one
of those resources, redeploy this stack too (``cdk deploy --all`` does). Resources named by the stage (the
Glue steps' metrics, the job-failure rule, the ``cdp-<stage>-pipeline`` state machine) are referred to by
name, so the orchestration stack and this one may deploy in either order.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.components.alarms import AlarmThresholds
from infra.components.lookup_alarms import LookupAlarmThresholds
from infra.components.operations import ObservedApi, ObservedPlatform, OperationsDashboard
from infra.stacks.activation import CdpActivationStack
from infra.stacks.ingestion import CdpIngestionStack
from infra.stacks.orchestration import state_machine_name
from infra.stacks.pipeline import CdpPipelineStack
from infra.stacks.serving import CdpServingStack

#: the pipeline steps that run as Glue jobs (``glue_jobs/``), by their ``step`` dimension
GLUE_STEPS = ("standardize", "resolve", "profiles", "segments")


class CdpOperationsStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        ingestion: CdpIngestionStack,
        pipeline: CdpPipelineStack,
        serving: CdpServingStack,
        activation: CdpActivationStack,
        alarm_thresholds: AlarmThresholds,
        **stack_options: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=f"cdp-{stage}-operations",
            description=f"CDP {stage}: the operations dashboard (ingestion, pipeline, profiles, deliveries)",
            **stack_options,
        )
        platform = ObservedPlatform(
            stage=stage,
            ingestion_api=ObservedApi(
                label="ingestion", api=ingestion.api.http_api, rates=alarm_thresholds.api_error_rates
            ),
            lookup_api=ObservedApi(
                label="lookup", api=serving.api.http_api, rates=LookupAlarmThresholds().api_error_rates
            ),
            functions={
                "ingest": ingestion.api.function,
                "import": pipeline.batch_import.function,
                "lookup": serving.api.function,
                "lookup loader": serving.loader.function,
                "export": activation.export.function,
            },
            dead_letter_queues={
                "ingest (async invocations)": ingestion.api.dead_letters,
                "import (function)": pipeline.batch_import.dead_letters,
                "import (upload rule)": pipeline.batch_import.rule_dead_letters,
                "export": activation.export.dead_letters,
                "segment changes (redrive)": activation.destinations.queue_redrive,
            },
            glue_steps=GLUE_STEPS,
            glue_failure_rule_name=f"cdp-{stage}-glue-job-failures",
            state_machine_name=state_machine_name(stage),
        )
        self.dashboard = OperationsDashboard(
            self, "Operations", dashboard_name=f"cdp-{stage}-operations", platform=platform
        )
        CfnOutput(
            self,
            "DashboardName",
            value=f"cdp-{stage}-operations",
            description="CloudWatch > Dashboards: the stage's operations dashboard",
        )
