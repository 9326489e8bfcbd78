"""Analytics on AWS (SPEC 2, 4): the Glue Data Catalog of the lake, the Athena workgroup, the analyst views
and the analyst policy.

* :class:`AnalyticsCatalog`: database ``cdp_<stage>`` and one Glue table per lake table, generated from the
  contracts (:mod:`cdp.query.glue_tables`). A snapshot table's location starts at ``<prefix>/unpublished/``;
  the pipeline moves it to each published snapshot (``cdp.adapters.glue_catalog``). A deploy that changes a
  table writes that initial location back: re-point with ``scripts/sync_glue_catalog.py`` (docs/deploy.md).
* :class:`AthenaWorkgroup`: workgroup ``cdp-<stage>`` on engine version 3 with its configuration enforced
  (clients cannot choose another result location or drop encryption), results SSE-KMS with the
  pseudonymized zone's key (the analysts' key: results are copies of what analysts may read), a
  bytes-scanned cutoff per query and CloudWatch query metrics; the analyst views as named queries, their SQL
  read from ``src/cdp/query/views/`` (the same files ``cdp query`` registers).
* :class:`AnalystAccess`: the managed policy ``cdp-<stage>-analyst`` (SPEC 4): the workgroup, and the Glue
  definitions and S3 objects of :data:`cdp.query.glue_tables.ANALYST_TABLES` and the views, nothing else.
  The pseudonymized tables are read from the zone's own bucket with the zone's key. The other analyst tables
  hold no personal data but live in the lake (profile, record and segment ids, order lines), so the policy
  also has ``kms:Decrypt`` on the lake's key: through S3 only, and only for the lake bucket's encryption
  context or those tables' objects. With S3 bucket keys that context is the bucket, so the key grant alone
  would open any lake object: what keeps analysts to those tables is that ``s3:GetObject`` names their
  prefixes and nothing else (docs/analysts.md, "Who can see what", states the trade-off).

**Query results get a bucket of their own**, not a lake prefix, hardened like the lake (SSE-KMS with the
zone's key and bucket keys, Block Public Access, TLS 1.2+ only, versioned, server access logs into a log
bucket of its own, which is under the platform key: the one the logging service may use), because:

- results are copies of whatever a query selected, possibly personal data, and should live days, not as long
  as the lake's zones: the bucket expires them after ``results_days`` (noncurrent versions after a day);
- every analyst must *write* results: in a bucket of their own that grant never touches the lake, whose only
  writers stay the pipeline's roles (a lake prefix would put analysts' ``s3:PutObject`` on the lake bucket);
- the lake publishes every object event to EventBridge and is re-scanned by erasure requests: query results
  would add noise to both, while their short expiry bounds how long an erased person can linger in them;
- it belongs to this stack's lifecycle (retained on delete, like every bucket): the data stack, which holds
  the platform's data, does not change for analytics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from aws_cdk import Annotations, Aws, Duration, RemovalPolicy
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdp.query.glue_tables import GlueColumn, GlueTable
from cdp.query.views import AnalystView
from cdp.tables import LakeTable
from infra.compliance import acknowledge_nag, cfn, nag_resource, skip_checkov

ENGINE_VERSION = "Athena engine version 3"
GIB = 1024**3
#: Athena's smallest bytes-scanned cutoff
MIN_CUTOFF_BYTES = 10 * 1024**2


@dataclass(frozen=True, kw_only=True)
class AnalyticsSettings:
    """What differs between stages for analytics; ``infra/app.py`` fills it from the stage and context."""

    #: queries that would scan more are cancelled (and billed only up to here)
    bytes_scanned_cutoff_gib: float = 10
    #: first business date of ``raw_events``' projected partitions (the day the stage began ingesting)
    raw_events_first_day: date = date(2026, 1, 1)
    results_days: int = 7
    access_log_days: int = 365

    def __post_init__(self) -> None:
        if self.cutoff_bytes < MIN_CUTOFF_BYTES:
            raise ValueError("Athena's bytes-scanned cutoff is 10 MiB at the least")
        if self.results_days < 1:
            raise ValueError("S3 lifecycle expires objects after one day at the earliest")

    @property
    def cutoff_bytes(self) -> int:
        return int(self.bytes_scanned_cutoff_gib * GIB)


def _columns(columns: Sequence[GlueColumn]) -> list[glue.CfnTable.ColumnProperty]:
    return [glue.CfnTable.ColumnProperty(name=c.name, type=c.type, comment=c.comment) for c in columns]


def _table_input(table: GlueTable) -> glue.CfnTable.TableInputProperty:
    """:meth:`GlueTable.table_input` as CDK's typed structure (the same keys, field for field)."""
    return glue.CfnTable.TableInputProperty(
        name=table.name,
        description=table.description,
        table_type="EXTERNAL_TABLE",
        parameters=dict(table.parameters),
        partition_keys=_columns(table.partition_keys) or None,
        storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
            columns=_columns(table.columns),
            location=table.location,
            input_format=table.input_format,
            output_format=table.output_format,
            serde_info=glue.CfnTable.SerdeInfoProperty(
                serialization_library=table.serde, parameters=dict(table.serde_parameters)
            ),
        ),
    )


