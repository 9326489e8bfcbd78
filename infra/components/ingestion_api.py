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

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdp.ingestion.service import CALLS
from infra.compliance import acknowledge_nag, cfn
from infra.components.dead_letters import dead_letter_queue
from infra.components.delivery import EventDeliveryStream
from infra.components.encryption import use_key_through
from infra.components.functions import function_logs_and_role, python_function
from infra.components.http_api import ACCESS_LOG_FIELDS, ApiThrottle, http_api_with_stage

HANDLER = "lambdas.ingest.handler.lambda_handler"


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
        self.dead_letters = dead_letter_queue(
            self,
            "DeadLetters",
            key=key,
            why=(
                "This queue is itself the dead-letter queue of the ingest function (asynchronous "
                "invocations); a dead-letter queue of a dead-letter queue would only move the alarm."
            ),
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
        role.add_to_policy(use_key_through("dynamodb", key, sid="DecryptTheWriteKeyTable"))
        role.add_to_policy(
            iam.PolicyStatement(
                sid="DeadLetterFailedAsyncInvocations",
                actions=["sqs:SendMessage"],
                resources=[self.dead_letters.queue_arn],
            )
        )
        role.add_to_policy(use_key_through("sqs", key, sid="EncryptDeadLetters", encrypt=True))

        self.function = python_function(
            self,
            description="Segment-compatible ingestion: validate, authenticate, hand events to Firehose",
            handler=HANDLER,
            code=code,
            role=role,
            log_group=function_logs,
            key=key,
            memory_mb=sizing.memory_mb,
            timeout_seconds=sizing.timeout_seconds,
            reserved_concurrency=sizing.reserved_concurrency,
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
            reaches="Firehose, DynamoDB",
            no_dead_letters=None,
        )
        # Set on the resource rather than through `dead_letter_queue=`, whose automatic grant would add
        # wildcard KMS actions; the two statements above are the narrow equivalent.
        cfn(self.function).add_property_override("DeadLetterConfig.TargetArn", self.dead_letters.queue_arn)

        # -- the HTTP API -----------------------------------------------------------------------------
        self.http_api, self.stage = http_api_with_stage(
            self,
            api_name=api_name,
            description="Segment Tracking API compatible ingestion (POST /v1/<call>)",
            name="ingest",
            throttle=throttle,
            access_log_fields=ACCESS_LOG_FIELDS,
            key=key,
            log_group_prefix=log_group_prefix,
            log_retention=log_retention,
            cors_preflight=apigw.CorsPreflightOptions(
                allow_origins=cors_origins,
                allow_methods=[apigw.CorsHttpMethod.POST],
                allow_headers=["authorization", "content-type", "content-encoding"],
                max_age=Duration.days(1),
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


_NO_AUTHORIZER = (
    "The Segment Tracking API authenticates each request with a source write key (HTTP Basic user name or "
    "the body's writeKey), checked against hashed keys by the function; Segment and RudderStack SDKs "
    "cannot sign SigV4 or obtain JWTs, and a key in the body is invisible to an API Gateway authorizer."
)
