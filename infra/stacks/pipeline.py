"""The pipeline stack: batch import and the Glue jobs over the lake. Stateless: safe to redeploy or delete.

Jobs: ``import-file`` (large uploads), ``standardize`` (raw → clean), ``resolve-identities`` (clean identity
records → ``identity/links|edges|history``, with Splink on Spark), ``build-profiles`` (links, records, events,
orders → ``profiles/profiles|traits`` and ``pseudonymized/profiles``, the latter in the pseudonymized zone's
own bucket under its own key, with the pseudonymization salt from the data stack's secret) and
``evaluate-segments`` (profiles, traits, events, orders, links and the lake's segment definitions →
``segments/memberships``, with the run's audit under ``segments/evaluations``). Each job's role reads and
replaces exactly the lake prefixes its step touches, plus its own scratch ``tmp/<step>/`` (Spark's
materialized relations and checkpoints, which the bucket expires after a day) and the lake lock
``_lock/lake.json`` (a step never overlaps an erasure: ``cdp.privacy.lock``); ``standardize`` also reads the
erasure tombstones, with the salt, and drops erased people's records. Each pipeline step publishes
its snapshots to the catalog too: it is given the Glue database ``cdp_<stage>`` (``--catalog_database``, the
analytics stack's, found by name) and may update exactly the tables it writes.

Why a stack of its own rather than more of the ingestion stack (STYLE 5, stacks by lifecycle): the ingestion
stack is the real-time path apps depend on every second, changed rarely and carefully; this one is the batch
side, which grows with every pipeline step and is redeployed far more often (the Step Functions orchestration
that runs these jobs in order is a stack of its own, ``infra/stacks/orchestration.py``). Keeping them apart
means a Glue job change never redeploys, or risks rolling back, the ingestion API. Both use the data stack's
bucket and key by their exports; nothing here holds data a delete would lose (the dead-letter queues are
drained by an operator).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Fn, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdp.identity.overrides import OVERRIDES_PATH
from cdp.imports.layout import IMPORT_ROWS, IMPORTS_RAW
from cdp.lake import PSEUDONYMIZED, RAW_EVENTS
from cdp.pipeline.jobs import SCRATCH_PREFIX
from cdp.pipeline.resolve import CONFIG_PATH as IDENTITY_CONFIG_PATH
from cdp.pipeline.segments import EVALUATIONS_PREFIX
from cdp.privacy.lock import S3_LOCK_KEY
from cdp.privacy.tombstones import RETURNING_PREFIX, TOMBSTONES_PREFIX
from cdp.profiles.config import PROFILES_CONFIG_PATH
from cdp.profiles.traits import LAKE_TRAITS_DIR
from cdp.query.glue_tables import database_name
from cdp.segments.definition import DEFINITIONS_DIR
from cdp.tables import (
    EVENTS,
    IDENTITY_LINKS,
    IDENTITY_RECORDS,
    IDENTITY_TABLES,
    ORDERS,
    PROFILE_TABLES,
    PROFILE_TRAITS,
    PROFILES,
    SEGMENT_MEMBERSHIPS,
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
    MountedZone,
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
#: the tables ``cdp.pipeline.profiles`` writes: in the lake, and in the pseudonymized zone's own bucket
PROFILES_OUTPUTS = PROFILE_TABLES
#: the profile zone's config the step reads: survivorship rules (one object) and the trait sets (a folder)
PROFILES_CONFIG_OBJECTS = (PROFILES_CONFIG_PATH,)
PROFILES_TRAITS_CONFIG = f"{LAKE_TRAITS_DIR}/"
#: the published tables ``cdp.pipeline.segments`` reads (the inputs of its compiled SQL)
SEGMENTS_INPUTS = (PROFILES, PROFILE_TRAITS, EVENTS, ORDERS, IDENTITY_LINKS)
#: the table it writes; it also reads the previous snapshot (the base of this run's enter/exit deltas)
SEGMENTS_OUTPUTS = (SEGMENT_MEMBERSHIPS,)
#: the definitions it evaluates, and the trait files that say which traits a definition may name
SEGMENTS_CONFIG = (f"{DEFINITIONS_DIR}/", PROFILES_TRAITS_CONFIG)
#: each run's audit (``evaluation.sql``, ``manifest.json``): a re-run reads its first attempt's manifest
SEGMENTS_AUDIT = f"{EVALUATIONS_PREFIX}/"


#: the lake lock's folder (cdp.privacy.lock: one writer at a time, steps and erasures): read, put, delete
LAKE_LOCK = S3_LOCK_KEY.rsplit("/", 1)[0] + "/"


def scratch(step: str) -> str:
    """The prefix ``cdp.pipeline.jobs.run_glue_step`` gives a step's runs (``tmp/<step>/<run id>/``)."""
    return f"{SCRATCH_PREFIX}/{step}/"


def snapshot_prefixes(tables: tuple[LakeTable, ...]) -> tuple[str, ...]:
    """The lake prefixes of ``tables``: their ``run_id=`` snapshots and ``_current.json`` pointers."""
    return tuple(f"{table.prefix}/" for table in tables)