class AnalyticsCatalog(Construct):
    """The stage's Glue database and its tables."""

    def __init__(
        self, scope: Construct, construct_id: str, *, database_name: str, tables: Sequence[GlueTable]
    ) -> None:
        super().__init__(scope, construct_id)
        self.database_name = database_name
        self.database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=database_name,
                description="CDP lake tables (SPEC 4): raw events, clean, identity, profiles, segments",
            ),
        )
        self.tables: dict[str, glue.CfnTable] = {}
        for table in tables:
            resource = glue.CfnTable(
                self,
                "".join(part.title() for part in table.name.split("_")),
                catalog_id=Aws.ACCOUNT_ID,
                database_name=database_name,
                table_input=_table_input(table),
            )
            resource.node.add_dependency(self.database)
            self.tables[table.name] = resource

    def table_arn(self, name: str) -> str:
        return f"arn:{Aws.PARTITION}:glue:{Aws.REGION}:{Aws.ACCOUNT_ID}:table/{self.database_name}/{name}"

    @property
    def database_arn(self) -> str:
        return f"arn:{Aws.PARTITION}:glue:{Aws.REGION}:{Aws.ACCOUNT_ID}:database/{self.database_name}"

    @property
    def catalog_arn(self) -> str:
        return f"arn:{Aws.PARTITION}:glue:{Aws.REGION}:{Aws.ACCOUNT_ID}:catalog"


def _hardened_bucket(
    scope: Construct,
    construct_id: str,
    *,
    key: kms.IKey,
    expiry: s3.LifecycleRule,
    access_logs: s3.IBucket | None = None,
    access_log_prefix: str | None = None,
) -> s3.Bucket:
    """The lake's hardening: CMK with bucket keys, no public access, no ACLs, TLS 1.2+ only, versioned
    (noncurrent versions and unfinished uploads gone after a day), retained."""
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.KMS,
        encryption_key=key,
        bucket_key_enabled=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        versioned=True,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=access_log_prefix,
        removal_policy=RemovalPolicy.RETAIN,
        lifecycle_rules=[
            s3.LifecycleRule(
                id=expiry.id,
                expiration=expiry.expiration,
                noncurrent_version_expiration=Duration.days(1),
                abort_incomplete_multipart_upload_after=Duration.days(1),
            )
        ],
    )


