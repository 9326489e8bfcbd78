"""Glue 5.1 (Spark 3.5, Python 3.11) jobs over the lake: shared runtime, one least-privilege role per job.

:class:`GlueRuntime` is what every job of a stage shares: the security configuration (SSE-KMS with the
platform key for S3 writes, CloudWatch logs and job bookmarks) and the code. The code is two CDK file
assets, no Docker and no custom resource: the entry script (``glue_jobs/<job>.py``) and
``build/glue/cdp-glue.zip`` (src/cdp, built by ``make lambda-assets``), given to Spark with
``--extra-py-files`` so driver and executors import ``cdp``. Third-party modules come from PyPI with
``--additional-python-modules``, pinned in ``requirements/glue-jobs.txt`` to the versions the local Spark
parity suite runs. A job that needs JVM code gets it the same way: Splink's Scala similarity UDFs
(``build/glue/splink-similarity.jar``, copied out of the splink wheel by ``make lambda-assets``) are a file
asset of the resolve job, given to Spark with ``--extra-jars``.

Why a zip and not a wheel of ``cdp``: a CDK file asset is stored as ``<hash>.<ext>``, and pip refuses a
wheel whose file name is not ``<name>-<version>-<tags>.whl``, so ``--additional-python-modules
s3://…/<hash>.whl`` would fail; Spark puts a ``.zip`` from ``--extra-py-files`` on the path as it is. A
wheel under its own name would need ``aws_s3_deployment``, i.e. a custom-resource Lambda function in the
stack, for no gain (``cdp`` is pure Python, and its third-party modules are pinned separately anyway).

:class:`LakeGlueJob` is one job: its role may read the two code objects, read and write exactly the lake
prefixes and objects it is given, write its own two log groups (``<prefix>glue/<job>/output|error``, created
here with the platform key and the stage's retention, named through ``--custom-logGroup-prefix``), publish
Glue's job and observability metrics when it has them turned on, publish its step's metrics to the ``CDP``
namespace when it runs a pipeline step (``--metrics_namespace``, read by ``cdp.pipeline.jobs``; the
``--stage`` dimension is set on every job by ``infra.components.operations.StageDimension``), and nothing
else. Bookmarks are off: every job here is idempotent by design (content-hash imports, run-id snapshots). A
job that publishes snapshots is also given its Glue database (``--catalog_database``) and may get and update
exactly the catalog tables it publishes (:class:`CatalogTables`: ``cdp.adapters.glue_catalog`` moves each
table's location); a job that needs a secret is given its ARN as an argument and may read that secret only
(``secrets``). A job that writes a zone living in a bucket of its own (:class:`MountedZone`: the pseudonymized
zone, with its own KMS key) is told where (``--<zone>_root``, a ``cdp.lakefs`` mount), may work on that
bucket's prefixes with that key, and runs under the runtime's second security configuration, which leaves each
S3 object to its bucket's default encryption: a security configuration names one key for every S3 write of a
job, so under the first one the analysts' zone would be encrypted with the lake's key (the zone bucket refuses
that).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct, IConstruct

from infra.compliance import acknowledge_nag, nag_resource, skip_checkov

GLUE_VERSION = "5.1"
#: where Glue publishes ``--enable-metrics`` and ``--enable-observability-metrics``
GLUE_METRICS_NAMESPACE = "Glue"
#: where a pipeline step run by ``cdp.pipeline.jobs.run_glue_step`` publishes its report's metrics
STEP_METRICS_NAMESPACE = "CDP"


@dataclass(frozen=True, kw_only=True)
class GlueJobCode:
    """Where the jobs' code is on disk (``infra/app.py`` knows; constructs read nothing themselves)."""

    library: Path  # build/glue/cdp-glue.zip
    scripts: Path  # glue_jobs/
    python_modules: tuple[str, ...]  # name==version for --additional-python-modules
    similarity_jar: Path  # build/glue/splink-similarity.jar: Splink's Scala UDFs (Jaro-Winkler) for Spark

    def __post_init__(self) -> None:
        for built in (self.library, self.similarity_jar):
            if not built.is_file():
                raise FileNotFoundError(f"{built} is missing: run `make lambda-assets` first")
        if not all("==" in module for module in self.python_modules):
            raise ValueError("pin every Glue python module as name==version")


