"""The privacy stack: the IAM-authorized access and erasure API, its worker, the worker's weekly retention
schedule and alarms (SPEC 9).

Why a stack of its own (STYLE 5, stacks by lifecycle): it holds the platform's broadest personal-data role,
which deserves its own change history and review, apart from the pipeline's jobs or the lookup's real-time
path; it changes with the privacy domain, not with marketing or analytics. It holds no data (requests, their
status, access documents and erasure reports live in the lake's ``privacy/`` zone, the dead-letter queue
holds request ids only), so deleting it loses nothing. It reaches the data stack's buckets, keys and salt
and the serving stack's lookup table through their named exports, and the activation stack's SES contact
list by its name (``cdp-<stage>-audiences``, one per account).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Fn, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdp.lake import PSEUDONYMIZED
from infra.components.privacy import (
    PrivacyAlarms,
    PrivacyApi,
    PrivacyConfig,
    PrivacyTargets,
    RetentionTrigger,
)
from infra.stacks.data import DataExports
from infra.stacks.serving import profile_table_export


def contact_list_name(stage: str) -> str:
    """The activation stack's SES contact list (``infra.components.activation.SegmentDestinations``)."""
    return f"cdp-{stage}-audiences"


class CdpPrivacyStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        data: DataExports,
        code: lambda_.Code,
        config: PrivacyConfig,
        time_zone: str,
        log_group_prefix: str,
        log_retention: logs.RetentionDays,
        alarm_email: str | None,
        **stack_options: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=f"cdp-{stage}-privacy",
            description=f"CDP {stage}: privacy API (access, erasure; AWS_IAM), its worker, retention, alarms",
            **stack_options,
        )
        lake = data.import_lake(self)
        key = data.import_data_key(self)
        zone = data.import_pseudonymized_zone(self)
        zone_key = data.import_pseudonymized_key(self)
        table_name = Fn.import_value(profile_table_export(stage))
        self.privacy = PrivacyApi(
            self,
            "Privacy",
            name_prefix=f"cdp-{stage}-",
            code=code,
            targets=PrivacyTargets(
                lake=lake,
                lake_key=key,
                pseudonymized=zone,
                pseudonymized_key=zone_key,
                pseudonymized_root=f"s3://{zone.bucket_name}/{PSEUDONYMIZED}",
                lookup_table_name=table_name,
                lookup_table_arn=self.format_arn(
                    service="dynamodb", resource="table", resource_name=table_name
                ),
                salt_secret_arn=Fn.import_value(data.salt_secret_arn),
                contact_list_name=contact_list_name(stage),
            ),
            config=config,
            log_group_prefix=log_group_prefix,
            log_retention=log_retention,
        )
        self.retention = RetentionTrigger(
            self,
            "Retention",
            name=f"cdp-{stage}-privacy-retention",
            worker=self.privacy.worker,
            schedule=config.retention_schedule,
            time_zone=time_zone,
            key=key,
        )
        self.alarms = PrivacyAlarms(
            self,
            "Alarms",
            privacy=self.privacy,
            retention=self.retention,
            key=key,
            config=config,
            alarm_email=alarm_email,
        )
        CfnOutput(
            self, "PrivacyApiUrl", value=self.privacy.url, description="SigV4-signed POST /v1/privacy/…"
        )
        CfnOutput(
            self,
            "PrivacyCallerPolicyArn",
            value=self.privacy.caller_policy.managed_policy_arn,
            description="Attach to the data protection officer's role",
        )
        CfnOutput(self, "PrivacyWorkerFunctionName", value=self.privacy.worker.function_name)
        CfnOutput(self, "PrivacyDeadLetterQueueUrl", value=self.privacy.dead_letters.queue_url)
        CfnOutput(self, "RetentionScheduleName", value=self.retention.schedule.schedule_name)
        CfnOutput(
            self, "AlarmTopicArn", value=self.alarms.topic.topic_arn, description="Subscribe on-call here"
        )