class QueryResultsBucket(Construct):
    """Athena's result bucket and its access-log bucket (reasons in the module docstring)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        access_log_key: kms.IKey,
        results_days: int,
        access_log_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = _hardened_bucket(
            self,
            "AccessLogs",
            key=access_log_key,
            expiry=s3.LifecycleRule(id="expire-access-logs", expiration=Duration.days(access_log_days)),
        )
        skip_checkov(
            cfn(self.access_logs),
            "CKV_AWS_18",
            "This bucket is the server-access-log target of the Athena result bucket; logging it into itself "
            "would log every log delivery, and a second log bucket would only move the question.",
        )
        # a key-less reference, so CDK adds no key grant of its own for the logging service (DataKey has one,
        # and the log bucket is under the platform key for it)
        log_target = s3.Bucket.from_bucket_attributes(
            self,
            "AccessLogTarget",
            bucket_arn=self.access_logs.bucket_arn,
            bucket_name=self.access_logs.bucket_name,
        )
        self.bucket = _hardened_bucket(
            self,
            "Results",
            key=key,
            expiry=s3.LifecycleRule(id="expire-query-results", expiration=Duration.days(results_days)),
            access_logs=log_target,
            access_log_prefix="athena-results/",
        )
        Annotations.of(self.bucket).acknowledge_warning(
            "@aws-cdk/aws-s3:accessLogsPolicyNotAdded", "the log bucket's policy statement is written below"
        )
        self.access_logs.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ServerAccessLogsOfTheResultBucket",
                principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[self.access_logs.arn_for_objects("athena-results/*")],
                conditions={
                    "ArnLike": {"aws:SourceArn": self.bucket.bucket_arn},
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                },
            )
        )


class AthenaWorkgroup(Construct):
    """The stage's workgroup, its result bucket and the analyst views as named queries."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        database_name: str,
        key: kms.IKey,
        access_log_key: kms.IKey,
        settings: AnalyticsSettings,
        views: Sequence[AnalystView],
    ) -> None:
        super().__init__(scope, construct_id)
        self.name = name
        self.results = QueryResultsBucket(
            self,
            "QueryResults",
            key=key,
            access_log_key=access_log_key,
            results_days=settings.results_days,
            access_log_days=settings.access_log_days,
        )
        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=name,
            description="CDP analysts: engine v3, enforced settings, encrypted results, bytes-scanned cutoff",
            state="ENABLED",
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=settings.cutoff_bytes,
                requester_pays_enabled=False,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version=ENGINE_VERSION
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{self.results.bucket.bucket_name}/results/",
                    expected_bucket_owner=Aws.ACCOUNT_ID,
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=key.key_arn
                    ),
                ),
            ),
        )
        self.named_queries = {
            view.name: athena.CfnNamedQuery(
                self,
                "".join(part.title() for part in view.name.split("_")),
                name=view.name,
                description=view.description,
                database=database_name,
                query_string=view.sql,
                work_group=self.workgroup.ref,
            )
            for view in views
        }

    @property
    def arn(self) -> str:
        return f"arn:{Aws.PARTITION}:athena:{Aws.REGION}:{Aws.ACCOUNT_ID}:workgroup/{self.name}"


#: what running queries in the one workgroup takes (no wildcard action)
_ATHENA_QUERY_ACTIONS = [
    "athena:StartQueryExecution",
    "athena:StopQueryExecution",
    "athena:GetQueryExecution",
    "athena:GetQueryResults",
    "athena:GetQueryResultsStream",
    "athena:ListQueryExecutions",
    "athena:BatchGetQueryExecution",
    "athena:GetWorkGroup",
    "athena:ListNamedQueries",
    "athena:GetNamedQuery",
    "athena:BatchGetNamedQuery",
]
_GLUE_READ_ACTIONS = [
    "glue:GetDatabase",
    "glue:GetDatabases",
    "glue:GetTable",
    "glue:GetTables",
    "glue:GetPartition",
    "glue:GetPartitions",
]