@dataclass(frozen=True, kw_only=True)
class GlueJobSizing:
    worker_type: str = "G.1X"
    workers: int = 2
    timeout_minutes: int = 60
    max_concurrent_runs: int = 1
    max_retries: int = 0


@dataclass(frozen=True, kw_only=True)
class LakeAccess:
    """Lake prefixes (each ending in ``/``) a job reads, writes (put) and replaces (read, put, delete:
    Spark's multipart writes and a crashed run's snapshot, which the re-run removes); and single objects it
    only reads (a config file in a zone the job must not otherwise see)."""

    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    replaces: tuple[str, ...] = ()
    #: object versions too (an upload named by its version id), for reads and deletes
    versioned: tuple[str, ...] = ()
    #: exact keys, read only (``identity/identity.yaml``): no wildcard, so no neighbour of the object
    read_objects: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for prefix in (*self.reads, *self.writes, *self.replaces, *self.versioned):
            if not prefix.endswith("/") or "*" in prefix:
                raise ValueError(f"lake prefix {prefix!r}: give a folder ending in '/' without wildcards")
        for key in self.read_objects:
            if not key or key.startswith("/") or key.endswith("/") or "*" in key or "?" in key:
                raise ValueError(f"lake object {key!r}: give one object's key, without wildcards")

    @property
    def prefixes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.reads, *self.writes, *self.replaces, *self.versioned)))


@dataclass(frozen=True, kw_only=True)
class CatalogTables:
    """The Glue Data Catalog tables a job publishes its snapshots to: ``cdp.adapters.glue_catalog`` reads each
    one (``glue:GetTable``) and writes it back with the new location (``glue:UpdateTable``). IAM checks those
    calls against the catalog, the database and the table, so the grant names the three, and no other table.
    """

    database: str
    #: ``LakeTable.name`` of each table the job publishes
    tables: tuple[str, ...]

    def __post_init__(self) -> None:
        for name in (self.database, *self.tables):
            if not name or "*" in name or "?" in name or "/" in name:
                raise ValueError(f"catalog name {name!r}: give one database or table name, without wildcards")
        if not self.tables:
            raise ValueError(f"catalog tables of {self.database!r}: name the tables the job publishes")

    def arns(self) -> list[str]:
        glue_arn = f"arn:{Aws.PARTITION}:glue:{Aws.REGION}:{Aws.ACCOUNT_ID}"
        return [
            f"{glue_arn}:catalog",
            f"{glue_arn}:database/{self.database}",
            *(f"{glue_arn}:table/{self.database}/{table}" for table in self.tables),
        ]


def grant_lake_access(
    role: iam.IRole,
    policy_scope: IConstruct,
    *,
    bucket: s3.IBucket,
    key: kms.IKey,
    access: LakeAccess,
    who: str,
    label: str = "Lake",
) -> None:
    """The S3 and KMS statements for ``access`` on the lake, and the cdk-nag reason for each prefix.
    ``label`` names the bucket in the statement ids (``Lake``; a mounted zone's name for its own bucket).

    ``s3:ListBucket`` on the bucket is part of it: without it S3 answers 403 instead of 404 for an absent
    object, and the import path tells "not imported yet" and "no mapping" from "denied" by that 404.
    """
    statements = [
        iam.PolicyStatement(
            sid=f"FindThe{label}Bucket",
            actions=["s3:GetBucketLocation", "s3:ListBucket"],
            resources=[bucket.bucket_arn],
        ),
        iam.PolicyStatement(
            sid=f"EncryptAndDecrypt{label}ObjectsThroughS3",
            actions=["kms:Decrypt", "kms:GenerateDataKey"],
            resources=[key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{Aws.REGION}.amazonaws.com"}},
        ),
    ]
    if access.read_objects:
        statements.append(
            iam.PolicyStatement(
                sid=f"Read{label}Objects",
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(key) for key in access.read_objects],
            )
        )
    for sid, actions, prefixes in (
        (f"Read{label}Prefixes", ["s3:GetObject"], access.reads),
        (f"Write{label}Prefixes", ["s3:PutObject"], access.writes),
        (
            f"Replace{label}Prefixes",
            ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"],
            access.replaces,
        ),
        (
            "ReadAndRemoveUploadVersions",
            ["s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject", "s3:DeleteObjectVersion"],
            access.versioned,
        ),
    ):
        if prefixes:
            statements.append(
                iam.PolicyStatement(
                    sid=sid,
                    actions=actions,
                    resources=[bucket.arn_for_objects(f"{prefix}*") for prefix in prefixes],
                )
            )
    for statement in statements:
        role.add_to_principal_policy(statement)
    bucket_arn = nag_resource(policy_scope, bucket.bucket_arn)
    for prefix in access.prefixes:
        acknowledge_nag(
            policy_scope,
            f"AwsSolutions-IAM5[Resource::{bucket_arn}/{prefix}*]",
            f"{who} works on objects it names at run time (one per upload, import or snapshot); the grant "
            f"is limited to the {label.lower()} prefix '{prefix}' and to the actions listed for it.",
        )


