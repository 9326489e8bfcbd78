"""A dead-letter queue: where a function's asynchronous invocations, a rule's deliveries or a schedule's
invocations go after their last retry. Encrypted with the platform key, TLS only, kept 14 days by default
(long enough for an operator to read it after an alarm); an operator drains it after fixing the cause.
cdk-nag's SQS3 (a queue without a dead-letter queue of its own) is acknowledged with ``why`` this queue is
the last one."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.compliance import acknowledge_nag, cfn


def dead_letter_queue(
    scope: Construct,
    construct_id: str,
    *,
    key: kms.IKey,
    why: str,
    queue_name: str | None = None,
    retention_days: int = 14,
) -> sqs.Queue:
    queue = sqs.Queue(
        scope,
        construct_id,
        queue_name=queue_name,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=Duration.days(retention_days),
    )
    acknowledge_nag(cfn(queue), "AwsSolutions-SQS3", why)
    return queue
