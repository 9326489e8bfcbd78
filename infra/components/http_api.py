"""What the platform's three HTTP APIs (ingestion, profile lookup, privacy) are built from alike.

* :func:`http_api_with_stage`: the API without CDK's default stage, and its own ``$default`` stage,
  auto-deployed, throttled (:class:`ApiThrottle`), logging one JSON object per request to an encrypted log
  group ``<prefix>api/<name>-access`` kept for the stage's retention and deleted with its stack. The access
  log names the route, the outcome and the latencies, never a body, a query string or the Authorization
  header (they carry the write key, the e-mail or phone looked up, the person named);
  :data:`IAM_ACCESS_LOG_FIELDS` adds the caller, the IAM principal that signed the request.
* :func:`iam_routes` and :func:`caller_policy`: for the IAM-authorized APIs (lookup, privacy), routes that
  use the ``AWS_IAM`` authorizer in front of one function, and the managed policy that may invoke exactly
  those routes (a ``{param}`` path segment becomes the ``*`` of its ARN, acknowledged with the reason).

Like :func:`infra.components.functions.function_logs_and_role`, these add their constructs as children of
the caller's ``scope`` with fixed ids (``Api``, ``AccessLogs``, ``DefaultStage``, ``CallerPolicy``), so the
logical ids are the component's own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

import jsii
from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_apigateway as apigw_v1
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.compliance import acknowledge_nag, cfn

#: the stage every API serves: no stage name in its URL
STAGE = "$default"
_PATH_PARAMETER = re.compile(r"\{[^}/]+\}")

_REQUEST_FIELDS = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
}
_RESPONSE_FIELDS = {
    "sourceIp": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationStatus": "$context.integrationStatus",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
    "error": "$context.error.message",
}
#: one JSON object per request: which route, the outcome, the latencies
ACCESS_LOG_FIELDS = {**_REQUEST_FIELDS, **_RESPONSE_FIELDS}
#: the same, and who called: the IAM principal of an ``AWS_IAM``-authorized route
IAM_ACCESS_LOG_FIELDS = {**_REQUEST_FIELDS, "caller": "$context.identity.userArn", **_RESPONSE_FIELDS}


@dataclass(frozen=True, kw_only=True)
class ApiThrottle:
    """API Gateway stage throttling, in front of whatever limits the function applies itself."""

    rate_per_second: int
    burst: int

    def __post_init__(self) -> None:
        if self.rate_per_second < 1 or self.burst < 1:
            raise ValueError("throttle rate and burst must be positive")


@jsii.implements(apigw.IAccessLogSettings)
class AccessLogSettings:
    """``IAccessLogSettings`` is an interface, not a struct, in the Python bindings."""

    def __init__(self, *, destination: apigw.IAccessLogDestination, format: apigw_v1.AccessLogFormat) -> None:
        self._destination = destination
        self._format = format

    @property
    def destination(self) -> apigw.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw_v1.AccessLogFormat:
        return self._format


def http_api_with_stage(
    scope: Construct,
    *,
    api_name: str,
    description: str,
    name: str,
    throttle: ApiThrottle,
    access_log_fields: dict[str, str],
    key: kms.IKey,
    log_group_prefix: str,
    log_retention: logs.RetentionDays,
    cors_preflight: apigw.CorsPreflightOptions | None = None,
) -> tuple[apigw.HttpApi, apigw.HttpStage]:
    """The API ``Api`` and its stage ``DefaultStage``, logging to ``AccessLogs``, the log group
    ``<prefix>api/<name>-access``."""
    http_api = apigw.HttpApi(
        scope,
        "Api",
        api_name=api_name,
        description=description,
        create_default_stage=False,
        cors_preflight=cors_preflight,
    )
    access_logs = logs.LogGroup(
        scope,
        "AccessLogs",
        log_group_name=f"{log_group_prefix}api/{name}-access",
        encryption_key=key,
        retention=log_retention,
        removal_policy=RemovalPolicy.DESTROY,
    )
    stage = apigw.HttpStage(
        scope,
        "DefaultStage",
        http_api=http_api,
        stage_name=STAGE,
        auto_deploy=True,
        throttle=apigw.ThrottleSettings(rate_limit=throttle.rate_per_second, burst_limit=throttle.burst),
        access_log_settings=AccessLogSettings(
            destination=apigw.LogGroupLogDestination(access_logs),
            format=apigw_v1.AccessLogFormat.custom(json.dumps(access_log_fields, separators=(",", ":"))),
        ),
    )
    return http_api, stage


def iam_routes(
    http_api: apigw.HttpApi,
    function: lambda_.IFunction,
    *,
    integration_id: str,
    routes: Sequence[tuple[str, str]],
) -> list[apigw.HttpRoute]:
    """One route per ``(method, path)``, each behind the ``AWS_IAM`` authorizer, all to ``function``."""
    integration = integrations.HttpLambdaIntegration(
        integration_id, function, payload_format_version=apigw.PayloadFormatVersion.VERSION_2_0
    )
    authorizer = authorizers.HttpIamAuthorizer()
    added: list[apigw.HttpRoute] = []
    for method, path in routes:
        added.extend(
            http_api.add_routes(
                path=path, methods=[apigw.HttpMethod(method)], integration=integration, authorizer=authorizer
            )
        )
    return added


def caller_policy(
    scope: Construct,
    *,
    http_api: apigw.HttpApi,
    routes: Sequence[tuple[str, str]],
    sid: str,
    description: str,
    path_parameter_reason: str,
    managed_policy_name: str | None = None,
) -> iam.ManagedPolicy:
    """``CallerPolicy``: ``execute-api:Invoke`` on exactly ``routes`` of the ``$default`` stage; the ``*``
    that stands for a path parameter is acknowledged with ``path_parameter_reason``."""
    arn_paths = [(method, _PATH_PARAMETER.sub("*", path)) for method, path in routes]
    policy = iam.ManagedPolicy(
        scope,
        "CallerPolicy",
        managed_policy_name=managed_policy_name,
        description=description,
        statements=[
            iam.PolicyStatement(
                sid=sid,
                actions=["execute-api:Invoke"],
                resources=[
                    http_api.arn_for_execute_api(method=method, path=path, stage=STAGE)
                    for method, path in arn_paths
                ],
            )
        ],
    )
    stack = Stack.of(scope)
    api_logical_id = stack.resolve(stack.get_logical_id(cfn(http_api)))
    for method, path in arn_paths:
        if "*" in path:
            acknowledge_nag(
                policy,
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:"
                f"<{api_logical_id}>/{STAGE}/{method}{path}]",
                path_parameter_reason,
            )
    return policy
