"""The AWS :class:`~cdp.pipeline.metrics.MetricsSink`: ``PutMetricData`` to the ``CDP`` namespace.

Used by the Glue jobs (``cdp.pipeline.jobs``), whose roles may put metric data in that namespace only (the
IAM condition ``cloudwatch:namespace``, ``infra/components/glue_jobs.py``). One call takes at most 1,000
data (the API's limit), so a run's few dozen go in one; every datum gets the sink's dimensions (``stage``,
``service``) beside its own. Any botocore failure becomes :class:`MetricsUnavailableError`, which the
caller reports without failing a step that has already published its snapshots.

boto3 is imported when the first client is made, never at module import.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from cdp.pipeline.metrics import (
    METRICS_NAMESPACE,
    MetricDatum,
    MetricsUnavailableError,
    check_dimensions,
)

#: PutMetricData's limit of data per call
MAX_DATA_PER_CALL = 1000


class CloudWatchMetricsClient(Protocol):
    """The one CloudWatch call this adapter makes (boto3's CloudWatch client has it)."""

    def put_metric_data(self, **kwargs: Any) -> Any: ...


class CloudWatchMetricsSink:
    def __init__(
        self,
        *,
        dimensions: Mapping[str, str],
        namespace: str = METRICS_NAMESPACE,
        client: CloudWatchMetricsClient | None = None,
    ) -> None:
        if not namespace or namespace.startswith("AWS/"):
            raise ValueError(f"namespace {namespace!r}: give the platform's own (AWS/ is reserved)")
        check_dimensions(dimensions, what="the sink's dimensions")
        self.namespace = namespace
        self.dimensions = dict(dimensions)
        self._client = client

    def _cloudwatch(self) -> CloudWatchMetricsClient:
        if self._client is None:
            import boto3

            self._client = boto3.client("cloudwatch")
        return self._client

    def publish(self, data: Sequence[MetricDatum]) -> None:
        entries = [self._entry(datum) for datum in data]
        if not entries:
            return
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            client = self._cloudwatch()
            for start in range(0, len(entries), MAX_DATA_PER_CALL):
                client.put_metric_data(
                    Namespace=self.namespace, MetricData=entries[start : start + MAX_DATA_PER_CALL]
                )
        except (BotoCoreError, ClientError) as error:
            raise MetricsUnavailableError(
                f"could not put {len(entries)} metric data in {self.namespace}: {error}"
            ) from error

    def _entry(self, datum: MetricDatum) -> dict[str, Any]:
        dimensions = {**self.dimensions, **datum.dimensions}
        check_dimensions(dimensions, what=f"metric {datum.name}")
        return {
            "MetricName": datum.name,
            "Dimensions": [{"Name": name, "Value": value} for name, value in sorted(dimensions.items())],
            "Value": float(datum.value),
            "Unit": datum.unit,
        }
