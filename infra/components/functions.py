"""What every Lambda function of the platform starts from: its own log group and its own role.

The log group is named ``<prefix>lambda/<name>``, encrypted with the platform key, kept for the stage's
retention and deleted with its stack; the role may write to that log group and nothing else until the
caller adds the function's own statements (least privilege, one role per function). Both are children of
``scope`` with the ids ``FunctionLogs`` and ``FunctionRole``.
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct


def function_logs_and_role(
    scope: Construct,
    *,
    name: str,
    description: str,
    key: kms.IKey,
    log_group_prefix: str,
    log_retention: logs.RetentionDays,
) -> tuple[logs.LogGroup, iam.Role]:
    function_logs = logs.LogGroup(
        scope,
        "FunctionLogs",
        log_group_name=f"{log_group_prefix}lambda/{name}",
        encryption_key=key,
        retention=log_retention,
        removal_policy=RemovalPolicy.DESTROY,
    )
    role = iam.Role(
        scope,
        "FunctionRole",
        description=description,
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
    )
    function_logs.grant_write(role)
    return function_logs, role
