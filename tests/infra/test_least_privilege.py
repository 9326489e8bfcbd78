"""Who can read personal data, proven from every synthesized template of the app (SPEC 4, 9).

Every IAM policy statement of every stack is read back and evaluated against *probe* objects: one key in
each place of the lake that holds plaintext personal data (uploads, raw events and imports, quarantine, the
clean events, identity records and import rows, the identity edges, the profiles and their traits, the
privacy zone's requests and journals). A role that may ``s3:GetObject`` a probe (any wildcard the statement
uses is honoured) reads raw personal data; the set of those roles must be exactly :data:`PII_READERS`, the
documented list (``docs/deploy.md``, "Who can read personal data"), and the analyst policy is never in it.

Then the keys: who may decrypt with the lake's key, and how (a key grant alone reads nothing, but an
unconditioned one would let any read grant elsewhere work); who may read the pseudonymized zone; and the
analysts' exact prefixes. Last, every key is customer-managed with rotation, and every bucket, queue, topic,
table, log group, secret, stream, bus and function environment is encrypted with one of them.
"""

from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest

from tests.infra.conftest import SynthesizedApp, as_list, template_json

LAKE_ARN = {"Fn::ImportValue": "cdp-dev-lake-bucket-arn"}
ZONE_ARN = {"Fn::ImportValue": "cdp-dev-pseudonymized-bucket-arn"}
LAKE_KEY = {"Fn::ImportValue": "cdp-dev-data-key-arn"}
ZONE_KEY = {"Fn::ImportValue": "cdp-dev-pseudonymized-key-arn"}

#: one object in every place of the lake that holds plaintext personal data
PII_PROBES = (
    "landing/crm/customers.csv",
    "raw/events/dt=2026-03-01/cdp-dev-events-1-2026-03-01-00-00-00-abc.gz",
    "raw/imports/crm/i-1/customers.csv",
    "quarantine/events/dt=2026-03-01/part.gz",
    "quarantine/imports/source=crm/import_id=i-1/rows.jsonl",
    "clean/events/run_id=r1/part-0.parquet",
    "clean/identity_records/run_id=r1/part-0.parquet",
    "clean/import_rows/source=crm/import_id=i-1/rows.parquet",
    "identity/edges/run_id=r1/part-0.parquet",
    "profiles/profiles/run_id=r1/part-0.parquet",
    "profiles/traits/run_id=r1/part-0.parquet",
    "privacy/requests/r1/request.json",
    "privacy/requests/r1/access.json",
    "privacy/erasures/r1/journal.json",
    "privacy/suppression.jsonl",
)

#: (stack, role) → why it reads personal data: the documented list, every one a role of one function or job
PII_READERS = {
    ("CdpIngestion-dev", "EventsDeliveryDeliveryRole"): "Firehose delivers accepted events to raw/events/",
    (
        "CdpIngestion-dev",
        "QuarantineDeliveryDeliveryRole",
    ): "Firehose delivers rejected events to quarantine/",
    ("CdpPipeline-dev", "BatchImportFunctionRole"): "imports uploads: landing/ → raw/imports/",
    ("CdpPipeline-dev", "BatchImportImportJobJobRole"): "the same import, for large files, on Glue",
    ("CdpPipeline-dev", "StandardizeJobRole"): "raw events and import rows → clean tables",
    ("CdpPipeline-dev", "ResolveIdentitiesJobRole"): "identity records → links, edges, history",
    ("CdpPipeline-dev", "BuildProfilesJobRole"): "clean tables → profiles, traits, pseudonymized",
    ("CdpPipeline-dev", "EvaluateSegmentsJobRole"): "profiles, traits, events → memberships",
    ("CdpServing-dev", "LoaderFunctionRole"): "profiles and traits → the lookup table",
    ("CdpActivation-dev", "ExportFunctionRole"): "contacts of segment members, the suppression list",
    ("CdpPrivacy-dev", "PrivacyWorkerFunctionRole"): "access requests and erasure: every zone",
}
#: the analysts' tables that live in the lake: ids and order lines, no personal data (docs/analysts.md)
ANALYST_LAKE_PREFIXES = {"clean/orders/", "identity/links/", "identity/history/", "segments/memberships/"}
ANALYST_ZONE_PREFIXES = {"pseudonymized/profiles/"}
#: who may read the pseudonymized zone: its writer, the analysts, and erasure
ZONE_READERS = {
    ("CdpPipeline-dev", "BuildProfilesJobRole"),
    ("CdpAnalytics-dev", "cdp-dev-analyst"),
    ("CdpPrivacy-dev", "PrivacyWorkerFunctionRole"),
}
#: resources that hold data and may rely on an AWS-owned key, each with why that is acceptable
AWS_OWNED_KEY_EXCEPTIONS = {
    ("CdpOrchestration-dev", "AWS::StepFunctions::StateMachine"): (
        "the pipeline state machine's execution history holds run ids, segment ids and step reports "
        "(counts), never a person's data: the steps pass names of snapshots, not rows"
    ),
}
#: actions that read a store (a key grant is only dangerous together with one of these)
READS = ("s3:GetObject*", "dynamodb:Get*", "dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchGet*",
         "sqs:ReceiveMessage", "secretsmanager:GetSecretValue", "firehose:*")  # fmt: skip


