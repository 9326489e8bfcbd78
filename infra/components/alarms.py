"""Alarms on the ingestion path, sent to one KMS-encrypted SNS topic (subscribe e-mail or chat to it), and
:class:`AlarmTopic`, which every path's alarms build on.

What pages someone: the ingest function failing or being throttled, anything in its dead-letter queue, the
API answering 5xx (a sink outage answers 503, so this is also "events are not being stored"), the share of
requests answered 5xx or 4xx over its threshold (:class:`ApiErrorRates`: a broken SDK release or a revoked
write key shows as a 4xx rate long before anyone complains), and either delivery stream falling behind
(records older than the freshness threshold still not in S3).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from aws_cdk import Duration
from aws_cdk import aws_apigatewayv2 as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from infra.components.delivery import EventDeliveryStream
from infra.components.ingestion_api import IngestionApi

_FIVE_MINUTES = Duration.minutes(5)
#: the class of HTTP answers an error rate counts
ErrorKind = Literal["5xx", "4xx"]


@dataclass(frozen=True, kw_only=True)
class ApiErrorRates:
    """The share of an HTTP API's requests over five minutes answered 5xx, and 4xx, that pages someone.

    Below ``min_requests`` requests in the period the rate counts as 0: one refused call of a quiet API is
    a caller's mistake, not an incident (the 5xx count alarm still sees every server error).
    """

    server_error_rate: float = 0.01
    client_error_rate: float = 0.25
    min_requests: int = 20

    def __post_init__(self) -> None:
        for name in ("server_error_rate", "client_error_rate"):
            if not 0 < getattr(self, name) <= 1:
                raise ValueError(f"{name} is a share of requests: give a number in (0, 1]")
        if self.min_requests < 1:
            raise ValueError("min_requests must be at least 1")


@dataclass(frozen=True, kw_only=True)
class AlarmThresholds:
    api_5xx_per_5_minutes: int = 5
    delivery_freshness_seconds: int = 900
    #: the ingestion API's: SDKs post in batches, so even a 4xx rate of a quarter means lost events
    api_error_rates: ApiErrorRates = field(default_factory=ApiErrorRates)


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

    def api_error_rate_alarms(self, api: apigw.IHttpApi, rates: ApiErrorRates, *, what: str) -> None:
        """``Api5xxRate`` and ``Api4xxRate`` of ``api`` (:func:`api_error_rate`)."""
        alarms: tuple[tuple[str, ErrorKind, float, str], ...] = (
            (
                "Api5xxRate",
                "5xx",
                rates.server_error_rate,
                "failed on our side (callers retry; see the function and its store)",
            ),
            (
                "Api4xxRate",
                "4xx",
                rates.client_error_rate,
                "were refused (bad or revoked keys, throttling, invalid bodies: a client release or a "
                "rotated key gone wrong)",
            ),
        )
        for name, kind, threshold, meaning in alarms:
            self.alarm(
                name,
                api_error_rate(api, kind, min_requests=rates.min_requests, label=f"{what} {kind} rate"),
                f"More than {threshold:.0%} of the {what}'s requests in five minutes {meaning}.",
                threshold=threshold,
            )


def api_error_rate(
    api: apigw.IHttpApi,
    kind: ErrorKind,
    *,
    min_requests: int,
    label: str,
    ids: str = "api",
) -> cloudwatch.MathExpression:
    """Errors / requests of ``api`` over five minutes (metric math), 0 while fewer than ``min_requests``
    requests came in; the alarms and the operations dashboard read the same expression. ``ids`` prefixes
    the expression's metric ids (a graph of several APIs needs them apart)."""
    errors = (
        api.metric_server_error(period=_FIVE_MINUTES, statistic="Sum")
        if kind == "5xx"
        else api.metric_client_error(period=_FIVE_MINUTES, statistic="Sum")
    )
    errors_id, requests_id = f"{ids}{kind[0]}xx_errors", f"{ids}_requests"
    return cloudwatch.MathExpression(
        expression=f"IF({requests_id} >= {min_requests}, FILL({errors_id}, 0) / {requests_id}, 0)",
        using_metrics={
            errors_id: errors,
            requests_id: api.metric_count(period=_FIVE_MINUTES, statistic="Sum"),
        },
        period=_FIVE_MINUTES,
        label=label,
    )


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
        self.api_error_rate_alarms(api.http_api, thresholds.api_error_rates, what="ingestion API")
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
