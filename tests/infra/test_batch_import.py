"""The pipeline stack's batch import and Glue jobs: the rule, the grants per lake prefix, the dead letters and
alarms, the Glue jobs' version, arguments and security configuration; and the import function's asset."""

from __future__ import annotations

import json
import re
import zipfile
from collections import Counter
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from cdp.import_wiring import UploadPathSettings
from cdp.imports.landing import LandedFile
from cdp.query.glue_tables import SNAPSHOT_TABLES, database_name
from glue_jobs import import_file
from infra.components.batch_import import HANDLER
from infra.components.glue_jobs import GLUE_VERSION
from infra.stacks.pipeline import PROFILES_OUTPUTS, RESOLVE_OUTPUTS, SEGMENTS_OUTPUTS, STANDARDIZE_OUTPUTS
from tests.infra.conftest import (
    KEY,
    LAKE_ARN,
    LAKE_NAME,
    SynthesizedApp,
    as_list,
    glue_jobs,
    lake_object_grants,
    logical_id,
    of_type,
    one,
    statements_of_role,
)

ROOT = Path(__file__).resolve().parents[2]
IMPORT_JOB = "cdp-dev-import-file"
STANDARDIZE_JOB = "cdp-dev-standardize"
RESOLVE_JOB = "cdp-dev-resolve-identities"
PROFILES_JOB = "cdp-dev-build-profiles"
SEGMENTS_JOB = "cdp-dev-evaluate-segments"
#: each pipeline step's job and the tables it publishes (its catalog tables are theirs, by name)
PUBLISHED_BY = {
    STANDARDIZE_JOB: STANDARDIZE_OUTPUTS,
    RESOLVE_JOB: RESOLVE_OUTPUTS,
    PROFILES_JOB: PROFILES_OUTPUTS,
    SEGMENTS_JOB: SEGMENTS_OUTPUTS,
}

#: what importing touches, for the function and the Glue import job alike: prefix -> actions
IMPORT_GRANTS = {
    "landing/": {"s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject", "s3:DeleteObjectVersion"},
    "config/mappings/": {"s3:GetObject"},
    "raw/imports/": {"s3:GetObject", "s3:PutObject"},
    "clean/import_rows/": {"s3:PutObject"},
    "quarantine/imports/": {"s3:PutObject"},
    "quarantine/import_failures/": {"s3:PutObject"},
}


@pytest.fixture(scope="session")
def imports_asset(lambda_asset: Path) -> Path:
    return lambda_asset.parent / "imports"


def resolved_environment(variables: dict[str, Any]) -> dict[str, str]:
    """What the function's cold start sees, with CloudFormation's references resolved to plausible names."""
    return {
        name: value if isinstance(value, str) else f"resolved-{name.lower().replace('_', '-')}"
        for name, value in variables.items()
    }


# -- the data stack's side ----------------------------------------------------------------------------


def test_the_lake_sends_its_object_events_to_eventbridge(dev_app: SynthesizedApp) -> None:
    [lake] = [
        b
        for b in of_type(dev_app.data, "AWS::S3::Bucket").values()
        if b["Properties"].get("LoggingConfiguration", {}).get("LogFilePrefix") == "lake/"
    ]
    assert lake["Properties"]["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }
    assert not of_type(dev_app.data, "Custom::S3BucketNotifications")  # natively, no custom resource


def test_the_key_admits_eventbridge_only_for_the_stages_rules(dev_app: SynthesizedApp) -> None:
    key = one(dev_app.data, "AWS::KMS::Key", "DataKey")
    [statement] = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "EventBridgeRulesDeliverToEncryptedTargets"
    ]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert json.dumps(statement["Condition"]["ArnLike"]).endswith(':rule/cdp-dev-*"]]}}')


# -- the upload path ----------------------------------------------------------------------------------


