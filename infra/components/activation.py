"""Activation on AWS (SPEC 8): the export function, the destinations it owns, its dead letters and alarms.

* :class:`SegmentDestinations`: what segments are delivered to, per transport:
  - the account's **SES v2 contact list** ``cdp-<stage>-audiences`` with one topic per e-mail segment
    (SES allows one contact list per account and 20 topics per list; topics are declared here, in the stage
    config, because SES refuses a contact's preference for a topic the list does not declare), and an
    **SES configuration set** ``cdp-<stage>-marketing`` for the campaigns that mail those topics (TLS
    required, reputation metrics, bounces and complaints on the account suppression list);
  - the **SNS topic** ``cdp-<stage>-segment-changes`` (the data key);
  - the **SQS queue** ``cdp-<stage>-segment-changes`` (the data key) with a redrive queue for consumers
    that keep failing on a message;
  - the **EventBridge bus** ``cdp-<stage>-segments``, encrypted with a key of its own (the data key's policy
    admits EventBridge for the stage's *rules* only, and a bus's key policy must name the bus). **No
    archive**: an archive keeps every event, contact fields included, where an erasure (SPEC 9) cannot
    reach it; a replay is a re-run of ``cdp export`` from the kept membership snapshots instead.
  - SMS: End User Messaging origination identities are bought and registered outside CloudFormation; the
    stage config lists the ARNs the function may send from (none: no SMS permission at all).
  - Audience files go to the lake's ``exports/`` (SSE-KMS with the data key).
* :class:`ExportFunction`: ``lambdas.export.handler`` (ARM64), invoked synchronously by the orchestrator
  once per activated segment; its dead-letter queue ``cdp-<stage>-export-dead-letters`` holds the changes
  that failed after every attempt (ids and reason only), alarmed.

Least privilege, one statement per destination: ``ses:CreateContact``/``UpdateContact``/``GetContact`` and
``ses:GetContactList`` on the contact list (no ``DeleteContact``: an exit opts out of the topic; deleting
contacts is erasure's, with its own role), ``sms-voice:SendTextMessage`` on the configured identities,
``sns:Publish`` on the topic, ``events:PutEvents`` on the bus, ``sqs:SendMessage`` on the destination queue
and the dead-letter queue, ``s3:PutObject`` under ``exports/`` only; reads: ``s3:GetObject`` of the published
``profiles/profiles/`` and ``segments/memberships/`` snapshots, the segment definitions, and of
``segments/destinations.yaml``, ``privacy/suppression.jsonl`` and the ``exports/deliveries/`` ledger;
``kms:Decrypt``/``GenerateDataKey`` on the data key only through S3, SNS and SQS.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from cdp.activation.config import DESTINATIONS_PATH, SUPPRESSION_PATH
from cdp.segments.definition import DEFINITIONS_DIR
from cdp.tables import DELIVERIES, PROFILES, SEGMENT_MEMBERSHIPS
from infra.compliance import acknowledge_nag, nag_resource
from infra.components.alarms import AlarmTopic
from infra.components.dead_letters import dead_letter_queue
from infra.components.encryption import use_key_through
from infra.components.functions import PYARROW_WHEELS, function_logs_and_role, python_function

HANDLER = "lambdas.export.handler.lambda_handler"
#: what the function reads: published snapshots, definitions, and its own config and ledger
READ_PREFIXES = (
    f"{PROFILES.prefix}/",
    f"{SEGMENT_MEMBERSHIPS.prefix}/",
    f"{DEFINITIONS_DIR}/",
    f"{DELIVERIES.prefix}/",
)
READ_OBJECTS = (DESTINATIONS_PATH, SUPPRESSION_PATH)
#: what it writes: the ledger, audience files, local-type records and dead letters, all under exports/
WRITE_PREFIX = "exports/"
_FIVE_MINUTES = Duration.minutes(5)


@dataclass(frozen=True, kw_only=True)
class EmailTopic:
    name: str
    display_name: str
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class ExportSizing:
    """SES at one change a second makes a large segment outlast one invocation; the handler stops a minute
    early and answers ``complete: false``, and the orchestrator invokes it again."""

    memory_mb: int = 2048
    timeout_seconds: int = 900
    #: exports running at once (one per segment); SES's one request a second is per account anyway
    reserved_concurrency: int = 4


@dataclass(frozen=True, kw_only=True)
class ActivationConfig:
    email_topics: tuple[EmailTopic, ...] = (
        EmailTopic(name="offers", display_name="Offers and news", description="Segment-driven campaigns"),
    )
    #: End User Messaging origination identities (phone number, pool or sender id ARNs) to send SMS from
    sms_origination_identities: tuple[str, ...] = ()
    sizing: ExportSizing = field(default_factory=ExportSizing)
    dead_letter_retention_days: int = 14

    def __post_init__(self) -> None:
        if len(self.email_topics) > 20:
            raise ValueError("an SES contact list holds at most 20 topics")
        for arn in self.sms_origination_identities:
            if not arn.startswith("arn:") or ":sms-voice:" not in arn:
                raise ValueError(f"{arn!r} is not an End User Messaging origination identity ARN")


def _queue(scope: Construct, construct_id: str, *, name: str, key: kms.IKey, **options: object) -> sqs.Queue:
    return sqs.Queue(
        scope,
        construct_id,
        queue_name=name,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        **options,  # type: ignore[arg-type]
    )


class SegmentDestinations(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        key: kms.IKey,
        config: ActivationConfig,
    ) -> None:
        super().__init__(scope, construct_id)
        # -- e-mail ---------------------------------------------------------------------------------
        self.contact_list_name = f"{name_prefix}audiences"
        self.contact_list = ses.CfnContactList(
            self,
            "ContactList",
            contact_list_name=self.contact_list_name,
            description="Segments as topics (cdp export, ses_contact_list destinations)",
            topics=[
                ses.CfnContactList.TopicProperty(
                    topic_name=topic.name,
                    display_name=topic.display_name,
                    description=topic.description or None,
                    default_subscription_status="OPT_OUT",  # nobody is mailed without an OPT_IN
                )
                for topic in config.email_topics
            ],
        )
        self.contact_list_arn = Stack.of(self).format_arn(
            service="ses", resource="contact-list", resource_name=self.contact_list_name
        )
        self.configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            configuration_set_name=f"{name_prefix}marketing",
            tls_policy=ses.ConfigurationSetTlsPolicy.REQUIRE,
            reputation_metrics=True,
            sending_enabled=True,
            suppression_reasons=ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
        )

        # -- notifications and events -----------------------------------------------------------------
        self.topic = sns.Topic(
            self,
            "SegmentChanges",
            topic_name=f"{name_prefix}segment-changes",
            display_name="CDP segment changes",
            master_key=key,
            enforce_ssl=True,
        )
        self.queue_redrive = _queue(
            self,
            "SegmentChangesRedrive",
            name=f"{name_prefix}segment-changes-redrive",
            key=key,
            retention_period=Duration.days(14),
        )  # cdk-nag's SQS3 sees it is the queue below's redrive target
        self.queue = _queue(
            self,
            "SegmentChangesQueue",
            name=f"{name_prefix}segment-changes",
            key=key,
            retention_period=Duration.days(4),
            visibility_timeout=Duration.minutes(5),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=5, queue=self.queue_redrive),
        )
        self.bus_name = f"{name_prefix}segments"
        self.bus_key = kms.Key(
            self,
            "BusKey",
            description=f"Encrypts the events on {self.bus_name} (segment.entered / segment.exited)",
            enable_key_rotation=True,
            pending_window=Duration.days(7),
            # events live on the bus only until delivered (no archive): nothing is left to decrypt
            removal_policy=RemovalPolicy.DESTROY,
        )
        # the key policy statement for EventBridge (conditioned on this bus's ARN as source and encryption
        # context) is the one CDK's EventBus adds for its key
        self.bus = events.EventBus(
            self,
            "Bus",
            event_bus_name=self.bus_name,
            description="segment.entered / segment.exited from cdp export (source cdp.segments)",
            kms_key=self.bus_key,
        )


class ExportFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        code: lambda_.Code,
        bucket: s3.IBucket,
        key: kms.IKey,
        destinations: SegmentDestinations,
        config: ActivationConfig,
        log_group_prefix: str,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letters = dead_letter_queue(
            self,
            "DeadLetters",
            key=key,
            why=(
                "This queue is itself the dead-letter queue of the export (changes that failed after every "
                "attempt); an operator drains it after fixing the cause, so a queue behind it adds nothing."
            ),
            queue_name=f"{name_prefix}export-dead-letters",
            retention_days=config.dead_letter_retention_days,
        )
        function_logs, role = function_logs_and_role(
            self,
            name="export",
            description="The export function: read profiles and memberships, deliver to segment destinations",
            key=key,
            log_group_prefix=log_group_prefix,
            log_retention=log_retention,
        )
        statements = [
            iam.PolicyStatement(
                sid="SubscribeContactsToSegmentTopics",
                actions=["ses:CreateContact", "ses:UpdateContact", "ses:GetContact", "ses:GetContactList"],
                resources=[destinations.contact_list_arn],
            ),
            iam.PolicyStatement(
                sid="PublishSegmentChanges", actions=["sns:Publish"], resources=[destinations.topic.topic_arn]
            ),
            iam.PolicyStatement(
                sid="PutSegmentEvents",
                actions=["events:PutEvents"],
                resources=[destinations.bus.event_bus_arn],
            ),
            iam.PolicyStatement(
                sid="QueueSegmentChangesAndDeadLetters",
                actions=["sqs:SendMessage"],
                resources=[destinations.queue.queue_arn, self.dead_letters.queue_arn],
            ),
            iam.PolicyStatement(
                sid="FindSnapshotAndLedgerFiles",
                actions=["s3:ListBucket", "s3:GetBucketLocation"],
                resources=[bucket.bucket_arn],
            ),
            iam.PolicyStatement(
                sid="ReadProfilesMembershipsDefinitionsAndTheLedger",
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{prefix}*") for prefix in READ_PREFIXES],
            ),
            iam.PolicyStatement(
                sid="ReadDestinationsAndSuppressionList",
                actions=["s3:GetObject"],
                resources=[bucket.arn_for_objects(name) for name in READ_OBJECTS],
            ),
            iam.PolicyStatement(
                sid="WriteExports",
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(f"{WRITE_PREFIX}*")],
            ),
            use_key_through("s3", key, sid="DecryptLakeObjects"),
            iam.PolicyStatement(
                sid="EncryptExportsTopicAndQueueMessages",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[key.key_arn],
                conditions={
                    "StringEquals": {
                        "kms:ViaService": [
                            f"s3.{Aws.REGION}.amazonaws.com",
                            f"sns.{Aws.REGION}.amazonaws.com",
                            f"sqs.{Aws.REGION}.amazonaws.com",
                        ]
                    }
                },
            ),
        ]
        if config.sms_origination_identities:
            statements.append(
                iam.PolicyStatement(
                    sid="SendTextsFromTheConfiguredIdentities",
                    actions=["sms-voice:SendTextMessage"],
                    resources=list(config.sms_origination_identities),
                )
            )
        for statement in statements:
            role.add_to_policy(statement)
        policy = role.node.find_child("DefaultPolicy")
        bucket_arn = nag_resource(policy, bucket.bucket_arn)
        for prefix in (*READ_PREFIXES, WRITE_PREFIX):
            acknowledge_nag(
                policy,
                f"AwsSolutions-IAM5[Resource::{bucket_arn}/{prefix}*]",
                f"The export reads and writes objects it names at run time (snapshot files by run id, ledger "
                f"and audience files by run and destination); the grant is limited to the prefix '{prefix}' "
                "and the one action listed for it.",
            )

        self.function = python_function(
            self,
            description="cdp export: one segment's membership changes to its destinations (step export)",
            handler=HANDLER,
            code=code,
            role=role,
            log_group=function_logs,
            key=key,
            memory_mb=config.sizing.memory_mb,
            timeout_seconds=config.sizing.timeout_seconds,
            reserved_concurrency=config.sizing.reserved_concurrency,
            environment={
                "CDP_LAKE_BUCKET": bucket.bucket_name,
                "CDP_DEAD_LETTER_QUEUE_URL": self.dead_letters.queue_url,
                "POWERTOOLS_SERVICE_NAME": "cdp-export",
                "POWERTOOLS_LOG_LEVEL": "INFO",
            },
            reaches="S3, SES, SNS, SQS, EventBridge, End User Messaging",
            no_dead_letters=(
                "The orchestrator invokes the export synchronously and reads its report; a function "
                "dead-letter queue only sees asynchronous invocations. Changes that fail go to the export's "
                "own dead-letter queue (CDP_DEAD_LETTER_QUEUE_URL), which is alarmed."
            ),
            wheels=PYARROW_WHEELS,
        )


class ActivationAlarms(AlarmTopic):
    """Dead letters waiting (export or consumers), the function failing or throttled: one KMS topic."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        export: ExportFunction,
        destinations: SegmentDestinations,
        key: kms.IKey,
        alarm_email: str | None,
    ) -> None:
        super().__init__(
            scope, construct_id, display_name="CDP activation alarms", key=key, alarm_email=alarm_email
        )
        alarm = self.alarm

        alarm(
            "ExportDeadLetters",
            export.dead_letters.metric_approximate_number_of_messages_visible(
                period=_FIVE_MINUTES, statistic="Maximum"
            ),
            "Segment changes failed after every attempt (reason in each message): fix the destination, then "
            "re-run the export for that run id; the ledger retries exactly the failed ones.",
        )
        alarm(
            "ConsumerRedrive",
            destinations.queue_redrive.metric_approximate_number_of_messages_visible(
                period=_FIVE_MINUTES, statistic="Maximum"
            ),
            "A consumer of the segment-changes queue kept failing on a message (moved after 5 receives).",
        )
        alarm(
            "ExportErrors",
            export.function.metric_errors(period=_FIVE_MINUTES, statistic="Sum"),
            "The export function raised (bad destinations.yaml or suppression list, lake unreadable): the "
            "segment was not delivered; the orchestrator's run shows the error.",
        )
        alarm(
            "ExportThrottles",
            export.function.metric_throttles(period=_FIVE_MINUTES, statistic="Sum"),
            "An export was refused: more segments exported at once than the reserved concurrency.",
        )