@dataclass(frozen=True)
class Grant:
    stack: str
    principal: str  # a role's logical id without CDK's hash, or a managed policy's name
    statement: dict[str, Any]

    @property
    def actions(self) -> list[str]:
        return [str(a) for a in as_list(self.statement["Action"])]

    def allows(self, action: str) -> bool:
        return self.statement["Effect"] == "Allow" and any(
            fnmatch.fnmatchcase(action.lower(), a.lower()) for a in self.actions
        )

    def object_patterns(self, bucket: dict[str, Any]) -> list[str]:
        """Key patterns of ``bucket``'s objects the statement names (``*`` for a bare ``*`` resource)."""
        patterns = []
        for resource in as_list(self.statement["Resource"]):
            if resource == "*":
                patterns.append("*")
            join = resource.get("Fn::Join") if isinstance(resource, dict) else None
            if join and join[1][0] == bucket:
                patterns.append("".join(part if isinstance(part, str) else "?" for part in join[1][1:])[1:])
        return patterns

    def reads_object(self, bucket: dict[str, Any], key: str) -> bool:
        return self.allows("s3:GetObject") and any(
            fnmatch.fnmatchcase(key, pattern) for pattern in self.object_patterns(bucket)
        )

    def reads_a_store(self) -> bool:
        """Whether the statement allows any action that reads data (:data:`READS`)."""
        return self.statement["Effect"] == "Allow" and any(
            fnmatch.fnmatchcase(mine.lower(), read.lower()) or fnmatch.fnmatchcase(read.lower(), mine.lower())
            for mine in self.actions
            for read in READS
        )

    def on_key(self, key: dict[str, Any]) -> bool:
        """Whether the statement allows a KMS action on ``key`` (named, or ``*``)."""
        return any(a.lower().startswith("kms:") or a == "*" for a in self.actions) and any(
            resource in (key, "*") for resource in as_list(self.statement["Resource"])
        )


def _principals(logical_id: str, resource: dict[str, Any]) -> list[str]:
    properties = resource["Properties"]
    if resource["Type"] == "AWS::IAM::ManagedPolicy":
        return [properties.get("ManagedPolicyName") or logical_id]
    return [re.sub(r"[0-9A-F]{8}$", "", role["Ref"]) for role in properties.get("Roles", [])]


@pytest.fixture(scope="module")
def grants(dev_app: SynthesizedApp) -> list[Grant]:
    found = []
    for path in dev_app.template_files():
        stack = path.name.removesuffix(".template.json")
        for logical_id, resource in template_json(path)["Resources"].items():
            if resource["Type"] == "AWS::IAM::Role":
                for policy in resource["Properties"].get("Policies", []):  # inline policies, if any
                    for statement in policy["PolicyDocument"]["Statement"]:
                        found.append(Grant(stack, re.sub(r"[0-9A-F]{8}$", "", logical_id), statement))
            if resource["Type"] not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                continue
            for principal in _principals(logical_id, resource):
                for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                    found.append(Grant(stack, principal, statement))
    assert len({(g.stack, g.principal) for g in found}) > 15  # every stack's roles were read
    return found


