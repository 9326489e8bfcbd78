"""What every Lambda function of the platform is built from: its own log group and role, then the function.

:func:`function_logs_and_role`: the log group is named ``<prefix>lambda/<name>``, encrypted with the platform
key, kept for the stage's retention and deleted with its stack; the role may write to that log group and
nothing else until the caller adds the function's own statements (least privilege, one role per function).
Both are children of ``scope`` with the ids ``FunctionLogs`` and ``FunctionRole``.

:func:`python_function`: the function ``Function`` on that role and log group, as every function of the
platform runs: Python 3.11 on arm64, X-Ray active tracing, its environment encrypted with the platform key;
and the scanners' findings those choices raise, acknowledged with their reasons (the pinned runtime, X-Ray's
``*`` resource, no VPC, and no dead-letter queue where nothing invokes the function asynchronously).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Size
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.compliance import acknowledge_nag, cfn, ignore_cfn_lint, skip_checkov

#: what the wheels of the functions' assets are built for (``scripts/build_lambda_assets.py``)
CP311_WHEELS = "built for cp311 aarch64"
PYARROW_WHEELS = "built for cp311 aarch64, pyarrow for Amazon Linux 2"


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


def python_function(
    scope: Construct,
    *,
    description: str,
    handler: str,
    code: lambda_.Code,
    role: iam.Role,
    log_group: logs.ILogGroup,
    key: kms.IKey,
    memory_mb: int,
    timeout_seconds: int,
    reserved_concurrency: int,
    environment: dict[str, str],
    reaches: str,
    no_dead_letters: str | None,
    ephemeral_storage_mib: int | None = None,
    wheels: str = CP311_WHEELS,
) -> lambda_.Function:
    """``reaches`` names the AWS services the function calls (why it needs no VPC); ``no_dead_letters`` says
    why it has no dead-letter queue, or is ``None`` for a function that has one."""
    ephemeral_storage = None if ephemeral_storage_mib is None else Size.mebibytes(ephemeral_storage_mib)
    function = lambda_.Function(
        scope,
        "Function",
        description=description,
        runtime=lambda_.Runtime.PYTHON_3_11,
        architecture=lambda_.Architecture.ARM_64,
        handler=handler,
        code=code,
        role=role,
        memory_size=memory_mb,
        timeout=Duration.seconds(timeout_seconds),
        ephemeral_storage_size=ephemeral_storage,
        reserved_concurrent_executions=reserved_concurrency,
        log_group=log_group,
        tracing=lambda_.Tracing.ACTIVE,
        environment_encryption=key,
        environment=environment,
    )
    resource = cfn(function)
    ignore_cfn_lint(
        resource,
        "W3005",
        "CDK's Function adds DependsOn on its execution role as well as on the role's policy; the role "
        "entry duplicates the order the Role GetAtt already gives and changes nothing.",
    )
    acknowledge_nag(
        resource,
        "AwsSolutions-L1",
        f"Pinned to Python 3.11 on purpose: the handler, its wheels ({wheels}) and the local test suite all "
        "run 3.11; moving the runtime is a deliberate, tested change.",
    )
    acknowledge_nag(
        role.node.find_child("DefaultPolicy"),
        "AwsSolutions-IAM5[Resource::*]",
        "Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support "
        "resource-level permissions, so '*' is the only resource IAM accepts for them.",
    )
    if no_dead_letters is not None:
        skip_checkov(resource, "CKV_AWS_116", no_dead_letters)
    skip_checkov(
        resource,
        "CKV_AWS_117",
        f"The function calls only AWS public endpoints ({reaches}) over TLS with IAM auth and reaches no "
        "private resource; a VPC would add NAT or endpoint cost and cold-start time without reducing "
        "exposure.",
    )
    return function