def test_the_rule_sends_only_uploads_under_landing_of_the_lake_to_the_function(pipeline: Template) -> None:
    function_id = logical_id(pipeline, "AWS::Lambda::Function", "BatchImportFunction")
    rule_id = logical_id(pipeline, "AWS::Events::Rule", "UploadRule")
    rule = of_type(pipeline, "AWS::Events::Rule")[rule_id]["Properties"]
    assert rule["Name"] == "cdp-dev-import-uploads"  # inside the key policy's cdp-dev-* rules
    assert rule["EventPattern"] == {
        "source": ["aws.s3"],
        "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [LAKE_NAME]}, "object": {"key": [{"prefix": "landing/"}]}},
    }
    [target] = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    rule_dlq = logical_id(pipeline, "AWS::SQS::Queue", "RuleDeadLetters")
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [rule_dlq, "Arn"]}}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 8, "MaximumEventAgeInSeconds": 86400}
    pipeline.has_resource_properties(
        "AWS::Lambda::Permission",
        {
            "Action": "lambda:InvokeFunction",
            "Principal": "events.amazonaws.com",
            "SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]},
        },
    )


def test_the_function_runs_the_import_handler_with_retries_and_a_dead_letter_queue(
    pipeline: Template,
) -> None:
    dlq = logical_id(pipeline, "AWS::SQS::Queue", "FunctionDeadLetters")
    logs = logical_id(pipeline, "AWS::Logs::LogGroup", "FunctionLogs")
    pipeline.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": HANDLER,
            "Runtime": "python3.11",
            "Architectures": ["arm64"],
            "MemorySize": 3008,
            "Timeout": 300,
            "ReservedConcurrentExecutions": 10,
            "KmsKeyArn": KEY,
            "DeadLetterConfig": {"TargetArn": {"Fn::GetAtt": [dlq, "Arn"]}},
            "TracingConfig": {"Mode": "Active"},
            "LoggingConfig": {"LogGroup": {"Ref": logs}},
        },
    )
    pipeline.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig", {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 21600}
    )


def test_the_function_environment_is_what_the_settings_parse(pipeline: Template) -> None:
    variables = one(pipeline, "AWS::Lambda::Function")["Properties"]["Environment"]["Variables"]
    assert variables["CDP_LAKE_BUCKET"] == LAKE_NAME
    assert variables["CDP_IMPORT_JOB_NAME"] == IMPORT_JOB
    settings = UploadPathSettings.from_env(resolved_environment(variables))
    assert settings.max_inline_bytes == 50 * 2**20
    assert settings.import_job_name == one(pipeline, "AWS::Glue::Job", "ImportJob")["Properties"]["Name"]


