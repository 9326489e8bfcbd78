"""The analysts' zone (SPEC 4): pseudonymized tables in a bucket of their own, under a KMS key of their own.

SPEC 4: "an Athena view runs with the caller's rights on the base tables, so a view alone protects nothing".
What analysts may read must therefore be *materialized* apart from the personal data, where a grant can name
it alone. A prefix of the lake would do for S3, but not for KMS: with S3 bucket keys the key's encryption
context is the bucket, so ``kms:Decrypt`` on the lake's key opens every zone of the lake to whoever also
holds an ``s3:GetObject``. Here the zone has:

* **its own customer-managed key** (``alias/cdp-<stage>-pseudonymized``, yearly rotation, retained), which
  encrypts nothing but pseudonymized data and the analysts' query results: a grant on it can never reach a
  name, an e-mail or a phone;
* **its own bucket**, hardened like the lake (SSE-KMS with that key and bucket keys, Block Public Access, no
  ACLs, TLS 1.2+ only, versioned with the lake's erasure window for noncurrent versions, server access logs
  into the lake's access-log bucket under ``pseudonymized/``, retained, no Object Lock so erasure can rewrite
  it). Objects keep their lake-relative keys (``pseudonymized/profiles/run_id=…/``): the pipeline mounts the
  bucket at the lake's ``pseudonymized/`` prefix (:class:`cdp.lakefs.LakeFiles`), so the same code writes a
  local folder or this bucket;
* **a bucket policy that refuses objects under another key**: a writer that names a key (a Glue security
  configuration does, for every S3 write of its job) must name this one, so a misconfigured job fails loudly
  instead of leaving analysts' data readable only with the lake's key, or worse, personal data under the
  analysts' key.
"""

from __future__ import annotations

from aws_cdk import Annotations, Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdp.lake import PSEUDONYMIZED


class PseudonymizedZone(Construct):
    """The zone's key and bucket; ``access_logs`` is the lake's access-log bucket (CMK-encrypted, with the
    key policy statement for S3 server access logging)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        alias: str,
        access_logs: s3.IBucket,
        noncurrent_version_days: int,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        self.prefix = PSEUDONYMIZED
        self.key = kms.Key(
            self,
            "Key",
            alias=alias,
            description="CDP pseudonymized zone: analysts' tables and query results, never personal data",
            enable_key_rotation=True,
            rotation_period=Duration.days(365),
            pending_window=Duration.days(30),
            removal_policy=removal_policy,
        )
        # a key-less reference, so CDK adds no grant of its own for the logging service on the log bucket's
        # key (the data key's policy has the narrow statement); the bucket policy statement is below
        log_target = s3.Bucket.from_bucket_attributes(
            self,
            "AccessLogTarget",
            bucket_arn=access_logs.bucket_arn,
            bucket_name=access_logs.bucket_name,
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            server_access_logs_bucket=log_target,
            server_access_logs_prefix=f"{PSEUDONYMIZED}/",
            removal_policy=removal_policy,
            lifecycle_rules=[
                # snapshots are expired by the pipeline; versions an erasure replaced are gone within the
                # lake's window, like the lake's own
                s3.LifecycleRule(
                    id="erasure-window-and-cleanup",
                    noncurrent_version_expiration=Duration.days(noncurrent_version_days),
                    expired_object_delete_marker=True,
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
        )
        Annotations.of(self.bucket).acknowledge_warning(
            "@aws-cdk/aws-s3:accessLogsPolicyNotAdded", "the log bucket's policy statement is written below"
        )
        objects = self.bucket.arn_for_objects("*")
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyTheZoneKeyEncryptsItsObjects",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                resources=[objects],
                conditions={
                    "StringNotEqualsIfExists": {
                        "s3:x-amz-server-side-encryption-aws-kms-key-id": self.key.key_arn
                    }
                },
            )
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlySseKmsForItsObjects",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                resources=[objects],
                conditions={"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}},
            )
        )
        access_logs.add_to_resource_policy(
            iam.PolicyStatement(
                sid="ServerAccessLogsOfThePseudonymizedZone",
                principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[access_logs.arn_for_objects(f"{PSEUDONYMIZED}/*")],
                conditions={
                    "ArnLike": {"aws:SourceArn": self.bucket.bucket_arn},
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                },
            )
        )

    @property
    def root(self) -> str:
        """Where the lake's ``pseudonymized/`` prefix is mounted (``--pseudonymized_root`` of the jobs)."""
        return f"s3://{self.bucket.bucket_name}/{self.prefix}"
