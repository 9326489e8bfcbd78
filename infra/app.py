"""The CDK app (cdk.json: ``.venv/bin/python infra/app.py``); the only module that reads context (STYLE 5).

``npx cdk deploy --all -c stage=dev`` deploys two stacks per stage: ``cdp-<stage>-data`` (stateful, retained)
and ``cdp-<stage>-ingestion``. Context keys: ``stage`` (``dev`` or ``prod``; ``dev`` in cdk.json) and the
optional overrides ``alarmEmail``, ``reservedConcurrency``, ``timeZone``, ``corsOrigins`` (comma-separated).
cdk-nag's AwsSolutions pack runs inside the app: an unacknowledged finding fails the synth.

The ingest function's code is the folder ``make lambda-assets`` builds (no Docker, no bundling here).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script, the folder on sys.path is infra/, not the repository
    sys.path.insert(0, str(ROOT))

from aws_cdk import App, Tags, Validations  # noqa: E402
from aws_cdk import aws_lambda as lambda_  # noqa: E402
from aws_cdk import aws_logs as logs  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from cdp.settings import DEFAULT_TIME_ZONE  # noqa: E402
from infra.components.alarms import AlarmThresholds  # noqa: E402
from infra.components.ingestion_api import ApiThrottle, FunctionSizing  # noqa: E402
from infra.components.lake import LakeRetention  # noqa: E402
from infra.stacks.data import CdpDataStack  # noqa: E402
from infra.stacks.ingestion import CdpIngestionStack  # noqa: E402

#: Built by ``make lambda-assets`` (scripts/build_lambda_assets.py).
INGEST_ASSET = ROOT / "build" / "lambda" / "ingest"


@dataclass(frozen=True, kw_only=True)
class StageConfig:
    """Everything that differs between stages, typed; context only overrides a few of these."""

    retention: LakeRetention
    throttle: ApiThrottle
    sizing: FunctionSizing
    log_retention: logs.RetentionDays
    termination_protection: bool
    time_zone: str = DEFAULT_TIME_ZONE
    cors_origins: tuple[str, ...] = ("*",)
    alarm_thresholds: AlarmThresholds = field(default_factory=AlarmThresholds)
    alarm_email: str | None = None


STAGES: dict[str, StageConfig] = {
    "dev": StageConfig(
        retention=LakeRetention(raw_events_days=90, exports_days=30),
        throttle=ApiThrottle(rate_per_second=100, burst=200),
        sizing=FunctionSizing(reserved_concurrency=5),
        log_retention=logs.RetentionDays.ONE_YEAR,
        termination_protection=False,
    ),
    "prod": StageConfig(
        retention=LakeRetention(),
        throttle=ApiThrottle(rate_per_second=2000, burst=5000),
        sizing=FunctionSizing(reserved_concurrency=100),
        log_retention=logs.RetentionDays.ONE_YEAR,
        termination_protection=True,
    ),
}


class ContextError(ValueError):
    """A ``-c key=value`` is invalid; the message names the key."""


def stage_config(app: App) -> tuple[str, StageConfig]:
    """The stage named by context ``stage`` with the context overrides applied."""
    stage = str(app.node.try_get_context("stage") or "dev")
    if stage not in STAGES:
        raise ContextError(f"context stage={stage!r}: use one of {', '.join(sorted(STAGES))}")
    config = STAGES[stage]
    if (email := app.node.try_get_context("alarmEmail")) is not None:
        if "@" not in str(email):
            raise ContextError(f"context alarmEmail={email!r} is not an e-mail address")
        config = replace(config, alarm_email=str(email))
    if (concurrency := app.node.try_get_context("reservedConcurrency")) is not None:
        try:
            sizing = replace(config.sizing, reserved_concurrency=int(concurrency))
        except ValueError:
            raise ContextError(f"context reservedConcurrency={concurrency!r} is not an integer") from None
        if sizing.reserved_concurrency < 1:
            raise ContextError("context reservedConcurrency must be at least 1")
        config = replace(config, sizing=sizing)
    if (zone := app.node.try_get_context("timeZone")) is not None:
        try:
            ZoneInfo(str(zone))
        except (ZoneInfoNotFoundError, ValueError):
            raise ContextError(f"context timeZone={zone!r} is not an IANA time zone") from None
        config = replace(config, time_zone=str(zone))
    if (origins := app.node.try_get_context("corsOrigins")) is not None:
        config = replace(config, cors_origins=tuple(o.strip() for o in str(origins).split(",") if o.strip()))
    return stage, config


def ingest_code(asset: Path = INGEST_ASSET) -> lambda_.Code:
    if not (asset / "lambdas" / "ingest" / "handler.py").is_file():
        raise FileNotFoundError(f"{asset} is missing or incomplete: run `make lambda-assets` first")
    return lambda_.Code.from_asset(str(asset))


def build_app(app: App) -> tuple[CdpDataStack, CdpIngestionStack]:
    """Both stacks of the context's stage, with cdk-nag AwsSolutions checks on the whole app."""
    stage, config = stage_config(app)
    log_group_prefix = f"/cdp/{stage}/"
    data = CdpDataStack(
        app,
        f"CdpData-{stage}",
        stage=stage,
        retention=config.retention,
        log_group_prefix=log_group_prefix,
        termination_protection=config.termination_protection,
    )
    ingestion = CdpIngestionStack(
        app,
        f"CdpIngestion-{stage}",
        stage=stage,
        data=data.exports,
        ingest_code=ingest_code(),
        time_zone=config.time_zone,
        throttle=config.throttle,
        sizing=config.sizing,
        cors_origins=list(config.cors_origins),
        log_group_prefix=log_group_prefix,
        log_retention=config.log_retention,
        alarm_thresholds=config.alarm_thresholds,
        alarm_email=config.alarm_email,
        termination_protection=config.termination_protection,
    )
    ingestion.add_stack_dependency(data, reason="imports the data stack's exports")
    for scope in (data, ingestion):
        Tags.of(scope).add("project", "cdp")
        Tags.of(scope).add("stage", stage)
    Validations.of(app).add_plugins(
        AwsSolutionsChecks(app, verbose=True, write_suppressions_to_cloud_formation=True)
    )
    return data, ingestion


def main() -> None:
    app = App()
    build_app(app)
    app.synth()


if __name__ == "__main__":
    main()