def test_exactly_the_documented_roles_can_read_raw_personal_data(grants: list[Grant]) -> None:
    readers: dict[tuple[str, str], set[str]] = {}
    for grant in grants:
        for probe in PII_PROBES:
            if grant.reads_object(LAKE_ARN, probe):
                readers.setdefault((grant.stack, grant.principal), set()).add(probe.split("/")[0])
    assert set(readers) == set(PII_READERS), "update PII_READERS and docs/deploy.md together"
    assert ("CdpAnalytics-dev", "cdp-dev-analyst") not in readers
    # the privacy worker is the one role that reaches every zone; no other role sees privacy/
    assert readers[("CdpPrivacy-dev", "PrivacyWorkerFunctionRole")] == {p.split("/")[0] for p in PII_PROBES}
    privacy_readers: dict[tuple[str, str], set[str]] = {}
    for grant in grants:
        for probe in PII_PROBES:
            if probe.startswith("privacy/") and grant.reads_object(LAKE_ARN, probe):
                privacy_readers.setdefault((grant.stack, grant.principal), set()).add(probe)
    assert privacy_readers == {
        ("CdpPrivacy-dev", "PrivacyWorkerFunctionRole"): {p for p in PII_PROBES if p.startswith("privacy/")},
        ("CdpActivation-dev", "ExportFunctionRole"): {
            "privacy/suppression.jsonl"
        },  # the suppression list only
    }


def test_the_documented_list_is_in_the_deploy_guide() -> None:
    from pathlib import Path

    guide = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text()
    section = guide.split("## Who can read personal data", 1)[1].split("\n## ", 1)[0]
    for _stack, role in PII_READERS:
        assert f"`{role}`" in section, role


def test_the_analyst_policy_reads_its_zone_prefix_and_four_non_personal_lake_tables(
    grants: list[Grant],
) -> None:
    analyst = [g for g in grants if g.principal == "cdp-dev-analyst"]
    lake_reads = {p for g in analyst if g.allows("s3:GetObject") for p in g.object_patterns(LAKE_ARN)}
    zone_reads = {p for g in analyst if g.allows("s3:GetObject") for p in g.object_patterns(ZONE_ARN)}
    assert lake_reads == {f"{prefix}*" for prefix in ANALYST_LAKE_PREFIXES}
    assert zone_reads == {f"{prefix}*" for prefix in ANALYST_ZONE_PREFIXES}
    assert not any(
        g.allows("s3:PutObject") for g in analyst if g.object_patterns(LAKE_ARN) + g.object_patterns(ZONE_ARN)
    )
    # the zone key: decrypt and encrypt (results), through S3 only
    [zone_key] = [g for g in analyst if g.on_key(ZONE_KEY)]
    assert sorted(zone_key.actions) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert "kms:ViaService" in json.dumps(zone_key.statement["Condition"]["StringEquals"])
    # the lake key: decrypt only, through S3 only, for the lake's encryption context (the bucket, with S3
    # bucket keys) or the four tables' objects: the trade-off docs/analysts.md states
    [lake_key] = [g for g in analyst if g.on_key(LAKE_KEY)]
    assert lake_key.actions == ["kms:Decrypt"]
    condition = lake_key.statement["Condition"]
    assert "kms:ViaService" in json.dumps(condition["StringEquals"])
    contexts = as_list(condition["StringLike"]["kms:EncryptionContext:aws:s3:arn"])
    assert contexts[0] == LAKE_ARN
    objects = Grant("", "", {"Action": "s3:GetObject", "Effect": "Allow", "Resource": contexts[1:]})
    assert set(objects.object_patterns(LAKE_ARN)) == {f"{prefix}*" for prefix in ANALYST_LAKE_PREFIXES}


def test_only_its_writer_the_analysts_and_erasure_read_the_pseudonymized_zone(grants: list[Grant]) -> None:
    probe = "pseudonymized/profiles/run_id=r1/part-0.parquet"
    readers = {(g.stack, g.principal) for g in grants if g.reads_object(ZONE_ARN, probe)}
    assert readers == ZONE_READERS
    key_users = {(g.stack, g.principal) for g in grants if g.on_key(ZONE_KEY) and g.allows("kms:Decrypt")}
    assert key_users == ZONE_READERS
    for grant in grants:
        if grant.on_key(ZONE_KEY):
            assert "kms:ViaService" in json.dumps(grant.statement.get("Condition", {})), grant


