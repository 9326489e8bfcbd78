"""What a pipeline step's report becomes in CloudWatch (cdp.pipeline.metrics), and the Glue job arguments that
turn publishing on."""

from __future__ import annotations

import pytest

from cdp.pipeline.jobs import metrics_sink, parse_job_arguments, publish_run_metrics
from cdp.pipeline.metrics import (
    MetricDatum,
    MetricsUnavailableError,
    NoMetrics,
    RecordedMetrics,
    pipeline_dimensions,
    run_metrics,
    step_metrics,
)
from cdp.pipeline.runner import RunReport
from cdp.pipeline.standardize import StepReport

RESOLVE = StepReport(
    step="resolve",
    run_id="r1",
    engine="spark",
    rows={"identity_links": 1200, "identity_edges": 900, "identity_history": 14},
    seconds=41.25,
    guards={
        "blocklisted_identifier_values": 2,
        "over_cardinality_identifier_values": 1,
        "refused_dob_conflict": 5,
        "refused_gender_conflict": 0,
        "split_two_user_ids": 3,
        "oversized_profiles_split": 0,
        "propagation_rounds": 7,
    },
)


def by_key(data: list[MetricDatum]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(d.name, tuple(sorted(d.dimensions.items()))): d.value for d in data}


def test_resolve_reports_its_duration_rows_and_the_merges_its_guards_blocked() -> None:
    metrics = by_key(step_metrics(RESOLVE))
    step = (("step", "resolve"),)
    assert metrics[("StepDuration", step)] == 41.25
    assert metrics[("RowsWritten", (*step, ("table", "identity_links")))] == 1200
    assert metrics[("RowsWritten", (*step, ("table", "identity_history")))] == 14
    # every guard counts, the propagation rounds do not (they are how the graph was solved, not a block)
    assert metrics[("MergesBlocked", step)] == 2 + 1 + 5 + 3
    assert metrics[("MergesBlocked", (("guard", "refused_dob_conflict"), *step))] == 5
    assert metrics[("MergesBlocked", (("guard", "oversized_profiles_split"), *step))] == 0
    assert not [key for key in metrics if ("guard", "propagation_rounds") in key[1]]
    units = {d.name: d.unit for d in step_metrics(RESOLVE)}
    assert units == {"StepDuration": "Seconds", "RowsWritten": "Count", "MergesBlocked": "Count"}


def test_profiles_and_segments_report_profiles_and_membership_changes() -> None:
    profiles = StepReport(
        step="profiles",
        run_id="r1",
        engine="spark",
        rows={"profiles": 980, "profile_traits": 7000, "profiles_pseudonymized": 980},
        seconds=12.0,
        guards={"traits": 9},
    )
    segments = StepReport(
        step="segments",
        run_id="r1",
        engine="spark",
        rows={"segment_memberships": 450},
        seconds=3.5,
        guards={"members": 400, "entered": 40, "exited": 10},
    )
    run = RunReport(run_id="r1", engine="spark", steps=[profiles, segments])
    metrics = by_key(run_metrics(run))
    assert metrics[("Profiles", (("step", "profiles"),))] == 980
    assert metrics[("SegmentMembers", (("step", "segments"),))] == 400
    assert metrics[("SegmentEntries", (("step", "segments"),))] == 40
    assert metrics[("SegmentExits", (("step", "segments"),))] == 10
    assert not [name for name, _ in metrics if name == "MergesBlocked"]  # only resolve has merge guards


def test_a_sink_adds_its_dimensions_to_every_datum() -> None:
    sink = RecordedMetrics(dimensions=pipeline_dimensions("prod"))
    sink.publish(step_metrics(RESOLVE))
    assert all(d.dimensions["stage"] == "prod" for d in sink.published)
    assert all(d.dimensions["service"] == "cdp-pipeline" for d in sink.published)
    assert all(d.dimensions["step"] == "resolve" for d in sink.published)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: MetricDatum("", 1), "metric name"),
        (lambda: MetricDatum("Rows Written", 1), "metric name"),
        (lambda: MetricDatum("Rows", -1), "not a count"),
        (lambda: MetricDatum("Rows", float("nan")), "not a count"),
        (lambda: MetricDatum("Rows", 1, "Count", {"table": ""}), "non-empty"),
        (lambda: MetricDatum("Rows", 1, "Count", {str(i): "x" for i in range(31)}), "at most 30"),
        (lambda: pipeline_dimensions("Prod!"), "stage"),
    ],
)
def test_bad_metrics_fail_with_the_reason(make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()  # type: ignore[operator]


def test_a_job_publishes_only_when_deployed_with_a_namespace() -> None:
    local = parse_job_arguments(["--lake_uri", "/tmp/lake"])
    assert isinstance(metrics_sink(local), NoMetrics)
    deployed = parse_job_arguments(
        ["--lake_uri", "s3://lake", "--metrics_namespace", "CDP", "--stage", "dev", "--JOB_NAME", "x"]
    )
    sink = metrics_sink(deployed)
    assert (sink.namespace, sink.dimensions) == (  # type: ignore[attr-defined]
        "CDP",
        {"stage": "dev", "service": "cdp-pipeline"},
    )
    with pytest.raises(ValueError, match="stage"):
        parse_job_arguments(["--lake_uri", "s3://lake", "--stage", "DEV"])


def test_a_refused_publish_does_not_fail_the_step(capsys: pytest.CaptureFixture[str]) -> None:
    class Refusing:
        def publish(self, data: object) -> None:
            raise MetricsUnavailableError("AccessDenied")

    run = RunReport(run_id="r1", engine="spark", steps=[RESOLVE])
    assert publish_run_metrics(Refusing(), run) is False
    assert "metrics not published" in capsys.readouterr().err
    recorded = RecordedMetrics()
    assert publish_run_metrics(recorded, run) is True
    assert len(recorded.published) == len(step_metrics(RESOLVE))
