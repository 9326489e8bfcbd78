"""The ingestion stack: API, function, delivery streams, alarms. Stateless: safe to redeploy or delete.

It uses the data stack's bucket, table and key by reference; nothing here holds data that a delete would
lose (delivery streams buffer at most a minute; the dead-letter queue is drained by an operator).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Fn, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdp.lake import QUARANTINE_EVENTS, RAW_EVENTS
from infra.components.alarms import AlarmThresholds, IngestionAlarms
from infra.components.delivery import EventDeliveryStream
from infra.components.http_api import ApiThrottle
from infra.components.ingestion_api import FunctionSizing, IngestionApi
from infra.stacks.data import DataExports


class CdpIngestionStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        data: DataExports,
        ingest_code: lambda_.Code,
        time_zone: str,
        throttle: ApiThrottle,
        sizing: FunctionSizing,
        cors_origins: list[str],
        log_group_prefix: str,
        log_retention: logs.RetentionDays,
        alarm_thresholds: AlarmThresholds,
        alarm_email: str | None,
        **stack_options: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=f"cdp-{stage}-ingestion",
            description=f"CDP {stage}: Segment-compatible ingestion API, function, Firehose, alarms",
            **stack_options,
        )
        lake_bucket = data.import_lake(self)
        key = data.import_data_key(self)
        key_table = dynamodb.Table.from_table_attributes(
            self,
            "WriteKeys",
            table_name=Fn.import_value(data.key_table_name),  # the ARN follows from it
        )
        streams = [
            EventDeliveryStream(
                self,
                construct,
                name=f"cdp-{stage}-{short}",
                zone=zone,
                bucket=lake_bucket,
                key=key,
                time_zone=time_zone,
                log_group_name=f"{log_group_prefix}firehose/{short}",
                log_retention=log_retention,
            )
            for construct, short, zone in (
                ("EventsDelivery", "events", RAW_EVENTS),
                ("QuarantineDelivery", "quarantine", QUARANTINE_EVENTS),
            )
        ]
        events, quarantine = streams
        self.api = IngestionApi(
            self,
            "Ingestion",
            api_name=f"cdp-{stage}-ingest",
            code=ingest_code,
            events=events,
            quarantine=quarantine,
            key_table=key_table,
            key=key,
            time_zone=time_zone,
            throttle=throttle,
            sizing=sizing,
            cors_origins=cors_origins,
            log_group_prefix=log_group_prefix,
            log_retention=log_retention,
        )
        self.alarms = IngestionAlarms(
            self,
            "Alarms",
            api=self.api,
            streams=streams,
            key=key,
            thresholds=alarm_thresholds,
            alarm_email=alarm_email,
        )
        CfnOutput(self, "IngestApiUrl", value=self.api.url, description="Point Segment/RudderStack SDKs here")
        CfnOutput(self, "IngestFunctionName", value=self.api.function.function_name)
        CfnOutput(self, "EventsStreamName", value=events.stream_name)
        CfnOutput(self, "QuarantineStreamName", value=quarantine.stream_name)
        CfnOutput(
            self, "AlarmTopicArn", value=self.alarms.topic.topic_arn, description="Subscribe on-call here"
        )