def test_no_lake_key_decrypt_opens_a_store_by_itself(grants: list[Grant]) -> None:
    """Every kms:Decrypt on the lake key goes through a named service, or belongs to a role that reads no
    store at all (EventBridge Scheduler's role, which only starts the state machine)."""
    holders = [g for g in grants if g.on_key(LAKE_KEY) and g.allows("kms:Decrypt")]
    assert holders
    for grant in holders:
        if "kms:ViaService" in json.dumps(grant.statement.get("Condition", {})):
            continue
        same_role = [g for g in grants if (g.stack, g.principal) == (grant.stack, grant.principal)]
        assert not [g for g in same_role if g.reads_a_store()], grant


def test_the_lake_bucket_policy_grants_nothing(dev_app: SynthesizedApp) -> None:
    template = dev_app.data.to_json()
    for policy in (r for r in template["Resources"].values() if r["Type"] == "AWS::S3::BucketPolicy"):
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Allow":  # only the logging service, into the access-log bucket
                assert statement["Principal"] == {"Service": "logging.s3.amazonaws.com"}
                assert statement["Action"] == "s3:PutObject"


# -- keys and encryption ---------------------------------------------------------------------------------

_KEY_OF = {
    "AWS::S3::Bucket": lambda p: p["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
        "ServerSideEncryptionByDefault"
    ].get("KMSMasterKeyID"),
    "AWS::SQS::Queue": lambda p: p.get("KmsMasterKeyId"),
    "AWS::SNS::Topic": lambda p: p.get("KmsMasterKeyId"),
    "AWS::DynamoDB::Table": lambda p: p.get("SSESpecification", {}).get("KMSMasterKeyId"),
    "AWS::Logs::LogGroup": lambda p: p.get("KmsKeyId"),
    "AWS::SecretsManager::Secret": lambda p: p.get("KmsKeyId"),
    "AWS::KinesisFirehose::DeliveryStream": lambda p: p.get(
        "DeliveryStreamEncryptionConfigurationInput", {}
    ).get("KeyARN"),
    "AWS::Events::EventBus": lambda p: p.get("KmsKeyIdentifier"),
    "AWS::Lambda::Function": lambda p: p.get("KmsKeyArn"),
    "AWS::StepFunctions::StateMachine": lambda p: p.get("EncryptionConfiguration", {}).get("KmsKeyId"),
}


def test_every_key_is_customer_managed_and_rotates(dev_app: SynthesizedApp) -> None:
    keys = [
        (path.name, logical_id, resource)
        for path in dev_app.template_files()
        for logical_id, resource in template_json(path)["Resources"].items()
        if resource["Type"] == "AWS::KMS::Key"
    ]
    # the lake's, the pseudonymized zone's, the segment bus's
    assert {(name, re.sub(r"[0-9A-F]{8}$", "", i)) for name, i, _ in keys} == {
        ("CdpData-dev.template.json", "DataKey"),
        ("CdpData-dev.template.json", "PseudonymizedZoneKey"),
        ("CdpActivation-dev.template.json", "DestinationsBusKey"),
    }
    for _name, _id, key in keys:
        assert key["Properties"]["EnableKeyRotation"] is True
        assert key["Properties"].get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"


def test_every_store_and_channel_is_encrypted_with_a_customer_managed_key(dev_app: SynthesizedApp) -> None:
    own_keys = [LAKE_KEY, ZONE_KEY]
    checked = 0
    for path in dev_app.template_files():
        stack = path.name.removesuffix(".template.json")
        resources = template_json(path)["Resources"]
        local_keys = [
            {"Fn::GetAtt": [i, "Arn"]} for i, r in resources.items() if r["Type"] == "AWS::KMS::Key"
        ]
        for logical_id, resource in resources.items():
            if resource["Type"] not in _KEY_OF:
                continue
            key = _KEY_OF[resource["Type"]](resource.get("Properties", {}))
            if key is None and (stack, resource["Type"]) in AWS_OWNED_KEY_EXCEPTIONS:
                continue
            assert key in [*own_keys, *local_keys], f"{stack} {logical_id} ({resource['Type']}): {key}"
            checked += 1
    assert checked > 40
    for reason in AWS_OWNED_KEY_EXCEPTIONS.values():
        assert len(reason) > 40
