"""The build-profiles Glue job: its script, arguments and sizing, a role that touches only what the profiles
step touches and reads the salt secret alone; the salt secret itself (CMK, generated, retained, never
rotated); and its failure alarm."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from cdp.imports.layout import IMPORT_ROWS
from cdp.pipeline.jobs import parse_job_arguments, scratch_uri
from cdp.profiles.config import PROFILES_CONFIG_PATH
from cdp.profiles.salt import SALT_BYTES
from cdp.profiles.traits import LAKE_TRAITS_DIR
from cdp.query.glue_tables import database_name
from cdp.tables import EVENTS, IDENTITY_LINKS, IDENTITY_RECORDS, ORDERS, PROFILE_TABLES
from glue_jobs.build_profiles import parse_profile_arguments
from infra.components.glue_jobs import GLUE_VERSION
from tests.infra.conftest import (
    KEY,
    SynthesizedApp,
    as_list,
    glue_jobs,
    lake_object_grants,
    logical_id,
    of_type,
    statements_of_role,
    template_json,
)
from tests.infra.test_resolve_job import staged_asset

ROOT = Path(__file__).resolve().parents[2]
PROFILES_JOB = "cdp-dev-build-profiles"
SALT_EXPORT = "cdp-dev-salt-secret-arn"
SALT = {"Fn::ImportValue": SALT_EXPORT}
READ = {"s3:GetObject"}
REPLACE = {"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"}
#: what the profiles step touches in the lake: prefix or exact key -> actions
PROFILES_GRANTS = {
    "identity/links/": READ,
    "clean/identity_records/": READ,
    "clean/events/": READ,
    "clean/orders/": READ,
    "clean/import_rows/": READ,  # completed imports' consent_* columns
    "profiles/config/profiles.yaml": READ,
    "profiles/config/traits/": READ,
    "profiles/profiles/": REPLACE,
    "profiles/traits/": REPLACE,
    "profiles/consent/": REPLACE,  # the consent store
    "tmp/profiles/": REPLACE,
    "_lock/": REPLACE,  # the lake lock (cdp.privacy.lock): never overlaps an erasure
}
#: and in the pseudonymized zone's own bucket (its own key): profiles_pseudonymized
ZONE_GRANTS = {"pseudonymized/profiles/": REPLACE}
ZONE_ARN = {"Fn::ImportValue": "cdp-dev-pseudonymized-bucket-arn"}
ZONE_KEY = {"Fn::ImportValue": "cdp-dev-pseudonymized-key-arn"}


def zone_object_grants(statements: list[dict[str, Any]]) -> dict[str, set[str]]:
    """prefix -> actions of every statement on objects of the pseudonymized zone's bucket."""
    grants: dict[str, set[str]] = {}
    for statement in statements:
        for resource in as_list(statement["Resource"]):
            join = resource.get("Fn::Join") if isinstance(resource, dict) else None
            if join and join[1][0] == ZONE_ARN:
                grants.setdefault(join[1][1].removeprefix("/").removesuffix("*"), set()).update(
                    as_list(statement["Action"])
                )
    return grants


WRITES = {"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:AbortMultipartUpload"}


@pytest.fixture(scope="session")
def job(pipeline: Template) -> dict[str, Any]:
    return glue_jobs(pipeline)[PROFILES_JOB]


@pytest.fixture(scope="session")
def statements(pipeline: Template) -> list[dict[str, Any]]:
    return statements_of_role(pipeline, "BuildProfilesJobRole")


@pytest.fixture(scope="session")
def salt_secret(dev_app: SynthesizedApp) -> tuple[str, dict[str, Any]]:
    [(secret_id, secret)] = of_type(dev_app.data, "AWS::SecretsManager::Secret").items()
    return secret_id, secret


# -- the job -------------------------------------------------------------------------------------------


