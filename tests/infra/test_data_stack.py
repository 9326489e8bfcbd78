"""The stateful stack: every store encrypted with the CMK, private, TLS-only, retained; lifecycle per zone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Match

from cdp.adapters.aws_dynamodb_keys import PARTITION_KEY, SORT_KEY
from cdp.lake import ZONES
from infra.components.lake import LakeRetention
from tests.infra.conftest import SynthesizedApp, logical_id, of_type, one

DAY = 1


def the_key_ref(app: SynthesizedApp) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id(app.data, "AWS::KMS::Key", "DataKey"), "Arn"]}


def the_zone_key_ref(app: SynthesizedApp) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id(app.data, "AWS::KMS::Key", "PseudonymizedZoneKey"), "Arn"]}


def is_lake(bucket: dict[str, Any]) -> bool:
    """The lake is the bucket whose access logs go under ``lake/`` (the zone's: ``pseudonymized/``)."""
    return bool(bucket["Properties"].get("LoggingConfiguration", {}).get("LogFilePrefix") == "lake/")


def lake_bucket(app: SynthesizedApp) -> dict[str, Any]:
    [bucket] = [b for b in of_type(app.data, "AWS::S3::Bucket").values() if is_lake(b)]
    return bucket


def rules_by_prefix(bucket: dict[str, Any]) -> dict[str | None, dict[str, Any]]:
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    return {rule.get("Prefix"): rule for rule in rules}


def test_the_keys_rotate_and_survive_stack_deletion(dev_app: SynthesizedApp) -> None:
    keys = of_type(dev_app.data, "AWS::KMS::Key")
    assert len(keys) == 2  # the lake's and the pseudonymized zone's
    for key in keys.values():
        assert {
            k: key["Properties"][k]
            for k in ("EnableKeyRotation", "RotationPeriodInDays", "PendingWindowInDays")
        } == {
            "EnableKeyRotation": True,
            "RotationPeriodInDays": 365,
            "PendingWindowInDays": 30,
        }
        assert (key["DeletionPolicy"], key["UpdateReplacePolicy"]) == ("Retain", "Retain")
    aliases = {a["Properties"]["AliasName"] for a in of_type(dev_app.data, "AWS::KMS::Alias").values()}
    assert aliases == {"alias/cdp-dev-data", "alias/cdp-dev-pseudonymized"}


def test_the_key_policy_admits_only_the_named_services_on_conditions(dev_app: SynthesizedApp) -> None:
    key = one(dev_app.data, "AWS::KMS::Key", "DataKey")
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    services = [s for s in statements if "Service" in s["Principal"]]
    # CloudWatch Logs (regional), CloudWatch alarms, S3 server access logging, the stage's EventBridge rules:
    # once each, all conditioned
    assert sorted(s["Sid"] for s in services) == [
        "CloudWatchAlarmsPublishToTheEncryptedAlarmTopic",
        "CloudWatchLogsEncryptsThePlatformLogGroups",
        "EventBridgeRulesDeliverToEncryptedTargets",
        "S3ServerAccessLoggingWritesEncryptedLogs",
    ]
    for statement in services:
        assert "Condition" in statement
        assert not any("*" in action for action in statement["Action"])
    logs = next(s for s in services if s["Sid"].startswith("CloudWatchLogs"))
    assert "/cdp/dev/*" in json.dumps(logs["Condition"])
    [account] = [s for s in statements if "Service" not in s["Principal"]]
    assert ":root" in json.dumps(account["Principal"])  # the account, so IAM policies can grant narrowly


def test_every_bucket_is_kms_encrypted_with_the_cmk_private_and_versioned(dev_app: SynthesizedApp) -> None:
    buckets = of_type(dev_app.data, "AWS::S3::Bucket")
    assert len(buckets) == 3  # the lake, its access logs, the pseudonymized zone
    for bucket_id, bucket in buckets.items():
        properties = bucket["Properties"]
        [encryption] = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        zone = "PseudonymizedZone" in bucket_id
        assert encryption["ServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": the_zone_key_ref(dev_app) if zone else the_key_ref(dev_app),
        }
        assert encryption["BucketKeyEnabled"] is True
        assert properties["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
        assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
        assert bucket["DeletionPolicy"] == "Retain"


def test_every_bucket_refuses_plain_http_and_old_tls(dev_app: SynthesizedApp) -> None:
    policies = of_type(dev_app.data, "AWS::S3::BucketPolicy")
    assert len(policies) == 3
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        denies = [s for s in statements if s["Effect"] == "Deny" and s["Principal"] == {"AWS": "*"}]
        assert {"Bool": {"aws:SecureTransport": "false"}} in [s["Condition"] for s in denies]
        assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in [s["Condition"] for s in denies]


def test_the_lake_logs_its_access_into_the_log_bucket(dev_app: SynthesizedApp) -> None:
    buckets = of_type(dev_app.data, "AWS::S3::Bucket")
    [lake_id] = [i for i, b in buckets.items() if is_lake(b)]
    [log_bucket_id] = [i for i, b in buckets.items() if "LoggingConfiguration" not in b["Properties"]]
    logging = buckets[lake_id]["Properties"]["LoggingConfiguration"]
    assert logging == {"DestinationBucketName": {"Ref": log_bucket_id}, "LogFilePrefix": "lake/"}
    [log_policy] = [
        p
        for p in of_type(dev_app.data, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": log_bucket_id}
    ]
    [delivery] = [
        s
        for s in log_policy["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow" and s.get("Sid") == "ServerAccessLogsOfTheLake"
    ]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Action"] == "s3:PutObject"
    assert delivery["Condition"]["ArnLike"] == {"aws:SourceArn": {"Fn::GetAtt": [lake_id, "Arn"]}}
    assert delivery["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}


def test_every_zone_has_its_lifecycle_and_erasure_is_final_within_a_week(dev_app: SynthesizedApp) -> None:
    rules = rules_by_prefix(lake_bucket(dev_app))
    whole_lake = rules[None]
    assert whole_lake["NoncurrentVersionExpiration"] == {"NoncurrentDays": 7 * DAY}
    assert whole_lake["ExpiredObjectDeleteMarker"] is True
    assert whole_lake["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert rules["raw/events/"]["Transitions"] == [{"StorageClass": "STANDARD_IA", "TransitionInDays": 30}]
    assert rules["raw/events/"]["ExpirationInDays"] == 90  # dev; prod keeps 400 days
    assert "ExpirationInDays" not in rules["raw/imports/"]  # originals change only by erasure
    assert rules["quarantine/"]["ExpirationInDays"] == 30
    assert rules["landing/"]["ExpirationInDays"] == 30
    assert rules["exports/"]["ExpirationInDays"] == 30
    for zone in ("clean/", "identity/", "profiles/", "segments/", "privacy/", "pseudonymized/"):
        assert zone not in rules  # pipeline-managed snapshots and the erasure log
    assert set(rules) - {None} <= {f"{zone}/" for zone in ZONES}


def test_prod_keeps_raw_events_longer(prod_cloud_assembly: Path) -> None:
    template = json.loads((prod_cloud_assembly / "CdpData-prod.template.json").read_text())
    [lake] = [r for r in template["Resources"].values() if r["Type"] == "AWS::S3::Bucket" and is_lake(r)]
    assert rules_by_prefix(lake)["raw/events/"]["ExpirationInDays"] == 400


def test_no_object_lock_anywhere_so_erasure_stays_possible(dev_app: SynthesizedApp) -> None:
    for bucket in of_type(dev_app.data, "AWS::S3::Bucket").values():
        assert "ObjectLockEnabled" not in bucket["Properties"]


def test_the_write_key_table_matches_the_adapter_and_is_protected(dev_app: SynthesizedApp) -> None:
    dev_app.data.has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": {
                "KeySchema": [
                    {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
                ],
                "BillingMode": "PAY_PER_REQUEST",
                "SSESpecification": {
                    "SSEEnabled": True,
                    "SSEType": "KMS",
                    "KMSMasterKeyId": the_key_ref(dev_app),
                },
                "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                "DeletionProtectionEnabled": True,
            },
            "DeletionPolicy": "Retain",
        },
    )


def test_the_data_stack_publishes_named_exports(dev_app: SynthesizedApp) -> None:
    outputs = dev_app.data.find_outputs("*")
    exports = {output["Export"]["Name"] for output in outputs.values() if "Export" in output}
    assert exports == {
        "cdp-dev-lake-bucket-name",
        "cdp-dev-lake-bucket-arn",
        "cdp-dev-data-key-arn",
        "cdp-dev-write-key-table-name",
        "cdp-dev-write-key-table-arn",
        "cdp-dev-salt-secret-arn",
        "cdp-dev-pseudonymized-bucket-name",
        "cdp-dev-pseudonymized-bucket-arn",
        "cdp-dev-pseudonymized-key-arn",
    }
    dev_app.data.has_output("WriteKeyTableName", {"Value": {"Ref": Match.any_value()}})


def test_termination_protection_is_on_for_prod_only(
    dev_app: SynthesizedApp, prod_cloud_assembly: Path
) -> None:
    assert dev_app.data_stack.termination_protection is False
    manifest = json.loads((prod_cloud_assembly / "manifest.json").read_text())
    for stack in ("CdpData-prod", "CdpIngestion-prod"):
        assert manifest["artifacts"][stack]["properties"]["terminationProtection"] is True


# -- the pseudonymized zone ------------------------------------------------------------------------------


def zone_bucket(app: SynthesizedApp) -> tuple[str, dict[str, Any]]:
    [(bucket_id, bucket)] = [
        (i, b) for i, b in of_type(app.data, "AWS::S3::Bucket").items() if "PseudonymizedZone" in i
    ]
    return bucket_id, bucket


def test_the_zone_has_its_own_key_and_its_access_logs_go_to_the_lakes_log_bucket(
    dev_app: SynthesizedApp,
) -> None:
    bucket_id, bucket = zone_bucket(dev_app)
    properties = bucket["Properties"]
    [encryption] = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == the_zone_key_ref(dev_app)
    assert the_zone_key_ref(dev_app) != the_key_ref(dev_app)
    buckets = of_type(dev_app.data, "AWS::S3::Bucket")
    [log_bucket_id] = [i for i, b in buckets.items() if "LoggingConfiguration" not in b["Properties"]]
    assert properties["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": log_bucket_id},
        "LogFilePrefix": "pseudonymized/",
    }
    [log_policy] = [
        p
        for p in of_type(dev_app.data, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": log_bucket_id}
    ]
    [delivery] = [
        s
        for s in log_policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "ServerAccessLogsOfThePseudonymizedZone"
    ]
    assert delivery["Condition"]["ArnLike"] == {"aws:SourceArn": {"Fn::GetAtt": [bucket_id, "Arn"]}}
    assert delivery["Resource"] == {
        "Fn::Join": ["", [{"Fn::GetAtt": [log_bucket_id, "Arn"]}, "/pseudonymized/*"]]
    }
    # the lake's erasure window for replaced versions, no expiry of current objects (the pipeline's)
    [rule] = properties["LifecycleConfiguration"]["Rules"]
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 7 * DAY}
    assert "ExpirationInDays" not in rule
    assert (bucket["DeletionPolicy"], "ObjectLockEnabled" in properties) == ("Retain", False)


def test_the_zone_refuses_objects_under_any_other_key(dev_app: SynthesizedApp) -> None:
    bucket_id, _ = zone_bucket(dev_app)
    [policy] = [
        p
        for p in of_type(dev_app.data, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    statements = {s.get("Sid"): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    other_key = statements["OnlyTheZoneKeyEncryptsItsObjects"]
    assert (other_key["Effect"], other_key["Principal"], other_key["Action"]) == (
        "Deny",
        {"AWS": "*"},
        "s3:PutObject",
    )
    assert other_key["Condition"] == {
        "StringNotEqualsIfExists": {
            "s3:x-amz-server-side-encryption-aws-kms-key-id": the_zone_key_ref(dev_app)
        }
    }
    not_kms = statements["OnlySseKmsForItsObjects"]
    assert not_kms["Effect"] == "Deny"
    assert not_kms["Condition"] == {"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}}
    outputs = dev_app.data.find_outputs("PseudonymizedRoot")
    assert outputs["PseudonymizedRoot"]["Value"] == {
        "Fn::Join": ["", ["s3://", {"Ref": bucket_id}, "/pseudonymized"]]
    }


def test_retention_refuses_what_s3_lifecycle_cannot_do() -> None:
    assert LakeRetention().quarantine_days == 30  # the default the deploy guide states
    for bad in ({"quarantine_days": 0}, {"landing_days": 0}, {"noncurrent_version_days": 0}):
        with pytest.raises(ValueError, match="one day at the earliest"):
            LakeRetention(**bad)