def test_the_function_may_touch_only_the_import_prefixes_and_start_its_job(pipeline: Template) -> None:
    statements = statements_of_role(pipeline, "FunctionRole")
    actions = {action for s in statements for action in as_list(s["Action"])}
    assert actions == {
        *{action for granted in IMPORT_GRANTS.values() for action in granted},
        "s3:GetBucketLocation",
        "s3:ListBucket",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "glue:StartJobRun",
        "sqs:SendMessage",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    assert lake_object_grants(statements) == IMPORT_GRANTS
    by_sid = {s.get("Sid"): s for s in statements}
    assert by_sid["FindTheLakeBucket"]["Resource"] == LAKE_ARN
    assert json.dumps(by_sid["StartTheImportJobForLargeFiles"]["Resource"]).endswith(
        f':job/{IMPORT_JOB}"]]}}'
    )
    for statement in statements:
        if any(action.startswith("kms:") for action in as_list(statement["Action"])):
            assert statement["Resource"] == KEY
            assert "kms:ViaService" in statement["Condition"]["StringEquals"]
        if statement["Resource"] == "*":
            assert set(as_list(statement["Action"])) == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def test_the_dead_letter_queues_are_encrypted_and_only_the_rules_may_send(pipeline: Template) -> None:
    queues = of_type(pipeline, "AWS::SQS::Queue")
    assert len(queues) == 2
    for queue in queues.values():
        assert queue["Properties"]["KmsMasterKeyId"] == KEY
        assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    rule_dlq = logical_id(pipeline, "AWS::SQS::Queue", "RuleDeadLetters")
    [policy] = [
        p
        for p in of_type(pipeline, "AWS::SQS::QueuePolicy").values()
        if p["Properties"]["Queues"] == [{"Ref": rule_dlq}]
    ]
    senders = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    rules = sorted(
        [
            logical_id(pipeline, "AWS::Events::Rule", "UploadRule"),
            logical_id(pipeline, "AWS::Events::Rule", "GlueJob"),
        ]
    )
    assert sorted(s["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::GetAtt"][0] for s in senders) == rules
    assert {s["Principal"]["Service"] for s in senders} == {"events.amazonaws.com"}


# -- the Glue jobs ------------------------------------------------------------------------------------


def test_the_glue_jobs_run_glue_51_with_the_security_configuration_and_pinned_modules(
    pipeline: Template,
) -> None:
    jobs = glue_jobs(pipeline)
    assert set(jobs) == {IMPORT_JOB, STANDARDIZE_JOB, RESOLVE_JOB, PROFILES_JOB, SEGMENTS_JOB}
    names = {c["Properties"]["Name"] for c in of_type(pipeline, "AWS::Glue::SecurityConfiguration").values()}
    assert names == {"cdp-dev-glue-jobs", "cdp-dev-glue-jobs-bucket-keys"}
    modules = [
        line
        for line in (ROOT / "requirements" / "glue-jobs.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    libraries = set()
    for job_name, job in jobs.items():
        short = job_name.removeprefix("cdp-dev-")
        assert (job["GlueVersion"], GLUE_VERSION) == ("5.1", "5.1")
        assert job["Command"]["Name"] == "glueetl"
        assert job["Command"]["PythonVersion"] == "3"
        assert job["Command"]["ScriptLocation"]["Fn::Sub"].endswith(".py")
        # the profiles job also writes the pseudonymized zone's bucket: each bucket's own key
        bucket_keys = job_name == PROFILES_JOB
        assert job["SecurityConfiguration"] == f"cdp-dev-glue-jobs{'-bucket-keys' if bucket_keys else ''}"
        arguments = job["DefaultArguments"]
        assert arguments["--additional-python-modules"].split(",") == modules
        assert arguments["--job-bookmark-option"] == "job-bookmark-disable"
        assert arguments["--custom-logGroup-prefix"] == f"/cdp/dev/glue/{short}"
        assert arguments["--lake_uri"] == {"Fn::Join": ["", ["s3://", LAKE_NAME]]}
        libraries.add(arguments["--extra-py-files"]["Fn::Sub"])
    [library] = libraries  # one cdp library shared by every job
    assert library.endswith(".zip")
    assert jobs[IMPORT_JOB]["WorkerType"] == "G.2X"
    assert jobs[IMPORT_JOB]["ExecutionProperty"] == {"MaxConcurrentRuns": 10}  # one run per large upload
    assert jobs[STANDARDIZE_JOB]["ExecutionProperty"] == {"MaxConcurrentRuns": 1}  # one publisher at a time
    assert "pyarrow==25.0.1" in modules  # the version the Spark parity suite runs, not the Lambda's 20


def test_the_security_configuration_encrypts_s3_logs_and_bookmarks_with_the_cmk(pipeline: Template) -> None:
    configuration = one(pipeline, "AWS::Glue::SecurityConfiguration", "RuntimeSecurityConfiguration")
    encryption = configuration["Properties"]["EncryptionConfiguration"]
    assert encryption == {
        "S3Encryptions": [{"S3EncryptionMode": "SSE-KMS", "KmsKeyArn": KEY}],
        "CloudWatchEncryption": {"CloudWatchEncryptionMode": "SSE-KMS", "KmsKeyArn": KEY},
        "JobBookmarksEncryption": {"JobBookmarksEncryptionMode": "CSE-KMS", "KmsKeyArn": KEY},
    }


def test_each_job_logs_to_its_own_encrypted_log_groups(pipeline: Template) -> None:
    names = {
        group["Properties"]["LogGroupName"]: group["Properties"]
        for group in of_type(pipeline, "AWS::Logs::LogGroup").values()
    }
    assert set(names) == {
        "/cdp/dev/lambda/import",
        "/cdp/dev/glue/import-file/output",
        "/cdp/dev/glue/import-file/error",
        "/cdp/dev/glue/standardize/output",
        "/cdp/dev/glue/standardize/error",
        "/cdp/dev/glue/resolve-identities/output",
        "/cdp/dev/glue/resolve-identities/error",
        "/cdp/dev/glue/build-profiles/output",
        "/cdp/dev/glue/build-profiles/error",
        "/cdp/dev/glue/evaluate-segments/output",
        "/cdp/dev/glue/evaluate-segments/error",
    }
    for group in names.values():
        assert (group["KmsKeyId"], group["RetentionInDays"]) == (KEY, 365)


def test_the_import_job_role_has_the_functions_lake_access_and_nothing_of_glue_or_lambda(
    pipeline: Template,
) -> None:
    statements = statements_of_role(pipeline, "ImportJobJobRole")
    assert lake_object_grants(statements) == IMPORT_GRANTS
    actions = {action for s in statements for action in as_list(s["Action"])}
    assert not {action for action in actions if action.split(":")[0] in {"glue", "lambda", "iam", "sqs"}}
    assert not [s for s in statements if s["Resource"] == "*"]
    code = next(s for s in statements if s.get("Sid") == "ReadItsCode")
    assert code["Action"] == "s3:GetObject"
    # exactly two objects of the assets bucket: its entry script and the cdp library
    assert sorted(r["Fn::Join"][1][-1].rsplit(".", 1)[-1] for r in code["Resource"]) == ["py", "zip"]


def test_the_standardize_job_reads_its_inputs_and_replaces_only_its_tables(pipeline: Template) -> None:
    grants = lake_object_grants(statements_of_role(pipeline, "StandardizeJobRole"))
    reads = {"s3:GetObject"}
    replaces = {"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"}
    assert grants == {
        "raw/events/": reads,
        "raw/imports/": reads,
        "clean/import_rows/": reads,
        "clean/events/": replaces,
        "clean/identity_records/": replaces,
        "clean/orders/": replaces,
        "tmp/standardize/": replaces,  # its runs' scratch (run_glue_step)
        "_lock/": replaces,  # the lake lock: a step never overlaps an erasure (cdp.privacy.lock)
        "privacy/tombstones/": reads,  # erased people's records are dropped before the clean zone
        "privacy/returning/": replaces,  # what it dropped, queued for the retention job's erasure
    }
    # the tombstones are salted hashes: the step gets the salt's secret like the profiles step
    [job] = [j for j in glue_jobs(pipeline).values() if j["Name"] == "cdp-dev-standardize"]
    assert "--salt_secret_arn" in job["DefaultArguments"]


def test_each_pipeline_job_publishes_exactly_its_own_tables_to_the_catalog(
    pipeline: Template, analytics: Template
) -> None:
    """``--catalog_database`` and glue:GetTable/UpdateTable on the catalog, the database and the tables the
    step writes (``cdp.adapters.glue_catalog``); the import job publishes nothing."""
    jobs = glue_jobs(pipeline)
    database = database_name("dev")
    glue_arn = [
        "arn:",
        {"Ref": "AWS::Partition"},
        ":glue:",
        {"Ref": "AWS::Region"},
        ":",
        {"Ref": "AWS::AccountId"},
    ]
    declared = {
        t["Properties"]["TableInput"]["Name"] for t in of_type(analytics, "AWS::Glue::Table").values()
    }
    for job_name, outputs in PUBLISHED_BY.items():
        tables = [table.name for table in outputs]
        assert set(tables) <= {table.name for table in SNAPSHOT_TABLES} & declared  # the analytics stack's
        assert jobs[job_name]["DefaultArguments"]["--catalog_database"] == database == "cdp_dev"
        role = job_name.removeprefix("cdp-dev-").title().replace("-", "")
        statements = statements_of_role(pipeline, f"{role}JobRole")
        glue = [s for s in statements if any(a.startswith("glue:") for a in as_list(s["Action"]))]
        assert [(s["Sid"], sorted(s["Action"])) for s in glue] == [
            ("PublishItsCatalogTables", ["glue:GetTable", "glue:UpdateTable"])
        ]
        expected = [
            {"Fn::Join": ["", [*glue_arn, ":catalog"]]},
            {"Fn::Join": ["", [*glue_arn, f":database/{database}"]]},
            *({"Fn::Join": ["", [*glue_arn, f":table/{database}/{table}"]]} for table in tables),
        ]
        assert sorted(map(json.dumps, glue[0]["Resource"])) == sorted(map(json.dumps, expected))
    assert "--catalog_database" not in jobs[IMPORT_JOB]["DefaultArguments"]


def test_the_import_jobs_arguments_are_what_its_main_parses() -> None:
    from cdp.adapters.aws_glue_imports import job_arguments

    landed = LandedFile(key="landing/crm/2026/ลูกค้า.csv", size=2**30, version_id="v1")
    argv = [part for item in job_arguments("s3://cdp-dev-lake", landed).items() for part in item]
    parsed = import_file.parse_job_arguments([*argv, "--JOB_NAME", IMPORT_JOB])
    assert (parsed.lake_uri, parsed.source, parsed.key, parsed.version_id) == (
        "s3://cdp-dev-lake",
        "crm",
        landed.key,
        "v1",
    )


# -- alarms -------------------------------------------------------------------------------------------


def test_dead_letters_errors_and_glue_failures_reach_the_alarm_topic(pipeline: Template) -> None:
    topic = logical_id(pipeline, "AWS::SNS::Topic", "Topic")
    pipeline.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": KEY})
    alarms = of_type(pipeline, "AWS::CloudWatch::Alarm")
    watched = sorted(
        (
            a["Properties"]["MetricName"],
            a["Properties"]["Dimensions"][0]["Value"].get("Fn::GetAtt", ["fn"])[0],
        )
        for a in alarms.values()
    )
    assert watched == sorted(
        [
            (
                "ApproximateNumberOfMessagesVisible",
                logical_id(pipeline, "AWS::SQS::Queue", "FunctionDeadLetters"),
            ),
            (
                "ApproximateNumberOfMessagesVisible",
                logical_id(pipeline, "AWS::SQS::Queue", "RuleDeadLetters"),
            ),
            ("Errors", "fn"),
            ("Throttles", "fn"),
        ]
    )
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic}]
        assert (alarm["Properties"]["Threshold"], alarm["Properties"]["TreatMissingData"]) == (
            1,
            "notBreaching",
        )

    rule_id = logical_id(pipeline, "AWS::Events::Rule", "GlueJobFailures")
    rule = of_type(pipeline, "AWS::Events::Rule")[rule_id]["Properties"]
    assert rule["Name"] == "cdp-dev-glue-job-failures"
    assert rule["EventPattern"] == {
        "source": ["aws.glue"],
        "detail-type": ["Glue Job State Change"],
        "detail": {
            "jobName": [IMPORT_JOB, STANDARDIZE_JOB, RESOLVE_JOB, PROFILES_JOB, SEGMENTS_JOB],
            "state": ["FAILED", "TIMEOUT", "ERROR"],
        },
    }
    [target] = rule["Targets"]
    assert target["Arn"] == {"Ref": topic}
    assert "<detail-jobName>" in target["InputTransformer"]["InputTemplate"]
    [policy] = of_type(pipeline, "AWS::SNS::TopicPolicy").values()
    [publisher] = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert publisher["Principal"] == {"Service": "events.amazonaws.com"}
    assert publisher["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [rule_id, "Arn"]}}}


def test_the_pipeline_stack_holds_exactly_its_capabilities(pipeline: Template) -> None:
    counts = Counter(resource["Type"] for resource in pipeline.to_json()["Resources"].values())
    assert counts == {
        "AWS::Glue::Job": 5,
        "AWS::Glue::SecurityConfiguration": 2,  # the second: the profiles job's (each bucket's own key)
        "AWS::Lambda::Function": 1,
        "AWS::Lambda::EventInvokeConfig": 1,
        "AWS::Lambda::Permission": 1,
        "AWS::Events::Rule": 2,
        "AWS::SQS::Queue": 2,
        "AWS::SQS::QueuePolicy": 2,
        "AWS::SNS::Topic": 1,
        "AWS::SNS::TopicPolicy": 1,
        "AWS::CloudWatch::Alarm": 4,
        "AWS::Logs::LogGroup": 11,
        "AWS::IAM::Role": 6,
        "AWS::IAM::Policy": 6,
    }
    assert not [t for t in counts if t.startswith("Custom::") or t == "AWS::S3::Bucket"]  # stateless


def test_prod_protects_the_pipeline_stack(prod_cloud_assembly: Path) -> None:
    manifest = json.loads((prod_cloud_assembly / "manifest.json").read_text())
    assert manifest["artifacts"]["CdpPipeline-prod"]["properties"]["terminationProtection"] is True


# -- the import function's asset and the Glue library --------------------------------------------------


def wheel_tags(asset: Path) -> dict[str, list[str]]:
    tags: dict[str, list[str]] = {}
    for wheel in asset.glob("*.dist-info/WHEEL"):
        tags[wheel.parent.name] = re.findall(r"^Tag: (\S+)$", wheel.read_text(), flags=re.MULTILINE)
    return tags


def test_the_imports_asset_holds_the_handler_and_only_the_wheels_it_imports(imports_asset: Path) -> None:
    assert (imports_asset / "lambdas" / "imports" / "handler.py").is_file()
    assert (imports_asset / "cdp" / "adapters" / "s3_imports.py").is_file()
    top_level = {path.name for path in imports_asset.iterdir() if not path.name.endswith(".dist-info")}
    assert {
        "aws_lambda_powertools",
        "pydantic",
        "pydantic_core",
        "orjson",
        "tzdata",
        "yaml",
        "pyarrow",
    } <= top_level
    assert not top_level & {"boto3", "botocore", "numpy", "pandas", "duckdb", "pyspark", "bin"}
    assert not (imports_asset / "pyarrow" / "include").exists()
    assert not (imports_asset / "pyarrow" / "tests").exists()
    assert not list(imports_asset.rglob("*.pyx"))


def test_the_imports_asset_loads_on_lambdas_amazon_linux_2(imports_asset: Path) -> None:
    """python3.11 on Lambda is Amazon Linux 2, glibc 2.26: every binary wheel must be manylinux2014 (2.17)."""
    tags = wheel_tags(imports_asset)
    assert any(name.startswith("pyarrow-20.0.0") for name in tags)
    for name, wheel in tags.items():
        platforms = {tag.split("-")[-1] for tag in wheel}
        if platforms == {"any"}:
            continue
        # a wheel may carry several tags (pyyaml: 2014, 2_17 and 2_28); one old enough must be among them
        assert platforms & {"manylinux2014_aarch64", "manylinux_2_17_aarch64"}, (name, wheel)
        assert all(tag.startswith("cp311-") or "-abi3-" in tag for tag in wheel), (name, wheel)


def test_the_imports_asset_fits_a_zip_lambda(imports_asset: Path) -> None:
    size = sum(p.stat().st_size for p in imports_asset.rglob("*") if p.is_file())
    assert size < 200 * 2**20  # ~132 MiB today; Lambda allows 250 MiB unzipped


def test_the_imports_lock_pins_what_the_tests_run_with_except_pyarrow() -> None:
    lock = (ROOT / "requirements" / "lambda-imports.txt").read_text()
    pins = dict(re.findall(r"^([a-z0-9-]+)==(\S+)", lock, flags=re.MULTILINE))
    for name in ("aws-lambda-powertools", "pydantic", "pydantic-core", "orjson", "pyyaml", "tzdata"):
        assert pins[name] == metadata.version(name), f"{name}: re-run scripts/build_lambda_assets.py --lock"
    # the last pyarrow with a manylinux2014 aarch64 wheel; the import suite is run on it (docs/deploy.md)
    assert pins["pyarrow"] == "20.0.0"
    hashed = re.findall(r"^[a-z0-9-]+==\S+ \\\n +--hash=sha256:[0-9a-f]{64}$", lock, flags=re.MULTILINE)
    assert len(hashed) == len(pins)


def test_the_glue_modules_pin_what_the_spark_suite_runs() -> None:
    lines = (ROOT / "requirements" / "glue-jobs.txt").read_text().splitlines()
    pins = dict(line.split("==") for line in lines if line and not line.startswith("#"))
    for name, version in pins.items():
        assert version == metadata.version(name), f"{name}: re-run scripts/build_lambda_assets.py --lock"


def test_the_glue_library_is_the_cdp_package_and_deterministic(lambda_asset: Path) -> None:
    library = lambda_asset.parents[1] / "glue" / "cdp-glue.zip"
    with zipfile.ZipFile(library) as archive:
        names = archive.namelist()
        infos = archive.infolist()
    assert "cdp/imports/landing.py" in names
    assert "cdp/import_wiring.py" in names
    assert "cdp/pipeline/jobs.py" in names
    assert all(name.startswith("cdp/") for name in names)
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    assert names == sorted(names)
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
