"""The identity-resolution Glue job: its code (script, Splink and its Scala UDF jar), arguments and sizing, a
role that touches only what the resolve step touches, its failure alarm; and the lake's ``tmp/`` zone."""

from __future__ import annotations

import json
import re
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template
from packaging.requirements import Requirement

from cdp.identity.overrides import OVERRIDES_PATH
from cdp.lake import ZONES
from cdp.pipeline.jobs import SCRATCH_PREFIX, scratch_uri
from cdp.pipeline.resolve import CONFIG_PATH
from cdp.tables import IDENTITY_TABLES
from infra.components.glue_jobs import GLUE_VERSION, LakeAccess
from tests.infra.conftest import (
    SynthesizedApp,
    as_list,
    glue_jobs,
    lake_object_grants,
    logical_id,
    of_type,
    statements_of_role,
)

ROOT = Path(__file__).resolve().parents[2]
RESOLVE_JOB = "cdp-dev-resolve-identities"
READ = {"s3:GetObject"}
REPLACE = {"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"}
#: what the resolve step touches in the lake: prefix or exact key -> actions
RESOLVE_GRANTS = {
    "clean/identity_records/": READ,
    "identity/identity.yaml": READ,
    "identity/overrides.jsonl": READ,
    "identity/links/": REPLACE,
    "identity/edges/": REPLACE,
    "identity/history/": REPLACE,
    "tmp/resolve/": REPLACE,
    "_lock/": REPLACE,  # the lake lock (cdp.privacy.lock): never overlaps an erasure
}


@pytest.fixture(scope="session")
def job(pipeline: Template) -> dict[str, Any]:
    return glue_jobs(pipeline)[RESOLVE_JOB]


@pytest.fixture(scope="session")
def statements(pipeline: Template) -> list[dict[str, Any]]:
    return statements_of_role(pipeline, "ResolveIdentitiesJobRole")


def staged_asset(app: SynthesizedApp, s3_url: dict[str, str]) -> Path:
    """The file the cloud assembly uploads to ``s3_url`` (an asset's ``Fn::Sub`` URL)."""
    object_key = s3_url["Fn::Sub"].rsplit("/", 1)[-1]
    manifest = json.loads((app.outdir / "CdpPipeline-dev.assets.json").read_text())
    [source] = [
        asset["source"]["path"]
        for asset in manifest["files"].values()
        if any(d["objectKey"] == object_key for d in asset["destinations"].values())
    ]
    return app.outdir / source


# -- the job -------------------------------------------------------------------------------------------


def test_the_resolve_job_runs_its_entry_script_on_glue_51(
    dev_app: SynthesizedApp, job: dict[str, Any]
) -> None:
    assert (job["GlueVersion"], GLUE_VERSION) == ("5.1", "5.1")
    assert job["Command"] == {
        "Name": "glueetl",
        "PythonVersion": "3",
        "ScriptLocation": job["Command"]["ScriptLocation"],
    }
    script = staged_asset(dev_app, job["Command"]["ScriptLocation"])
    assert script.read_bytes() == (ROOT / "glue_jobs" / "resolve_identities.py").read_bytes()
    library = staged_asset(dev_app, job["DefaultArguments"]["--extra-py-files"])
    assert library.read_bytes() == (ROOT / "build" / "glue" / "cdp-glue.zip").read_bytes()


def test_the_resolve_job_gets_splinks_similarity_jar_and_splink_itself(
    dev_app: SynthesizedApp, job: dict[str, Any]
) -> None:
    from splink.backends.spark import similarity_jar_location

    arguments = job["DefaultArguments"]
    jar = staged_asset(dev_app, arguments["--extra-jars"])  # one jar, a file asset (no custom resource)
    assert jar.suffix == ".jar"
    # the Spark 3 build inside the dev venv's splink wheel, as the Spark parity suite loads it
    assert "spark3" in Path(similarity_jar_location()).name
    assert jar.read_bytes() == Path(similarity_jar_location()).read_bytes()
    modules = dict(module.split("==") for module in arguments["--additional-python-modules"].split(","))
    assert modules["splink"] == metadata.version("splink") == "5.0.0"
    assert modules["duckdb"] == metadata.version("duckdb")  # `import splink` loads it; Glue has none
    assert not {"numpy", "pandas"} & set(modules)  # Glue 5.1's own (numpy < 2, pandas < 3)


def test_only_the_resolve_job_loads_the_jar(pipeline: Template) -> None:
    jobs = glue_jobs(pipeline)
    assert [name for name, job in jobs.items() if "--extra-jars" in job["DefaultArguments"]] == [RESOLVE_JOB]


def test_the_resolve_job_is_sized_run_one_at_a_time_without_bookmarks_and_with_metrics(
    job: dict[str, Any],
) -> None:
    assert (job["WorkerType"], job["NumberOfWorkers"], job["Timeout"]) == ("G.1X", 2, 120)
    # a second concurrent run would resolve from the same previous links and could publish stale ones
    assert job["ExecutionProperty"] == {"MaxConcurrentRuns": 1}
    assert job["MaxRetries"] == 0
    arguments = job["DefaultArguments"]
    assert arguments["--job-bookmark-option"] == "job-bookmark-disable"  # run-id snapshots are idempotent
    assert "--run_id" not in arguments  # each run gets its own (the orchestrator's, or a new one)
    assert arguments["--enable-metrics"] == "true"
    assert arguments["--enable-observability-metrics"] == "true"
    assert arguments["--custom-logGroup-prefix"] == "/cdp/dev/glue/resolve-identities"


# -- its role ------------------------------------------------------------------------------------------