def test_the_profiles_job_runs_its_entry_script_on_glue_51(
    dev_app: SynthesizedApp, job: dict[str, Any]
) -> None:
    assert (job["GlueVersion"], GLUE_VERSION) == ("5.1", "5.1")
    assert (job["Command"]["Name"], job["Command"]["PythonVersion"]) == ("glueetl", "3")
    script = staged_asset(dev_app, job["Command"]["ScriptLocation"])
    assert script.read_bytes() == (ROOT / "glue_jobs" / "build_profiles.py").read_bytes()
    assert "--extra-jars" not in job["DefaultArguments"]  # Splink's jar is the resolve job's alone


def test_the_profiles_job_is_given_the_salt_secret_and_the_catalog_database(job: dict[str, Any]) -> None:
    arguments = job["DefaultArguments"]
    assert arguments["--salt_secret_arn"] == SALT  # the data stack's export, never a value
    assert arguments["--catalog_database"] == database_name("dev") == "cdp_dev"
    # what its main parses, with CloudFormation's references resolved to plausible values
    argv = [
        part
        for name, value in arguments.items()
        for part in (name, value if isinstance(value, str) else f"resolved{name}")
    ]
    parsed = parse_job_arguments([*argv, "--JOB_NAME", PROFILES_JOB])
    assert (parsed.lake_uri, parsed.catalog_database) == ("resolved--lake_uri", "cdp_dev")
    # the analysts' zone: where the lake's pseudonymized/ prefix is mounted (cdp.lakefs.LakeFiles)
    assert arguments["--pseudonymized_root"] == {
        "Fn::Join": [
            "",
            ["s3://", {"Fn::ImportValue": "cdp-dev-pseudonymized-bucket-name"}, "/pseudonymized"],
        ]
    }
    assert parsed.pseudonymized_root == "resolved--pseudonymized_root"
    assert parse_profile_arguments(argv).salt_secret_arn == "resolved--salt_secret_arn"


def test_the_profiles_job_is_sized_run_one_at_a_time_without_bookmarks_and_with_metrics(
    job: dict[str, Any],
) -> None:
    assert (job["WorkerType"], job["NumberOfWorkers"], job["Timeout"]) == ("G.1X", 2, 120)
    assert job["ExecutionProperty"] == {"MaxConcurrentRuns": 1}  # one publisher of the profile tables
    assert job["MaxRetries"] == 0
    arguments = job["DefaultArguments"]
    assert arguments["--job-bookmark-option"] == "job-bookmark-disable"
    assert "--run_id" not in arguments  # each run's own
    assert "--as_of" not in arguments  # default: now
    assert arguments["--enable-metrics"] == "true"
    assert arguments["--enable-observability-metrics"] == "true"
    assert arguments["--custom-logGroup-prefix"] == "/cdp/dev/glue/build-profiles"


# -- its role ------------------------------------------------------------------------------------------


def test_the_profiles_job_reads_its_inputs_and_config_and_replaces_only_the_profile_tables(
    statements: list[dict[str, Any]],
) -> None:
    assert lake_object_grants(statements) == PROFILES_GRANTS
    assert zone_object_grants(statements) == ZONE_GRANTS
    # the grants follow the code: the step's inputs, config, outputs and scratch
    inputs = {f"{table.prefix}/" for table in (IDENTITY_LINKS, IDENTITY_RECORDS, EVENTS, ORDERS)}
    assert inputs | {f"{IMPORT_ROWS}/", f"{LAKE_TRAITS_DIR}/", PROFILES_CONFIG_PATH} == {
        key for key, actions in PROFILES_GRANTS.items() if actions == READ
    }
    assert {f"{table.prefix}/" for table in PROFILE_TABLES} | {"tmp/profiles/", "_lock/"} == {
        key for key, actions in {**PROFILES_GRANTS, **ZONE_GRANTS}.items() if actions == REPLACE
    }
    lake = "s3://cdp-dev-lake"
    assert scratch_uri(lake, "profiles", "20261128T080313Z-abc123").startswith(f"{lake}/tmp/profiles/")


