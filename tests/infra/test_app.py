"""The app as a platform team drives it: ``npx cdk synth`` offline, stages and context overrides."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App

from infra.app import ContextError, stage_config
from tests.infra.conftest import SynthesizedApp, of_type


def function_code(template: dict[str, Any]) -> dict[str, Any]:
    [fn] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    code: dict[str, Any] = fn["Properties"]["Code"]
    return code


def test_npx_cdk_synth_produces_every_stack_offline(prod_cloud_assembly: Path) -> None:
    manifest = json.loads((prod_cloud_assembly / "manifest.json").read_text())
    stacks = {name: a for name, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack"}
    assert set(stacks) == {
        "CdpData-prod",
        "CdpIngestion-prod",
        "CdpPipeline-prod",
        "CdpAnalytics-prod",
        "CdpServing-prod",
        "CdpActivation-prod",
        "CdpOrchestration-prod",
        "CdpOperations-prod",
        "CdpPrivacy-prod",  # its stack name and dependencies: tests/infra/test_privacy.py
    }
    assert "CdpData-prod" in stacks["CdpIngestion-prod"]["dependencies"]
    assert "CdpData-prod" in stacks["CdpPipeline-prod"]["dependencies"]
    assert "CdpData-prod" in stacks["CdpAnalytics-prod"]["dependencies"]
    assert stacks["CdpData-prod"]["properties"]["stackName"] == "cdp-prod-data"
    assert stacks["CdpIngestion-prod"]["properties"]["stackName"] == "cdp-prod-ingestion"
    assert stacks["CdpPipeline-prod"]["properties"]["stackName"] == "cdp-prod-pipeline"
    assert stacks["CdpAnalytics-prod"]["properties"]["stackName"] == "cdp-prod-analytics"
    assert "CdpData-prod" in stacks["CdpServing-prod"]["dependencies"]
    assert stacks["CdpServing-prod"]["properties"]["stackName"] == "cdp-prod-serving"
    assert stacks["CdpOrchestration-prod"]["properties"]["stackName"] == "cdp-prod-orchestration"
    assert {"CdpData-prod", "CdpPipeline-prod", "CdpServing-prod", "CdpActivation-prod"} <= set(
        stacks["CdpOrchestration-prod"]["dependencies"]
    )
    assert stacks["CdpOperations-prod"]["properties"]["stackName"] == "cdp-prod-operations"
    assert "CdpIngestion-prod" in stacks["CdpOperations-prod"]["dependencies"]


def test_the_function_asset_is_the_same_in_every_synth(
    dev_app: SynthesizedApp, prod_cloud_assembly: Path
) -> None:
    """The folder is deterministic, so the CLI and the in-process synth hash it the same."""
    [fn] = of_type(dev_app.ingestion, "AWS::Lambda::Function").values()
    prod = json.loads((prod_cloud_assembly / "CdpIngestion-prod.template.json").read_text())
    assert function_code(prod)["S3Key"] == fn["Properties"]["Code"]["S3Key"]


def test_stages_default_to_dev_and_unknown_ones_are_refused() -> None:
    assert stage_config(App())[0] == "dev"
    with pytest.raises(ContextError, match="stage='qa'"):
        stage_config(App(context={"stage": "qa"}))


def test_context_overrides_are_typed_and_validated() -> None:
    stage, config = stage_config(
        App(
            context={
                "stage": "prod",
                "reservedConcurrency": "7",
                "timeZone": "Asia/Tokyo",
                "alarmEmail": "oncall@example.co.th",
                "corsOrigins": "https://shop.example.co.th, https://www.example.co.th",
            }
        )
    )
    assert stage == "prod"
    assert config.sizing.reserved_concurrency == 7
    assert config.time_zone == "Asia/Tokyo"
    assert config.alarm_email == "oncall@example.co.th"
    assert config.cors_origins == ("https://shop.example.co.th", "https://www.example.co.th")
    assert config.termination_protection is True
    for bad, message in (
        ({"reservedConcurrency": "many"}, "reservedConcurrency"),
        ({"reservedConcurrency": "0"}, "at least 1"),
        ({"timeZone": "Mars/Olympus"}, "timeZone"),
        ({"alarmEmail": "nobody"}, "alarmEmail"),
    ):
        with pytest.raises(ContextError, match=message):
            stage_config(App(context=bad))