class AnalystAccess(Construct):
    """``cdp-<stage>-analyst``: a managed policy to attach to the analysts' SSO permission set or role.

    ``tables`` under ``zone_prefix`` are read from ``zone_bucket`` with ``zone_key`` (which also encrypts the
    workgroup's results); the others from the lake with ``lake_key``, decrypt only (module docstring)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        policy_name: str,
        lake_bucket: s3.IBucket,
        lake_key: kms.IKey,
        zone_prefix: str,
        zone_bucket: s3.IBucket,
        zone_key: kms.IKey,
        catalog: AnalyticsCatalog,
        workgroup: AthenaWorkgroup,
        tables: Sequence[LakeTable],
        views: Sequence[AnalystView],
    ) -> None:
        super().__init__(scope, construct_id)
        results = workgroup.results.bucket
        zone_prefixes = [f"{t.prefix}/" for t in tables if t.prefix.startswith(f"{zone_prefix}/")]
        lake_prefixes = [f"{t.prefix}/" for t in tables if f"{t.prefix}/" not in zone_prefixes]
        via_s3 = {"kms:ViaService": f"s3.{Aws.REGION}.amazonaws.com"}
        statements = [
            iam.PolicyStatement(
                sid="RunQueriesInTheWorkgroup", actions=_ATHENA_QUERY_ACTIONS, resources=[workgroup.arn]
            ),
            iam.PolicyStatement(sid="ChooseTheWorkgroup", actions=["athena:ListWorkGroups"], resources=["*"]),
            iam.PolicyStatement(
                sid="ReadTheAnalystTableDefinitions",
                actions=_GLUE_READ_ACTIONS,
                resources=[
                    catalog.catalog_arn,
                    catalog.database_arn,
                    *(catalog.table_arn(table.name) for table in tables),
                    *(catalog.table_arn(view.name) for view in views),
                ],
            ),
            # the pseudonymized zone: its own bucket, its own key
            iam.PolicyStatement(
                sid="ListThePseudonymizedTablePrefixes",
                actions=["s3:ListBucket"],
                resources=[zone_bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in zone_prefixes]}},
            ),
            iam.PolicyStatement(
                sid="ReadThePseudonymizedTables",
                actions=["s3:GetObject"],
                resources=[zone_bucket.arn_for_objects(f"{prefix}*") for prefix in zone_prefixes],
            ),
            iam.PolicyStatement(
                sid="DecryptTheZoneAndEncryptResultsThroughS3",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[zone_key.key_arn],
                conditions={"StringEquals": via_s3},
            ),
        ]
        if lake_prefixes:
            statements += [
                # the analyst tables of the lake: ids and order lines, no personal data (ANALYST_TABLES)
                iam.PolicyStatement(
                    sid="ListTheAnalystLakeTablePrefixes",
                    actions=["s3:ListBucket"],
                    resources=[lake_bucket.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in lake_prefixes]}},
                ),
                iam.PolicyStatement(
                    sid="ReadTheAnalystLakeTables",
                    actions=["s3:GetObject"],
                    resources=[lake_bucket.arn_for_objects(f"{prefix}*") for prefix in lake_prefixes],
                ),
                iam.PolicyStatement(
                    sid="DecryptTheAnalystLakeTablesThroughS3",
                    actions=["kms:Decrypt"],
                    resources=[lake_key.key_arn],
                    conditions={
                        "StringEquals": via_s3,
                        # the bucket (S3 bucket keys) or, for an object written without one, the object
                        "StringLike": {
                            "kms:EncryptionContext:aws:s3:arn": [
                                lake_bucket.bucket_arn,
                                *(lake_bucket.arn_for_objects(f"{prefix}*") for prefix in lake_prefixes),
                            ]
                        },
                    },
                ),
            ]
        statements += [
            iam.PolicyStatement(
                sid="FindTheResultBucket",
                actions=["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                resources=[results.bucket_arn],
            ),
            iam.PolicyStatement(
                sid="ReadAndWriteQueryResults",
                actions=[
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                resources=[results.arn_for_objects("*")],
            ),
        ]
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            managed_policy_name=policy_name,
            description="CDP analysts: Athena in the stage's workgroup over pseudonymized tables and views",
            statements=statements,
        )
        for bucket, prefixes in ((zone_bucket, zone_prefixes), (lake_bucket, lake_prefixes)):
            bucket_arn = nag_resource(self, bucket.bucket_arn)
            for prefix in prefixes:
                acknowledge_nag(
                    self.policy,
                    f"AwsSolutions-IAM5[Resource::{bucket_arn}/{prefix}*]",
                    "Athena reads the objects of the snapshot the table's location names, which change every "
                    f"run; the grant is s3:GetObject under the one table prefix '{prefix}' of its bucket "
                    "(and kms:Decrypt of that bucket's key through S3).",
                )
        acknowledge_nag(
            self.policy,
            f"AwsSolutions-IAM5[Resource::{nag_resource(self, results.bucket_arn)}/*]",
            "Athena writes each query's result under a new name in the workgroup's own result bucket; the "
            "grant is that bucket only, whose objects expire within days.",
        )
        acknowledge_nag(
            self.policy,
            "AwsSolutions-IAM5[Resource::*]",
            "athena:ListWorkGroups (the console's workgroup picker) has no resource type; every query action "
            "is limited to the stage's workgroup.",
        )
