"""The serving stack: the real-time profile lookup (table, IAM-authorized API, loader, alarms).

Why a stack of its own (STYLE 5, stacks by lifecycle): the lookup table is derived data, rebuilt from the
lake by the loader, so unlike the data stack it is not retained and may be replaced with its code; unlike
the ingestion stack (the Segment endpoint apps post to every second) its API is internal, IAM-only and
changes with the profile document; unlike the pipeline stack it serves requests around the clock. Keeping
it apart means a lookup change never redeploys ingestion or the Glue jobs, and deleting it loses nothing the
next load cannot rebuild. It uses the data stack's bucket and key through their exports; the orchestrator
invokes the loader by the exported function name.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from cdp.tables import PROFILE_TRAITS, PROFILES, SEGMENT_MEMBERSHIPS
from infra.components.lookup_alarms import LookupAlarms, LookupAlarmThresholds
from infra.components.profile_lookup import LookupLoader, ProfileLookupApi, ProfileTable, ServingConfig
from infra.stacks.data import DataExports

#: what the loader reads: the snapshots and pointers of the tables a profile document is built from
LOADER_READS = tuple(f"{table.prefix}/" for table in (PROFILES, PROFILE_TRAITS, SEGMENT_MEMBERSHIPS))


def profile_table_export(stage: str) -> str:
    """The export of the lookup table's name (the privacy worker forgets people there)."""
    return f"cdp-{stage}-profile-table-name"


def loader_function_export(stage: str) -> str:
    """The export of the lookup loader's name (the orchestrator invokes it)."""
    return f"cdp-{stage}-lookup-loader-function-name"


class CdpServingStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        data: DataExports,
        lookup_code: lambda_.Code,
        loader_code: lambda_.Code,
        config: ServingConfig,
        log_group_prefix: str,
        log_retention: logs.RetentionDays,
        alarm_email: str | None,
        **stack_options: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=f"cdp-{stage}-serving",
            description=f"CDP {stage}: profile lookup table, IAM-authorized lookup API, its loader, alarms",
            **stack_options,
        )
        lake_bucket = data.import_lake(self)
        key = data.import_data_key(self)
        self.table = ProfileTable(self, "Profiles", key=key).table
        self.api = ProfileLookupApi(
            self,
            "Lookup",
            api_name=f"cdp-{stage}-lookup",
            code=lookup_code,
            table=self.table,
            key=key,
            config=config,
            log_group_prefix=log_group_prefix,
            log_retention=log_retention,
        )
        self.loader = LookupLoader(
            self,
            "Loader",
            code=loader_code,
            table=self.table,
            bucket=lake_bucket,
            reads=LOADER_READS,
            key=key,
            sizing=config.loader,
            log_group_prefix=log_group_prefix,
            log_retention=log_retention,
        )
        self.alarms = LookupAlarms(
            self,
            "Alarms",
            api=self.api,
            loader=self.loader,
            table=self.table,
            key=key,
            thresholds=LookupAlarmThresholds(),
            alarm_email=alarm_email,
        )
        CfnOutput(self, "LookupApiUrl", value=self.api.url, description="SigV4-signed GET /v1/profiles…")
        CfnOutput(
            self,
            "LookupCallerPolicyArn",
            value=self.api.caller_policy.managed_policy_arn,
            description="Attach to the roles that may look up profiles",
        )
        CfnOutput(
            self,
            "ProfileTableName",
            value=self.table.table_name,
            export_name=profile_table_export(stage),
            description="The privacy worker forgets erased people here (cdp-<stage>-privacy)",
        )
        CfnOutput(
            self,
            "LookupLoaderFunctionName",
            value=self.loader.function.function_name,
            export_name=loader_function_export(stage),
            description='The orchestrator invokes it with {"lake_bucket": …} after profiles and segments',
        )
        CfnOutput(
            self, "AlarmTopicArn", value=self.alarms.topic.topic_arn, description="Subscribe on-call here"
        )
