"""The CDK app (cdk.json: ``.venv/bin/python infra/app.py``); the only module that reads context (STYLE 5).

``npx cdk deploy --all -c stage=dev`` deploys nine stacks per stage: ``cdp-<stage>-data`` (stateful,
retained), ``cdp-<stage>-ingestion`` (the real-time API), ``cdp-<stage>-pipeline`` (batch import and the
Glue jobs), ``cdp-<stage>-analytics`` (Glue Data Catalog, Athena), ``cdp-<stage>-serving`` (profile
lookup), ``cdp-<stage>-activation`` (segment destinations, export), ``cdp-<stage>-orchestration`` (the
state machine ``cdp-<stage>-pipeline`` that runs the steps in order, and its schedule) and
``cdp-<stage>-operations`` (the CloudWatch dashboard; every function and Glue job also gets the stage as
its metrics' dimension, ``StageDimension``), and ``cdp-<stage>-privacy`` (the IAM-authorized access and
erasure API, its worker and the worker's weekly retention schedule). Context keys:
``stage`` (``dev`` or ``prod``; ``dev`` in cdk.json) and the optional overrides ``alarmEmail``,
``reservedConcurrency``, ``timeZone``, ``corsOrigins`` (comma-separated), ``athenaScanCutoffGiB``,
``rawEventsFirstDay`` (YYYY-MM-DD), ``pipelineSchedule`` (when the pipeline runs, in the ``timeZone``:
``HH:MM`` daily, a ``cron(…)``/``rate(…)`` expression, or ``off``; default ``02:00``) and
``retentionSchedule`` (when the privacy worker runs retention, in the same forms; default Sundays at 01:00,
``cron(0 1 ? * SUN *)``).
cdk-nag's AwsSolutions pack runs inside the app: an unacknowledged finding fails the synth.

The functions' code (``build/lambda/ingest``, ``build/lambda/imports``), the Glue jobs' library
(``build/glue/cdp-glue.zip``) and Splink's similarity jar (``build/glue/splink-similarity.jar``) are what
``make lambda-assets`` builds (no Docker, no bundling here).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script, the folder on sys.path is infra/, not the repository
    sys.path.insert(0, str(ROOT))

from aws_cdk import App, Aspects, Tags, Validations  # noqa: E402
from aws_cdk import aws_lambda as lambda_  # noqa: E402
from aws_cdk import aws_logs as logs  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from cdp.settings import DEFAULT_TIME_ZONE  # noqa: E402
from infra.components.activation import ActivationConfig  # noqa: E402
from infra.components.alarms import AlarmThresholds  # noqa: E402
from infra.components.analytics import AnalyticsSettings  # noqa: E402
from infra.components.batch_import import HANDLER as IMPORT_HANDLER  # noqa: E402
from infra.components.batch_import import ImportSizing  # noqa: E402
from infra.components.glue_jobs import GlueJobCode  # noqa: E402
from infra.components.http_api import ApiThrottle  # noqa: E402
from infra.components.ingestion_api import FunctionSizing  # noqa: E402
from infra.components.lake import LakeRetention  # noqa: E402
from infra.components.operations import StageDimension  # noqa: E402
from infra.components.orchestration import OrchestrationConfig, PipelineJobs, PipelineSchedule  # noqa: E402
from infra.components.privacy import PrivacyConfig  # noqa: E402
from infra.components.profile_lookup import ServingConfig  # noqa: E402
from infra.stacks.activation import CdpActivationStack  # noqa: E402
from infra.stacks.analytics import CdpAnalyticsStack  # noqa: E402
from infra.stacks.data import CdpDataStack  # noqa: E402
from infra.stacks.ingestion import CdpIngestionStack  # noqa: E402
from infra.stacks.operations import CdpOperationsStack  # noqa: E402
from infra.stacks.orchestration import CdpOrchestrationStack  # noqa: E402
from infra.stacks.pipeline import CdpPipelineStack  # noqa: E402
from infra.stacks.privacy import CdpPrivacyStack  # noqa: E402
from infra.stacks.serving import CdpServingStack  # noqa: E402

#: Built by ``make lambda-assets`` (scripts/build_lambda_assets.py).
INGEST_ASSET = ROOT / "build" / "lambda" / "ingest"
IMPORTS_ASSET = ROOT / "build" / "lambda" / "imports"
LOOKUP_ASSET = ROOT / "build" / "lambda" / "lookup"
LOOKUP_LOADER_ASSET = ROOT / "build" / "lambda" / "lookup-loader"
EXPORT_ASSET = ROOT / "build" / "lambda" / "export"
#: the privacy functions run on the export function's asset: the same wheels (pyarrow, PyYAML, the
#: standardizers), so one ~140 MiB asset is uploaded for both (scripts/build_lambda_assets.py)
PRIVACY_ASSET = EXPORT_ASSET
GLUE_LIBRARY = ROOT / "build" / "glue" / "cdp-glue.zip"
GLUE_SIMILARITY_JAR = ROOT / "build" / "glue" / "splink-similarity.jar"
GLUE_SCRIPTS = ROOT / "glue_jobs"
GLUE_REQUIREMENTS = ROOT / "requirements" / "glue-jobs.txt"


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
    import_sizing: ImportSizing = field(default_factory=ImportSizing)
    analytics: AnalyticsSettings = field(default_factory=AnalyticsSettings)
    serving: ServingConfig = field(default_factory=ServingConfig)
    activation: ActivationConfig = field(default_factory=ActivationConfig)
    #: the pipeline's schedule (in ``time_zone``) and its run limits
    orchestration: OrchestrationConfig = field(default_factory=OrchestrationConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
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
    if (schedule := app.node.try_get_context("pipelineSchedule")) is not None:
        try:
            parsed = PipelineSchedule.parse(str(schedule))
        except ValueError as error:
            raise ContextError(f"context pipelineSchedule={schedule!r}: {error}") from None
        config = replace(config, orchestration=replace(config.orchestration, schedule=parsed))
    if (retention := app.node.try_get_context("retentionSchedule")) is not None:
        try:
            parsed = PipelineSchedule.parse(str(retention))
        except ValueError as error:
            raise ContextError(f"context retentionSchedule={retention!r}: {error}") from None
        config = replace(config, privacy=replace(config.privacy, retention_schedule=parsed))
    return stage, replace(config, analytics=analytics_settings(app, config.analytics))


def analytics_settings(app: App, settings: AnalyticsSettings) -> AnalyticsSettings:
    """``athenaScanCutoffGiB`` and ``rawEventsFirstDay`` over the stage's analytics settings."""
    if (cutoff := app.node.try_get_context("athenaScanCutoffGiB")) is not None:
        try:
            settings = replace(settings, bytes_scanned_cutoff_gib=float(cutoff))
        except ValueError as error:
            raise ContextError(f"context athenaScanCutoffGiB={cutoff!r}: {error}") from None
    if (first_day := app.node.try_get_context("rawEventsFirstDay")) is not None:
        try:
            settings = replace(settings, raw_events_first_day=date.fromisoformat(str(first_day)))
        except ValueError:
            raise ContextError(
                f"context rawEventsFirstDay={first_day!r} is not a date (YYYY-MM-DD)"
            ) from None
    return settings


