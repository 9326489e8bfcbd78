"""The ingestion stack: the routes, throttling, the function, least-privilege IAM, Firehose, alarms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk.assertions import Match

from cdp.adapters.aws_firehose_sink import PARTITION_QUERY, delivery_prefix
from cdp.ingestion.service import CALLS
from cdp.lake import QUARANTINE_EVENTS, RAW_EVENTS
from cdp.settings import IngestionSettings
from infra.components.ingestion_api import HANDLER
from tests.infra.conftest import SynthesizedApp, of_type

KEY = {"Fn::ImportValue": "cdp-dev-data-key-arn"}
LAKE_ARN = {"Fn::ImportValue": "cdp-dev-lake-bucket-arn"}


def logical_id(app: SynthesizedApp, resource_type: str, contains: str) -> str:
    [found] = [i for i in of_type(app.ingestion, resource_type) if contains in i]
    return found


def function(app: SynthesizedApp) -> dict[str, Any]:
    [found] = of_type(app.ingestion, "AWS::Lambda::Function").values()
    return found


def statements_of_role(app: SynthesizedApp, role_contains: str) -> list[dict[str, Any]]:
    role_id = logical_id(app, "AWS::IAM::Role", role_contains)
    policies = [
        p
        for p in of_type(app.ingestion, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
    ]
    return [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_one_post_route_per_segment_call_and_alias(dev_app: SynthesizedApp) -> None:
    routes = of_type(dev_app.ingestion, "AWS::ApiGatewayV2::Route")
    assert sorted(r["Properties"]["RouteKey"] for r in routes.values()) == sorted(
        f"POST /v1/{call}" for call in CALLS
    )
    assert len(routes) == 14
    [integration_id] = of_type(dev_app.ingestion, "AWS::ApiGatewayV2::Integration")
    for route in routes.values():
        assert route["Properties"]["Target"] == {"Fn::Join": ["", ["integrations/", {"Ref": integration_id}]]}
    dev_app.ingestion.has_resource_properties(
        "AWS::ApiGatewayV2::Integration",
        {"IntegrationType": "AWS_PROXY", "PayloadFormatVersion": "2.0"},
    )


def test_the_stage_throttles_and_logs_access_to_an_encrypted_group(dev_app: SynthesizedApp) -> None:
    access_logs = logical_id(dev_app, "AWS::Logs::LogGroup", "AccessLogs")
    [stage] = of_type(dev_app.ingestion, "AWS::ApiGatewayV2::Stage").values()
    properties = stage["Properties"]
    assert properties["StageName"] == "$default"
    assert properties["DefaultRouteSettings"] == {"ThrottlingRateLimit": 100, "ThrottlingBurstLimit": 200}
    assert properties["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": [access_logs, "Arn"]}
    fields = json.loads(properties["AccessLogSettings"]["Format"])
    assert {"requestId", "routeKey", "status", "sourceIp", "integrationError"} <= set(fields)
    assert not any("authorization" in value.lower() for value in fields.values())  # carries the write key


def test_prod_throttles_at_its_own_rate(prod_cloud_assembly: Path) -> None:
    template = json.loads((prod_cloud_assembly / "CdpIngestion-prod.template.json").read_text())
    [stage] = [r for r in template["Resources"].values() if r["Type"] == "AWS::ApiGatewayV2::Stage"]
    assert stage["Properties"]["DefaultRouteSettings"] == {
        "ThrottlingRateLimit": 2000,
        "ThrottlingBurstLimit": 5000,
    }
    [fn] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
    assert fn["Properties"]["ReservedConcurrentExecutions"] == 100


def test_the_function_is_the_shared_handler_on_arm64_python_311(dev_app: SynthesizedApp) -> None:
    dlq = logical_id(dev_app, "AWS::SQS::Queue", "DeadLetters")
    logs = logical_id(dev_app, "AWS::Logs::LogGroup", "FunctionLogs")
    dev_app.ingestion.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Handler": HANDLER,
            "Runtime": "python3.11",
            "Architectures": ["arm64"],
            "ReservedConcurrentExecutions": 5,
            "Timeout": 10,
            "KmsKeyArn": KEY,
            "DeadLetterConfig": {"TargetArn": {"Fn::GetAtt": [dlq, "Arn"]}},
            "TracingConfig": {"Mode": "Active"},
            "LoggingConfig": {"LogGroup": {"Ref": logs}},
        },
    )


def test_the_function_environment_is_what_the_settings_parse(dev_app: SynthesizedApp) -> None:
    variables = function(dev_app)["Properties"]["Environment"]["Variables"]
    events = logical_id(dev_app, "AWS::KinesisFirehose::DeliveryStream", "EventsDelivery")
    quarantine = logical_id(dev_app, "AWS::KinesisFirehose::DeliveryStream", "QuarantineDelivery")
    assert variables["CDP_FIREHOSE_EVENTS_STREAM"] == {"Ref": events}
    assert variables["CDP_FIREHOSE_QUARANTINE_STREAM"] == {"Ref": quarantine}
    assert variables["CDP_KEY_TABLE"] == {"Fn::ImportValue": "cdp-dev-write-key-table-name"}
    # what the handler's cold start will see, with CloudFormation's references resolved to names
    resolved = {
        name: value if isinstance(value, str) else f"resolved-{name}" for name, value in variables.items()
    }
    settings = IngestionSettings.from_env(resolved)
    assert (settings.sink, settings.key_store, settings.time_zone) == ("firehose", "dynamodb", "Asia/Bangkok")
    assert settings.firehose_events_stream == "resolved-CDP_FIREHOSE_EVENTS_STREAM"
    assert settings.key_table == "resolved-CDP_KEY_TABLE"


def test_the_function_may_only_put_to_its_streams_and_read_key_hashes(dev_app: SynthesizedApp) -> None:
    statements = statements_of_role(dev_app, "FunctionRole")
    by_action = {action: s for s in statements for action in as_list(s["Action"])}
    assert set(by_action) == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "firehose:PutRecordBatch",
        "dynamodb:GetItem",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "sqs:SendMessage",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    events = logical_id(dev_app, "AWS::KinesisFirehose::DeliveryStream", "EventsDelivery")
    quarantine = logical_id(dev_app, "AWS::KinesisFirehose::DeliveryStream", "QuarantineDelivery")
    assert by_action["firehose:PutRecordBatch"]["Resource"] == [
        {"Fn::GetAtt": [events, "Arn"]},
        {"Fn::GetAtt": [quarantine, "Arn"]},
    ]
    table_arn = json.dumps(by_action["dynamodb:GetItem"]["Resource"])
    assert ":table/" in table_arn
    assert "cdp-dev-write-key-table-name" in table_arn
    kms_statements = [s for s in statements if "kms:Decrypt" in as_list(s["Action"])]
    assert len(kms_statements) == 2
    for statement in kms_statements:
        assert statement["Resource"] == KEY
        assert "kms:ViaService" in statement["Condition"]["StringEquals"]
    assert not any(action.startswith("s3:") for action in by_action)  # Firehose is its only way into the lake


def test_no_policy_in_the_app_has_wildcard_actions_or_unexplained_star_resources(
    dev_app: SynthesizedApp,
) -> None:
    for template in (dev_app.data, dev_app.ingestion):
        for policy in of_type(template, "AWS::IAM::Policy").values():
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                actions = as_list(statement["Action"])
                assert not any("*" in action for action in actions), statement
                if statement["Resource"] == "*":
                    # X-Ray has no resource-level permissions (acknowledged with the reason in the app)
                    assert set(actions) == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def test_each_delivery_stream_partitions_compresses_and_encrypts(dev_app: SynthesizedApp) -> None:
    for construct, zone in (("EventsDelivery", RAW_EVENTS), ("QuarantineDelivery", QUARANTINE_EVENTS)):
        role = logical_id(dev_app, "AWS::IAM::Role", f"{construct}DeliveryRole")
        stream = of_type(dev_app.ingestion, "AWS::KinesisFirehose::DeliveryStream")[
            logical_id(dev_app, "AWS::KinesisFirehose::DeliveryStream", construct)
        ]
        properties = stream["Properties"]
        assert properties["DeliveryStreamType"] == "DirectPut"
        assert properties["DeliveryStreamEncryptionConfigurationInput"] == {
            "KeyType": "CUSTOMER_MANAGED_CMK",
            "KeyARN": KEY,
        }
        destination = properties["ExtendedS3DestinationConfiguration"]
        assert destination["BucketARN"] == LAKE_ARN
        assert destination["RoleARN"] == {"Fn::GetAtt": [role, "Arn"]}
        assert destination["Prefix"] == delivery_prefix(zone)
        assert destination["ErrorOutputPrefix"].startswith("quarantine/delivery-errors/")
        assert "!{firehose:error-output-type}" in destination["ErrorOutputPrefix"]
        assert destination["CompressionFormat"] == "GZIP"
        assert destination["EncryptionConfiguration"] == {"KMSEncryptionConfig": {"AWSKMSKeyARN": KEY}}
        assert destination["DynamicPartitioningConfiguration"]["Enabled"] is True
        assert destination["BufferingHints"]["SizeInMBs"] >= 64  # Firehose's minimum with partitioning
        assert destination["CustomTimeZone"] == "Asia/Bangkok"
        [processor] = destination["ProcessingConfiguration"]["Processors"]
        assert processor["Type"] == "MetadataExtraction"
        assert {"ParameterName": "MetadataExtractionQuery", "ParameterValue": PARTITION_QUERY} in processor[
            "Parameters"
        ]
        assert destination["CloudWatchLoggingOptions"]["Enabled"] is True


def test_each_delivery_role_writes_only_its_zone_of_the_lake(dev_app: SynthesizedApp) -> None:
    for construct, stream, zone in (
        ("EventsDelivery", "cdp-dev-events", RAW_EVENTS),
        ("QuarantineDelivery", "cdp-dev-quarantine", QUARANTINE_EVENTS),
    ):
        statements = {s["Sid"]: s for s in statements_of_role(dev_app, f"{construct}DeliveryRole")}
        assert set(statements) == {
            "FindTheLakeBucket",
            "WriteOnlyItsZoneAndErrorPrefix",
            "EncryptLakeObjectsThroughS3",
            "ReportDeliveryErrors",
        }
        assert statements["FindTheLakeBucket"]["Resource"] == LAKE_ARN
        writes = statements["WriteOnlyItsZoneAndErrorPrefix"]
        assert sorted(writes["Action"]) == ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"]
        assert {(r["Fn::Join"][1][0] == LAKE_ARN, r["Fn::Join"][1][1]) for r in writes["Resource"]} == {
            (True, f"/{zone}/*"),
            (True, f"/quarantine/delivery-errors/{stream}/*"),
        }
        assert statements["EncryptLakeObjectsThroughS3"]["Resource"] == KEY
        assert "kms:ViaService" in statements["EncryptLakeObjectsThroughS3"]["Condition"]["StringEquals"]


def test_every_queue_topic_and_log_group_is_encrypted_with_the_cmk(dev_app: SynthesizedApp) -> None:
    dev_app.ingestion.has_resource_properties("AWS::SQS::Queue", {"KmsMasterKeyId": KEY})
    dev_app.ingestion.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": KEY})
    log_groups = of_type(dev_app.ingestion, "AWS::Logs::LogGroup")
    assert len(log_groups) == 4  # function, API access, two delivery streams
    for group in log_groups.values():
        assert group["Properties"]["KmsKeyId"] == KEY
        assert group["Properties"]["RetentionInDays"] == 365
        assert group["Properties"]["LogGroupName"].startswith("/cdp/dev/")


def test_the_dead_letter_queue_and_the_path_are_alarmed(dev_app: SynthesizedApp) -> None:
    topic = logical_id(dev_app, "AWS::SNS::Topic", "Topic")
    dlq = logical_id(dev_app, "AWS::SQS::Queue", "DeadLetters")
    alarms = of_type(dev_app.ingestion, "AWS::CloudWatch::Alarm")
    # the 5xx and 4xx rate alarms are metric math (tests/infra/test_operations.py reads them)
    by_metric = {
        a["Properties"]["MetricName"]: a["Properties"]
        for a in alarms.values()
        if "MetricName" in a["Properties"]
    }
    assert set(by_metric) == {
        "ApproximateNumberOfMessagesVisible",
        "Errors",
        "Throttles",
        "5xx",
        "DeliveryToS3.DataFreshness",
    }
    assert len(alarms) == 8  # freshness for both streams, 5xx and 4xx rates
    dead_letters = by_metric["ApproximateNumberOfMessagesVisible"]
    assert dead_letters["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq, "QueueName"]}}]
    assert (dead_letters["Threshold"], dead_letters["ComparisonOperator"]) == (
        1,
        "GreaterThanOrEqualToThreshold",
    )
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic}]
        assert alarm["Properties"]["TreatMissingData"] == "notBreaching"


def test_the_outputs_tell_a_platform_team_where_to_point_sdks(dev_app: SynthesizedApp) -> None:
    dev_app.ingestion.has_output("IngestApiUrl", {"Value": Match.any_value()})
    dev_app.ingestion.has_output("AlarmTopicArn", {"Value": Match.any_value()})
