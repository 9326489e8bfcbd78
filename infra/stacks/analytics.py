"""The analytics stack: Glue Data Catalog, Athena workgroup, analyst views and policy. Safe to redeploy.

Why a stack of its own (STYLE 5, stacks by lifecycle): the catalog and the workgroup change with the
analysts' needs (a view, a table column, the scan cutoff), on a rhythm of their own, and none of it should
redeploy the pipeline's jobs or the ingestion API. It holds no lake data: the tables are definitions over the
data stack's buckets (the lake and the pseudonymized zone, by their exports), the views are SQL. It does
hold two retained buckets, query results (expiring within days) and their access logs, kept with the
workgroup that writes them (see :mod:`infra.components.analytics` for why results are not a lake prefix).

Deleting the stack removes the database, its table definitions and the workgroup; the lake is untouched and a
redeploy recreates them, after which ``scripts/sync_glue_catalog.py`` points each table at its published
snapshot again. The pipeline finds the database by its name, ``cdp_<stage>``; nothing imports this stack.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from cdp.lake import PSEUDONYMIZED, zone_mounts
from cdp.query.glue_tables import ANALYST_TABLES, catalog_tables, database_name
from cdp.query.views import ANALYST_VIEWS
from infra.components.analytics import AnalystAccess, AnalyticsCatalog, AnalyticsSettings, AthenaWorkgroup
from infra.stacks.data import DataExports


class CdpAnalyticsStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        data: DataExports,
        settings: AnalyticsSettings,
        **stack_options: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=f"cdp-{stage}-analytics",
            description=f"CDP {stage}: Glue Data Catalog, Athena workgroup, analyst views and policy",
            **stack_options,
        )
        lake_bucket = data.import_lake(self)
        key = data.import_data_key(self)
        # the analysts' zone (SPEC 4): pseudonymized tables in a bucket of their own, under their own key
        zone_bucket = data.import_pseudonymized_zone(self)
        zone_key = data.import_pseudonymized_key(self)
        self.catalog = AnalyticsCatalog(
            self,
            "Catalog",
            database_name=database_name(stage),
            tables=catalog_tables(
                lake_uri=f"s3://{lake_bucket.bucket_name}",
                raw_events_first_day=settings.raw_events_first_day,
                mounts=zone_mounts(pseudonymized_root=f"s3://{zone_bucket.bucket_name}/{PSEUDONYMIZED}"),
            ),
        )
        self.workgroup = AthenaWorkgroup(
            self,
            "Athena",
            name=f"cdp-{stage}",
            database_name=self.catalog.database_name,
            # results are copies of what analysts may read: under their zone's key, not the lake's
            key=zone_key,
            access_log_key=key,
            settings=settings,
            views=ANALYST_VIEWS,
        )
        self.analysts = AnalystAccess(
            self,
            "Analysts",
            policy_name=f"cdp-{stage}-analyst",
            lake_bucket=lake_bucket,
            lake_key=key,
            zone_prefix=PSEUDONYMIZED,
            zone_bucket=zone_bucket,
            zone_key=zone_key,
            catalog=self.catalog,
            workgroup=self.workgroup,
            tables=ANALYST_TABLES,
            views=ANALYST_VIEWS,
        )
        CfnOutput(self, "DatabaseName", value=self.catalog.database_name, description="Glue database")
        CfnOutput(self, "WorkGroupName", value=self.workgroup.workgroup.ref, description="Athena workgroup")
        CfnOutput(self, "QueryResultsBucketName", value=self.workgroup.results.bucket.bucket_name)
        CfnOutput(
            self,
            "AnalystPolicyArn",
            value=self.analysts.policy.managed_policy_arn,
            description="Attach to the analysts' permission set or role",
        )
