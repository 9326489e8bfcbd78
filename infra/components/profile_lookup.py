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

from dataclasses import dataclass, field

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdp.adapters.aws_dynamodb_profiles import PARTITION_KEY, SORT_KEY
from infra.compliance import acknowledge_nag, nag_resource
from infra.components.encryption import use_key_through
from infra.components.functions import function_logs_and_role, python_function
from infra.components.http_api import (
    IAM_ACCESS_LOG_FIELDS,
    ApiThrottle,
    caller_policy,
    http_api_with_stage,
    iam_routes,
)

HANDLER = "lambdas.lookup.handler.lambda_handler"
LOADER_HANDLER = "lambdas.lookup_loader.handler.lambda_handler"
#: the API's routes, as API Gateway names them (``{profile_id}`` is one path segment)
ROUTES = ("/v1/profiles", "/v1/profiles/{profile_id}")
_GET_ROUTES = tuple(("GET", path) for path in ROUTES)


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
        role.add_to_policy(use_key_through("dynamodb", key, sid="DecryptTheProfileTable"))
        self.function = python_function(
            self,
            description="Profile lookup by id or identifier (GET /v1/profiles), IAM-authorized by the API",
            handler=HANDLER,
            code=code,
            role=role,
            log_group=function_logs,
            key=key,
            memory_mb=config.lookup.memory_mb,
            timeout_seconds=config.lookup.timeout_seconds,
            reserved_concurrency=config.lookup.reserved_concurrency,
            environment={
                "CDP_PROFILE_STORE": "dynamodb",
                "CDP_PROFILE_TABLE": table.table_name,
                "CDP_PHONE_REGION": config.phone_region,
                "POWERTOOLS_SERVICE_NAME": "cdp-lookup",
                "POWERTOOLS_METRICS_NAMESPACE": "CDP",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
            reaches="DynamoDB",
            no_dead_letters=(
                "API Gateway invokes the lookup function synchronously only; a failed lookup is answered to "
                "the caller as an error, so there is no asynchronous event a dead-letter queue could keep."
            ),
        )

        # -- the HTTP API -----------------------------------------------------------------------------
        self.http_api, self.stage = http_api_with_stage(
            self,
            api_name=api_name,
            description="Profile lookup (GET /v1/profiles), AWS_IAM authorization",
            name="lookup",
            throttle=config.throttle,
            access_log_fields=IAM_ACCESS_LOG_FIELDS,
            key=key,
            log_group_prefix=log_group_prefix,
            log_retention=log_retention,
        )
        self.routes = iam_routes(self.http_api, self.function, integration_id="Lookup", routes=_GET_ROUTES)
        self.url = self.stage.url

        # -- who may call it ------------------------------------------------------------------------------
        self.caller_policy = caller_policy(
            self,
            http_api=self.http_api,
            routes=_GET_ROUTES,
            sid="LookUpProfiles",
            description="Attach to the roles that may look up profiles (service desk): the two GET routes",
            path_parameter_reason=(
                "The '*' is the {profile_id} path segment of GET /v1/profiles/{profile_id}: a caller may "
                "look up any profile by id, which is what the route is for; method, stage and API are fixed."
            ),
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
        role.add_to_policy(use_key_through("dynamodb", key, sid="DecryptTheProfileTable"))
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
        role.add_to_policy(use_key_through("s3", key, sid="DecryptLakeObjects"))
        policy = role.node.find_child("DefaultPolicy")
        bucket_arn = nag_resource(policy, bucket.bucket_arn)
        for prefix in reads:
            acknowledge_nag(
                policy,
                f"AwsSolutions-IAM5[Resource::{bucket_arn}/{prefix}*]",
                f"The loader reads the snapshot files and pointer of a published table, named at run time by "
                f"the run id; the grant is s3:GetObject under the table's prefix '{prefix}' only.",
            )
        self.function = python_function(
            self,
            description="Loads the profile lookup table from the lake's published profiles (step lookup)",
            handler=LOADER_HANDLER,
            code=code,
            role=role,
            log_group=function_logs,
            key=key,
            memory_mb=sizing.memory_mb,
            timeout_seconds=sizing.timeout_seconds,
            ephemeral_storage_mib=sizing.ephemeral_storage_mib,
            reserved_concurrency=1,  # one load at a time: two would race on the same items
            environment={
                "CDP_PROFILE_STORE": "dynamodb",
                "CDP_PROFILE_TABLE": table.table_name,
                "CDP_LAKE_BUCKET": bucket.bucket_name,
                "POWERTOOLS_SERVICE_NAME": "cdp-lookup-loader",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
            reaches="S3 and DynamoDB",
            no_dead_letters=(
                "The orchestrator invokes the loader synchronously and reads its report (complete or not); "
                "it retries a failed load itself, so no asynchronous event exists for a dead-letter queue."
            ),
        )
