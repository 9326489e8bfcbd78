"""The platform's customer-managed KMS key (SPEC 9): lake objects, write-key table, queues, topics, logs.

One key per stage keeps the key policy short and every grant auditable in one place. The key policy trusts
the account (so IAM policies in every stack can grant narrowly scoped use of it) and names the AWS
services that must use the key on the platform's behalf without an IAM role of ours: CloudWatch Logs, for
log groups under the stage's prefix; CloudWatch alarms, publishing to the encrypted alarm topic; S3
server access logging, writing the lake's access logs into their CMK-encrypted bucket; and EventBridge,
for the stage's rules only, delivering to encrypted targets (the alarm topic, dead-letter queues).
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

#: What a service needs to encrypt and decrypt with the key; no wildcard actions.
_ENVELOPE_ACTIONS = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:DescribeKey",
]


def use_key_through(service: str, key: kms.IKey, *, sid: str, encrypt: bool = False) -> iam.PolicyStatement:
    """A role's use of ``key`` only on a service's behalf (``kms:ViaService``): ``kms:Decrypt``, and with
    ``encrypt`` ``kms:GenerateDataKey`` too. A role that may decrypt lake objects through S3 cannot call
    ``kms:Decrypt`` on the key directly, nor through another service."""
    return iam.PolicyStatement(
        sid=sid,
        actions=["kms:Decrypt", "kms:GenerateDataKey"] if encrypt else ["kms:Decrypt"],
        resources=[key.key_arn],
        conditions={"StringEquals": {"kms:ViaService": f"{service}.{Aws.REGION}.amazonaws.com"}},
    )


class DataKey(Construct):
    """A symmetric CMK with yearly automatic rotation, retained when its stack is deleted."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        alias: str,
        log_group_prefix: str,
        event_rule_prefix: str,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            alias=alias,
            description="CDP lake, write keys, queues, topics and logs",
            enable_key_rotation=True,
            rotation_period=Duration.days(365),
            pending_window=Duration.days(30),
            removal_policy=removal_policy,
        )
        log_groups = f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:{log_group_prefix}*"
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsEncryptsThePlatformLogGroups",
                principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                actions=_ENVELOPE_ACTIONS,
                resources=["*"],  # in a key policy "*" means this key
                conditions={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_groups}},
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublishToTheEncryptedAlarmTopic",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="S3ServerAccessLoggingWritesEncryptedLogs",
                principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        rules = f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}:rule/{event_rule_prefix}*"
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="EventBridgeRulesDeliverToEncryptedTargets",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": rules},
                },
            )
        )
