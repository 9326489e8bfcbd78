"""The serving stack: profile table, IAM-authorized lookup API, its loader, least privilege, alarms."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk.assertions import Template

from cdp.adapters.aws_dynamodb_profiles import PARTITION_KEY, SORT_KEY
from cdp.lookup_wiring import LookupSettings
from cdp.tables import PROFILE_TRAITS, PROFILES, SEGMENT_MEMBERSHIPS
from infra.components.profile_lookup import HANDLER, LOADER_HANDLER
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
def serving(dev_app: SynthesizedApp) -> Template:
    stack = dev_app.data_stack.node.scope.node.find_child("CdpServing-dev")  # type: ignore[union-attr]
    assert isinstance(stack, Stack)
    return Template.from_stack(stack)


def function(template: Template, handler: str) -> dict[str, Any]:
    [found] = [
        f
        for f in of_type(template, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == handler
    ]
    return found


def by_action(statements: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for statement in statements:
        for action in as_list(statement["Action"]):
            found.setdefault(action, []).append(statement)
    return found


def test_the_table_is_on_demand_encrypted_with_the_data_key_and_recoverable(serving: Template) -> None:
    table = one(serving, "AWS::DynamoDB::Table")
    properties = table["Properties"]
    assert properties["KeySchema"] == [
        {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
    ]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["SSESpecification"] == {"KMSMasterKeyId": KEY, "SSEEnabled": True, "SSEType": "KMS"}
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert "GlobalSecondaryIndexes" not in properties  # the lookup role's Query is on the table only
    assert table["DeletionPolicy"] == "Delete"  # derived data: the loader rebuilds it from the lake


def test_both_routes_are_get_only_and_iam_authorized(serving: Template) -> None:
    routes = of_type(serving, "AWS::ApiGatewayV2::Route").values()
    assert sorted(r["Properties"]["RouteKey"] for r in routes) == [
        "GET /v1/profiles",
        "GET /v1/profiles/{profile_id}",
    ]
    assert {r["Properties"]["AuthorizationType"] for r in routes} == {"AWS_IAM"}
    serving.has_resource_properties(
        "AWS::ApiGatewayV2::Integration", {"IntegrationType": "AWS_PROXY", "PayloadFormatVersion": "2.0"}
    )
    api = one(serving, "AWS::ApiGatewayV2::Api")["Properties"]
    assert api["ProtocolType"] == "HTTP"
    assert "CorsConfiguration" not in api  # signed server-to-server calls, no browsers


def test_the_stage_throttles_and_logs_the_caller_but_never_the_query(serving: Template) -> None:
    stage = one(serving, "AWS::ApiGatewayV2::Stage")["Properties"]
    assert stage["StageName"] == "$default"
    assert stage["DefaultRouteSettings"] == {"ThrottlingRateLimit": 50, "ThrottlingBurstLimit": 100}
    access_logs = logical_id(serving, "AWS::Logs::LogGroup", "AccessLogs")
    assert stage["AccessLogSettings"]["DestinationArn"] == {"Fn::GetAtt": [access_logs, "Arn"]}
    fields = json.loads(stage["AccessLogSettings"]["Format"])
    assert fields["caller"] == "$context.identity.userArn"
    assert {"requestId", "routeKey", "status", "integrationError"} <= set(fields)
    assert not any("query" in value.lower() or "path" in value.lower() for value in fields.values())
    for group in of_type(serving, "AWS::Logs::LogGroup").values():
        assert group["Properties"]["KmsKeyId"] == KEY
        assert group["Properties"]["RetentionInDays"] == 365


def test_the_lookup_function_is_the_shared_handler_and_reads_only_its_table(serving: Template) -> None:
    properties = function(serving, HANDLER)["Properties"]
    assert (properties["Runtime"], properties["Architectures"], properties["Timeout"]) == (
        "python3.11",
        ["arm64"],
        10,
    )
    assert properties["ReservedConcurrentExecutions"] == 10
    assert properties["TracingConfig"] == {"Mode": "Active"}
    assert properties["KmsKeyArn"] == KEY
    table = logical_id(serving, "AWS::DynamoDB::Table", "Profiles")
    variables = properties["Environment"]["Variables"]
    assert variables["CDP_PROFILE_TABLE"] == {"Ref": table}
    resolved = {
        name: value if isinstance(value, str) else "cdp-dev-profiles" for name, value in variables.items()
    }
    settings = LookupSettings.from_env(resolved)  # what the cold start will parse
    assert (settings.profile_store, settings.profile_table, settings.phone_region) == (
        "dynamodb",
        "cdp-dev-profiles",
        "TH",
    )

    statements = statements_of_role(serving, "LookupFunctionRole")
    actions = by_action(statements)
    assert set(actions) == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "dynamodb:GetItem",
        "dynamodb:Query",
        "kms:Decrypt",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    for action in ("dynamodb:GetItem", "dynamodb:Query"):
        [statement] = actions[action]
        assert statement["Resource"] == {"Fn::GetAtt": [table, "Arn"]}  # the table, no index, no other table
    [decrypt] = actions["kms:Decrypt"]
    assert decrypt["Resource"] == KEY
    assert decrypt["Condition"] == {
        "StringEquals": {
            "kms:ViaService": {"Fn::Join": ["", ["dynamodb.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
        }
    }


def test_callers_need_the_caller_policy_which_allows_exactly_the_two_routes(serving: Template) -> None:
    [policy] = of_type(serving, "AWS::IAM::ManagedPolicy").values()
    [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    api = logical_id(serving, "AWS::ApiGatewayV2::Api", "LookupApi")
    suffixes = [part["Fn::Join"][1][-1] for part in statement["Resource"]]
    assert suffixes == ["/$default/GET/v1/profiles", "/$default/GET/v1/profiles/*"]
    assert all({"Ref": api} in part["Fn::Join"][1] for part in statement["Resource"])


def test_the_loader_reads_three_lake_prefixes_and_replaces_only_the_table(serving: Template) -> None:
    properties = function(serving, LOADER_HANDLER)["Properties"]
    assert (
        properties["Architectures"],
        properties["Timeout"],
        properties["ReservedConcurrentExecutions"],
    ) == (
        ["arm64"],
        900,
        1,
    )
    assert properties["EphemeralStorage"] == {"Size": 4096}
    variables = properties["Environment"]["Variables"]
    assert variables["CDP_LAKE_BUCKET"] == {"Fn::ImportValue": "cdp-dev-lake-bucket-name"}

    statements = statements_of_role(serving, "LoaderFunctionRole")
    actions = by_action(statements)
    assert set(actions) == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "dynamodb:BatchGetItem",
        "dynamodb:BatchWriteItem",
        "dynamodb:Scan",
        "kms:Decrypt",
        "s3:GetBucketLocation",
        "s3:ListBucket",
        "s3:GetObject",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
    table = logical_id(serving, "AWS::DynamoDB::Table", "Profiles")
    for action in ("dynamodb:BatchGetItem", "dynamodb:BatchWriteItem", "dynamodb:Scan"):
        assert [s["Resource"] for s in actions[action]] == [{"Fn::GetAtt": [table, "Arn"]}]
    assert lake_object_grants(statements) == {
        f"{PROFILES.prefix}/": {"s3:GetObject"},
        f"{PROFILE_TRAITS.prefix}/": {"s3:GetObject"},
        f"{SEGMENT_MEMBERSHIPS.prefix}/": {"s3:GetObject"},
    }  # not profiles/pseudonymized/, nothing written to the lake
    assert [s["Resource"] for s in actions["s3:ListBucket"]] == [LAKE_ARN]
    services = sorted(
        json.dumps(s["Condition"]["StringEquals"]["kms:ViaService"]) for s in actions["kms:Decrypt"]
    )
    assert len(services) == 2
    assert '"dynamodb."' in services[0]
    assert '"s3."' in services[1]


def test_alarms_page_on_5xx_errors_and_throttles(serving: Template) -> None:
    topic = logical_id(serving, "AWS::SNS::Topic", "Alarms")
    assert one(serving, "AWS::SNS::Topic")["Properties"]["KmsMasterKeyId"] == KEY
    lookup = logical_id(serving, "AWS::Lambda::Function", "LookupFunction")
    loader = logical_id(serving, "AWS::Lambda::Function", "LoaderFunction")
    api = logical_id(serving, "AWS::ApiGatewayV2::Api", "LookupApi")
    table = logical_id(serving, "AWS::DynamoDB::Table", "Profiles")
    watched = set()
    for alarm in of_type(serving, "AWS::CloudWatch::Alarm").values():
        properties = alarm["Properties"]
        assert properties["AlarmActions"] == [{"Ref": topic}]
        assert properties["OKActions"] == [{"Ref": topic}]
        if "Metrics" in properties:  # the 5xx and 4xx rates: metric math (tests/infra/test_operations.py)
            continue
        assert properties["Period"] == 300
        [dimension] = properties["Dimensions"]
        watched.add((properties["Namespace"], properties["MetricName"], dimension["Value"]["Ref"]))
    assert watched == {
        ("AWS/ApiGateway", "5xx", api),
        ("AWS/Lambda", "Errors", lookup),
        ("AWS/Lambda", "Throttles", lookup),
        ("AWS/DynamoDB", "ReadThrottleEvents", table),
        ("AWS/Lambda", "Errors", loader),
        ("AWS/Lambda", "Throttles", loader),
    }


def test_the_stack_holds_what_it_should_and_exports_the_loader(serving: Template) -> None:
    counts = {
        kind: len(of_type(serving, kind))
        for kind in (
            "AWS::DynamoDB::Table",
            "AWS::Lambda::Function",
            "AWS::ApiGatewayV2::Route",
            "AWS::CloudWatch::Alarm",
            "AWS::IAM::Role",
        )
    }
    assert counts == {
        "AWS::DynamoDB::Table": 1,
        "AWS::Lambda::Function": 2,
        "AWS::ApiGatewayV2::Route": 2,
        "AWS::CloudWatch::Alarm": 8,
        "AWS::IAM::Role": 2,
    }
    outputs = serving.to_json()["Outputs"]
    [loader_output] = [
        o
        for o in outputs.values()
        if o.get("Export", {}).get("Name") == "cdp-dev-lookup-loader-function-name"
    ]
    assert loader_output["Value"] == {"Ref": logical_id(serving, "AWS::Lambda::Function", "LoaderFunction")}


def test_the_lookup_assets_hold_what_each_function_imports(lambda_asset: Path) -> None:
    lookup = ROOT / "build" / "lambda" / "lookup"
    loader = ROOT / "build" / "lambda" / "lookup-loader"
    for asset, handler in ((lookup, "lookup"), (loader, "lookup_loader")):
        assert (asset / "lambdas" / handler / "handler.py").is_file()
        top = {p.name for p in asset.iterdir() if not p.name.endswith(".dist-info")}
        assert {
            "cdp",
            "aws_lambda_powertools",
            "pydantic",
            "orjson",
            "phonenumbers",
            "email_validator",
        } <= top
        assert not top & {"boto3", "botocore", "duckdb", "typer", "sqlglot"}
        assert (asset / "phonenumbers" / "data").is_dir()
        assert not (asset / "phonenumbers" / "geodata").exists()  # 40 MB nothing here reads
        assert all("x86_64" not in p.name for p in asset.rglob("*.so"))
    assert not (lookup / "pyarrow").exists()  # the API's cold start stays small
    assert (loader / "pyarrow").is_dir()
    size = sum(p.stat().st_size for p in lookup.rglob("*") if p.is_file())
    assert size < 20 * 2**20
