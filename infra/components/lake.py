"""The lake bucket with SPEC 4's zones, and the bucket its access logs go to.

Zones are prefixes, not resources: S3 creates ``landing/``, ``raw/events/``, … on first write. What makes a
zone real here is its lifecycle, decided per zone of :data:`cdp.lake.ZONES` (a zone added there without a
decision here fails the synth).

The bucket sends its object events to EventBridge (``EventBridgeConfiguration``): the pipeline stack's rules
pick what they need (uploads under ``landing/``) without a notification configuration of their own, which
a second stack could not set on this bucket without a custom resource.

Versioning "where it does not block erasure" (SPEC 9): versioning is on, so an overwrite or a mistaken
delete can be undone for a few days, and noncurrent versions expire after ``noncurrent_version_days``
(default 7), so an object rewritten or deleted by an erasure is gone for good within that window. No Object
Lock anywhere: it would make erasure impossible.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Annotations, Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdp.lake import ZONES
from infra.compliance import cfn, skip_checkov


@dataclass(frozen=True, kw_only=True)
class LakeRetention:
    """Days each zone keeps its objects; ``None`` keeps them until the pipeline or an erasure removes them."""

    landing_days: int = 30
    raw_events_days: int = 400
    raw_infrequent_access_after_days: int = 30
    quarantine_days: int = 30
    exports_days: int = 90
    #: Spark jobs' scratch (``tmp/``): a run deletes its own; this removes what a crashed run left
    scratch_days: int = 1
    noncurrent_version_days: int = 7
    access_log_days: int = 365

    def __post_init__(self) -> None:
        days = (self.landing_days, self.raw_events_days, self.quarantine_days, self.exports_days)
        if min(*days, self.scratch_days, self.noncurrent_version_days, self.access_log_days) < 1:
            raise ValueError("S3 lifecycle expires objects after one day at the earliest")
        if self.raw_infrequent_access_after_days < 30:
            raise ValueError("S3 moves objects to STANDARD_IA after 30 days at the earliest")
        if self.raw_events_days <= self.raw_infrequent_access_after_days:
            raise ValueError("raw events must outlive their move to infrequent access")


class DataLake(Construct):
    """Lake bucket (SSE-KMS with the CMK, TLS only, no public access, versioned) and its access-log bucket."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        retention: LakeRetention,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        noncurrent = Duration.days(retention.noncurrent_version_days)

        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            # S3 server access logging writes with the CMK once the key policy admits the logging service
            # (DataKey does); the AWS-managed aws/s3 key would not work for a log target
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            removal_policy=removal_policy,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=Duration.days(retention.access_log_days),
                    noncurrent_version_expiration=noncurrent,
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
        )
        skip_checkov(
            cfn(self.access_logs),
            "CKV_AWS_18",
            "This bucket is the server-access-log target of the lake; logging it into itself would log "
            "every log delivery, and a second log bucket would only move the question.",
        )

        # Handing the lake a key-less reference to its log bucket stops CDK from adding its own grants for
        # the logging service: an unconditioned encrypt/decrypt/re-encrypt statement in the key policy. The
        # two narrower statements are below and in DataKey.
        log_target = s3.Bucket.from_bucket_attributes(
            self,
            "AccessLogTarget",
            bucket_arn=self.access_logs.bucket_arn,
            bucket_name=self.access_logs.bucket_name,
        )
        self.bucket = s3.Bucket(
            self,
            "Lake",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,  # one KMS call per bucket key, not per object
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            server_access_logs_bucket=log_target,
            server_access_logs_prefix="lake/",
            removal_policy=removal_policy,
            lifecycle_rules=[_whole_lake_rule(noncurrent), *_zone_rules(retention)],
        )
        # Set on the resource: the L2 `event_bridge_enabled` would deploy a notifications custom resource
        # (a Lambda function) to do what CloudFormation does natively.
        cfn(self.bucket).add_property_override(
            "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
        )
        Annotations.of(self.bucket).acknowledge_warning(
            "@aws-cdk/aws-s3:accessLogsPolicyNotAdded", "the log bucket's policy statement is written below"
        )
        self.access_logs.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ServerAccessLogsOfTheLake",
                principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[self.access_logs.arn_for_objects("lake/*")],
                conditions={
                    "ArnLike": {"aws:SourceArn": self.bucket.bucket_arn},
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                },
            )
        )


def _whole_lake_rule(noncurrent: Duration) -> s3.LifecycleRule:
    """Versions replaced or deleted (erasure rewrites files) are kept only ``noncurrent`` days."""
    return s3.LifecycleRule(
        id="erasure-window-and-cleanup",
        noncurrent_version_expiration=noncurrent,
        expired_object_delete_marker=True,
        abort_incomplete_multipart_upload_after=Duration.days(1),
    )


def _zone_rules(retention: LakeRetention) -> list[s3.LifecycleRule]:
    infrequent = [
        s3.Transition(
            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
            transition_after=Duration.days(retention.raw_infrequent_access_after_days),
        )
    ]
    rules: dict[str, s3.LifecycleRule | None] = {
        # uploads are copied to raw/imports when imported; what is left in landing is stale
        "landing": s3.LifecycleRule(expiration=Duration.days(retention.landing_days)),
        # Firehose output; the clean zone keeps the typed events, raw keeps the replay source
        "raw/events": s3.LifecycleRule(
            transitions=infrequent, expiration=Duration.days(retention.raw_events_days)
        ),
        # original import files: never changed except by erasure, kept as the source of re-imports
        "raw/imports": s3.LifecycleRule(transitions=infrequent),
        "quarantine": s3.LifecycleRule(expiration=Duration.days(retention.quarantine_days)),
        "exports": s3.LifecycleRule(expiration=Duration.days(retention.exports_days)),
        # a job's working copies (materialized relations, Splink checkpoints): personal data that must not
        # outlive a crashed run, nor linger as noncurrent versions for the whole erasure window
        "tmp": s3.LifecycleRule(
            expiration=Duration.days(retention.scratch_days),
            noncurrent_version_expiration=Duration.days(retention.scratch_days),
            abort_incomplete_multipart_upload_after=Duration.days(retention.scratch_days),
        ),
        # snapshots (run_id=…) whose old versions the pipeline expires when it swaps the pointer
        "clean": None,
        "identity": None,
        "profiles": None,
        "segments": None,
        # erasure log and request records: the proof of erasure is kept (an access export is deleted by a
        # later erasure of its person)
        "privacy": None,
        # on AWS the zone is its own bucket (components/pseudonymized_zone.py, same erasure window) and
        # nothing is written under this prefix of the lake; locally it is a folder like the others
        "pseudonymized": None,
    }
    undecided = set(ZONES) - set(rules)
    if undecided:
        raise ValueError(f"lake zones without a lifecycle decision: {sorted(undecided)}")
    return [
        s3.LifecycleRule(
            id=f"zone-{zone.replace('/', '-')}",
            prefix=f"{zone}/",
            expiration=rule.expiration,
            transitions=rule.transitions,
            noncurrent_version_expiration=rule.noncurrent_version_expiration,
            abort_incomplete_multipart_upload_after=rule.abort_incomplete_multipart_upload_after,
        )
        for zone, rule in rules.items()
        if rule is not None
    ]
