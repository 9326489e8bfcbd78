"""Alarms on the profile lookup, sent to one KMS-encrypted SNS topic, like the ingestion path's
(:mod:`infra.components.alarms`): same period, same "one breach pages" evaluation, OK actions too.

What pages someone: the lookup API answering 5xx (503 = the table could not be read; nothing a client
sends gives a 5xx), the lookup function raising or being throttled, the table throttling reads, and the
loader failing or being throttled (a second load started while one runs), and the shares of requests
answered 5xx or 4xx (:class:`~infra.components.alarms.ApiErrorRates`). One 4xx answer (an unknown profile,
a bad parameter, an unsigned call) is the caller's business, not on-call's, so the 4xx rate that pages is
high: half the lookups failing means a caller's integration or its IAM policy broke.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from infra.components.alarms import AlarmTopic, ApiErrorRates
from infra.components.profile_lookup import LookupLoader, ProfileLookupApi

_FIVE_MINUTES = Duration.minutes(5)


@dataclass(frozen=True, kw_only=True)
class LookupAlarmThresholds:
    api_5xx_per_5_minutes: int = 5
    read_throttles_per_5_minutes: int = 10
    api_error_rates: ApiErrorRates = field(default_factory=lambda: ApiErrorRates(client_error_rate=0.5))


class LookupAlarms(AlarmTopic):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: ProfileLookupApi,
        loader: LookupLoader,
        table: dynamodb.ITable,
        key: kms.IKey,
        thresholds: LookupAlarmThresholds,
        alarm_email: str | None,
    ) -> None:
        super().__init__(
            scope, construct_id, display_name="CDP profile lookup alarms", key=key, alarm_email=alarm_email
        )

        def alarm(name: str, metric: cloudwatch.IMetric, threshold: float, description: str) -> None:
            self.alarm(name, metric, description, threshold=threshold)

        alarm(
            "Api5xx",
            api.http_api.metric_server_error(period=_FIVE_MINUTES, statistic="Sum"),
            thresholds.api_5xx_per_5_minutes,
            "The lookup API answered 5xx (503 = the profile table could not be read; callers retry).",
        )
        self.api_error_rate_alarms(api.http_api, thresholds.api_error_rates, what="lookup API")
        alarm(
            "FunctionErrors",
            api.function.metric_errors(period=_FIVE_MINUTES, statistic="Sum"),
            1,
            "The lookup function raised instead of answering: callers saw a 5xx.",
        )
        alarm(
            "FunctionThrottles",
            api.function.metric_throttles(period=_FIVE_MINUTES, statistic="Sum"),
            1,
            "The lookup function hit its reserved concurrency: raise it, or lower the stage throttle.",
        )
        alarm(
            "TableReadThrottles",
            table.metric("ReadThrottleEvents", period=_FIVE_MINUTES, statistic="Sum"),
            thresholds.read_throttles_per_5_minutes,
            "DynamoDB throttled reads of the profile table (a hot profile or identifier, or a scan): "
            "lookups are slowing down or failing.",
        )
        alarm(
            "LoaderErrors",
            loader.function.metric_errors(period=_FIVE_MINUTES, statistic="Sum"),
            1,
            "The lookup loader failed: the lookup table still serves the previous run's profiles.",
        )
        alarm(
            "LoaderThrottles",
            loader.function.metric_throttles(period=_FIVE_MINUTES, statistic="Sum"),
            1,
            "A lookup load was refused because another was running (reserved concurrency 1): the "
            "orchestrator started two loads.",
        )
