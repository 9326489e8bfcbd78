"""The orchestration stack: the state machine that runs the batch pipeline, its schedule and its alarms.

``cdp-<stage>-pipeline`` (Step Functions) runs the pipeline stack's four Glue jobs, then the activation
stack's export function and the serving stack's lookup loader, on a daily EventBridge Scheduler schedule
and on demand (``infra/components/orchestration.py`` says how, docs/deploy.md "Run the pipeline").

Why a stack of its own (STYLE 5, stacks by lifecycle): it is the one piece that knows three other stacks,
and it changes with the run's shape (order, retries, schedule) rather than with any step's code. It holds
no data, and it references the others only by name: the Glue jobs by their deterministic names, the two
functions by the CloudFormation exports their stacks publish for it, the lake bucket and the key by the
data stack's exports. So redeploying it never touches a job or a function, and it is deployed after them
(``add_stack_dependency`` in ``infra/app.py``).

Alarms (one encrypted SNS topic, optional e-mail): every failed run publishes its own message from the
state machine ("Notify failure"); the alarms add what no Catch sees: an execution that timed out, and a
scheduled start that failed after the scheduler's retries (its dead-letter queue).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Duration, Fn, Stack
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.components.alarms import AlarmTopic
from infra.components.orchestration import (
    OrchestrationConfig,
    PipelineJobs,
    PipelineStateMachine,
    PipelineTrigger,
)
from infra.stacks.activation import export_function_export
from infra.stacks.data import DataExports
from infra.stacks.serving import loader_function_export

_FIVE_MINUTES = Duration.minutes(5)


def state_machine_name(stage: str) -> str:
    """The pipeline's state machine (the operations dashboard finds it by this name)."""
    return f"cdp-{stage}-pipeline"


class CdpOrchestrationStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        data: DataExports,
        jobs: PipelineJobs,
        export_concurrency: int,
        config: OrchestrationConfig,
        time_zone: str,
        log_group_prefix: str,
        log_retention: logs.RetentionDays,
        alarm_email: str | None,
        **stack_options: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=f"cdp-{stage}-orchestration",
            description=f"CDP {stage}: the pipeline state machine (Glue steps, exports, lookup), schedule",
            **stack_options,
        )
        name = state_machine_name(stage)
        key = data.import_data_key(self)
        self.alarms = AlarmTopic(
            self, "Alarms", display_name="CDP pipeline runs", key=key, alarm_email=alarm_email
        )
        self.pipeline = PipelineStateMachine(
            self,
            "Pipeline",
            name=name,
            jobs=jobs,
            export_function_name=Fn.import_value(export_function_export(stage)),
            export_concurrency=export_concurrency,
            loader_function_name=Fn.import_value(loader_function_export(stage)),
            lake_bucket_name=Fn.import_value(data.lake_bucket_name),
            notify=self.alarms.topic,
            key=key,
            config=config,
            log_group_prefix=log_group_prefix,
            log_retention=log_retention,
        )
        self.trigger = PipelineTrigger(
            self,
            "Trigger",
            name=name,
            state_machine=self.pipeline.state_machine,
            schedule=config.schedule,
            time_zone=time_zone,
            key=key,
        )
        self.alarms.alarm(
            "ExecutionsTimedOut",
            self.pipeline.state_machine.metric_timed_out(period=_FIVE_MINUTES, statistic="Sum"),
            f"A run of {name} outlived its {config.timeout_hours} h timeout (no Catch sees that): find the "
            "step it was in, then start it again with the same run_id.",
        )
        self.alarms.alarm(
            "ScheduleDeadLetters",
            self.trigger.dead_letters.metric_approximate_number_of_messages_visible(
                period=_FIVE_MINUTES, statistic="Maximum"
            ),
            f"The schedule could not start {name} after its retries: today's run did not start; start it by "
            "hand (docs/deploy.md, Run the pipeline) and drain the queue.",
        )

        CfnOutput(self, "StateMachineArn", value=self.pipeline.state_machine.state_machine_arn)
        CfnOutput(self, "StateMachineName", value=name)
        CfnOutput(
            self, "AlarmTopicArn", value=self.alarms.topic.topic_arn, description="Subscribe on-call here"
        )
