"""The activation stack: the export function and its least-privilege role, the destinations it owns (SES
contact list and configuration set, SNS topic, SQS queue, EventBridge bus), the dead-letter queue, alarms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Template

from cdp.activation.config import DESTINATIONS_PATH, SUPPRESSION_PATH, ActivationSettings
from cdp.segments.definition import DEFINITIONS_DIR
from cdp.tables import DELIVERIES, PROFILES, SEGMENT_MEMBERSHIPS
from infra.components.activation import HANDLER, ActivationConfig, EmailTopic
from infra.stacks.activation import CdpActivationStack
from infra.stacks.data import DataExports
from tests.infra.conftest import (
    KEY,
    LAKE_ARN,
    ROOT,
    SynthesizedApp,
    as_list,
    lake_object_grants,
    logical_id,
    of_type,
    one,
    statements_of_role,
)


@pytest.fixture(scope="module")
def activation(dev_app: SynthesizedApp) -> Template:
    stack = dev_app.data_stack.node.scope.node.find_child("CdpActivation-dev")  # type: ignore[union-attr]
    assert isinstance(stack, Stack)
    return Template.from_stack(stack)


def by_action(statements: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for statement in statements:
        for action in as_list(statement["Action"]):
            found.setdefault(action, []).append(statement)
    return found


def joined(value: Any) -> str:
    """An ``Fn::Join`` as text: strings kept, ``{Ref: AWS::Region}`` shown as ``<AWS::Region>``."""
    parts = value["Fn::Join"][1]
    return "".join(p if isinstance(p, str) else f"<{p.get('Ref', json.dumps(p))}>" for p in parts)


def test_the_export_function_runs_the_shared_handler_on_arm64_with_its_settings(activation: Template) -> None:
    function = one(activation, "AWS::Lambda::Function")["Properties"]
    assert (function["Handler"], function["Runtime"], function["Architectures"]) == (
        HANDLER,
        "python3.11",
        ["arm64"],
    )
    assert (function["Timeout"], function["MemorySize"], function["ReservedConcurrentExecutions"]) == (
        900,
        2048,
        4,
    )
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert function["KmsKeyArn"] == KEY
    variables = function["Environment"]["Variables"]
    dead_letters = logical_id(activation, "AWS::SQS::Queue", "ExportDeadLetters")
    assert variables["CDP_LAKE_BUCKET"] == {"Fn::ImportValue": "cdp-dev-lake-bucket-name"}
    assert variables["CDP_DEAD_LETTER_QUEUE_URL"] == {"Ref": dead_letters}
    resolved = {
        "CDP_LAKE_BUCKET": "cdp-dev-lake",
        "CDP_DEAD_LETTER_QUEUE_URL": "https://sqs.ap-southeast-1.amazonaws.com/123456789012/cdp-dev-export-dead-letters",
    }
    settings = ActivationSettings.from_env(resolved)  # what the cold start will parse
    assert settings.lake_uri == "s3://cdp-dev-lake"


def test_the_role_may_reach_each_destination_with_exactly_the_calls_the_adapters_make(
    activation: Template,
) -> None:
    statements = statements_of_role(activation, "ExportFunctionRole")
    actions = by_action(statements)
    assert set(actions) == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "ses:CreateContact",
        "ses:UpdateContact",
        "ses:GetContact",
        "ses:GetContactList",
        "sns:Publish",
        "events:PutEvents",
        "sqs:SendMessage",
        "s3:ListBucket",
        "s3:GetBucketLocation",
        "s3:GetObject",
        "s3:PutObject",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }  # no ses:DeleteContact (exits opt out; deleting is erasure's), no SMS without an identity
    for action in ("ses:CreateContact", "ses:UpdateContact", "ses:GetContact", "ses:GetContactList"):
        [statement] = actions[action]
        assert joined(statement["Resource"]).endswith(":contact-list/cdp-dev-audiences")
    topic = logical_id(activation, "AWS::SNS::Topic", "SegmentChanges")
    assert [s["Resource"] for s in actions["sns:Publish"]] == [{"Ref": topic}]
    bus = logical_id(activation, "AWS::Events::EventBus", "Bus")
    assert [s["Resource"] for s in actions["events:PutEvents"]] == [{"Fn::GetAtt": [bus, "Arn"]}]
    queue = logical_id(activation, "AWS::SQS::Queue", "SegmentChangesQueue")
    dead_letters = logical_id(activation, "AWS::SQS::Queue", "ExportDeadLetters")
    [send] = actions["sqs:SendMessage"]
    assert send["Resource"] == [{"Fn::GetAtt": [queue, "Arn"]}, {"Fn::GetAtt": [dead_letters, "Arn"]}]

    assert lake_object_grants(statements) == {
        f"{PROFILES.prefix}/": {"s3:GetObject"},
        f"{SEGMENT_MEMBERSHIPS.prefix}/": {"s3:GetObject"},
        f"{DEFINITIONS_DIR}/": {"s3:GetObject"},
        f"{DELIVERIES.prefix}/": {"s3:GetObject"},
        DESTINATIONS_PATH: {"s3:GetObject"},
        SUPPRESSION_PATH: {"s3:GetObject"},
        "exports/": {"s3:PutObject"},
    }  # not profiles/pseudonymized/ nor traits, nothing written outside exports/
    assert [s["Resource"] for s in actions["s3:ListBucket"]] == [LAKE_ARN]
    for statement in actions["kms:Decrypt"] + actions["kms:GenerateDataKey"]:
        assert statement["Resource"] == KEY
        services = as_list(statement["Condition"]["StringEquals"]["kms:ViaService"])
        assert {joined(s).split(".")[0] for s in services} <= {"s3", "sns", "sqs"}


def test_sms_is_allowed_only_from_the_configured_origination_identities(tmp_path: Path) -> None:
    identity = "arn:aws:sms-voice:ap-southeast-1:123456789012:phone-number/phone-0123456789abcdef"
    app = App(outdir=str(tmp_path))
    stack = CdpActivationStack(
        app,
        "Activation",
        stage="test",
        data=DataExports.for_stage("test"),
        export_code=lambda_.Code.from_inline("def lambda_handler(event, context): return {}"),
        config=ActivationConfig(sms_origination_identities=(identity,)),
        log_group_prefix="/cdp/test/",
        log_retention=logs.RetentionDays.ONE_WEEK,
        alarm_email=None,
    )
    statements = statements_of_role(Template.from_stack(stack), "ExportFunctionRole")
    [sms] = by_action(statements)["sms-voice:SendTextMessage"]
    assert sms["Resource"] == identity


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            lambda: ActivationConfig(
                email_topics=tuple(EmailTopic(name=f"t{i}", display_name="T") for i in range(21))
            ),
            "20 topics",
        ),
        (lambda: ActivationConfig(sms_origination_identities=("+66819753042",)), "origination identity ARN"),
    ],
)
def test_the_activation_config_refuses_what_aws_would(config: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config()


def test_queues_and_topic_are_encrypted_with_the_data_key_and_tls_only(activation: Template) -> None:
    queues = of_type(activation, "AWS::SQS::Queue")
    assert len(queues) == 3
    for queue in queues.values():
        assert queue["Properties"]["KmsMasterKeyId"] == KEY
    dead_letters = one(activation, "AWS::SQS::Queue", "ExportDeadLetters")["Properties"]
    assert (dead_letters["QueueName"], dead_letters["MessageRetentionPeriod"]) == (
        "cdp-dev-export-dead-letters",
        14 * 86400,
    )
    changes = one(activation, "AWS::SQS::Queue", "SegmentChangesQueue")["Properties"]
    redrive = logical_id(activation, "AWS::SQS::Queue", "SegmentChangesRedrive")
    assert changes["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [redrive, "Arn"]},
        "maxReceiveCount": 5,
    }
    for policy in of_type(activation, "AWS::SQS::QueuePolicy").values():
        [deny] = policy["Properties"]["PolicyDocument"]["Statement"]
        assert deny["Effect"] == "Deny"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    for topic in of_type(activation, "AWS::SNS::Topic").values():
        assert topic["Properties"]["KmsMasterKeyId"] == KEY
    names = {t["Properties"].get("TopicName") for t in of_type(activation, "AWS::SNS::Topic").values()}
    assert "cdp-dev-segment-changes" in names


def test_the_segments_bus_has_its_own_rotating_key_and_no_archive(activation: Template) -> None:
    bus = one(activation, "AWS::Events::EventBus")["Properties"]
    key = logical_id(activation, "AWS::KMS::Key", "BusKey")
    assert bus["Name"] == "cdp-dev-segments"
    assert bus["KmsKeyIdentifier"] == {"Fn::GetAtt": [key, "Arn"]}
    assert of_type(activation, "AWS::Events::Archive") == {}  # erasure must reach every copy (SPEC 9)
    properties = one(activation, "AWS::KMS::Key")["Properties"]
    assert properties["EnableKeyRotation"] is True
    [service] = [
        s
        for s in properties["KeyPolicy"]["Statement"]
        if s["Principal"] == {"Service": "events.amazonaws.com"}
    ]
    assert sorted(as_list(service["Action"])) == ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"]
    conditions = service["Condition"]["StringEquals"]
    assert joined(conditions["aws:SourceArn"]).endswith(":event-bus/cdp-dev-segments")
    assert joined(conditions["kms:EncryptionContext:aws:events:event-bus:arn"]).endswith(
        ":event-bus/cdp-dev-segments"
    )


def test_ses_contact_list_topics_opt_out_by_default_and_the_configuration_set_requires_tls(
    activation: Template,
) -> None:
    contact_list = one(activation, "AWS::SES::ContactList")["Properties"]
    assert contact_list["ContactListName"] == "cdp-dev-audiences"
    assert contact_list["Topics"] == [
        {
            "TopicName": "offers",
            "DisplayName": "Offers and news",
            "Description": "Segment-driven campaigns",
            "DefaultSubscriptionStatus": "OPT_OUT",
        }
    ]
    configuration_set = one(activation, "AWS::SES::ConfigurationSet")["Properties"]
    assert configuration_set["Name"] == "cdp-dev-marketing"
    assert configuration_set["DeliveryOptions"] == {"TlsPolicy": "REQUIRE"}
    assert configuration_set["SuppressionOptions"] == {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]}
    assert configuration_set["ReputationOptions"] == {"ReputationMetricsEnabled": True}


def test_alarms_page_on_dead_letters_errors_and_throttles(activation: Template) -> None:
    topic = logical_id(activation, "AWS::SNS::Topic", "AlarmsTopic")
    function = logical_id(activation, "AWS::Lambda::Function", "ExportFunction")
    watched = set()
    for alarm in of_type(activation, "AWS::CloudWatch::Alarm").values():
        properties = alarm["Properties"]
        assert properties["AlarmActions"] == [{"Ref": topic}]
        assert properties["OKActions"] == [{"Ref": topic}]
        assert (properties["Threshold"], properties["Period"]) == (1, 300)
        [dimension] = properties["Dimensions"]
        value = dimension["Value"]
        watched.add((properties["MetricName"], value.get("Ref") or value["Fn::GetAtt"][0]))
    assert watched == {
        (
            "ApproximateNumberOfMessagesVisible",
            logical_id(activation, "AWS::SQS::Queue", "ExportDeadLetters"),
        ),
        (
            "ApproximateNumberOfMessagesVisible",
            logical_id(activation, "AWS::SQS::Queue", "SegmentChangesRedrive"),
        ),
        ("Errors", function),
        ("Throttles", function),
    }


def test_the_stack_holds_what_it_should_and_exports_the_function_name(activation: Template) -> None:
    counts = {
        kind: len(of_type(activation, kind))
        for kind in (
            "AWS::Lambda::Function",
            "AWS::IAM::Role",
            "AWS::SQS::Queue",
            "AWS::SNS::Topic",
            "AWS::Events::EventBus",
            "AWS::KMS::Key",
            "AWS::SES::ContactList",
            "AWS::SES::ConfigurationSet",
            "AWS::CloudWatch::Alarm",
            "AWS::Logs::LogGroup",
        )
    }
    assert counts == {
        "AWS::Lambda::Function": 1,
        "AWS::IAM::Role": 1,
        "AWS::SQS::Queue": 3,
        "AWS::SNS::Topic": 2,
        "AWS::Events::EventBus": 1,
        "AWS::KMS::Key": 1,
        "AWS::SES::ContactList": 1,
        "AWS::SES::ConfigurationSet": 1,
        "AWS::CloudWatch::Alarm": 4,
        "AWS::Logs::LogGroup": 1,
    }
    assert not of_type(activation, "AWS::Pinpoint::App")  # End User Messaging, never Amazon Pinpoint
    outputs = activation.to_json()["Outputs"]
    [exported] = [
        o for o in outputs.values() if o.get("Export", {}).get("Name") == "cdp-dev-export-function-name"
    ]
    assert exported["Value"] == {"Ref": logical_id(activation, "AWS::Lambda::Function", "ExportFunction")}


def test_the_export_asset_holds_what_the_handler_imports(lambda_asset: Path) -> None:
    asset = ROOT / "build" / "lambda" / "export"
    assert (asset / "lambdas" / "export" / "handler.py").is_file()
    assert (asset / "cdp" / "activation" / "service.py").is_file()
    top = {p.name for p in asset.iterdir() if not p.name.endswith(".dist-info")}
    assert {"cdp", "aws_lambda_powertools", "pydantic", "orjson", "yaml", "pyarrow", "phonenumbers"} <= top
    assert not top & {"boto3", "botocore", "duckdb", "typer", "rich", "sqlglot", "pandas"}
    assert all("x86_64" not in p.name for p in asset.rglob("*.so"))
    size = sum(p.stat().st_size for p in asset.rglob("*") if p.is_file())
    assert size < 250 * 2**20  # Lambda's unzipped limit
