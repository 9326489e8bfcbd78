"""The real-time profile lookup on AWS (SPEC 2, 3.5): its table, its IAM-authorized API and its loader.

* :class:`ProfileTable`: the table of :class:`cdp.adapters.aws_dynamodb_profiles.DynamoDbProfileStore`
  (key schema from the adapter, so they cannot drift): on-demand, the platform CMK, point-in-time recovery.
  It holds nothing the lake does not (the loader rebuilds it from the published snapshots), so it is not
  retained: deleting its stack loses a cache, not data.
* :class:`ProfileLookupApi`: ``GET /v1/profiles`` and ``GET /v1/profiles/{profile_id}`` on an HTTP API whose
  routes use the ``AWS_IAM`` authorizer: callers sign with SigV4 and need ``execute-api:Invoke`` on the
  routes (the construct's :attr:`~ProfileLookupApi.caller_policy` grants exactly that, for the platform
  team to attach to service-desk roles). API Gateway refuses anything else with 403 before the function
  runs, so the function (``lambdas.lookup.handler``, the same one ``cdp serve`` runs behind its local
  API-key check) checks nothing itself. Its role may ``GetItem`` and ``Query`` this table and decrypt
  through DynamoDB, and write its logs and traces: nothing else.
* :class:`LookupLoader`: ``lambdas.lookup_loader.handler``, invoked (synchronously) by the orchestrator
  after the profiles and segments steps. Its role reads the three published tables' prefixes of the lake
  (and lists the bucket, to find snapshot files), and reads and writes this table with exactly the calls
  of the replace-all load: ``BatchGetItem`` (stored digests), ``BatchWriteItem`` (puts and deletes) and
  ``Scan`` (profiles a run no longer has). One load at a time (reserved concurrency 1).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from aws_cdk import Aws, Duration, RemovalPolicy, Size, Stack
from aws_cdk import aws_apigateway as apigw_v1
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdp.adapters.aws_dynamodb_profiles import PARTITION_KEY, SORT_KEY
from infra.compliance import acknowledge_nag, cfn, ignore_cfn_lint, nag_resource, skip_checkov
from infra.components.functions import function_logs_and_role
from infra.components.ingestion_api import ApiThrottle, _AccessLogSettings

HANDLER = "lambdas.lookup.handler.lambda_handler"
LOADER_HANDLER = "lambdas.lookup_loader.handler.lambda_handler"
#: the API's routes, as API Gateway names them (``{profile_id}`` is one path segment)
ROUTES = ("/v1/profiles", "/v1/profiles/{profile_id}")


@dataclass(frozen=True, kw_only=True)
class LookupSizing:
    """The lookup function answers one GetItem or Query+GetItem per request: small and quick."""

    memory_mb: int = 512
    timeout_seconds: int = 10
    reserved_concurrency: int = 10


@dataclass(frozen=True, kw_only=True)
class LoaderSizing:
    """One bucket of profiles, traits and memberships in memory (cdp.pipeline.lookup.LoadBudget) and the
    spilled buckets on /tmp; the full 15 minutes, stopping a minute early to answer ``complete: false``."""

    memory_mb: int = 3008
    timeout_seconds: int = 900
    ephemeral_storage_mib: int = 4096


@dataclass(frozen=True, kw_only=True)
class ServingConfig:
    throttle: ApiThrottle = field(default_factory=lambda: ApiThrottle(rate_per_second=50, burst=100))
    lookup: LookupSizing = field(default_factory=LookupSizing)
    loader: LoaderSizing = field(default_factory=LoaderSizing)
    #: phones typed without a country code are read in this region (the API's CDP_PHONE_REGION)
    phone_region: str = "TH"


class ProfileTable(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=PARTITION_KEY, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=SORT_KEY, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            # rebuilt from the lake by the loader: a stack delete loses a cache, not data
            removal_policy=RemovalPolicy.DESTROY,
        )


class ProfileLookupApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api_name: str,
        code: lambda_.Code,
        table: dynamodb.ITable,
        key: kms.IKey,
        config: ServingConfig,
        log_group_prefix: str,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)

        function_logs, role = function_logs_and_role(
            self,
            name="lookup",
            description="The lookup function: read profile documents and identifier items of its table",
            key=key,
            log_group_prefix=log_group_prefix,
            log_retention=log_retention,
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadProfilesAndTheirIdentifiers",
                actions=["dynamodb:GetItem", "dynamodb:Query"],
                resources=[table.table_arn],
            )
        )
        role.add_to_policy(_decrypt_through("dynamodb", key, sid="DecryptTheProfileTable"))
        self.function = lambda_.Function(
            self,
            "Function",
            description="Profile lookup by id or identifier (GET /v1/profiles), IAM-authorized by the API",
            runtime=lambda_.Runtime.PYTHON_3_11,
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER,
            code=code,
            role=role,
            memory_size=config.lookup.memory_mb,
            timeout=Duration.seconds(config.lookup.timeout_seconds),
            reserved_concurrent_executions=config.lookup.reserved_concurrency,
            log_group=function_logs,
            tracing=lambda_.Tracing.ACTIVE,
            environment_encryption=key,
            environment={
                "CDP_PROFILE_STORE": "dynamodb",
                "CDP_PROFILE_TABLE": table.table_name,
                "CDP_PHONE_REGION": config.phone_region,
                "POWERTOOLS_SERVICE_NAME": "cdp-lookup",
                "POWERTOOLS_METRICS_NAMESPACE": "CDP",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
        )
        _function_compliance(
            self.function,
            role,
            no_dead_letters=(
                "API Gateway invokes the lookup function synchronously only; a failed lookup is answered to "
                "the caller as an error, so there is no asynchronous event a dead-letter queue could keep."
            ),
            reaches="DynamoDB",
        )

        # -- the HTTP API -----------------------------------------------------------------------------
        self.http_api = apigw.HttpApi(
            self,
            "Api",
            api_name=api_name,
            description="Profile lookup (GET /v1/profiles), AWS_IAM authorization",
            create_default_stage=False,
        )
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            log_group_name=f"{log_group_prefix}api/lookup-access",
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
            throttle=apigw.ThrottleSettings(
                rate_limit=config.throttle.rate_per_second, burst_limit=config.throttle.burst
            ),
            access_log_settings=_AccessLogSettings(
                destination=apigw.LogGroupLogDestination(access_logs),
                format=apigw_v1.AccessLogFormat.custom(json.dumps(_ACCESS_LOG_FIELDS, separators=(",", ":"))),
            ),
        )
        integration = integrations.HttpLambdaIntegration(
            "Lookup", self.function, payload_format_version=apigw.PayloadFormatVersion.VERSION_2_0
        )
        iam_authorizer = authorizers.HttpIamAuthorizer()
        self.routes: list[apigw.HttpRoute] = []
        for path in ROUTES:
            self.routes.extend(
                self.http_api.add_routes(
                    path=path,
                    methods=[apigw.HttpMethod.GET],
                    integration=integration,
                    authorizer=iam_authorizer,
                )
            )
        self.url = self.stage.url

        # -- who may call it ------------------------------------------------------------------------------
        route_arns = [
            self.http_api.arn_for_execute_api(method="GET", path=path, stage="$default")
            for path in ("/v1/profiles", "/v1/profiles/*")
        ]
        self.caller_policy = iam.ManagedPolicy(
            self,
            "CallerPolicy",
            description="Attach to the roles that may look up profiles (service desk): the two GET routes",
            statements=[
                iam.PolicyStatement(
                    sid="LookUpProfiles", actions=["execute-api:Invoke"], resources=route_arns
                )
            ],
        )
        stack = Stack.of(self)
        api_logical_id = stack.resolve(stack.get_logical_id(cfn(self.http_api)))
        acknowledge_nag(
            self.caller_policy,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:"
            f"<{api_logical_id}>/$default/GET/v1/profiles/*]",
            "The '*' is the {profile_id} path segment of GET /v1/profiles/{profile_id}: a caller may look up "
            "any profile by id, which is what the route is for; method, stage and API are fixed.",
        )


class LookupLoader(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code: lambda_.Code,
        table: dynamodb.ITable,
        bucket: s3.IBucket,
        reads: tuple[str, ...],
        key: kms.IKey,
        sizing: LoaderSizing,
        log_group_prefix: str,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        function_logs, role = function_logs_and_role(
            self,
            name="lookup-loader",
            description="The lookup loader: read published profiles and memberships, replace the table",
            key=key,
            log_group_prefix=log_group_prefix,
            log_retention=log_retention,
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReplaceTheLookupTable",
                actions=["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:Scan"],
                resources=[table.table_arn],
            )
        )
        role.add_to_policy(_decrypt_through("dynamodb", key, sid="DecryptTheProfileTable"))
        role.add_to_policy(
            iam.PolicyStatement(
                sid="FindSnapshotFiles",
                actions=["s3:GetBucketLocation", "s3:ListBucket"],
                resources=[bucket.bucket_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadPublishedProfilesAndMemberships",
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{prefix}*") for prefix in reads],
            )
        )
        role.add_to_policy(_decrypt_through("s3", key, sid="DecryptLakeObjects"))
        policy = role.node.find_child("DefaultPolicy")
        bucket_arn = nag_resource(policy, bucket.bucket_arn)
        for prefix in reads:
            acknowledge_nag(
                policy,
                f"AwsSolutions-IAM5[Resource::{bucket_arn}/{prefix}*]",
                f"The loader reads the snapshot files and pointer of a published table, named at run time by "
                f"the run id; the grant is s3:GetObject under the table's prefix '{prefix}' only.",
            )
        self.function = lambda_.Function(
            self,
            "Function",
            description="Loads the profile lookup table from the lake's published profiles (step lookup)",
            runtime=lambda_.Runtime.PYTHON_3_11,
            architecture=lambda_.Architecture.ARM_64,
            handler=LOADER_HANDLER,
            code=code,
            role=role,
            memory_size=sizing.memory_mb,
            timeout=Duration.seconds(sizing.timeout_seconds),
            ephemeral_storage_size=Size.mebibytes(sizing.ephemeral_storage_mib),
            reserved_concurrent_executions=1,  # one load at a time: two would race on the same items
            log_group=function_logs,
            tracing=lambda_.Tracing.ACTIVE,
            environment_encryption=key,
            environment={
                "CDP_PROFILE_STORE": "dynamodb",
                "CDP_PROFILE_TABLE": table.table_name,
                "CDP_LAKE_BUCKET": bucket.bucket_name,
                "POWERTOOLS_SERVICE_NAME": "cdp-lookup-loader",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
        )
        _function_compliance(
            self.function,
            role,
            no_dead_letters=(
                "The orchestrator invokes the loader synchronously and reads its report (complete or not); "
                "it retries a failed load itself, so no asynchronous event exists for a dead-letter queue."
            ),
            reaches="S3 and DynamoDB",
        )


def _decrypt_through(service: str, key: kms.IKey, *, sid: str) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid=sid,
        actions=["kms:Decrypt"],
        resources=[key.key_arn],
        conditions={"StringEquals": {"kms:ViaService": f"{service}.{Aws.REGION}.amazonaws.com"}},
    )


def _function_compliance(
    function: lambda_.Function, role: iam.Role, *, no_dead_letters: str, reaches: str
) -> None:
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
        "Pinned to Python 3.11 on purpose: the handler, its wheels (built for cp311 aarch64) and the "
        "local test suite all run 3.11; moving the runtime is a deliberate, tested change.",
    )
    acknowledge_nag(
        role.node.find_child("DefaultPolicy"),
        "AwsSolutions-IAM5[Resource::*]",
        "Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords do not support "
        "resource-level permissions, so '*' is the only resource IAM accepts for them.",
    )
    skip_checkov(resource, "CKV_AWS_116", no_dead_letters)
    skip_checkov(
        resource,
        "CKV_AWS_117",
        f"The function calls only AWS public endpoints ({reaches}) over TLS with IAM auth and reaches no "
        "private resource; a VPC would add NAT or endpoint cost and cold-start time without reducing "
        "exposure.",
    )


# One JSON object per request: who called (the IAM principal), which route, the outcome; never the query
# string (it carries the e-mail or phone looked up).
_ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "requestTime": "$context.requestTime",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "caller": "$context.identity.userArn",
    "sourceIp": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationStatus": "$context.integrationStatus",
    "integrationLatency": "$context.integrationLatency",
    "integrationError": "$context.integrationErrorMessage",
    "error": "$context.error.message",
}