def ingest_code(asset: Path = INGEST_ASSET) -> lambda_.Code:
    if not (asset / "lambdas" / "ingest" / "handler.py").is_file():
        raise FileNotFoundError(f"{asset} is missing or incomplete: run `make lambda-assets` first")
    return lambda_.Code.from_asset(str(asset))


def import_code(asset: Path = IMPORTS_ASSET) -> lambda_.Code:
    module = IMPORT_HANDLER.rsplit(".", 1)[0].replace(".", "/")
    if not (asset / f"{module}.py").is_file() or not (asset / "pyarrow").is_dir():
        raise FileNotFoundError(f"{asset} is missing or incomplete: run `make lambda-assets` first")
    return lambda_.Code.from_asset(str(asset))


def lookup_code(asset: Path, handler_module: str) -> lambda_.Code:
    if not (asset / f"{handler_module.replace('.', '/')}.py").is_file():
        raise FileNotFoundError(f"{asset} is missing or incomplete: run `make lambda-assets` first")
    return lambda_.Code.from_asset(str(asset))


def glue_code() -> GlueJobCode:
    modules = tuple(
        line.strip()
        for line in GLUE_REQUIREMENTS.read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    return GlueJobCode(
        library=GLUE_LIBRARY,
        scripts=GLUE_SCRIPTS,
        python_modules=modules,
        similarity_jar=GLUE_SIMILARITY_JAR,
    )


def build_app(app: App) -> tuple[CdpDataStack, CdpIngestionStack]:
    """The stage's stacks, with cdk-nag AwsSolutions checks on the whole app.

    Returns the data and ingestion stacks; the pipeline and analytics stacks are the app's children
    ``CdpPipeline-<stage>`` and ``CdpAnalytics-<stage>``.
    """
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
    pipeline = CdpPipelineStack(
        app,
        f"CdpPipeline-{stage}",
        stage=stage,
        data=data.exports,
        import_code=import_code(),
        glue_code=glue_code(),
        import_sizing=config.import_sizing,
        log_group_prefix=log_group_prefix,
        log_retention=config.log_retention,
        alarm_email=config.alarm_email,
        termination_protection=config.termination_protection,
    )
    pipeline.add_stack_dependency(data, reason="imports the data stack's exports")
    analytics = CdpAnalyticsStack(
        app,
        f"CdpAnalytics-{stage}",
        stage=stage,
        data=data.exports,
        settings=config.analytics,
        termination_protection=config.termination_protection,
    )
    analytics.add_stack_dependency(data, reason="imports the data stack's exports")
    serving = CdpServingStack(
        app,
        f"CdpServing-{stage}",
        stage=stage,
        data=data.exports,
        lookup_code=lookup_code(LOOKUP_ASSET, "lambdas.lookup.handler"),
        loader_code=lookup_code(LOOKUP_LOADER_ASSET, "lambdas.lookup_loader.handler"),
        config=config.serving,
        log_group_prefix=log_group_prefix,
        log_retention=config.log_retention,
        alarm_email=config.alarm_email,
        termination_protection=config.termination_protection,
    )
    serving.add_stack_dependency(data, reason="imports the data stack's exports")
    activation = CdpActivationStack(
        app,
        f"CdpActivation-{stage}",
        stage=stage,
        data=data.exports,
        export_code=lookup_code(EXPORT_ASSET, "lambdas.export.handler"),
        config=config.activation,
        log_group_prefix=log_group_prefix,
        log_retention=config.log_retention,
        alarm_email=config.alarm_email,
        termination_protection=config.termination_protection,
    )
    activation.add_stack_dependency(data, reason="imports the data stack's exports")
    orchestration = CdpOrchestrationStack(
        app,
        f"CdpOrchestration-{stage}",
        stage=stage,
        data=data.exports,
        jobs=PipelineJobs(
            standardize=pipeline.standardize.job_name,
            resolve=pipeline.resolve_identities.job_name,
            profiles=pipeline.build_profiles.job_name,
            segments=pipeline.evaluate_segments.job_name,
        ),
        export_concurrency=config.activation.sizing.reserved_concurrency,
        config=config.orchestration,
        time_zone=config.time_zone,
        log_group_prefix=log_group_prefix,
        log_retention=config.log_retention,
        alarm_email=config.alarm_email,
        termination_protection=config.termination_protection,
    )
    for used in (data, pipeline, serving, activation):
        orchestration.add_stack_dependency(used, reason="runs its jobs and functions, by name or export")
    operations = CdpOperationsStack(
        app,
        f"CdpOperations-{stage}",
        stage=stage,
        ingestion=ingestion,
        pipeline=pipeline,
        serving=serving,
        activation=activation,
        alarm_thresholds=config.alarm_thresholds,
        termination_protection=config.termination_protection,
    )
    privacy = CdpPrivacyStack(
        app,
        f"CdpPrivacy-{stage}",
        stage=stage,
        data=data.exports,
        code=lookup_code(PRIVACY_ASSET, "lambdas.privacy.handler"),
        config=config.privacy,
        time_zone=config.time_zone,
        log_group_prefix=log_group_prefix,
        log_retention=config.log_retention,
        alarm_email=config.alarm_email,
        termination_protection=config.termination_protection,
    )
    for used in (data, serving):
        privacy.add_stack_dependency(
            used, reason="imports the lake's, the keys' and the lookup table's exports"
        )
    for scope in (
        data,
        ingestion,
        pipeline,
        analytics,
        serving,
        activation,
        orchestration,
        operations,
        privacy,
    ):
        Tags.of(scope).add("project", "cdp")
        Tags.of(scope).add("stage", stage)
    Aspects.of(app).add(StageDimension(stage))
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