def in_zone(zone: str, tables: tuple[LakeTable, ...]) -> tuple[LakeTable, ...]:
    """The tables of ``tables`` that live in ``zone`` (a prefix mounted from a bucket of its own)."""
    return tuple(table for table in tables if table.prefix.startswith(f"{zone}/"))


def outside_zone(zone: str, tables: tuple[LakeTable, ...]) -> tuple[LakeTable, ...]:
    return tuple(table for table in tables if table not in in_zone(zone, tables))


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
        lake_bucket = data.import_lake(self)
        key = data.import_data_key(self)
        salt_secret_arn = Fn.import_value(data.salt_secret_arn)
        pseudonymized_bucket = data.import_pseudonymized_zone(self)
        pseudonymized_key = data.import_pseudonymized_key(self)
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
                # erased people's tombstones: their records never reach the clean zone (cdp.privacy)
                reads=(f"{RAW_EVENTS}/", f"{IMPORTS_RAW}/", f"{IMPORT_ROWS}/", f"{TOMBSTONES_PREFIX}/"),
                # run_id= snapshots and the _current.json pointer of each table the step writes
                # + the identifiers of records it suppressed, queued for the retention job's erasure
                replaces=(
                    *snapshot_prefixes(STANDARDIZE_OUTPUTS),
                    scratch("standardize"),
                    LAKE_LOCK,
                    f"{RETURNING_PREFIX}/",
                ),
            ),
            sizing=GlueJobSizing(worker_type="G.1X", workers=2, timeout_minutes=120, max_concurrent_runs=1),
            catalog=publishes(stage, STANDARDIZE_OUTPUTS),
            secrets={"--salt_secret_arn": salt_secret_arn},
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
                replaces=(*snapshot_prefixes(RESOLVE_OUTPUTS), scratch("resolve"), LAKE_LOCK),
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
                replaces=(
                    *snapshot_prefixes(outside_zone(PSEUDONYMIZED, PROFILES_OUTPUTS)),
                    scratch("profiles"),
                    LAKE_LOCK,
                ),
            ),
            # one run at a time: two runs would publish the three tables in interleaved order
            sizing=GlueJobSizing(worker_type="G.1X", workers=2, timeout_minutes=120, max_concurrent_runs=1),
            metrics=True,
            catalog=publishes(stage, PROFILES_OUTPUTS),
            secrets={"--salt_secret_arn": salt_secret_arn},
            # profiles_pseudonymized: the analysts' zone, its own bucket and key (--pseudonymized_root)
            zones=(
                MountedZone(
                    zone=PSEUDONYMIZED,
                    bucket=pseudonymized_bucket,
                    key=pseudonymized_key,
                    access=LakeAccess(replaces=snapshot_prefixes(in_zone(PSEUDONYMIZED, PROFILES_OUTPUTS))),
                ),
            ),
            log_group_prefix=log_group_prefix,
            log_retention=log_retention,
        )
        self.evaluate_segments = LakeGlueJob(
            self,
            "EvaluateSegments",
            name_prefix=name_prefix,
            short_name="evaluate-segments",
            description="Pipeline step segments: profiles, traits, events, orders, links -> memberships",
            script="evaluate_segments.py",
            runtime=runtime,
            bucket=lake_bucket,
            access=LakeAccess(
                reads=(*snapshot_prefixes(SEGMENTS_INPUTS), *SEGMENTS_CONFIG, SEGMENTS_AUDIT),
                # the audit is written once per run and overwritten by a re-run, never deleted
                writes=(SEGMENTS_AUDIT,),
                replaces=(*snapshot_prefixes(SEGMENTS_OUTPUTS), scratch("segments"), LAKE_LOCK),
            ),
            # one run at a time: two runs would compute their deltas from the same previous memberships, and
            # the one published last would drop the other's enters and exits
            sizing=GlueJobSizing(worker_type="G.1X", workers=2, timeout_minutes=120, max_concurrent_runs=1),
            metrics=True,
            catalog=publishes(stage, SEGMENTS_OUTPUTS),
            log_group_prefix=log_group_prefix,
            log_retention=log_retention,
        )
        self.alarms = PipelineAlarms(
            self,
            "Alarms",
            name_prefix=name_prefix,
            batch_import=self.batch_import,
            glue_jobs=[
                self.batch_import.job,
                self.standardize,
                self.resolve_identities,
                self.build_profiles,
                self.evaluate_segments,
            ],
            key=key,
            alarm_email=alarm_email,
        )

        CfnOutput(self, "ImportFunctionName", value=self.batch_import.function.function_name)
        CfnOutput(self, "ImportJobName", value=self.batch_import.job.job_name)
        CfnOutput(self, "StandardizeJobName", value=self.standardize.job_name)
        CfnOutput(self, "ResolveJobName", value=self.resolve_identities.job_name)
        CfnOutput(self, "BuildProfilesJobName", value=self.build_profiles.job_name)
        CfnOutput(self, "EvaluateSegmentsJobName", value=self.evaluate_segments.job_name)
        CfnOutput(
            self, "AlarmTopicArn", value=self.alarms.topic.topic_arn, description="Subscribe on-call here"
        )
