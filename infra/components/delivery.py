"""A Firehose DirectPut stream into one lake zone, partitioned by the record's business-time-zone date.

The ingest function writes JSON records that carry ``dt`` (computed in the business time zone, default
Asia/Bangkok); Firehose's JQ metadata extraction reads it and the S3 prefix puts it in the path, so objects
land in ``<zone>/dt=YYYY-MM-DD/`` exactly like the local lake. The query and the prefix come from the sink
adapter (:mod:`cdp.adapters.aws_firehose_sink`), so producer and stream cannot drift apart.

Objects are GZIP-compressed JSON lines, encrypted with the CMK (SSE-KMS on S3; the stream's own buffer is
encrypted with the same key). Records Firehose cannot deliver go to ``quarantine/delivery-errors/<name>/``.
"""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kinesisfirehose as firehose
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdp.adapters.aws_firehose_sink import PARTITION_QUERY, delivery_prefix
from infra.compliance import acknowledge_nag, nag_resource

#: Dynamic partitioning requires buffers of at least 64 MiB; 60 s bounds how late an event shows in S3.
BUFFER_MIB = 64
BUFFER_SECONDS = 60


class EventDeliveryStream(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        zone: str,
        bucket: s3.IBucket,
        key: kms.IKey,
        time_zone: str,
        log_group_name: str,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        error_prefix = f"quarantine/delivery-errors/{name}/"

        log_group = logs.LogGroup(
            self,
            "DeliveryLogs",
            log_group_name=log_group_name,
            encryption_key=key,
            retention=log_retention,
            removal_policy=RemovalPolicy.DESTROY,
        )
        log_stream = logs.LogStream(
            self,
            "DeliveryErrors",
            log_group=log_group,
            log_stream_name="S3Delivery",
            removal_policy=RemovalPolicy.DESTROY,
        )

        role = iam.Role(
            self,
            "DeliveryRole",
            description=f"Firehose delivers {zone} records into the lake",
            assumed_by=iam.ServicePrincipal(
                "firehose.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
            ),
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="FindTheLakeBucket",
                actions=["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                resources=[bucket.bucket_arn],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="WriteOnlyItsZoneAndErrorPrefix",
                actions=["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
                resources=[bucket.arn_for_objects(f"{zone}/*"), bucket.arn_for_objects(f"{error_prefix}*")],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="EncryptLakeObjectsThroughS3",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{Aws.REGION}.amazonaws.com"}},
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                sid="ReportDeliveryErrors",
                actions=["logs:PutLogEvents"],
                resources=[
                    f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:{log_group_name}"
                    f":log-stream:{log_stream.log_stream_name}"
                ],
            )
        )
        bucket_arn = nag_resource(self, bucket.bucket_arn)
        policy = role.node.find_child("DefaultPolicy")
        acknowledge_nag(
            policy,
            f"AwsSolutions-IAM5[Resource::{bucket_arn}/{zone}/*]",
            f"Firehose names each object it writes; the grant is limited to this stream's zone prefix "
            f"'{zone}/' of the one lake bucket.",
        )
        acknowledge_nag(
            policy,
            f"AwsSolutions-IAM5[Resource::{bucket_arn}/{error_prefix}*]",
            f"Firehose names each error object it writes; the grant is limited to this stream's error "
            f"prefix '{error_prefix}' of the one lake bucket.",
        )

        self.stream = firehose.CfnDeliveryStream(
            self,
            "Stream",
            delivery_stream_type="DirectPut",
            delivery_stream_encryption_configuration_input=firehose.CfnDeliveryStream.DeliveryStreamEncryptionConfigurationInputProperty(
                key_type="CUSTOMER_MANAGED_CMK", key_arn=key.key_arn
            ),
            extended_s3_destination_configuration=firehose.CfnDeliveryStream.ExtendedS3DestinationConfigurationProperty(
                bucket_arn=bucket.bucket_arn,
                role_arn=role.role_arn,
                prefix=delivery_prefix(zone),
                error_output_prefix=f"{error_prefix}!{{firehose:error-output-type}}/!{{timestamp:yyyy-MM-dd}}/",
                custom_time_zone=time_zone,
                file_extension=".jsonl.gz",
                compression_format="GZIP",
                buffering_hints=firehose.CfnDeliveryStream.BufferingHintsProperty(
                    interval_in_seconds=BUFFER_SECONDS, size_in_m_bs=BUFFER_MIB
                ),
                encryption_configuration=firehose.CfnDeliveryStream.EncryptionConfigurationProperty(
                    kms_encryption_config=firehose.CfnDeliveryStream.KMSEncryptionConfigProperty(
                        awskms_key_arn=key.key_arn
                    )
                ),
                dynamic_partitioning_configuration=firehose.CfnDeliveryStream.DynamicPartitioningConfigurationProperty(
                    enabled=True,
                    retry_options=firehose.CfnDeliveryStream.RetryOptionsProperty(duration_in_seconds=300),
                ),
                processing_configuration=firehose.CfnDeliveryStream.ProcessingConfigurationProperty(
                    enabled=True,
                    processors=[
                        firehose.CfnDeliveryStream.ProcessorProperty(
                            type="MetadataExtraction",
                            parameters=[
                                _parameter("MetadataExtractionQuery", PARTITION_QUERY),
                                _parameter("JsonParsingEngine", "JQ-1.6"),
                            ],
                        )
                    ],
                ),
                cloud_watch_logging_options=firehose.CfnDeliveryStream.CloudWatchLoggingOptionsProperty(
                    enabled=True,
                    log_group_name=log_group.log_group_name,
                    log_stream_name=log_stream.log_stream_name,
                ),
            ),
        )
        # the role's policy (not only the role, which RoleARN already orders) must exist before Firehose
        # first tries to deliver
        self.stream.node.add_dependency(policy)
        self.stream_name = self.stream.ref
        self.stream_arn = self.stream.attr_arn


def _parameter(name: str, value: str) -> firehose.CfnDeliveryStream.ProcessorParameterProperty:
    return firehose.CfnDeliveryStream.ProcessorParameterProperty(parameter_name=name, parameter_value=value)
