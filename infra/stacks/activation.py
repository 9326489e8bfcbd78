"""The activation stack: segment destinations, the export function, its dead letters and alarms.

Why a stack of its own (STYLE 5, stacks by lifecycle): activation changes with marketing (new topics, new
SMS identities, new destinations) far more often than the pipeline or the lake, and holds nothing the lake
does not: the SES contact list is rebuilt by re-running exports, queued and published messages are
transient. Keeping it apart means adding an e-mail topic never redeploys the Glue jobs, and deleting it
loses no data (the dead-letter queue should be drained first). It uses the data stack's bucket and key by
their exports; the orchestrator invokes the export function by its exported name.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.components.activation import (
    ActivationAlarms,
    ActivationConfig,
    ExportFunction,
    SegmentDestinations,
)
from infra.stacks.data import DataExports


def export_function_export(stage: str) -> str:
    """The export of the export function's name (the orchestrator invokes it)."""
    return f"cdp-{stage}-export-function-name"


class CdpActivationStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        data: DataExports,
        export_code: lambda_.Code,
        config: ActivationConfig,
        log_group_prefix: str,
        log_retention: logs.RetentionDays,
        alarm_email: str | None,
        **stack_options: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=f"cdp-{stage}-activation",
            description=f"CDP {stage}: segment destinations (SES, SNS, SQS, EventBridge), export, alarms",
            **stack_options,
        )
        name_prefix = f"cdp-{stage}-"
        lake_bucket = data.import_lake(self)
        key = data.import_data_key(self)
        self.destinations = SegmentDestinations(
            self, "Destinations", name_prefix=name_prefix, key=key, config=config
        )
        self.export = ExportFunction(
            self,
            "Export",
            name_prefix=name_prefix,
            code=export_code,
            bucket=lake_bucket,
            key=key,
            destinations=self.destinations,
            config=config,
            log_group_prefix=log_group_prefix,
            log_retention=log_retention,
        )
        self.alarms = ActivationAlarms(
            self,
            "Alarms",
            export=self.export,
            destinations=self.destinations,
            key=key,
            alarm_email=alarm_email,
        )
        CfnOutput(
            self,
            "ExportFunctionName",
            value=self.export.function.function_name,
            export_name=export_function_export(stage),
            description='The orchestrator invokes it with {"segment_id": …, "run_id": …} until "complete"',
        )
        CfnOutput(self, "ContactListName", value=self.destinations.contact_list_name)
        CfnOutput(
            self, "ConfigurationSetName", value=self.destinations.configuration_set.configuration_set_name
        )
        CfnOutput(self, "SegmentChangesTopicArn", value=self.destinations.topic.topic_arn)
        CfnOutput(self, "SegmentChangesQueueUrl", value=self.destinations.queue.queue_url)
        CfnOutput(self, "SegmentsEventBusName", value=self.destinations.bus.event_bus_name)
        CfnOutput(self, "ExportDeadLetterQueueUrl", value=self.export.dead_letters.queue_url)
        CfnOutput(
            self, "AlarmTopicArn", value=self.alarms.topic.topic_arn, description="Subscribe on-call here"
        )
