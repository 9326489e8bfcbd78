"""Composition root of activation: a destination config in, its adapter out; the ledger and dead letters.

Adapters are imported here, lazily, so boto3 is loaded only when an AWS destination is configured.
"""

from __future__ import annotations

from cdp.activation.config import (
    ActivationSettings,
    DestinationConfig,
    EventBridgeConfig,
    LocalConfig,
    S3AudienceConfig,
    SesContactListConfig,
    SmsConfig,
    SnsConfig,
    SqsConfig,
)
from cdp.activation.ports import DeadLetterQueue, DeliveryLedger, Destination
from cdp.lakefs import LakeFiles


def build_destination(config: DestinationConfig, files: LakeFiles) -> Destination:
    region, endpoint, rate = config.region, config.endpoint_url, config.max_per_second
    if isinstance(config, SesContactListConfig):
        from cdp.adapters import aws_ses_contacts

        return aws_ses_contacts.SesContactListDestination(
            contact_list=config.contact_list,
            topic=config.topic,
            region=region,
            endpoint_url=endpoint,
            max_changes_per_second=rate or aws_ses_contacts.DEFAULT_RATE,
        )
    if isinstance(config, SmsConfig):
        from cdp.adapters import aws_sms

        return aws_sms.SmsDestination(
            origination_identity=config.origination_identity,
            templates=config.templates,
            message_type=config.message_type,
            max_price=config.max_price,
            region=region,
            endpoint_url=endpoint,
            max_changes_per_second=rate or aws_sms.DEFAULT_RATE,
        )
    if isinstance(config, SnsConfig):
        from cdp.adapters.aws_event_destinations import SnsTopicDestination

        return SnsTopicDestination(
            topic_arn=config.topic_arn,
            include=config.include,
            region=region,
            endpoint_url=endpoint,
            max_changes_per_second=rate,
        )
    if isinstance(config, EventBridgeConfig):
        from cdp.adapters.aws_event_destinations import EventBridgeDestination

        return EventBridgeDestination(
            event_bus=config.event_bus,
            source=config.source,
            include=config.include,
            region=region,
            endpoint_url=endpoint,
            max_changes_per_second=rate,
        )
    if isinstance(config, SqsConfig):
        from cdp.adapters.aws_event_destinations import SqsQueueDestination

        return SqsQueueDestination(
            queue_url=config.queue_url,
            include=config.include,
            region=region,
            endpoint_url=endpoint,
            max_changes_per_second=rate,
        )
    if isinstance(config, S3AudienceConfig):
        from cdp.adapters.aws_s3_audience import S3AudienceDestination

        return S3AudienceDestination(
            bucket=config.bucket,
            prefix=config.key_prefix,
            kms_key_id=config.kms_key_id,
            phone_format=config.phone_format,
            region=region,
            endpoint_url=endpoint,
            max_changes_per_second=rate,
        )
    if isinstance(config, LocalConfig):
        from cdp.adapters.local_destination import LocalDestination

        return LocalDestination(
            files,
            config.id,
            include=config.include,
            needs_any=config.needs_any,
            acts_on=config.acts_on,
            max_changes_per_second=config.max_per_second,
        )
    raise TypeError(f"no adapter for destination type {type(config).__name__}")


def build_ledger(files: LakeFiles) -> DeliveryLedger:
    from cdp.adapters.lake_deliveries import LakeDeliveryLedger

    return LakeDeliveryLedger(files)


def build_dead_letters(settings: ActivationSettings, files: LakeFiles) -> DeadLetterQueue:
    if settings.dead_letter_queue_url:
        from cdp.adapters.aws_sqs_dead_letters import SqsDeadLetters

        return SqsDeadLetters(queue_url=settings.dead_letter_queue_url)
    from cdp.adapters.local_destination import LocalDeadLetters

    return LocalDeadLetters(files)
