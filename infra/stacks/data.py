"""The stateful stack: everything that holds data. Retained on delete, termination-protected in prod.

Deploying new code never touches this stack (STYLE 5), and deleting the ingestion stack leaves the lake, the
write keys and the key that encrypts them in place. Other stacks use these resources only through the named
CloudFormation exports listed in :class:`DataExports`: a stable, readable interface, and CloudFormation
refuses to delete this stack or change an export while another stack imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_cdk import CfnOutput, Fn, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.components.encryption import DataKey
from infra.components.lake import DataLake, LakeRetention
from infra.components.pseudonymization import PseudonymizationSalt
from infra.components.pseudonymized_zone import PseudonymizedZone
from infra.components.write_keys import WriteKeyTable


@dataclass(frozen=True, kw_only=True)
class DataExports:
    """Names of the CloudFormation exports of one stage's data stack."""

    lake_bucket_name: str
    lake_bucket_arn: str
    data_key_arn: str
    key_table_name: str
    key_table_arn: str
    salt_secret_arn: str
    pseudonymized_bucket_name: str
    pseudonymized_bucket_arn: str
    pseudonymized_key_arn: str

    @classmethod
    def for_stage(cls, stage: str) -> DataExports:
        return cls(
            lake_bucket_name=f"cdp-{stage}-lake-bucket-name",
            lake_bucket_arn=f"cdp-{stage}-lake-bucket-arn",
            data_key_arn=f"cdp-{stage}-data-key-arn",
            key_table_name=f"cdp-{stage}-write-key-table-name",
            key_table_arn=f"cdp-{stage}-write-key-table-arn",
            salt_secret_arn=f"cdp-{stage}-salt-secret-arn",
            pseudonymized_bucket_name=f"cdp-{stage}-pseudonymized-bucket-name",
            pseudonymized_bucket_arn=f"cdp-{stage}-pseudonymized-bucket-arn",
            pseudonymized_key_arn=f"cdp-{stage}-pseudonymized-key-arn",
        )

    # How another stack reaches them: each an import into ``scope`` under a fixed id, by the export names.

    def import_lake(self, scope: Construct) -> s3.IBucket:
        return s3.Bucket.from_bucket_attributes(
            scope,
            "Lake",
            bucket_arn=Fn.import_value(self.lake_bucket_arn),
            bucket_name=Fn.import_value(self.lake_bucket_name),
        )

    def import_data_key(self, scope: Construct) -> kms.IKey:
        return kms.Key.from_key_arn(scope, "DataKey", Fn.import_value(self.data_key_arn))

    def import_pseudonymized_zone(self, scope: Construct) -> s3.IBucket:
        return s3.Bucket.from_bucket_attributes(
            scope,
            "PseudonymizedZone",
            bucket_arn=Fn.import_value(self.pseudonymized_bucket_arn),
            bucket_name=Fn.import_value(self.pseudonymized_bucket_name),
        )

    def import_pseudonymized_key(self, scope: Construct) -> kms.IKey:
        return kms.Key.from_key_arn(scope, "PseudonymizedKey", Fn.import_value(self.pseudonymized_key_arn))


class CdpDataStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        retention: LakeRetention,
        log_group_prefix: str,
        termination_protection: bool,
        **stack_options: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            stack_name=f"cdp-{stage}-data",
            description=f"CDP {stage}: lake, pseudonymized zone, write keys, salt, KMS keys (stateful)",
            termination_protection=termination_protection,
            **stack_options,
        )
        retain = RemovalPolicy.RETAIN
        self.key = DataKey(
            self,
            "DataKey",
            alias=f"alias/cdp-{stage}-data",
            log_group_prefix=log_group_prefix,
            event_rule_prefix=f"cdp-{stage}-",
            removal_policy=retain,
        ).key
        lake = DataLake(self, "Lake", key=self.key, retention=retention, removal_policy=retain)
        self.lake_bucket = lake.bucket
        self.access_log_bucket = lake.access_logs
        # the analysts' zone: its own bucket and key (SPEC 4; components/pseudonymized_zone.py says why)
        self.pseudonymized = PseudonymizedZone(
            self,
            "PseudonymizedZone",
            alias=f"alias/cdp-{stage}-pseudonymized",
            access_logs=lake.access_logs,
            noncurrent_version_days=retention.noncurrent_version_days,
            removal_policy=retain,
        )
        self.key_table = WriteKeyTable(self, "WriteKeys", key=self.key, removal_policy=retain).table
        # never rotated: a rotated salt changes every pseudonymized hash (components/pseudonymization.py)
        self.salt = PseudonymizationSalt(
            self,
            "PseudonymizationSalt",
            description=f"CDP {stage}: pseudonymization salt of profiles_pseudonymized (never rotate it)",
            key=self.key,
            removal_policy=retain,
        )

        self.exports = DataExports.for_stage(stage)
        for output_id, value, export_name, description in (
            (
                "LakeBucketName",
                self.lake_bucket.bucket_name,
                self.exports.lake_bucket_name,
                "The lake (SPEC 4)",
            ),
            ("LakeBucketArn", self.lake_bucket.bucket_arn, self.exports.lake_bucket_arn, "The lake (SPEC 4)"),
            ("DataKeyArn", self.key.key_arn, self.exports.data_key_arn, "CMK of lake, table, queues, logs"),
            (
                "WriteKeyTableName",
                self.key_table.table_name,
                self.exports.key_table_name,
                "CDP_KEY_TABLE for `cdp sources …` with CDP_KEY_STORE=dynamodb",
            ),
            ("WriteKeyTableArn", self.key_table.table_arn, self.exports.key_table_arn, "Write-key hashes"),
            (
                "SaltSecretArn",
                self.salt.secret_arn,
                self.exports.salt_secret_arn,
                "Pseudonymization salt (Secrets Manager), read by the build-profiles job and the privacy API",
            ),
            (
                "PseudonymizedBucketName",
                self.pseudonymized.bucket.bucket_name,
                self.exports.pseudonymized_bucket_name,
                "The pseudonymized zone (SPEC 4), mounted at the lake's pseudonymized/ prefix",
            ),
            (
                "PseudonymizedBucketArn",
                self.pseudonymized.bucket.bucket_arn,
                self.exports.pseudonymized_bucket_arn,
                "The pseudonymized zone (SPEC 4)",
            ),
            (
                "PseudonymizedKeyArn",
                self.pseudonymized.key.key_arn,
                self.exports.pseudonymized_key_arn,
                "CMK of the pseudonymized zone and the analysts' query results (no personal data)",
            ),
        ):
            CfnOutput(self, output_id, value=value, export_name=export_name, description=description)
        CfnOutput(
            self,
            "PseudonymizedRoot",
            value=self.pseudonymized.root,
            description="--pseudonymized-root of scripts/sync_glue_catalog.py (where pseudonymized/ lives)",
        )