def test_the_resolve_job_reads_its_inputs_and_config_and_replaces_only_the_identity_tables(
    statements: list[dict[str, Any]],
) -> None:
    assert lake_object_grants(statements) == RESOLVE_GRANTS
    # the grants follow the code: the step's tables, config objects and scratch
    assert {f"{table.prefix}/" for table in IDENTITY_TABLES} <= set(RESOLVE_GRANTS)
    assert {CONFIG_PATH, OVERRIDES_PATH} <= set(RESOLVE_GRANTS)
    lake = "s3://cdp-dev-lake"
    assert scratch_uri(lake, "resolve", "20261128T080313Z-abc123").startswith(f"{lake}/tmp/resolve/")


def test_the_resolve_job_cannot_write_the_clean_or_raw_zones_nor_the_identity_zone_at_large(
    statements: list[dict[str, Any]],
) -> None:
    for key, actions in lake_object_grants(statements).items():
        if key.startswith(("clean/", "raw/", "landing/", "quarantine/")):
            assert actions == READ, key
        assert key not in {"identity/", "clean/", "raw/", "tmp/", ""}, key  # no zone-wide grant
    writes = {"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:AbortMultipartUpload"}
    for statement in statements:
        if writes & set(as_list(statement["Action"])):
            resources = json.dumps(statement["Resource"])
            assert not re.search(r'"/(clean|raw|landing|quarantine)/', resources), statement


def test_the_resolve_job_role_reads_its_code_and_publishes_only_glue_metrics_and_its_tables(
    statements: list[dict[str, Any]],
) -> None:
    code = next(s for s in statements if s.get("Sid") == "ReadItsCode")
    assert code["Action"] == "s3:GetObject"
    # its entry script, the cdp library and Splink's jar: exactly three objects of the assets bucket
    assert sorted(r["Fn::Join"][1][-1].rsplit(".", 1)[-1] for r in code["Resource"]) == ["jar", "py", "zip"]
    [anywhere] = [s for s in statements if s["Resource"] == "*"]
    assert anywhere["Action"] == "cloudwatch:PutMetricData"
    # Glue's own job metrics and the step's report (cdp.pipeline.metrics)
    assert anywhere["Condition"] == {"StringEquals": {"cloudwatch:namespace": ["Glue", "CDP"]}}
    actions = {action for s in statements for action in as_list(s["Action"])}
    assert not {action for action in actions if action.split(":")[0] in {"lambda", "iam", "sqs"}}
    # the catalog tables it publishes (test_batch_import: which ones), nothing else of Glue
    assert {action for action in actions if action.startswith("glue:")} == {
        "glue:GetTable",
        "glue:UpdateTable",
    }


def test_single_object_grants_must_name_one_object() -> None:
    assert LakeAccess(read_objects=(CONFIG_PATH,)).read_objects == (CONFIG_PATH,)
    for bad in ("identity/", "identity/*", "identity/*.yaml", "/identity/identity.yaml", ""):
        with pytest.raises(ValueError, match="one object's key"):
            LakeAccess(read_objects=(bad,))


# -- alarm and output ----------------------------------------------------------------------------------


def test_a_failed_resolve_run_reaches_the_alarm_topic(pipeline: Template) -> None:
    rule_id = logical_id(pipeline, "AWS::Events::Rule", "GlueJobFailures")
    rule = of_type(pipeline, "AWS::Events::Rule")[rule_id]
    pattern = rule["Properties"]["EventPattern"]
    assert RESOLVE_JOB in pattern["detail"]["jobName"]
    assert pattern["detail"]["state"] == ["FAILED", "TIMEOUT", "ERROR"]
    [target] = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": logical_id(pipeline, "AWS::SNS::Topic", "Topic")}
    outputs = pipeline.to_json()["Outputs"]
    assert outputs["ResolveJobName"]["Value"] == RESOLVE_JOB


# -- the lake's scratch zone ---------------------------------------------------------------------------


def test_job_scratch_expires_within_a_day(dev_app: SynthesizedApp) -> None:
    assert SCRATCH_PREFIX in ZONES
    [lake] = [
        b
        for b in of_type(dev_app.data, "AWS::S3::Bucket").values()
        if b["Properties"].get("LoggingConfiguration", {}).get("LogFilePrefix") == "lake/"
    ]
    rules = {r.get("Prefix"): r for r in lake["Properties"]["LifecycleConfiguration"]["Rules"]}
    scratch = rules[f"{SCRATCH_PREFIX}/"]
    assert scratch["Status"] == "Enabled"
    assert scratch["ExpirationInDays"] == 1
    assert scratch["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}  # not the 7-day erasure window
    assert scratch["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}


# -- the lock ------------------------------------------------------------------------------------------


def test_no_glue_module_asks_for_a_numpy_or_pandas_glue_does_not_have() -> None:
    """Glue 5.1 (pyspark 3.5) has numpy < 2 and pandas < 3; a pin that required newer would make its pip
    upgrade them under Spark. The dev venv has the same majors, so every requirement must accept them."""
    numpy, pandas = metadata.version("numpy"), metadata.version("pandas")
    assert int(numpy.split(".")[0]) < 2
    assert int(pandas.split(".")[0]) < 3
    lines = (ROOT / "requirements" / "glue-jobs.txt").read_text().splitlines()
    pinned = [line.split("==")[0] for line in lines if line and not line.startswith("#")]
    assert {"splink", "duckdb"} <= set(pinned)
    for name in pinned:
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            if requirement.name in {"numpy", "pandas"}:
                installed = numpy if requirement.name == "numpy" else pandas
                assert requirement.specifier.contains(installed), (name, text)
