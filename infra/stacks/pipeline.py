"""The pipeline stack: batch import and the Glue jobs over the lake. Stateless: safe to redeploy or delete.

Jobs: ``import-file`` (large uploads), ``standardize`` (raw → clean), ``resolve-identities`` (clean
identity records → ``identity/links|edges|history``, with Splink on Spark) and ``build-profiles`` (links,
records, events, orders → ``profiles/profiles|traits|pseudonymized``, with the pseudonymization salt from
the data stack's secret). Each job's role reads and replaces exactly the lake prefixes its step touches,
plus its own scratch ``tmp/<step>/`` (Spark's materialized relations and checkpoints, which the bucket
expires after a day). Each pipeline step publishes its snapshots to the catalog too: it is given the Glue
database ``cdp_<stage>`` (``--catalog_database``, the analytics stack's, found by name) and may update
exactly the tables it writes.

Why a stack of its own rather than more of the ingestion stack (STYLE 5, stacks by lifecycle): the
ingestion stack is the real-time path apps depend on every second, changed rarely and carefully; this one
is the batch side, which grows with every pipeline step (standardize and resolve identities now; profiles,
segments and their Step Functions orchestration next) and is redeployed far more often. Keeping them apart
means a Glue job change never redeploys, or risks rolling back, the ingestion API. Both use the data
stack's bucket and key by their exports; nothing here holds data a delete would lose (the dead-letter
queues are drained by an operator).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Fn, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdp.identity.overrides import OVERRIDES_PATH
from cdp.imports.layout import IMPORT_ROWS, IMPORTS_RAW
from cdp.lake import RAW_EVENTS
from cdp.pipeline.jobs import SCRATCH_PREFIX
from cdp.pipeline.resolve import CONFIG_PATH as IDENTITY_CONFIG_PATH
from cdp.profiles.config import PROFILES_CONFIG_PATH
from cdp.profiles.traits import LAKE_TRAITS_DIR
from cdp.query.glue_tables import database_name
from cdp.tables import (
    EVENTS,
    IDENTITY_LINKS,
    IDENTITY_RECORDS,
    IDENTITY_TABLES,
    ORDERS,
    PROFILE_TABLES,
    LakeTable,
)
from infra.components.batch_import import BatchImport, ImportSizing
from infra.components.glue_jobs import (
    CatalogTables,
    GlueJobCode,
    GlueJobSizing,
    GlueRuntime,
    LakeAccess,
    LakeGlueJob,
)
from infra.components.pipeline_alarms import PipelineAlarms
from infra.stacks.data import DataExports

#: the tables ``cdp.pipeline.standardize`` writes (its snapshots and their pointers)
STANDARDIZE_OUTPUTS = (EVENTS, IDENTITY_RECORDS, ORDERS)
#: the tables ``cdp.pipeline.resolve`` writes; it also reads their previous snapshots (stable profile ids)
RESOLVE_OUTPUTS = IDENTITY_TABLES
#: the identity zone's config objects the resolve step reads (each optional), and nothing else of the zone
RESOLVE_CONFIG_OBJECTS = (IDENTITY_CONFIG_PATH, OVERRIDES_PATH)
#: the published tables ``cdp.pipeline.profiles`` reads (each one's pointer and current snapshot)
PROFILES_INPUTS = (IDENTITY_LINKS, IDENTITY_RECORDS, EVENTS, ORDERS)
#: the tables ``cdp.pipeline.profiles`` writes
PROFILES_OUTPUTS = PROFILE_TABLES
#: the profile zone's config the step reads: survivorship rules (one object) and the trait sets (a folder)
PROFILES_CONFIG_OBJECTS = (PROFILES_CONFIG_PATH,)
PROFILES_TRAITS_CONFIG = f"{LAKE_TRAITS_DIR}/"


def scratch(step: str) -> str:
    """The prefix ``cdp.pipeline.jobs.run_glue_step`` gives a step's runs (``tmp/<step>/<run id>/``)."""
    return f"{SCRATCH_PREFIX}/{step}/"


def snapshot_prefixes(tables: tuple[LakeTable, ...]) -> tuple[str, ...]:
    """The lake prefixes of ``tables``: their ``run_id=`` snapshots and ``_current.json`` pointers."""
    return tuple(f"{table.prefix}/" for table in tables)


def publishes(stage: str, tables: tuple[LakeTable, ...]) -> CatalogTables:
    """The catalog tables of the stage's database a step publishes ``tables`` to (one per lake table)."""
    return CatalogTables(database=database_name(stage), tables=tuple(table.name for table in tables))


class CdpPipelineStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        data: DataExports,
        import_code: lambda_.Code,
        glue_code: GlueJobCode,
        import_sizing: ImportSizing,
        log_group_prefix: str,
        log_retention: logs.RetentionDays,
        alarm_email: str | None,
        **stack_options: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=f"cdp-{stage}-pipeline",
            description=f"CDP {stage}: batch import (Lambda + Glue) and the Glue pipeline jobs, alarms",
            **stack_options,
        )
        name_prefix = f"cdp-{stage}-"
        lake_bucket = s3.Bucket.from_bucket_attributes(
            self,
            "Lake",
            bucket_arn=Fn.import_value(data.lake_bucket_arn),
            bucket_name=Fn.import_value(data.lake_bucket_name),
        )
        key = kms.Key.from_key_arn(self, "DataKey", Fn.import_value(data.data_key_arn))
        salt_secret_arn = Fn.import_value(data.salt_secret_arn)
        runtime = GlueRuntime(self, "GlueRuntime", name=f"{name_prefix}glue-jobs", key=key, code=glue_code)

        self.batch_import = BatchImport(
            self,
            "BatchImport",
            name_prefix=name_prefix,
            bucket=lake_bucket,
            key=key,
            code=import_code,
            runtime=runtime,
            sizing=import_sizing,
            log_group_prefix=log_group_prefix,
            log_retention=log_retention,
        )
        self.standardize = LakeGlueJob(
            self,
            "Standardize",
            name_prefix=name_prefix,
            short_name="standardize",
            description="Pipeline step standardize: raw events, import rows -> events, identities, orders",
            script="standardize.py",
            runtime=runtime,
            bucket=lake_bucket,
            access=LakeAccess(
                reads=(f"{RAW_EVENTS}/", f"{IMPORTS_RAW}/", f"{IMPORT_ROWS}/"),
                # run_id= snapshots and the _current.json pointer of each table the step writes
                replaces=(*snapshot_prefixes(STANDARDIZE_OUTPUTS), scratch("standardize")),
            ),
            sizing=GlueJobSizing(worker_type="G.1X", workers=2, timeout_minutes=120, max_concurrent_runs=1),
            catalog=publishes(stage, STANDARDIZE_OUTPUTS),
            log_group_prefix=log_group_prefix,
            log_retention=log_retention,
        )
        self.resolve_identities = LakeGlueJob(
            self,
            "ResolveIdentities",
            name_prefix=name_prefix,
            short_name="resolve-identities",
            description="Pipeline step resolve: identity records -> identity links, edges, history (Splink)",
            script="resolve_identities.py",
            runtime=runtime,
            bucket=lake_bucket,
            access=LakeAccess(
                reads=(f"{IDENTITY_RECORDS.prefix}/",),
                read_objects=RESOLVE_CONFIG_OBJECTS,
                replaces=(*snapshot_prefixes(RESOLVE_OUTPUTS), scratch("resolve")),
            ),
            # one run at a time: a second concurrent run would resolve from the same previous links and
            # could publish after the first, undoing its merges
            sizing=GlueJobSizing(worker_type="G.1X", workers=2, timeout_minutes=120, max_concurrent_runs=1),
            extra_jars=(glue_code.similarity_jar,),
            metrics=True,
            catalog=publishes(stage, RESOLVE_OUTPUTS),
            log_group_prefix=log_group_prefix,
            log_retention=log_retention,
        )
        self.build_profiles = LakeGlueJob(
            self,
            "BuildProfiles",
            name_prefix=name_prefix,
            short_name="build-profiles",
            description="Pipeline step profiles: links, records, events, orders -> profile tables",
            script="build_profiles.py",
            runtime=runtime,
            bucket=lake_bucket,
            access=LakeAccess(
                # completed imports are found by listing raw/imports/ for manifests (s3:ListBucket, which
                # every job has): the step reads no object there, only the rows under clean/import_rows/
                reads=(*snapshot_prefixes(PROFILES_INPUTS), f"{IMPORT_ROWS}/", PROFILES_TRAITS_CONFIG),
                read_objects=PROFILES_CONFIG_OBJECTS,
                replaces=(*snapshot_prefixes(PROFILES_OUTPUTS), scratch("profiles")),
            ),
            # one run at a time: two runs would publish the three tables in interleaved order
            sizing=GlueJobSizing(worker_type="G.1X", workers=2, timeout_minutes=120, max_concurrent_runs=1),
            metrics=True,
            catalog=publishes(stage, PROFILES_OUTPUTS),
            secrets={"--salt_secret_arn": salt_secret_arn},
            log_group_prefix=log_group_prefix,
            log_retention=log_retention,
        )
        self.alarms = PipelineAlarms(
            self,
            "Alarms",
            name_prefix=name_prefix,
            batch_import=self.batch_import,
            glue_jobs=[self.batch_import.job, self.standardize, self.resolve_identities, self.build_profiles],
            key=key,
            alarm_email=alarm_email,
        )

        CfnOutput(self, "ImportFunctionName", value=self.batch_import.function.function_name)
        CfnOutput(self, "ImportJobName", value=self.batch_import.job.job_name)
        CfnOutput(self, "StandardizeJobName", value=self.standardize.job_name)
        CfnOutput(self, "ResolveJobName", value=self.resolve_identities.job_name)
        CfnOutput(self, "BuildProfilesJobName", value=self.build_profiles.job_name)
        CfnOutput(
            self, "AlarmTopicArn", value=self.alarms.topic.topic_arn, description="Subscribe on-call here"
        )
