"""One synthesized app per session (STYLE 6): dev in-process, prod through the real ``npx cdk synth``.

Both synths run cdk-nag's AwsSolutions pack inside the app, so an unacknowledged finding fails the session.
The pipeline stack's template and the helpers that read its IAM statements are here too, for every module
that tests one of its capabilities.
The ingest function's asset is built first (cached by a hash of its inputs), so a fresh clone synthesizes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
#: the dev stage's data-stack exports, as the other stacks reference them
KEY = {"Fn::ImportValue": "cdp-dev-data-key-arn"}
LAKE_ARN = {"Fn::ImportValue": "cdp-dev-lake-bucket-arn"}
LAKE_NAME = {"Fn::ImportValue": "cdp-dev-lake-bucket-name"}

# the jsii runtime (Node) prints a banner unless its major version is listed here
_node = shutil.which("node")
_node_major = (
    subprocess.run(
        [_node, "-p", "process.versions.node.split('.')[0]"], capture_output=True, text=True
    ).stdout
    if _node
    else ""
).strip()
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", _node_major or "20")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")

from aws_cdk import App, Stack  # noqa: E402
from aws_cdk.assertions import Template  # noqa: E402

from infra.app import build_app  # noqa: E402
from infra.stacks.data import CdpDataStack  # noqa: E402
from infra.stacks.ingestion import CdpIngestionStack  # noqa: E402


def cdk_json_context() -> dict[str, Any]:
    """The context (feature flags included) the CLI would give the app."""
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return context


@dataclass(frozen=True)
class SynthesizedApp:
    outdir: Path
    data_stack: CdpDataStack
    ingestion_stack: CdpIngestionStack
    data: Template
    ingestion: Template

    def template_files(self) -> list[Path]:
        return sorted(self.outdir.glob("*.template.json"))


@pytest.fixture(scope="session")
def lambda_asset() -> Path:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_lambda_assets.py")], check=True, cwd=ROOT)
    return ROOT / "build" / "lambda" / "ingest"


@pytest.fixture(scope="session")
def dev_app(lambda_asset: Path, tmp_path_factory: pytest.TempPathFactory) -> SynthesizedApp:
    outdir = tmp_path_factory.mktemp("cdk-dev")
    app = App(context={**cdk_json_context(), "stage": "dev"}, outdir=str(outdir))
    data, ingestion = build_app(app)
    app.synth()  # raises on any unacknowledged cdk-nag finding
    return SynthesizedApp(
        outdir=outdir,
        data_stack=data,
        ingestion_stack=ingestion,
        data=Template.from_stack(data),
        ingestion=Template.from_stack(ingestion),
    )


@pytest.fixture(scope="session")
def prod_cloud_assembly(lambda_asset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``npx cdk synth -c stage=prod``: the CLI, cdk.json and the app exactly as a platform team runs them."""
    outdir = tmp_path_factory.mktemp("cdk-prod")
    npx = shutil.which("npx")
    assert npx, "npx is not on PATH: install Node.js and run `make setup`"
    result = subprocess.run(
        [npx, "--no-install", "cdk", "synth", "-c", "stage=prod", "--quiet", "-o", str(outdir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "CDK_DISABLE_CLI_TELEMETRY": "true"},
    )
    assert result.returncode == 0, f"cdk synth failed:\n{result.stdout}\n{result.stderr}"
    return outdir


@pytest.fixture(scope="session")
def all_template_files(dev_app: SynthesizedApp, prod_cloud_assembly: Path) -> list[Path]:
    return [*dev_app.template_files(), *sorted(prod_cloud_assembly.glob("*.template.json"))]


def of_type(template: Template, resource_type: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = template.find_resources(resource_type)
    return found


def template_json(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


@pytest.fixture(scope="session")
def pipeline(dev_app: SynthesizedApp) -> Template:
    stack = dev_app.data_stack.node.scope.node.find_child("CdpPipeline-dev")  # type: ignore[union-attr]
    assert isinstance(stack, Stack)
    return Template.from_stack(stack)


@pytest.fixture(scope="session")
def analytics(dev_app: SynthesizedApp) -> Template:
    stack = dev_app.data_stack.node.scope.node.find_child("CdpAnalytics-dev")  # type: ignore[union-attr]
    assert isinstance(stack, Stack)
    return Template.from_stack(stack)


def logical_id(template: Template, resource_type: str, contains: str) -> str:
    [found] = [i for i in of_type(template, resource_type) if contains in i]
    return found


def one(template: Template, resource_type: str, contains: str = "") -> dict[str, Any]:
    return of_type(template, resource_type)[logical_id(template, resource_type, contains)]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements_of_role(template: Template, role_contains: str) -> list[dict[str, Any]]:
    role_id = logical_id(template, "AWS::IAM::Role", role_contains)
    policies = [
        p
        for p in of_type(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    return [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]


def lake_object_grants(statements: list[dict[str, Any]]) -> dict[str, set[str]]:
    """prefix (``…/``) or exact key -> actions of every statement on objects of the lake bucket."""
    grants: dict[str, set[str]] = {}
    for statement in statements:
        for resource in as_list(statement["Resource"]):
            join = resource.get("Fn::Join") if isinstance(resource, dict) else None
            if join and join[1][0] == LAKE_ARN:
                prefix = join[1][1].removeprefix("/").removesuffix("*")
                grants.setdefault(prefix, set()).update(as_list(statement["Action"]))
    return grants


def glue_jobs(pipeline: Template) -> dict[str, dict[str, Any]]:
    return {
        job["Properties"]["Name"]: job["Properties"] for job in of_type(pipeline, "AWS::Glue::Job").values()
    }
