"""The Segment-compatible ingestion API on AWS: HTTP API → ingest function → Firehose (SPEC 2, 3.2).

The function is the same handler ``cdp serve`` runs (``lambdas.ingest.handler.lambda_handler``), wired by
environment variables to the Firehose sink and the DynamoDB key store. Its role can do exactly three
things: put records on the two delivery streams, read one item of the write-key table, and write its own
logs (plus X-Ray traces and its dead-letter queue). It has no S3 permission at all.

Routes are explicit, one ``POST /v1/<call>`` per Segment call and alias of
:data:`cdp.ingestion.service.CALLS`, so the API documents itself and anything else is refused by API
Gateway before it costs an invocation.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import jsii
from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw_v1
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdp.ingestion.service import CALLS
from infra.compliance import acknowledge_nag, cfn, ignore_cfn_lint, skip_checkov
from infra.components.delivery import EventDeliveryStream
from infra.components.functions import function_logs_and_role

HANDLER = "lambdas.ingest.handler.lambda_handler"


@dataclass(frozen=True, kw_only=True)
class ApiThrottle:
    """API Gateway stage throttling, in front of the handler's per-write-key token bucket."""

    rate_per_second: int
    burst: int

    def __post_init__(self) -> None:
        if self.rate_per_second < 1 or self.burst < 1:
            raise ValueError("throttle rate and burst must be positive")


@dataclass(frozen=True, kw_only=True)
class FunctionSizing:
    memory_mb: int = 512
    timeout_seconds: int = 10
    reserved_concurrency: int = 20


class IngestionApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api_name: str,
        code: lambda_.Code,
        events: EventDeliveryStream,
        quarantine: EventDeliveryStream,
        key_table: dynamodb.ITable,
        key: kms.IKey,
        time_zone: str,
        throttle: ApiThrottle,
        sizing: FunctionSizing,
        cors_origins: list[str],
        log_group_prefix: str,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)

        # -- the function ---------------------------------------------------------------------------
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge_nag(
            cfn(self.dead_letters),
            "AwsSolutions-SQS3",
            "This queue is itself the dead-letter queue of the ingest function (asynchronous invocations); "
            "a dead-letter queue of a dead-letter queue would only move the alarm.",
        )
        function_logs, role = function_logs_and_role(
            self,
            name="ingest",
            description="The ingest function: put to its two delivery streams, read write-key hashes",
            key=key,
            log_group_prefix=log_group_prefix,
            log_retention=log_retention,
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="PutEventsAndRejections",
                actions=["firehose:PutRecordBatch"],
                resources=[events.stream_arn, quarantine.stream_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="LookUpWriteKeyHashes", actions=["dynamodb:GetItem"], resources=[key_table.table_arn]
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="DecryptTheWriteKeyTable",
                actions=["kms:Decrypt"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{Aws.REGION}.amazonaws.com"}},
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="DeadLetterFailedAsyncInvocations",
                actions=["sqs:SendMessage"],
                resources=[self.dead_letters.queue_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="EncryptDeadLetters",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"sqs.{Aws.REGION}.amazonaws.com"}},
            )
        )

        self.function = lambda_.Function(
            self,
            "Function",
            description="Segment-compatible ingestion: validate, authenticate, hand events to Firehose",
            runtime=lambda_.Runtime.PYTHON_3_11,
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER,
            code=code,
            role=role,
            memory_size=sizing.memory_mb,
            timeout=Duration.seconds(sizing.timeout_seconds),
            reserved_concurrent_executions=sizing.reserved_concurrency,
            log_group=function_logs,
            tracing=lambda_.Tracing.ACTIVE,
            environment_encryption=key,
            environment={
                "CDP_EVENT_SINK": "firehose",
                "CDP_FIREHOSE_EVENTS_STREAM": events.stream_name,
                "CDP_FIREHOSE_QUARANTINE_STREAM": quarantine.stream_name,
                "CDP_KEY_STORE": "dynamodb",
                "CDP_KEY_TABLE": key_table.table_name,
                "CDP_TIME_ZONE": time_zone,
                "POWERTOOLS_SERVICE_NAME": "cdp-ingest",
                "POWERTOOLS_METRICS_NAMESPACE": "CDP",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
        )
        function_resource = cfn(self.function)
        # Set on the resource rather than through `dead_letter_queue=`, whose automatic grant would add
        # wildcard KMS actions; the two statements above are the narrow equivalent.
        function_resource.add_property_override("DeadLetterConfig.TargetArn", self.dead_letters.queue_arn)
        ignore_cfn_lint(
            function_resource,
            "W3005",
            "CDK's Function adds DependsOn on its execution role as well as on the role's policy; the role "
            "entry duplicates the order the Role GetAtt already gives and changes nothing.",
        )
        acknowledge_nag(
            function_resource,
            "AwsSolutions-L1",
            "Pinned to Python 3.11 on purpose: the handler, its wheels (built for cp311 aarch64) and the "
            "local test suite all run 3.11; moving the runtime is a deliberate, tested change.",
        )
        acknowledge_nag(
            role.node.find_child("DefaultPolicy"),
            "AwsSolutions-IAM5[Resource::*]",
            "Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support "
            "resource-level permissions, so '*' is the only resource IAM accepts for them.",
        )
        skip_checkov(
            function_resource,
            "CKV_AWS_117",
            "The function calls only AWS public endpoints (Firehose, DynamoDB) over TLS with IAM auth and "
            "reaches no private resource; a VPC would add NAT or endpoint cost and cold-start time "
            "without reducing exposure.",
        )

        # -- the HTTP API -----------------------------------------------------------------------------
        self.http_api = apigw.HttpApi(
            self,
            "Api",
            api_name=api_name,
            description="Segment Tracking API compatible ingestion (POST /v1/<call>)",
            create_default_stage=False,
            cors_preflight=apigw.CorsPreflightOptions(
                allow_origins=cors_origins,
                allow_methods=[apigw.CorsHttpMethod.POST],
                allow_headers=["authorization", "content-type", "content-encoding"],
                max_age=Duration.days(1),
            ),
        )
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            log_group_name=f"{log_group_prefix}api/ingest-access",
            encryption_key=key,
            retention=log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.stage = apigw.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigw.ThrottleSettings(rate_limit=throttle.rate_per_second, burst_limit=throttle.burst),
            access_log_settings=_AccessLogSettings(
                destination=apigw.LogGroupLogDestination(access_logs),
                format=apigw_v1.AccessLogFormat.custom(json.dumps(_ACCESS_LOG_FIELDS, separators=(",", ":"))),
            ),
        )
        integration = integrations.HttpLambdaIntegration(
            "Ingest", self.function, payload_format_version=apigw.PayloadFormatVersion.VERSION_2_0
        )
        self.routes: list[apigw.HttpRoute] = []
        for call in sorted(CALLS):
            self.routes.extend(
                self.http_api.add_routes(
                    path=f"/v1/{call}", methods=[apigw.HttpMethod.POST], integration=integration
                )
            )
        for route in self.routes:
            acknowledge_nag(cfn(route), "AwsSolutions-APIG4", _NO_AUTHORIZER)
        self.url = self.stage.url


@jsii.implements(apigw.IAccessLogSettings)
class _AccessLogSettings:
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


_NO_AUTHORIZER = (
    "The Segment Tracking API authenticates each request with a source write key (HTTP Basic user name or "
    "the body's writeKey), checked against hashed keys by the function; Segment and RudderStack SDKs "
    "cannot sign SigV4 or obtain JWTs, and a key in the body is invisible to an API Gateway authorizer."
)

# One JSON object per request; no request bodies, no Authorization header (it carries the write key).
_ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "sourceIp": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationStatus": "$context.integrationStatus",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
    "error": "$context.error.message",
}
