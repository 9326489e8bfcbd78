"""The privacy stack: an IAM-authorized API of three routes, a small API function, the worker with the
platform's broadest personal-data role written out statement by statement, its queue, the weekly retention
schedule that invokes it, and its alarms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from cdp.privacy.requests import PrivacySettings, RetentionJob, parse_job
from infra.app import ContextError, stage_config
from infra.components.orchestration import PipelineSchedule
from infra.components.privacy import (
    API_HANDLER,
    WEEKLY_RETENTION,
    WORKER_HANDLER,
    PrivacyConfig,
    PrivacyWorkerSizing,
)
from infra.stacks.data import DataExports
from infra.stacks.privacy import CdpPrivacyStack
from tests.infra.conftest import (
    KEY,
    LAKE_ARN,
    LAKE_NAME,
    SynthesizedApp,
    as_list,
    logical_id,
    of_type,
    one,
    statements_of_role,
    template_json,
)

ZONE_ARN = {"Fn::ImportValue": "cdp-dev-pseudonymized-bucket-arn"}
ZONE_NAME = {"Fn::ImportValue": "cdp-dev-pseudonymized-bucket-name"}
ZONE_KEY = {"Fn::ImportValue": "cdp-dev-pseudonymized-key-arn"}
SALT = {"Fn::ImportValue": "cdp-dev-salt-secret-arn"}
TABLE = {"Fn::ImportValue": "cdp-dev-profile-table-name"}
S3_VIA = {"kms:ViaService": {"Fn::Join": ["", ["s3.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}}


def objects(bucket: dict[str, Any], pattern: str) -> dict[str, Any]:
    return {"Fn::Join": ["", [bucket, f"/{pattern}"]]}


@pytest.fixture(scope="module")
def privacy(dev_app: SynthesizedApp) -> Template:
    stack = dev_app.data_stack.node.scope.node.find_child("CdpPrivacy-dev")  # type: ignore[union-attr]
    assert isinstance(stack, Stack)
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def functions(privacy: Template) -> dict[str, dict[str, Any]]:
    found = {fn["Properties"]["Handler"]: fn for fn in of_type(privacy, "AWS::Lambda::Function").values()}
    assert set(found) == {API_HANDLER, WORKER_HANDLER}
    return found


def by_sid(statements: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in statements if "Sid" in s}


# -- the API --------------------------------------------------------------------------------------------


def test_three_routes_each_iam_authorized_to_the_api_function(privacy: Template) -> None:
    routes = of_type(privacy, "AWS::ApiGatewayV2::Route")
    assert {r["Properties"]["RouteKey"] for r in routes.values()} == {
        "POST /v1/privacy/access",
        "POST /v1/privacy/erasure",
        "GET /v1/privacy/requests/{request_id}",
    }
    [integration_id] = of_type(privacy, "AWS::ApiGatewayV2::Integration")
    for route in routes.values():
        assert route["Properties"]["AuthorizationType"] == "AWS_IAM"
        assert route["Properties"]["Target"] == {"Fn::Join": ["", ["integrations/", {"Ref": integration_id}]]}
    integration = one(privacy, "AWS::ApiGatewayV2::Integration")["Properties"]
    assert integration["PayloadFormatVersion"] == "2.0"
    api_fn = logical_id(privacy, "AWS::Lambda::Function", "PrivacyRequests")
    assert integration["IntegrationUri"] == {"Fn::GetAtt": [api_fn, "Arn"]}
    assert one(privacy, "AWS::ApiGatewayV2::Api")["Properties"]["Name"] == "cdp-dev-privacy"


def test_the_stage_is_throttled_and_logs_who_called_never_the_body(privacy: Template) -> None:
    stage = one(privacy, "AWS::ApiGatewayV2::Stage")["Properties"]
    assert stage["DefaultRouteSettings"] == {"ThrottlingBurstLimit": 10, "ThrottlingRateLimit": 5}
    log_format = json.loads(stage["AccessLogSettings"]["Format"])
    assert log_format["caller"] == "$context.identity.userArn"
    assert not [v for v in log_format.values() if "body" in v.lower() or "querystring" in v.lower()]
    groups = {
        g["Properties"]["LogGroupName"]: g["Properties"]
        for g in of_type(privacy, "AWS::Logs::LogGroup").values()
    }
    assert set(groups) == {
        "/cdp/dev/api/privacy-access",
        "/cdp/dev/lambda/privacy-api",
        "/cdp/dev/lambda/privacy-worker",
    }
    assert all(group["KmsKeyId"] == KEY and group["RetentionInDays"] == 365 for group in groups.values())


def test_the_caller_policy_invokes_the_three_routes_and_nothing_else(privacy: Template) -> None:
    [policy] = of_type(privacy, "AWS::IAM::ManagedPolicy").values()
    assert policy["Properties"]["ManagedPolicyName"] == "cdp-dev-privacy-caller"
    [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    routes = sorted(json.dumps(r).split('"/$default/')[1].split('"')[0] for r in statement["Resource"])
    assert routes == ["GET/v1/privacy/requests/*", "POST/v1/privacy/access", "POST/v1/privacy/erasure"]


# -- the two functions ------------------------------------------------------------------------------------


def test_the_api_function_is_small_and_knows_only_the_bucket_and_the_worker(
    functions: dict[str, dict[str, Any]], privacy: Template
) -> None:
    api = functions[API_HANDLER]["Properties"]
    assert (api["MemorySize"], api["Timeout"], api["ReservedConcurrentExecutions"]) == (512, 10, 2)
    worker_id = logical_id(privacy, "AWS::Lambda::Function", "PrivacyWorker")
    variables = dict(api["Environment"]["Variables"])
    variables.pop("CDP_STAGE", None)  # every function's metrics dimension (infra.components.operations)
    assert variables == {
        "CDP_LAKE_BUCKET": LAKE_NAME,
        "CDP_PRIVACY_WORKER": {"Ref": worker_id},
        "POWERTOOLS_SERVICE_NAME": "cdp-privacy",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }  # no salt, no table, no zone: it reads none of them
    assert api["KmsKeyArn"] == KEY
    assert (api["Runtime"], api["Architectures"], api["TracingConfig"]) == (
        "python3.11",
        ["arm64"],
        {"Mode": "Active"},
    )


def test_the_worker_runs_one_request_at_a_time_for_up_to_15_minutes_with_its_dead_letters(
    functions: dict[str, dict[str, Any]], privacy: Template
) -> None:
    worker = functions[WORKER_HANDLER]["Properties"]
    assert (worker["MemorySize"], worker["Timeout"], worker["ReservedConcurrentExecutions"]) == (3008, 900, 1)
    assert worker["EphemeralStorage"] == {"Size": 2048}
    queue_id = logical_id(privacy, "AWS::SQS::Queue", "WorkerDeadLetters")
    assert worker["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [queue_id, "Arn"]}}
    queue = of_type(privacy, "AWS::SQS::Queue")[queue_id]["Properties"]
    assert (queue["KmsMasterKeyId"], queue["MessageRetentionPeriod"]) == (KEY, 14 * 24 * 3600)
    invoke = one(privacy, "AWS::Lambda::EventInvokeConfig")["Properties"]
    assert (invoke["MaximumRetryAttempts"], invoke["MaximumEventAgeInSeconds"]) == (2, 6 * 3600)
    variables = worker["Environment"]["Variables"]
    assert variables["CDP_LAKE_BUCKET"] == LAKE_NAME
    assert variables["CDP_PSEUDONYMIZED_ROOT"] == {"Fn::Join": ["", ["s3://", ZONE_NAME, "/pseudonymized"]]}
    assert variables["CDP_PROFILE_TABLE"] == TABLE
    assert variables["CDP_SALT_SECRET_ARN"] == SALT
    assert variables["CDP_SES_CONTACT_LISTS"] == "cdp-dev-audiences"
    # what the handler parses them into (references resolved to plausible values)
    settings = PrivacySettings.from_env(
        {
            "CDP_LAKE_BUCKET": "cdp-dev-lake",
            "CDP_PSEUDONYMIZED_ROOT": "s3://cdp-dev-zone/pseudonymized",
            "CDP_PROFILE_TABLE": "cdp-dev-profiles",
            "CDP_SES_CONTACT_LISTS": variables["CDP_SES_CONTACT_LISTS"],
            "CDP_SALT_SECRET_ARN": "arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:salt-AbCdEf",
        }
    )
    assert settings.ses_contact_lists == ("cdp-dev-audiences",)
    with pytest.raises(ValueError, match="6 hours"):
        PrivacyWorkerSizing(max_event_age_hours=12)


def test_both_functions_run_on_the_export_functions_asset(
    dev_app: SynthesizedApp, functions: dict[str, dict[str, Any]]
) -> None:
    export = template_json(dev_app.outdir / "CdpActivation-dev.template.json")
    [export_fn] = [r for r in export["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    keys = {fn["Properties"]["Code"]["S3Key"] for fn in functions.values()}
    assert keys == {export_fn["Properties"]["Code"]["S3Key"]}  # one ~140 MiB upload, not two


# -- the roles --------------------------------------------------------------------------------------------


def test_the_worker_role_is_written_out_statement_by_statement(privacy: Template) -> None:
    statements = by_sid(statements_of_role(privacy, "PrivacyWorkerFunctionRole"))
    rewrite = [
        "s3:AbortMultipartUpload",
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
        "s3:GetObject",
        "s3:PutObject",
    ]
    listing = ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketVersions"]
    expected = {
        "ListEveryFileAndVersionOfTheLake": (listing, LAKE_ARN),
        "ReadAndRewriteEveryFileOfTheLake": (rewrite, objects(LAKE_ARN, "*")),
        "EncryptAndDecryptTheLakeThroughS3": (["kms:Decrypt", "kms:GenerateDataKey"], KEY),
        "ListEveryFileAndVersionOfThePseudonymizedZone": (listing, ZONE_ARN),
        "ReadAndRewriteEveryFileOfThePseudonymizedZone": (rewrite, objects(ZONE_ARN, "*")),
        "EncryptAndDecryptThePseudonymizedZoneThroughS3": (["kms:Decrypt", "kms:GenerateDataKey"], ZONE_KEY),
        "ReadAndForgetTheLookupDocuments": (["dynamodb:BatchWriteItem", "dynamodb:GetItem"], None),
        "DecryptTheLookupTable": (["kms:Decrypt"], KEY),
        "ReadTheSalt": (["secretsmanager:GetSecretValue"], SALT),
        "DecryptTheSaltThroughSecretsManager": (["kms:Decrypt"], KEY),
        "DeleteThePersonsContacts": (["ses:DeleteContact"], None),
        "DeadLetterFailedRequests": (["sqs:SendMessage"], None),
        "EncryptDeadLetters": (["kms:Decrypt", "kms:GenerateDataKey"], KEY),
    }
    assert set(statements) == set(expected)
    for sid, (actions, resource) in expected.items():
        assert sorted(as_list(statements[sid]["Action"])) == actions, sid
        if resource is not None:
            assert statements[sid]["Resource"] == resource, sid
    for sid in ("EncryptAndDecryptTheLakeThroughS3", "EncryptAndDecryptThePseudonymizedZoneThroughS3"):
        assert statements[sid]["Condition"] == {"StringEquals": S3_VIA}
    assert (
        statements["DecryptTheSaltThroughSecretsManager"]["Condition"]["StringEquals"][
            "kms:EncryptionContext:SecretARN"
        ]
        == SALT
    )
    table = json.dumps(statements["ReadAndForgetTheLookupDocuments"]["Resource"])
    assert '":table/", {"Fn::ImportValue": "cdp-dev-profile-table-name"}' in table
    contacts = json.dumps(statements["DeleteThePersonsContacts"]["Resource"])
    assert contacts.endswith(':contact-list/cdp-dev-audiences"]]}')
    # nothing else: no IAM, no Lambda, no Glue, no other secret
    others = [s for s in statements_of_role(privacy, "PrivacyWorkerFunctionRole") if "Sid" not in s]
    assert {a for s in others for a in as_list(s["Action"])} == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    }


def test_the_contact_list_and_the_table_are_the_activation_and_serving_stacks(
    dev_app: SynthesizedApp,
) -> None:
    activation = template_json(dev_app.outdir / "CdpActivation-dev.template.json")
    assert activation["Outputs"]["ContactListName"]["Value"] == "cdp-dev-audiences"
    serving = template_json(dev_app.outdir / "CdpServing-dev.template.json")
    assert serving["Outputs"]["ProfileTableName"]["Export"] == {"Name": "cdp-dev-profile-table-name"}


def test_the_api_role_stores_requests_and_their_status_and_reads_no_personal_data(privacy: Template) -> None:
    statements = by_sid(statements_of_role(privacy, "PrivacyRequestsFunctionRole"))
    worker = logical_id(privacy, "AWS::Lambda::Function", "PrivacyWorker")
    assert {sid: (sorted(as_list(s["Action"])), s["Resource"]) for sid, s in statements.items()} == {
        "StoreRequests": (["s3:PutObject"], objects(LAKE_ARN, "privacy/requests/*/request.json")),
        "ReadAndWriteRequestStatus": (
            ["s3:GetObject", "s3:PutObject"],
            objects(LAKE_ARN, "privacy/requests/*/status.json"),
        ),
        "FindRequestStatus": (["s3:ListBucket"], LAKE_ARN),
        "EncryptAndDecryptRequestDocumentsThroughS3": (["kms:Decrypt", "kms:GenerateDataKey"], KEY),
        "HandRequestsToTheWorker": (["lambda:InvokeFunction"], {"Fn::GetAtt": [worker, "Arn"]}),
    }
    assert statements["FindRequestStatus"]["Condition"] == {
        "StringLike": {"s3:prefix": ["privacy/requests/*"]}
    }
    assert statements["EncryptAndDecryptRequestDocumentsThroughS3"]["Condition"] == {"StringEquals": S3_VIA}


# -- the retention schedule -------------------------------------------------------------------------------


def test_the_retention_schedule_invokes_the_worker_weekly_in_the_business_time_zone(
    privacy: Template,
) -> None:
    [schedule] = of_type(privacy, "AWS::Scheduler::Schedule").values()
    properties = schedule["Properties"]
    assert properties["Name"] == "cdp-dev-privacy-retention"
    assert (properties["ScheduleExpression"], properties["ScheduleExpressionTimezone"]) == (
        "cron(0 1 ? * SUN *)",  # Sundays at 01:00, before the pipeline's 02:00 run takes the lake lock
        "Asia/Bangkok",
    )
    assert (properties["State"], properties["KmsKeyArn"]) == ("ENABLED", KEY)
    target = properties["Target"]
    worker = logical_id(privacy, "AWS::Lambda::Function", "PrivacyWorker")
    assert target["Arn"] == {
        "Fn::GetAtt": [worker, "Arn"]
    }  # unqualified: Scheduler invokes it asynchronously
    assert json.loads(target["Input"]) == {"action": "retention"}
    assert isinstance(parse_job(json.loads(target["Input"])), RetentionJob)  # what the worker accepts
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 4 * 3600}
    queue = logical_id(privacy, "AWS::SQS::Queue", "RetentionDeadLetters")
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue, "Arn"]}}
    queue_properties = of_type(privacy, "AWS::SQS::Queue")[queue]["Properties"]
    assert queue_properties["QueueName"] == "cdp-dev-privacy-retention-dead-letters"
    assert (queue_properties["KmsMasterKeyId"], queue_properties["MessageRetentionPeriod"]) == (
        KEY,
        14 * 24 * 3600,
    )
    alarm = one(privacy, "AWS::CloudWatch::Alarm", "RetentionScheduleDeadLetters")["Properties"]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")
    assert alarm["AlarmActions"] == [{"Ref": logical_id(privacy, "AWS::SNS::Topic", "AlarmsTopic")}]


def test_the_scheduler_role_may_invoke_the_worker_and_nothing_else(privacy: Template) -> None:
    [schedule] = of_type(privacy, "AWS::Scheduler::Schedule").values()
    role_id = schedule["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
    role = of_type(privacy, "AWS::IAM::Role")[role_id]["Properties"]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    statements = statements_of_role(privacy, role_id)
    worker = logical_id(privacy, "AWS::Lambda::Function", "PrivacyWorker")
    queue = logical_id(privacy, "AWS::SQS::Queue", "RetentionDeadLetters")
    grants = {
        (action, json.dumps(resource))
        for s in statements
        for action in as_list(s["Action"])
        for resource in as_list(s["Resource"])
    }
    assert {g for g in grants if g[0].startswith("lambda:")} == {
        ("lambda:InvokeFunction", json.dumps({"Fn::GetAtt": [worker, "Arn"]}))  # not its versions (ARN:*)
    }
    assert grants - {g for g in grants if g[0].startswith("lambda:")} == {
        ("sqs:SendMessage", json.dumps({"Fn::GetAtt": [queue, "Arn"]})),  # its dead letters
        ("kms:GenerateDataKey", json.dumps(KEY)),  # through SQS only, for them
        ("kms:Decrypt", json.dumps(KEY)),  # and the schedule's encrypted target input
    }
    [through_sqs] = [s for s in statements if s.get("Sid") == "EncryptDeadLettersThroughSqs"]
    assert through_sqs["Condition"] == {
        "StringEquals": {
            "kms:ViaService": {"Fn::Join": ["", ["sqs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
        }
    }


def test_the_retention_schedule_follows_context_retention_schedule() -> None:
    def schedule(value: str) -> PipelineSchedule:
        return stage_config(App(context={"stage": "dev", "retentionSchedule": value}))[
            1
        ].privacy.retention_schedule

    assert stage_config(App())[1].privacy.retention_schedule == WEEKLY_RETENTION
    assert schedule("cron(30 4 ? * SAT *)") == PipelineSchedule(expression="cron(30 4 ? * SAT *)")
    assert schedule("04:30") == PipelineSchedule(
        expression="cron(30 4 * * ? *)"
    )  # daily, as for the pipeline
    assert schedule("rate(3 days)").expression == "rate(3 days)"
    assert schedule("off") == PipelineSchedule(enabled=False)
    for bad in ("SUN 03:00", "cron(0 3 * *)", "rate(0 days)", ""):
        with pytest.raises(ContextError, match="retentionSchedule"):
            schedule(bad)
    # the pipeline's schedule is its own key
    assert stage_config(App(context={"retentionSchedule": "off"}))[1].orchestration.schedule.enabled


def test_a_disabled_retention_schedule_is_deployed_disabled_in_the_stages_time_zone() -> None:
    app = App()
    stack = CdpPrivacyStack(
        app,
        "CdpPrivacy-dev",
        stage="dev",
        data=DataExports.for_stage("dev"),
        code=lambda_.Code.from_inline("def worker_handler(event, context): ..."),
        config=PrivacyConfig(retention_schedule=PipelineSchedule.parse("off")),
        time_zone="Asia/Tokyo",
        log_group_prefix="/cdp/dev/",
        log_retention=stage_config(App())[1].log_retention,
        alarm_email=None,
    )
    [schedule] = of_type(Template.from_stack(stack), "AWS::Scheduler::Schedule").values()
    assert (schedule["Properties"]["State"], schedule["Properties"]["ScheduleExpressionTimezone"]) == (
        "DISABLED",
        "Asia/Tokyo",
    )


# -- alarms, outputs, the app ------------------------------------------------------------------------------


def test_alarms_page_on_5xx_errors_throttles_dead_letters_and_waiting(privacy: Template) -> None:
    """(The 5xx and 4xx rates, metric math, are the platform-wide rule: tests/infra/test_operations.py.)"""
    topic = logical_id(privacy, "AWS::SNS::Topic", "AlarmsTopic")
    api_fn = logical_id(privacy, "AWS::Lambda::Function", "PrivacyRequests")
    worker_fn = logical_id(privacy, "AWS::Lambda::Function", "PrivacyWorker")
    queue = logical_id(privacy, "AWS::SQS::Queue", "WorkerDeadLetters")
    schedule_queue = logical_id(privacy, "AWS::SQS::Queue", "RetentionDeadLetters")
    watched = set()
    for alarm in of_type(privacy, "AWS::CloudWatch::Alarm").values():
        properties = alarm["Properties"]
        assert properties["AlarmActions"] == [{"Ref": topic}]
        assert properties["OKActions"] == [{"Ref": topic}]
        if "Metrics" in properties:
            continue
        [dimension] = properties["Dimensions"]
        watched.add((properties["MetricName"], json.dumps(dimension["Value"]), properties["Threshold"]))
    assert of_type(privacy, "AWS::SNS::Topic")[topic]["Properties"]["KmsMasterKeyId"] == KEY
    api = json.dumps({"Ref": logical_id(privacy, "AWS::ApiGatewayV2::Api", "PrivacyApi")})
    assert watched == {
        ("5xx", api, 1),
        ("Errors", json.dumps({"Ref": api_fn}), 1),
        ("Throttles", json.dumps({"Ref": api_fn}), 1),
        ("Errors", json.dumps({"Ref": worker_fn}), 1),
        ("Throttles", json.dumps({"Ref": worker_fn}), 1),
        ("ApproximateNumberOfMessagesVisible", json.dumps({"Fn::GetAtt": [queue, "QueueName"]}), 1),
        ("ApproximateNumberOfMessagesVisible", json.dumps({"Fn::GetAtt": [schedule_queue, "QueueName"]}), 1),
        ("AsyncEventAge", json.dumps({"Ref": worker_fn}), 60 * 60 * 1000),
    }


def test_the_stack_is_named_depends_on_the_data_and_serving_stacks_and_is_protected_in_prod(
    prod_cloud_assembly: Path, privacy: Template
) -> None:
    manifest = json.loads((prod_cloud_assembly / "manifest.json").read_text())
    stack = manifest["artifacts"]["CdpPrivacy-prod"]
    assert stack["properties"]["stackName"] == "cdp-prod-privacy"
    assert stack["properties"]["terminationProtection"] is True
    assert {"CdpData-prod", "CdpServing-prod"} <= set(stack["dependencies"])
    outputs = privacy.to_json()["Outputs"]
    assert {
        "PrivacyApiUrl",
        "PrivacyCallerPolicyArn",
        "PrivacyWorkerFunctionName",
        "RetentionScheduleName",
        "AlarmTopicArn",
    } <= set(outputs)
