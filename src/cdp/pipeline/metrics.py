"""What a pipeline step tells CloudWatch: the port, its no-op default, and the metrics a step report becomes.

The Lambda handlers emit their metrics with Powertools (EMF lines in their logs). The Glue jobs are not
Lambdas, so a step run by :func:`cdp.pipeline.jobs.run_glue_step` publishes through :class:`MetricsSink`:
``cdp.adapters.cloudwatch_metrics`` on AWS, :class:`NoMetrics` everywhere else (``cdp run``, tests), so the
embedded mode never needs credentials. The same namespace (``CDP``) and dimensions (``stage``, ``service``)
as the handlers' metrics, so one dashboard reads both.

What a step report becomes (:func:`step_metrics`; every metric has the dimension ``step`` too):

* ``StepDuration`` (seconds), every step: the Glue job runtimes on the dashboard;
* ``RowsWritten`` per table (dimension ``table``), every step that writes snapshots: records, links,
  history entries, memberships;
* ``MergesBlocked``, resolve: what the identity guards refused or split, in total and per guard (dimension
  ``guard``, e.g. ``refused_dob_conflict``): a jump is a bad source, a shared phone, a blocklist gap;
* ``Profiles``, profiles: how many profiles the run published;
* ``SegmentMembers``, ``SegmentEntries``, ``SegmentExits``, segments: sums over the segments.

Publishing must never fail a step that has already published its snapshots: an adapter raises
:class:`MetricsUnavailableError` and the caller reports it and carries on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from cdp.tables import PROFILES as PROFILES_TABLE

if TYPE_CHECKING:  # the runner imports every step; a sink needs none of them
    from cdp.pipeline.runner import RunReport
    from cdp.pipeline.standardize import StepReport

#: the namespace of every CDP metric, the handlers' (Powertools) and the pipeline's
METRICS_NAMESPACE = "CDP"
#: the ``service`` dimension of the pipeline steps' metrics (the handlers use ``cdp-<function>``)
PIPELINE_SERVICE = "cdp-pipeline"
#: the ``stage`` dimension when nothing names one (the embedded mode)
LOCAL_STAGE = "local"

STEP_DURATION = "StepDuration"
ROWS_WRITTEN = "RowsWritten"
MERGES_BLOCKED = "MergesBlocked"
PROFILES = "Profiles"
SEGMENT_COUNTS = {"members": "SegmentMembers", "entered": "SegmentEntries", "exited": "SegmentExits"}
#: resolve-step counters that are not guards (how many rounds the connected components took)
NOT_MERGE_GUARDS = frozenset({"propagation_rounds"})

Unit = Literal["Count", "Seconds"]
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,254}$")
_STAGE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
#: CloudWatch's limit of dimensions per metric
MAX_DIMENSIONS = 30


class MetricsUnavailableError(RuntimeError):
    """The metrics could not be published (denied, throttled, endpoint down); the message says why."""


@dataclass(frozen=True, slots=True)
class MetricDatum:
    """One value of one metric; ``dimensions`` are the datum's own, added to the sink's."""

    name: str
    value: float
    unit: Unit = "Count"
    dimensions: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"metric name {self.name!r}: letters, digits, '_', '.', '-' (at most 255)")
        if self.value < 0 or self.value != self.value:
            raise ValueError(f"metric {self.name}: value {self.value!r} is not a count or a duration")
        check_dimensions(self.dimensions, what=f"metric {self.name}")


def check_dimensions(dimensions: Mapping[str, str], *, what: str) -> None:
    """CloudWatch refuses empty names or values and more than 30 dimensions: say so before calling it."""
    if len(dimensions) > MAX_DIMENSIONS:
        raise ValueError(f"{what}: {len(dimensions)} dimensions, CloudWatch takes at most {MAX_DIMENSIONS}")
    for name, value in dimensions.items():
        if not name or not value or len(name) > 255 or len(value) > 1024:
            raise ValueError(
                f"{what}: dimension {name!r}={value!r} must be non-empty (name ≤ 255, value ≤ 1024)"
            )


def pipeline_dimensions(stage: str) -> dict[str, str]:
    """The dimensions every pipeline metric carries: ``stage`` and ``service``."""
    if not _STAGE.match(stage):
        raise ValueError(f"stage {stage!r}: lower-case letters, digits and '-', starting with a letter")
    return {"stage": stage, "service": PIPELINE_SERVICE}


class MetricsSink(Protocol):
    """Where metric data goes; the sink adds its own dimensions (stage, service) to every datum."""

    def publish(self, data: Sequence[MetricDatum]) -> None:
        """Publish ``data``; raises :class:`MetricsUnavailableError` when it could not."""
        ...


class NoMetrics:
    """The default: metrics are dropped (the embedded mode has its run report and no CloudWatch)."""

    def publish(self, data: Sequence[MetricDatum]) -> None:
        return None


@dataclass(slots=True)
class RecordedMetrics:
    """Keeps what was published, with the sink's dimensions added, as CloudWatch would (tests, demos)."""

    dimensions: Mapping[str, str] = field(default_factory=dict)
    published: list[MetricDatum] = field(default_factory=list)

    def publish(self, data: Sequence[MetricDatum]) -> None:
        self.published.extend(
            MetricDatum(datum.name, datum.value, datum.unit, {**self.dimensions, **datum.dimensions})
            for datum in data
        )


def step_metrics(report: StepReport) -> list[MetricDatum]:
    """The metrics of one step's report (module docstring: which ones, and why)."""
    step = {"step": report.step}
    data = [MetricDatum(STEP_DURATION, round(report.seconds, 3), "Seconds", step)]
    data.extend(
        MetricDatum(ROWS_WRITTEN, rows, "Count", {**step, "table": table})
        for table, rows in sorted(report.rows.items())
    )
    if report.step == "resolve":
        guards = {name: count for name, count in report.guards.items() if name not in NOT_MERGE_GUARDS}
        data.append(MetricDatum(MERGES_BLOCKED, sum(guards.values()), "Count", step))
        data.extend(
            MetricDatum(MERGES_BLOCKED, count, "Count", {**step, "guard": guard})
            for guard, count in sorted(guards.items())
        )
    elif report.step == "profiles" and PROFILES_TABLE.name in report.rows:
        data.append(MetricDatum(PROFILES, report.rows[PROFILES_TABLE.name], "Count", step))
    elif report.step == "segments":
        data.extend(
            MetricDatum(name, report.guards[key], "Count", step)
            for key, name in SEGMENT_COUNTS.items()
            if key in report.guards
        )
    return data


def run_metrics(report: RunReport) -> list[MetricDatum]:
    """Every step's metrics of a run, in step order."""
    return [datum for step in report.steps for datum in step_metrics(step)]
