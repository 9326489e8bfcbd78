"""The evaluate-segments Glue job: its script, arguments and sizing, a role that touches only what the
segments step touches (and publishes only ``segment_memberships``), and its failure alarm."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from cdp.pipeline.jobs import parse_job_arguments, scratch_uri
from cdp.pipeline.segments import ENGINE_TABLES, EVALUATIONS_PREFIX, evaluation_path
from cdp.profiles.traits import LAKE_TRAITS_DIR
from cdp.query.glue_tables import database_name
from cdp.segments.definition import DEFINITIONS_DIR
from cdp.tables import SEGMENT_MEMBERSHIPS
from infra.components.glue_jobs import GLUE_VERSION
from infra.stacks.pipeline import SEGMENTS_INPUTS
from tests.infra.conftest import (
    SynthesizedApp,
    as_list,
    glue_jobs,
    lake_object_grants,
    logical_id,
    of_type,
    statements_of_role,
)
from tests.infra.test_resolve_job import staged_asset

ROOT = Path(__file__).resolve().parents[2]
SEGMENTS_JOB = "cdp-dev-evaluate-segments"
READ = {"s3:GetObject"}
READ_WRITE = {"s3:GetObject", "s3:PutObject"}
REPLACE = {"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"}
#: what the segments step touches in the lake: prefix -> actions
SEGMENTS_GRANTS = {
    "profiles/profiles/": READ,
    "profiles/traits/": READ,
    "clean/events/": READ,
    "clean/orders/": READ,
    "identity/links/": READ,
    "segments/definitions/": READ,
    "profiles/config/traits/": READ,  # which traits a definition may name
    "segments/evaluations/": READ_WRITE,  # the run's audit; a re-run reads its first attempt's manifest
    "segments/memberships/": REPLACE,
    "tmp/segments/": REPLACE,
    "_lock/": REPLACE,  # the lake lock (cdp.privacy.lock): never overlaps an erasure
}
DELETES = {"s3:DeleteObject", "s3:DeleteObjectVersion"}


@pytest.fixture(scope="session")
def job(pipeline: Template) -> dict[str, Any]:
    return glue_jobs(pipeline)[SEGMENTS_JOB]


@pytest.fixture(scope="session")
def statements(pipeline: Template) -> list[dict[str, Any]]:
    return statements_of_role(pipeline, "EvaluateSegmentsJobRole")


def test_the_segments_job_runs_its_entry_script_on_glue_51(
    dev_app: SynthesizedApp, job: dict[str, Any]
) -> None:
    assert (job["GlueVersion"], GLUE_VERSION) == ("5.1", "5.1")
    assert (job["Command"]["Name"], job["Command"]["PythonVersion"]) == ("glueetl", "3")
    script = staged_asset(dev_app, job["Command"]["ScriptLocation"])
    assert script.read_bytes() == (ROOT / "glue_jobs" / "evaluate_segments.py").read_bytes()
    arguments = job["DefaultArguments"]
    assert not {"--extra-jars", "--salt_secret_arn"} & set(arguments)
    assert arguments["--catalog_database"] == database_name("dev")
    argv = [
        part
        for name, value in arguments.items()
        for part in (name, value if isinstance(value, str) else f"resolved{name}")
    ]
    parsed = parse_job_arguments([*argv, "--run_id", "r-1", "--JOB_NAME", SEGMENTS_JOB])
    assert (parsed.lake_uri, parsed.catalog_database, parsed.run_id) == (
        "resolved--lake_uri",
        "cdp_dev",
        "r-1",
    )


def test_the_segments_job_is_sized_and_runs_one_at_a_time(job: dict[str, Any]) -> None:
    assert (job["WorkerType"], job["NumberOfWorkers"], job["Timeout"]) == ("G.1X", 2, 120)
    assert job["ExecutionProperty"] == {"MaxConcurrentRuns": 1}  # one publisher of the memberships
    assert job["MaxRetries"] == 0  # the state machine decides about retries
    arguments = job["DefaultArguments"]
    assert arguments["--job-bookmark-option"] == "job-bookmark-disable"
    assert "--run_id" not in arguments  # the orchestrator's, per run
    assert (arguments["--enable-metrics"], arguments["--enable-observability-metrics"]) == ("true", "true")
    assert arguments["--custom-logGroup-prefix"] == "/cdp/dev/glue/evaluate-segments"


def test_the_segments_job_reads_its_inputs_and_definitions_and_replaces_only_the_memberships(
    statements: list[dict[str, Any]],
) -> None:
    assert lake_object_grants(statements) == SEGMENTS_GRANTS
    # the grants follow the code: the step's engine tables, its definitions, its audit and its output
    assert {table.name for table in SEGMENTS_INPUTS} == set(ENGINE_TABLES)
    assert {f"{table.prefix}/" for table in SEGMENTS_INPUTS} | {
        f"{DEFINITIONS_DIR}/",
        f"{LAKE_TRAITS_DIR}/",
    } == {key for key, actions in SEGMENTS_GRANTS.items() if actions == READ}
    assert evaluation_path("r-1", "manifest.json").startswith(f"{EVALUATIONS_PREFIX}/")
    assert f"{SEGMENT_MEMBERSHIPS.prefix}/" in SEGMENTS_GRANTS
    lake = "s3://cdp-dev-lake"
    assert scratch_uri(lake, "segments", "20261128T080313Z-abc123").startswith(f"{lake}/tmp/segments/")


def test_the_segments_job_deletes_nothing_but_its_own_snapshots_and_scratch(
    statements: list[dict[str, Any]],
) -> None:
    for statement in statements:
        if DELETES & set(as_list(statement["Action"])):
            resources = json.dumps(statement["Resource"])
            assert not re.search(r'"/(profiles|clean|identity|raw|landing|quarantine|exports)/', resources)
            assert "/segments/definitions/" not in resources
            assert "/segments/evaluations/" not in resources
    actions = {action for s in statements for action in as_list(s["Action"])}
    assert {a for a in actions if a.startswith("glue:")} == {"glue:GetTable", "glue:UpdateTable"}
    assert not {
        a for a in actions if a.split(":")[0] in {"secretsmanager", "lambda", "iam", "sqs", "dynamodb"}
    }
    [catalog] = [s for s in statements if s.get("Sid") == "PublishItsCatalogTables"]
    tables = [r for r in as_list(catalog["Resource"]) if ":table/" in json.dumps(r)]
    [table] = tables
    assert "table/cdp_dev/segment_memberships" in json.dumps(table)


def test_a_failed_segments_run_reaches_the_alarm_topic(pipeline: Template) -> None:
    rule_id = logical_id(pipeline, "AWS::Events::Rule", "GlueJobFailures")
    pattern = of_type(pipeline, "AWS::Events::Rule")[rule_id]["Properties"]["EventPattern"]
    assert SEGMENTS_JOB in pattern["detail"]["jobName"]
    assert pipeline.to_json()["Outputs"]["EvaluateSegmentsJobName"]["Value"] == SEGMENTS_JOB