class GlueRuntime(Construct):
    """The security configuration and code assets every Glue job of a stage shares."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        key: kms.IKey,
        code: GlueJobCode,
    ) -> None:
        super().__init__(scope, construct_id)
        self.code = code
        self.key = key
        self.security_configuration = glue.CfnSecurityConfiguration(
            self,
            "SecurityConfiguration",
            name=name,
            encryption_configuration=glue.CfnSecurityConfiguration.EncryptionConfigurationProperty(
                s3_encryptions=[
                    glue.CfnSecurityConfiguration.S3EncryptionProperty(
                        s3_encryption_mode="SSE-KMS", kms_key_arn=key.key_arn
                    )
                ],
                cloud_watch_encryption=glue.CfnSecurityConfiguration.CloudWatchEncryptionProperty(
                    cloud_watch_encryption_mode="SSE-KMS", kms_key_arn=key.key_arn
                ),
                job_bookmarks_encryption=glue.CfnSecurityConfiguration.JobBookmarksEncryptionProperty(
                    job_bookmarks_encryption_mode="CSE-KMS", kms_key_arn=key.key_arn
                ),
            ),
        )
        self.security_configuration_name = name
        self.library = s3_assets.Asset(self, "Library", path=str(code.library))
        self._name = name
        self._bucket_default: glue.CfnSecurityConfiguration | None = None

    def bucket_default_configuration(self) -> glue.CfnSecurityConfiguration:
        """The configuration of jobs that write buckets under different keys (created on first use): logs
        and bookmarks with the runtime's key as in the first, S3 objects left to each bucket's default
        encryption (SSE-KMS with that bucket's own CMK and bucket keys), so each zone keeps its own key."""
        if self._bucket_default is None:
            self._bucket_default = glue.CfnSecurityConfiguration(
                self,
                "BucketDefaultSecurityConfiguration",
                name=f"{self._name}-bucket-keys",
                encryption_configuration=glue.CfnSecurityConfiguration.EncryptionConfigurationProperty(
                    s3_encryptions=[
                        glue.CfnSecurityConfiguration.S3EncryptionProperty(s3_encryption_mode="DISABLED")
                    ],
                    cloud_watch_encryption=glue.CfnSecurityConfiguration.CloudWatchEncryptionProperty(
                        cloud_watch_encryption_mode="SSE-KMS", kms_key_arn=self.key.key_arn
                    ),
                    job_bookmarks_encryption=glue.CfnSecurityConfiguration.JobBookmarksEncryptionProperty(
                        job_bookmarks_encryption_mode="CSE-KMS", kms_key_arn=self.key.key_arn
                    ),
                ),
            )
            skip_checkov(
                self._bucket_default,
                "CKV_AWS_99",
                "S3 writes are encrypted, by each bucket's default SSE-KMS with its own CMK (the lake's key, "
                "the pseudonymized zone's key); a security configuration can name one key for every S3 write "
                "of a job, which would put the analysts' zone under the lake's key. The zone bucket's policy "
                "refuses any object under another key; logs and bookmarks stay encrypted with the CMK.",
            )
        return self._bucket_default


@dataclass(frozen=True, kw_only=True)
class MountedZone:
    """A lake zone living in a bucket of its own with a key of its own, mounted at the lake prefix ``zone``
    (``cdp.lakefs.LakeFiles(mounts=…)``). ``access`` names prefixes of that bucket, each under ``zone/``."""

    zone: str  # e.g. "pseudonymized"
    bucket: s3.IBucket
    key: kms.IKey
    access: LakeAccess

    def __post_init__(self) -> None:
        outside = [prefix for prefix in self.access.prefixes if not prefix.startswith(f"{self.zone}/")]
        if outside or any(not key.startswith(f"{self.zone}/") for key in self.access.read_objects):
            raise ValueError(f"zone {self.zone!r}: every prefix and object must lie under '{self.zone}/'")

    @property
    def argument(self) -> str:
        """The job argument that says where the zone lives (``cdp.pipeline.jobs.parse_job_arguments``)."""
        return f"--{self.zone}_root"

    @property
    def root(self) -> str:
        return f"s3://{self.bucket.bucket_name}/{self.zone}"

    @property
    def label(self) -> str:
        return "".join(part.title() for part in self.zone.split("_")) + "Zone"


class LakeGlueJob(Construct):
    """One Glue job over the lake; ``extra_jars`` are JVM libraries (file assets, ``--extra-jars``) and
    ``metrics`` turns on Glue's job and observability metrics (namespace ``Glue``); ``step_metrics`` says
    the job runs a pipeline step whose report becomes metrics in the ``CDP`` namespace (every job but the
    import's); ``catalog`` names the catalog tables it publishes (``--catalog_database``) and ``secrets``
    maps an argument to the ARN of a Secrets Manager secret (encrypted with the runtime's key) the job
    reads."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        short_name: str,
        description: str,
        script: str,
        runtime: GlueRuntime,
        bucket: s3.IBucket,
        access: LakeAccess,
        sizing: GlueJobSizing,
        arguments: Mapping[str, str] | None = None,
        extra_jars: Sequence[Path] = (),
        metrics: bool = False,
        step_metrics: bool = True,
        catalog: CatalogTables | None = None,
        secrets: Mapping[str, str] | None = None,
        zones: Sequence[MountedZone] = (),
        log_group_prefix: str,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        job_name = f"{name_prefix}{short_name}"
        self.job_name = job_name
        script_path = runtime.code.scripts / script
        if not script_path.is_file():
            raise FileNotFoundError(f"Glue entry script {script_path} does not exist")
        self.script = s3_assets.Asset(self, "Script", path=str(script_path))
        for jar in extra_jars:
            if jar.suffix != ".jar" or not jar.is_file():
                raise FileNotFoundError(f"extra jar {jar} is not a .jar file: run `make lambda-assets` first")
        self.jars = [
            s3_assets.Asset(self, f"Jar{index}", path=str(jar)) for index, jar in enumerate(extra_jars, 1)
        ]

        log_prefix = f"{log_group_prefix}glue/{short_name}"
        self.log_groups = [
            logs.LogGroup(
                self,
                f"{stream.capitalize()}Logs",
                log_group_name=f"{log_prefix}/{stream}",
                encryption_key=runtime.key,
                retention=log_retention,
                removal_policy=RemovalPolicy.DESTROY,
            )
            for stream in ("output", "error")
        ]

        self.role = iam.Role(
            self,
            "JobRole",
            description=f"Glue job {job_name}: its code, its lake prefixes, its logs",
            assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadItsCode",
                actions=["s3:GetObject"],
                resources=[
                    asset.bucket.arn_for_objects(asset.s3_object_key)
                    for asset in (self.script, runtime.library, *self.jars)
                ],
            )
        )
        for group in self.log_groups:
            group.grant_write(self.role)
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="UseItsEncryptedLogGroups",
                actions=["logs:CreateLogGroup", "logs:AssociateKmsKey"],
                resources=[group.log_group_arn for group in self.log_groups],
            )
        )
        namespaces = [
            *([GLUE_METRICS_NAMESPACE] if metrics else []),
            *([STEP_METRICS_NAMESPACE] if step_metrics else []),
        ]
        if namespaces:
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="PublishItsMetrics",
                    actions=["cloudwatch:PutMetricData"],
                    resources=["*"],
                    conditions={
                        "StringEquals": {
                            "cloudwatch:namespace": namespaces[0] if len(namespaces) == 1 else namespaces
                        }
                    },
                )
            )
        if catalog is not None:
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="PublishItsCatalogTables",
                    actions=["glue:GetTable", "glue:UpdateTable"],
                    resources=catalog.arns(),
                )
            )
        secret_arns = list((secrets or {}).values())
        if secret_arns:
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="ReadItsSecrets", actions=["secretsmanager:GetSecretValue"], resources=secret_arns
                )
            )
            self.role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="DecryptItsSecretsThroughSecretsManager",
                    actions=["kms:Decrypt"],
                    resources=[runtime.key.key_arn],
                    conditions={
                        "StringEquals": {
                            "kms:ViaService": f"secretsmanager.{Aws.REGION}.amazonaws.com",
                            "kms:EncryptionContext:SecretARN": secret_arns,
                        }
                    },
                )
            )
        policy = self.role.node.find_child("DefaultPolicy")
        if namespaces:
            acknowledge_nag(
                policy,
                "AwsSolutions-IAM5[Resource::*]",
                f"Glue job {job_name} publishes its metrics (Glue's job metrics and/or its step's report) "
                "with its own role; cloudwatch:PutMetricData has no resource type, so the grant is '*' "
                f"conditioned on the namespaces {', '.join(namespaces)}.",
            )
        grant_lake_access(
            self.role, policy, bucket=bucket, key=runtime.key, access=access, who=f"Glue job {job_name}"
        )
        for zone in zones:
            grant_lake_access(
                self.role,
                policy,
                bucket=zone.bucket,
                key=zone.key,
                access=zone.access,
                who=f"Glue job {job_name}",
                label=zone.label,
            )
        zone_arguments = {zone.argument: zone.root for zone in zones}
        # a job writing another key's bucket leaves S3 encryption to each bucket (GlueRuntime says why)
        security_configuration = (
            runtime.bucket_default_configuration() if zones else runtime.security_configuration
        )
        jars = ",".join(jar.s3_object_url for jar in self.jars)
        jvm_arguments = {"--extra-jars": jars} if jars else {}
        metric_arguments = (
            {"--enable-metrics": "true", "--enable-observability-metrics": "true"} if metrics else {}
        )
        if step_metrics:
            metric_arguments["--metrics_namespace"] = STEP_METRICS_NAMESPACE
        catalog_arguments = {"--catalog_database": catalog.database} if catalog is not None else {}

        self.job = glue.CfnJob(
            self,
            "Job",
            name=job_name,
            description=description,
            role=self.role.role_arn,
            glue_version=GLUE_VERSION,
            command=glue.CfnJob.JobCommandProperty(
                name="glueetl", python_version="3", script_location=self.script.s3_object_url
            ),
            worker_type=sizing.worker_type,
            number_of_workers=sizing.workers,
            timeout=sizing.timeout_minutes,
            max_retries=sizing.max_retries,
            execution_property=glue.CfnJob.ExecutionPropertyProperty(
                max_concurrent_runs=sizing.max_concurrent_runs
            ),
            security_configuration=security_configuration.name,
            default_arguments={
                "--job-language": "python",
                "--job-bookmark-option": "job-bookmark-disable",
                "--extra-py-files": runtime.library.s3_object_url,
                "--additional-python-modules": ",".join(runtime.code.python_modules),
                "--custom-logGroup-prefix": log_prefix,
                "--lake_uri": f"s3://{bucket.bucket_name}",
                **jvm_arguments,
                **metric_arguments,
                **catalog_arguments,
                **(secrets or {}),
                **zone_arguments,
                **(arguments or {}),
            },
        )
        # the role's policy, not only the role, must exist before the first run
        self.job.node.add_dependency(policy)
        self.job.node.add_dependency(security_configuration)
        self.job_arn = f"arn:{Aws.PARTITION}:glue:{Aws.REGION}:{Aws.ACCOUNT_ID}:job/{job_name}"