def test_the_profiles_job_writes_the_zone_with_its_key_under_the_bucket_keys_configuration(
    statements: list[dict[str, Any]], job: dict[str, Any], pipeline: Template
) -> None:
    """A security configuration names one key for every S3 write of a job; the profiles job's leaves each
    bucket to its own default key, so the zone gets the zone's key (its bucket refuses any other)."""
    [zone_kms] = [s for s in statements if s.get("Resource") == ZONE_KEY]
    assert sorted(as_list(zone_kms["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert "kms:ViaService" in json.dumps(zone_kms["Condition"])
    configurations = {
        c["Properties"]["Name"]: c["Properties"]
        for c in of_type(pipeline, "AWS::Glue::SecurityConfiguration").values()
    }
    encryption = configurations[job["SecurityConfiguration"]]["EncryptionConfiguration"]
    assert job["SecurityConfiguration"] == "cdp-dev-glue-jobs-bucket-keys"
    assert encryption["S3Encryptions"] == [{"S3EncryptionMode": "DISABLED"}]
    assert encryption["CloudWatchEncryption"] == {"CloudWatchEncryptionMode": "SSE-KMS", "KmsKeyArn": KEY}
    assert encryption["JobBookmarksEncryption"] == {"JobBookmarksEncryptionMode": "CSE-KMS", "KmsKeyArn": KEY}


def test_the_profiles_job_writes_nothing_of_the_raw_clean_or_identity_zones(
    statements: list[dict[str, Any]],
) -> None:
    for key, actions in lake_object_grants(statements).items():
        if not key.startswith(
            ("profiles/profiles/", "profiles/traits/", "profiles/consent/", "tmp/", "_lock/")
        ):
            assert actions == READ, key
        assert key not in {"profiles/", "profiles/config/", "clean/", "identity/", "raw/", "tmp/", ""}, key
    for statement in statements:
        if WRITES & set(as_list(statement["Action"])):
            resources = json.dumps(statement["Resource"])
            assert not re.search(r'"/(clean|identity|raw|landing|quarantine|profiles/config)/', resources)


def test_the_profiles_job_reads_the_salt_secret_and_no_other(statements: list[dict[str, Any]]) -> None:
    secret_statements = [
        s for s in statements if any(a.startswith("secretsmanager:") for a in as_list(s["Action"]))
    ]
    assert [(s["Action"], s["Resource"]) for s in secret_statements] == [
        ("secretsmanager:GetSecretValue", SALT)
    ]
    [decrypt] = [s for s in statements if s.get("Sid") == "DecryptItsSecretsThroughSecretsManager"]
    assert (decrypt["Action"], decrypt["Resource"]) == ("kms:Decrypt", KEY)
    assert decrypt["Condition"] == {
        "StringEquals": {
            "kms:ViaService": {
                "Fn::Join": ["", ["secretsmanager.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]
            },
            "kms:EncryptionContext:SecretARN": [SALT],
        }
    }
    actions = {action for s in statements for action in as_list(s["Action"])}
    assert not {a for a in actions if a.split(":")[0] in {"lambda", "iam", "sqs", "dynamodb", "athena"}}
    assert {a for a in actions if a.startswith("glue:")} == {"glue:GetTable", "glue:UpdateTable"}
    [anywhere] = [s for s in statements if s["Resource"] == "*"]
    assert anywhere["Action"] == "cloudwatch:PutMetricData"


def test_only_the_profiles_and_standardize_jobs_the_privacy_worker_and_their_roles_reference_the_salt(
    dev_app: SynthesizedApp, pipeline: Template, salt_secret: tuple[str, dict[str, Any]]
) -> None:
    """Whoever could name the secret is listed here: the profiles job (pseudonyms) and the standardize job
    (erasure tombstones are salted hashes: it drops erased people's records), by their argument, and their
    roles' policies; the privacy worker (its environment) and its policy."""
    secret_id, _ = salt_secret
    references = [
        (path.name, resource_id)
        for path in dev_app.template_files()
        for resource_id, resource in template_json(path)["Resources"].items()
        if SALT_EXPORT in json.dumps(resource) or json.dumps({"Ref": secret_id}) in json.dumps(resource)
    ]
    policies = []
    for role_name in ("BuildProfilesJobRole", "StandardizeJobRole"):
        role = {"Ref": logical_id(pipeline, "AWS::IAM::Role", role_name)}
        policies += [
            ("CdpPipeline-dev.template.json", policy_id)
            for policy_id, policy in of_type(pipeline, "AWS::IAM::Policy").items()
            if role in policy["Properties"]["Roles"]
        ]
    privacy = template_json(dev_app.outdir / "CdpPrivacy-dev.template.json")["Resources"]
    [worker] = [
        i for i, r in privacy.items() if r["Type"] == "AWS::Lambda::Function" and "PrivacyWorker" in i
    ]
    [worker_policy] = [
        i for i, r in privacy.items() if r["Type"] == "AWS::IAM::Policy" and "PrivacyWorker" in i
    ]
    assert sorted(references) == sorted(
        [
            ("CdpPipeline-dev.template.json", logical_id(pipeline, "AWS::Glue::Job", "BuildProfiles")),
            ("CdpPipeline-dev.template.json", logical_id(pipeline, "AWS::Glue::Job", "Standardize")),
            *policies,
            ("CdpPrivacy-dev.template.json", worker),
            ("CdpPrivacy-dev.template.json", worker_policy),
        ]
    )


# -- the salt secret -----------------------------------------------------------------------------------


def test_the_salt_is_generated_encrypted_with_the_cmk_and_retained(
    dev_app: SynthesizedApp, salt_secret: tuple[str, dict[str, Any]]
) -> None:
    secret_id, secret = salt_secret
    key_id = logical_id(dev_app.data, "AWS::KMS::Key", "DataKey")
    properties = secret["Properties"]
    assert properties["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    generated = properties["GenerateSecretString"]
    assert generated["PasswordLength"] >= SALT_BYTES  # cdp.profiles.salt refuses fewer than 32 bytes
    assert (generated["ExcludePunctuation"], generated["IncludeSpace"]) == (True, False)
    assert "SecretString" not in properties  # the value never passes through CloudFormation
    assert (secret["DeletionPolicy"], secret["UpdateReplacePolicy"]) == ("Retain", "Retain")
    outputs = dev_app.data.find_outputs("SaltSecretArn")
    assert outputs["SaltSecretArn"]["Value"] == {"Ref": secret_id}
    assert outputs["SaltSecretArn"]["Export"] == {"Name": SALT_EXPORT}


def test_the_salt_never_rotates_and_says_why(
    dev_app: SynthesizedApp, salt_secret: tuple[str, dict[str, Any]]
) -> None:
    for path in dev_app.template_files():
        types = {r["Type"] for r in template_json(path)["Resources"].values()}
        assert "AWS::SecretsManager::RotationSchedule" not in types, path.name
    _, secret = salt_secret
    [acknowledged] = secret["Metadata"]["cdk_nag"]["rules_to_suppress"]
    assert acknowledged["id"] == "AwsSolutions-SMG4"
    assert "changes every hash" in acknowledged["reason"]


# -- alarm and output ----------------------------------------------------------------------------------


def test_a_failed_profiles_run_reaches_the_alarm_topic(pipeline: Template) -> None:
    rule_id = logical_id(pipeline, "AWS::Events::Rule", "GlueJobFailures")
    pattern = of_type(pipeline, "AWS::Events::Rule")[rule_id]["Properties"]["EventPattern"]
    assert PROFILES_JOB in pattern["detail"]["jobName"]
    assert pattern["detail"]["state"] == ["FAILED", "TIMEOUT", "ERROR"]
    assert pipeline.to_json()["Outputs"]["BuildProfilesJobName"]["Value"] == PROFILES_JOB
