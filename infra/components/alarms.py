"""Alarms on the ingestion path, sent to one KMS-encrypted SNS topic (subscribe e-mail or chat to it).

What pages someone: the ingest function failing or being throttled, anything in its dead-letter queue, the
API answering 5xx (a sink outage answers 503, so this is also "events are not being stored"), and either
delivery stream falling behind (records older than the freshness threshold still not in S3).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.components.delivery import EventDeliveryStream
from infra.components.ingestion_api import IngestionApi

_FIVE_MINUTES = Duration.minutes(5)


@dataclass(frozen=True, kw_only=True)
class AlarmThresholds:
    api_5xx_per_5_minutes: int = 5
    delivery_freshness_seconds: int = 900


class AlarmTopic(Construct):
    """One KMS-encrypted SNS topic for a path's alarms (e-mail subscribed when given), and :meth:`alarm`:
    every alarm pages on one breaching period of five minutes and says when it is OK again. The path's
    constructs subclass it, so the topic and alarms keep their construct ids (``Topic``, the alarm name)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        display_name: str,
        key: kms.IKey,
        alarm_email: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(self, "Topic", display_name=display_name, master_key=key, enforce_ssl=True)
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self._action = actions.SnsAction(self.topic)
        self.alarms: list[cloudwatch.Alarm] = []

    def alarm(
        self, name: str, metric: cloudwatch.IMetric, description: str, *, threshold: float = 1
    ) -> cloudwatch.Alarm:
        created = cloudwatch.Alarm(
            self,
            name,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        created.add_alarm_action(self._action)
        created.add_ok_action(self._action)
        self.alarms.append(created)
        return created


class IngestionAlarms(AlarmTopic):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: IngestionApi,
        streams: list[EventDeliveryStream],
        key: kms.IKey,
        thresholds: AlarmThresholds,
        alarm_email: str | None,
    ) -> None:
        super().__init__(
            scope, construct_id, display_name="CDP ingestion alarms", key=key, alarm_email=alarm_email
        )

        def alarm(name: str, metric: cloudwatch.IMetric, threshold: float, description: str) -> None:
            self.alarm(name, metric, description, threshold=threshold)

        alarm(
            "DeadLetters",
            api.dead_letters.metric_approximate_number_of_messages_visible(
                period=_FIVE_MINUTES, statistic="Maximum"
            ),
            1,
            "A failed asynchronous invocation of the ingest function is waiting in its dead-letter queue.",
        )
        alarm(
            "FunctionErrors",
            api.function.metric_errors(period=_FIVE_MINUTES, statistic="Sum"),
            1,
            "The ingest function raised instead of answering: clients saw a 5xx and will retry.",
        )
        alarm(
            "FunctionThrottles",
            api.function.metric_throttles(period=_FIVE_MINUTES, statistic="Sum"),
            1,
            "The ingest function hit its reserved concurrency: raise it or the stage throttle is too high.",
        )
        alarm(
            "Api5xx",
            api.http_api.metric_server_error(period=_FIVE_MINUTES, statistic="Sum"),
            thresholds.api_5xx_per_5_minutes,
            "The ingestion API answered 5xx (503 = events could not be stored; SDKs retry).",
        )
        for stream in streams:
            alarm(
                f"{stream.node.id}Freshness",
                cloudwatch.Metric(
                    namespace="AWS/Firehose",
                    metric_name="DeliveryToS3.DataFreshness",
                    dimensions_map={"DeliveryStreamName": stream.stream_name},
                    period=_FIVE_MINUTES,
                    statistic="Maximum",
                ),
                thresholds.delivery_freshness_seconds,
                f"{stream.node.id}: the oldest record not yet delivered to S3 is older than "
                f"{thresholds.delivery_freshness_seconds} s (delivery failing or throttled).",
            )
