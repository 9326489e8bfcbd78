"""Every :class:`~cdp.pipeline.metrics.MetricsSink` keeps the same promise (STYLE 2): what a step publishes is
found afterwards under the namespace ``CDP``, with the sink's dimensions (stage, service) beside its own.

The CloudWatch adapter runs against moto and is read back the way an operator's dashboard reads it:
``ListMetrics`` for which metrics exist with which dimensions, ``GetMetricStatistics`` for their values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from cdp.adapters.cloudwatch_metrics import MAX_DATA_PER_CALL, CloudWatchMetricsSink
from cdp.pipeline.metrics import (
    MetricDatum,
    MetricsSink,
    MetricsUnavailableError,
    RecordedMetrics,
    pipeline_dimensions,
    step_metrics,
)
from cdp.pipeline.standardize import StepReport
from tests.contract.conftest import MOTO_REGION

#: (metric name, sorted dimensions) -> (sum of values, unit)
Readback = dict[tuple[str, tuple[tuple[str, str], ...]], tuple[float, str]]

PROFILES = StepReport(
    step="profiles",
    run_id="r1",
    engine="spark",
    rows={"profiles": 980, "profile_traits": 7000},
    seconds=12.5,
)


@dataclass(frozen=True)
class SinkUnderTest:
    sink: MetricsSink
    read: Callable[[], Readback]


@contextmanager
def _recorded() -> Iterator[SinkUnderTest]:
    sink = RecordedMetrics(dimensions=pipeline_dimensions("dev"))

    def read() -> Readback:
        found: Readback = {}
        for datum in sink.published:
            key = (datum.name, tuple(sorted(datum.dimensions.items())))
            total, _ = found.get(key, (0.0, datum.unit))
            found[key] = (total + datum.value, datum.unit)
        return found

    yield SinkUnderTest(sink, read)


@contextmanager
def _cloudwatch() -> Iterator[SinkUnderTest]:
    with mock_aws():
        client = boto3.client("cloudwatch", region_name=MOTO_REGION)
        sink = CloudWatchMetricsSink(dimensions=pipeline_dimensions("dev"), client=client)

        def read() -> Readback:
            found: Readback = {}
            for metric in client.list_metrics(Namespace="CDP")["Metrics"]:
                dimensions = [{"Name": d["Name"], "Value": d["Value"]} for d in metric["Dimensions"]]
                now = datetime.now(UTC)
                [point] = client.get_metric_statistics(
                    Namespace="CDP",
                    MetricName=metric["MetricName"],
                    Dimensions=dimensions,  # type: ignore[arg-type]
                    StartTime=now - timedelta(hours=1),
                    EndTime=now + timedelta(minutes=5),
                    Period=3600,
                    Statistics=["Sum"],
                )["Datapoints"]
                key = (metric["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in dimensions)))
                found[key] = (point["Sum"], point["Unit"])
            return found

        yield SinkUnderTest(sink, read)


@pytest.fixture(params=[_recorded, _cloudwatch], ids=["recorded", "cloudwatch"])
def under_test(request: pytest.FixtureRequest) -> Iterator[SinkUnderTest]:
    with request.param() as sink:
        yield sink


def test_published_step_metrics_are_found_with_the_sinks_dimensions(under_test: SinkUnderTest) -> None:
    under_test.sink.publish(step_metrics(PROFILES))
    found = under_test.read()
    base = (("service", "cdp-pipeline"), ("stage", "dev"))
    assert found == {
        ("StepDuration", (*base, ("step", "profiles"))): (12.5, "Seconds"),
        ("RowsWritten", (*base, ("step", "profiles"), ("table", "profile_traits"))): (7000.0, "Count"),
        ("RowsWritten", (*base, ("step", "profiles"), ("table", "profiles"))): (980.0, "Count"),
        ("Profiles", (*base, ("step", "profiles"))): (980.0, "Count"),
    }


def test_two_runs_add_up_and_nothing_published_is_nothing_found(under_test: SinkUnderTest) -> None:
    under_test.sink.publish([])
    assert under_test.read() == {}
    under_test.sink.publish([MetricDatum("MergesBlocked", 4, "Count", {"step": "resolve"})])
    under_test.sink.publish([MetricDatum("MergesBlocked", 3, "Count", {"step": "resolve"})])
    key = ("MergesBlocked", (("service", "cdp-pipeline"), ("stage", "dev"), ("step", "resolve")))
    assert under_test.read() == {key: (7.0, "Count")}


# -- the CloudWatch adapter's own ------------------------------------------------------------------


class _Calls:
    """A CloudWatch client that counts calls and their sizes, or refuses them."""

    def __init__(self, error: Exception | None = None) -> None:
        self.sizes: list[int] = []
        self.error = error

    def put_metric_data(self, **kwargs: Any) -> None:
        if self.error:
            raise self.error
        self.sizes.append(len(kwargs["MetricData"]))


def test_more_data_than_one_call_takes_are_split() -> None:
    calls = _Calls()
    sink = CloudWatchMetricsSink(dimensions={"stage": "dev"}, client=calls)
    sink.publish([MetricDatum("RowsWritten", i, "Count", {"n": str(i)}) for i in range(2500)])
    assert calls.sizes == [MAX_DATA_PER_CALL, MAX_DATA_PER_CALL, 500]


def test_a_refused_call_says_so_as_metrics_unavailable() -> None:
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutMetricData")
    sink = CloudWatchMetricsSink(dimensions={"stage": "dev"}, client=_Calls(denied))
    with pytest.raises(MetricsUnavailableError, match="AccessDenied"):
        sink.publish([MetricDatum("Profiles", 1)])


def test_a_reserved_namespace_or_too_many_dimensions_is_refused_before_any_call() -> None:
    with pytest.raises(ValueError, match="reserved"):
        CloudWatchMetricsSink(namespace="AWS/Glue", dimensions={})
    sink = CloudWatchMetricsSink(dimensions={str(i): "x" for i in range(30)}, client=_Calls())
    with pytest.raises(ValueError, match="at most 30"):
        sink.publish([MetricDatum("Profiles", 1, "Count", {"step": "profiles"})])
