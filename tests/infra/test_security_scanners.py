"""cdk-nag (inside the app), cfn-lint and checkov over the synthesized templates: zero unexplained findings.

Every exception is written next to its resource with a reason (``infra/compliance.py``); these tests read
them back from the templates, require the reason, and require each one to answer a real finding, so a
suppression cannot outlive the problem it excused.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from aws_cdk import App

import infra.compliance
from infra.app import build_app
from infra.compliance import MIN_REASON_LENGTH
from tests.infra.conftest import CHECKOV, SynthesizedApp, cdk_json_context, template_json


@dataclass(frozen=True)
class Suppression:
    tool: str
    template: str
    resource: str
    rule: str
    reason: str


def suppressions(files: list[Path]) -> Iterator[Suppression]:
    for path in files:
        for logical_id, resource in template_json(path)["Resources"].items():
            metadata = resource.get("Metadata", {})
            for rule in metadata.get("cdk_nag", {}).get("rules_to_suppress", []):
                yield Suppression("cdk-nag", path.name, logical_id, rule["id"], rule["reason"])
            for skip in metadata.get("checkov", {}).get("skip", []):
                yield Suppression("checkov", path.name, logical_id, skip["id"], skip.get("comment", ""))
            reasons = metadata.get("cfn-lint-reasons", {})
            for rule in metadata.get("cfn-lint", {}).get("config", {}).get("ignore_checks", []):
                yield Suppression("cfn-lint", path.name, logical_id, rule, reasons.get(rule, ""))


def violations(report: Path) -> list[tuple[str, str]]:
    """(rule, construct path) of every finding in a cloud assembly's policy validation report."""
    loaded = json.loads(report.read_text())
    return [
        (violation["ruleName"], construct["constructPath"])
        for plugin in loaded["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    ]


def test_cdk_nag_passes_both_stages(dev_app: SynthesizedApp, prod_cloud_assembly: Path) -> None:
    for assembly in (dev_app.outdir, prod_cloud_assembly):
        assert violations(assembly / "validation-report.json") == []
    # the AwsSolutions pack ran: it wrote the acknowledged rules into the templates
    assert any(s.tool == "cdk-nag" for s in suppressions(dev_app.template_files()))


def test_every_suppression_gives_its_reason_in_words(all_template_files: list[Path]) -> None:
    found = list(suppressions(all_template_files))
    assert {s.tool for s in found} == {"cdk-nag", "checkov", "cfn-lint"}
    for suppression in found:
        assert len(suppression.reason.split()) >= 8, suppression
        assert len(suppression.reason) >= MIN_REASON_LENGTH, suppression


class _RecordingValidations:
    """Stands in for ``aws_cdk.Validations`` inside ``infra.compliance``: records acknowledgments only."""

    recorded: ClassVar[list[tuple[str, str]]] = []

    def __init__(self, path: str) -> None:
        self._path = path

    @classmethod
    def of(cls, scope: Any) -> _RecordingValidations:
        return cls(scope.node.path)

    def acknowledge(self, *acknowledgments: Any) -> None:
        self.recorded.extend((self._path, ack.id) for ack in acknowledgments)


def test_every_nag_acknowledgment_answers_a_real_finding(
    lambda_asset: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Synthesize with acknowledgments withheld: each must match a finding, and they must cover them all."""
    _RecordingValidations.recorded = []
    monkeypatch.setattr(infra.compliance, "Validations", _RecordingValidations)
    app = App(context={**cdk_json_context(), "stage": "dev"}, outdir=str(tmp_path))
    build_app(app)
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    findings = violations(tmp_path / "validation-report.json")
    acknowledged = _RecordingValidations.recorded
    assert acknowledged

    def covers(scope: str, path: str) -> bool:
        return path == scope or path.startswith(f"{scope}/")

    for scope, rule in acknowledged:
        assert any(found == rule and covers(scope, path) for found, path in findings), (scope, rule)
    for found, path in findings:
        assert any(found == rule and covers(scope, path) for scope, rule in acknowledged), (found, path)


def test_cfn_lint_finds_nothing(all_template_files: list[Path]) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), "--format", "json", *map(str, all_template_files)],
        capture_output=True,
        text=True,
    )
    assert json.loads(result.stdout or "[]") == [], result.stdout
    assert result.returncode == 0, result.stderr


def test_checkov_finds_nothing_and_uses_every_skip(all_template_files: list[Path]) -> None:
    assert CHECKOV.is_file(), f"{CHECKOV} is missing: run `make checkov` (its own venv, SPEC 11)"
    files = [argument for path in all_template_files for argument in ("--file", str(path))]
    result = subprocess.run(
        [str(CHECKOV), *files, "--framework", "cloudformation", "--skip-download", "--output", "json"],
        capture_output=True,
        text=True,
        timeout=240,
    )
    report = json.loads(result.stdout)
    results = report["results"]
    failed = [(c["check_id"], c["resource"], c["file_path"]) for c in results["failed_checks"]]
    assert failed == [], failed
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 150  # both stages' templates were really scanned
    used = {
        (c["check_id"], c["file_path"].lstrip("/"), c["resource"].split(".")[-1])
        for c in results["skipped_checks"]
    }
    declared = {
        (s.rule, s.template, s.resource) for s in suppressions(all_template_files) if s.tool == "checkov"
    }
    assert {(rule, Path(file).name, resource) for rule, file, resource in used} == declared
