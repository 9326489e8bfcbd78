"""Alarms of the batch side (imports and Glue jobs), sent to one KMS-encrypted SNS topic.

What pages someone: an upload event in either dead-letter queue (the rule could not invoke the import
function, or the function kept failing), the import function raising or being throttled (a burst of
uploads beyond its reserved concurrency waits and retries, then dead-letters), and any Glue job of the
stage ending FAILED, TIMEOUT or ERROR. Glue has no "run failed" metric, so the last one is an EventBridge
rule on "Glue Job State Change" that publishes a readable message straight to the topic (the data key's
policy lets the stage's rules use the key, see :class:`~infra.components.encryption.DataKey`).

Uploads that cannot be imported as they are (bad mapping, unreadable file) are not alarms: they are
recorded under ``quarantine/import_failures/`` and counted in the function's ``Uploads`` metric with
``outcome=failed``; the data owner fixes them, not on-call.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.compliance import cfn
from infra.components.alarms import AlarmTopic
from infra.components.batch_import import BatchImport
from infra.components.glue_jobs import LakeGlueJob

_FIVE_MINUTES = Duration.minutes(5)
GLUE_FAILED_STATES = ("FAILED", "TIMEOUT", "ERROR")


class PipelineAlarms(AlarmTopic):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name_prefix: str,
        batch_import: BatchImport,
        glue_jobs: Sequence[LakeGlueJob],
        key: kms.IKey,
        alarm_email: str | None,
    ) -> None:
        super().__init__(
            scope, construct_id, display_name="CDP pipeline alarms", key=key, alarm_email=alarm_email
        )
        alarm = self.alarm

        def depth(queue: sqs.IQueue) -> cloudwatch.IMetric:
            return queue.metric_approximate_number_of_messages_visible(
                period=_FIVE_MINUTES, statistic="Maximum"
            )

        alarm(
            "ImportDeadLetters",
            depth(batch_import.dead_letters),
            "An upload event failed in the import function after Lambda's retries (S3 or Glue unavailable); "
            "redrive it from the function's dead-letter queue once the cause is fixed.",
        )
        alarm(
            "UploadRuleDeadLetters",
            depth(batch_import.rule_dead_letters),
            "EventBridge could not invoke the import function for an upload (or publish a Glue failure); "
            "the event is in the rule dead-letter queue.",
        )
        alarm(
            "ImportFunctionErrors",
            batch_import.function.metric_errors(period=_FIVE_MINUTES, statistic="Sum"),
            "The import function raised (S3 or Glue unavailable, throttled); Lambda retries twice, then "
            "dead-letters the event.",
        )
        alarm(
            "ImportFunctionThrottles",
            batch_import.function.metric_throttles(period=_FIVE_MINUTES, statistic="Sum"),
            "More uploads arrived at once than the import function's reserved concurrency: Lambda retries "
            "the throttled events for up to six hours, then dead-letters them.",
        )

        self.glue_failures = events.Rule(
            self,
            "GlueJobFailures",
            rule_name=f"{name_prefix}glue-job-failures",
            description="A run of one of the stage's Glue jobs ended FAILED, TIMEOUT or ERROR",
            event_pattern=events.EventPattern(
                source=["aws.glue"],
                detail_type=["Glue Job State Change"],
                detail={"jobName": [job.job_name for job in glue_jobs], "state": list(GLUE_FAILED_STATES)},
            ),
        )
        self.glue_failures.add_target(
            targets.SnsTopic(
                self.topic,
                message=events.RuleTargetInput.from_text(
                    f"Glue job {events.EventField.from_path('$.detail.jobName')} run "
                    f"{events.EventField.from_path('$.detail.jobRunId')} ended "
                    f"{events.EventField.from_path('$.detail.state')}: "
                    f"{events.EventField.from_path('$.detail.message')}"
                ),
                dead_letter_queue=batch_import.rule_dead_letters,
                retry_attempts=8,
                max_event_age=Duration.hours(24),
            )
        )
        # The target adds "events.amazonaws.com may publish" to the topic policy with no condition, which
        # would let any account's rule publish here: only this rule may.
        topic_policy = cfn(self.topic.node.find_child("Policy"))
        topic_policy.add_property_override(
            "PolicyDocument.Statement.1.Condition",
            {"ArnEquals": {"aws:SourceArn": self.glue_failures.rule_arn}},
        )
