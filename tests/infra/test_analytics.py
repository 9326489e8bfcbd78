"""The analytics stack: a Glue table per lake table with the contracts' columns, the workgroup's guard rails,
the analyst views as named queries that run locally, and an analyst policy that reaches no plaintext PII."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

import cdp.tables
from cdp.ingestion.records import RAW_EVENT_COLUMNS
from cdp.lake import LocalLake
from cdp.query.catalog import athena_to_duckdb, connect, run_query
from cdp.query.glue_tables import ANALYST_TABLES, LEDGER_TABLES
from cdp.query.views import ANALYST_VIEWS
from cdp.tables import UTC_TIME, LakeTable
from infra.app import ContextError, stage_config
from tests.analytics_data import build_analytics_lake
from tests.infra.conftest import KEY, LAKE_ARN, LAKE_NAME, as_list, of_type, one

ZONE_NAME = {"Fn::ImportValue": "cdp-dev-pseudonymized-bucket-name"}
ZONE_ARN = {"Fn::ImportValue": "cdp-dev-pseudonymized-bucket-arn"}
ZONE_KEY = {"Fn::ImportValue": "cdp-dev-pseudonymized-key-arn"}

GIB = 1024**3
#: the Athena type of each Arrow type the contracts use: the oracle the generated columns are checked against
ATHENA_TYPES = {
    pa.string(): "string",
    pa.int64(): "bigint",
    pa.int32(): "int",
    pa.float64(): "double",
    pa.bool_(): "boolean",
    UTC_TIME: "timestamp",
    pa.list_(pa.string()): "array<string>",
}
LAKE_TABLES = [value for value in vars(cdp.tables).values() if isinstance(value, LakeTable)]


def rendered(value: Any) -> str:
    """A ``Fn::Join`` of literals and the lake's imported name, as text (``<lake>`` for the bucket)."""
    if isinstance(value, str):
        return value
    if value == LAKE_NAME:
        return "<lake>"
    if value == ZONE_NAME:
        return "<zone>"
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(rendered(part) for part in parts)
    return json.dumps(value)


def tables_by_name(analytics: Template) -> dict[str, dict[str, Any]]:
    return {
        table["Properties"]["TableInput"]["Name"]: table["Properties"]
        for table in of_type(analytics, "AWS::Glue::Table").values()
    }


@pytest.fixture(scope="module")
def workgroup(analytics: Template) -> dict[str, Any]:
    properties: dict[str, Any] = one(analytics, "AWS::Athena::WorkGroup")["Properties"]
    return properties


def test_the_database_is_cdp_stage_and_holds_every_table_of_the_contracts(analytics: Template) -> None:
    [database] = of_type(analytics, "AWS::Glue::Database").values()
    assert database["Properties"]["DatabaseInput"]["Name"] == "cdp_dev"
    assert database["Properties"]["CatalogId"] == {"Ref": "AWS::AccountId"}
    tables = tables_by_name(analytics)
    assert set(tables) == {"raw_events", *(table.name for table in LAKE_TABLES)}
    assert len(LAKE_TABLES) >= 10  # events … segment_memberships: every contract, none forgotten
    for properties in tables.values():
        assert properties["DatabaseName"] == "cdp_dev"
        assert properties["TableInput"]["TableType"] == "EXTERNAL_TABLE"


def test_every_snapshot_table_has_the_contracts_columns_as_parquet(analytics: Template) -> None:
    tables = tables_by_name(analytics)
    for table in LAKE_TABLES:
        table_input = tables[table.name]["TableInput"]
        storage = table_input["StorageDescriptor"]
        assert [(c["Name"], c["Type"]) for c in storage["Columns"]] == [
            (field.name, ATHENA_TYPES[field.type]) for field in table.schema
        ], table.name
        assert storage["SerdeInfo"]["SerializationLibrary"] == (
            "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
        )
        assert storage["InputFormat"] == "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
        assert storage["OutputFormat"] == "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
        # the pointer: an empty folder of the prefix until the pipeline publishes a snapshot; the
        # pseudonymized zone's tables in that zone's own bucket
        bucket = "<zone>" if table.prefix.startswith("pseudonymized/") else "<lake>"
        # an append-only ledger (deliveries) is its prefix for good: nothing is ever replaced
        folder = "" if table in LEDGER_TABLES else "unpublished/"
        assert rendered(storage["Location"]) == f"s3://{bucket}/{table.prefix}/{folder}"
        assert "PartitionKeys" not in table_input
        assert table_input["Parameters"]["classification"] == "parquet"
        assert table_input["Description"] == table.description


def test_raw_events_is_json_lines_partitioned_by_a_projected_dt(analytics: Template) -> None:
    table_input = tables_by_name(analytics)["raw_events"]["TableInput"]
    storage = table_input["StorageDescriptor"]
    assert [(c["Name"], c["Type"]) for c in storage["Columns"]] == [(c, "string") for c in RAW_EVENT_COLUMNS]
    assert table_input["PartitionKeys"] == [
        {"Name": "dt", "Type": "string", "Comment": "business date of received_at, YYYY-MM-DD"}
    ]
    assert storage["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert storage["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"
    assert rendered(storage["Location"]) == "s3://<lake>/raw/events/"
    parameters = {key: rendered(value) for key, value in table_input["Parameters"].items()}
    assert parameters == {
        "classification": "json",
        "compressionType": "gzip",
        "EXTERNAL": "TRUE",
        "projection.enabled": "true",
        "projection.dt.type": "date",
        "projection.dt.format": "yyyy-MM-dd",
        # dt is the Bangkok date, up to a day ahead of Athena's UTC NOW
        "projection.dt.range": "2026-01-01,NOW+1DAYS",
        "projection.dt.interval": "1",
        "projection.dt.interval.unit": "DAYS",
        "storage.location.template": "s3://<lake>/raw/events/dt=${dt}/",
    }


def test_the_workgroup_enforces_engine_3_encrypted_results_and_a_scan_cutoff(
    analytics: Template, workgroup: dict[str, Any]
) -> None:
    assert workgroup["Name"] == "cdp-dev"
    assert workgroup["State"] == "ENABLED"
    configuration = workgroup["WorkGroupConfiguration"]
    assert configuration["EngineVersion"] == {"SelectedEngineVersion": "Athena engine version 3"}
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["PublishCloudWatchMetricsEnabled"] is True
    assert configuration["BytesScannedCutoffPerQuery"] == 10 * GIB
    assert configuration["RequesterPaysEnabled"] is False
    results = configuration["ResultConfiguration"]
    # results are copies of what analysts read: under the pseudonymized zone's key, not the lake's
    assert results["EncryptionConfiguration"] == {"EncryptionOption": "SSE_KMS", "KmsKey": ZONE_KEY}
    assert results["ExpectedBucketOwner"] == {"Ref": "AWS::AccountId"}
    results_bucket = logical_results_bucket(analytics)
    assert results["OutputLocation"] == {"Fn::Join": ["", ["s3://", {"Ref": results_bucket}, "/results/"]]}


def logical_results_bucket(analytics: Template) -> str:
    [found] = [
        i
        for i, b in of_type(analytics, "AWS::S3::Bucket").items()
        if "LoggingConfiguration" in b["Properties"]
    ]
    return found


def test_query_results_live_days_in_a_private_encrypted_logged_bucket(analytics: Template) -> None:
    buckets = of_type(analytics, "AWS::S3::Bucket")
    assert len(buckets) == 2  # results and their access logs
    results_id = logical_results_bucket(analytics)
    [log_id] = [i for i in buckets if i != results_id]
    for bucket_id, bucket in buckets.items():
        properties = bucket["Properties"]
        [encryption] = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        # results under the analysts' key; their access logs under the platform key the logging service uses
        key = ZONE_KEY if bucket_id == results_id else KEY
        assert encryption == {
            "ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
            "BucketKeyEnabled": True,
        }
        assert set(properties["PublicAccessBlockConfiguration"].values()) == {True}
        assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
        assert bucket["DeletionPolicy"] == "Retain"
    results = buckets[results_id]["Properties"]
    assert results["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": log_id},
        "LogFilePrefix": "athena-results/",
    }
    [rule] = results["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 7
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}
    policies = of_type(analytics, "AWS::S3::BucketPolicy")
    assert len(policies) == 2
    for policy in policies.values():
        conditions = [s.get("Condition") for s in policy["Properties"]["PolicyDocument"]["Statement"]]
        assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
        assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> LocalLake:
    return build_analytics_lake(tmp_path_factory.mktemp("analytics-infra") / "lake")


def test_each_view_is_a_named_query_with_the_files_text_that_runs_locally(
    analytics: Template, workgroup: dict[str, Any], lake: LocalLake
) -> None:
    queries = {
        q["Properties"]["Name"]: q["Properties"]
        for q in of_type(analytics, "AWS::Athena::NamedQuery").values()
    }
    assert set(queries) == {view.name for view in ANALYST_VIEWS}
    workgroup_id = next(iter(of_type(analytics, "AWS::Athena::WorkGroup")))
    for view in ANALYST_VIEWS:
        query = queries[view.name]
        assert query["QueryString"] == view.sql
        assert query["Database"] == "cdp_dev"
        assert query["WorkGroup"] == {"Ref": workgroup_id}
    # the template's text, not the file's, creates each view in a fresh local catalog and answers like it
    connection = connect(lake)
    try:
        for name, query in queries.items():
            connection.execute(athena_to_duckdb(query["QueryString"]))
            rows = connection.sql(f"SELECT * FROM {name}").to_arrow_table()
            assert rows.num_rows > 0
            assert rows.sort_by(rows.column_names[0]).equals(
                run_query(lake, f"SELECT * FROM {name}").sort_by(rows.column_names[0])
            )
    except duckdb.Error as error:
        pytest.fail(f"a named query does not run locally: {error}")
    finally:
        connection.close()


def test_the_analyst_policy_reaches_the_pseudonymized_tier_only(analytics: Template) -> None:
    [policy] = of_type(analytics, "AWS::IAM::ManagedPolicy").values()
    assert policy["Properties"]["ManagedPolicyName"] == "cdp-dev-analyst"
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    for statement in statements.values():
        assert statement["Effect"] == "Allow"
        assert not any(action.endswith("*") for action in as_list(statement["Action"]))
    prefixes = {f"{table.prefix}/" for table in ANALYST_TABLES}
    # each table in its own zone's bucket (tests/infra/test_least_privilege.py names the prefixes)
    objects = [
        *as_list(statements["ReadThePseudonymizedTables"]["Resource"]),
        *as_list(statements["ReadTheAnalystLakeTables"]["Resource"]),
    ]
    assert {rendered_arn(resource) for resource in objects} == {
        f"<{'zone' if p.startswith('pseudonymized/') else 'lake'}-arn>/{p}*" for p in prefixes
    }
    for sid in ("ReadThePseudonymizedTables", "ReadTheAnalystLakeTables"):
        assert as_list(statements[sid]["Action"]) == ["s3:GetObject"]
    listings = [
        statements["ListThePseudonymizedTablePrefixes"],
        statements["ListTheAnalystLakeTablePrefixes"],
    ]
    assert [listing["Resource"] for listing in listings] == [ZONE_ARN, LAKE_ARN]
    assert {p for listing in listings for p in listing["Condition"]["StringLike"]["s3:prefix"]} == {
        f"{p}*" for p in prefixes
    }
    # nothing with plaintext personal data: raw or clean events, identity records, profiles, traits
    everything = json.dumps(policy["Properties"]["PolicyDocument"])
    for forbidden in (
        "raw/",
        "clean/events",
        "clean/identity_records",
        "profiles/profiles",
        "profiles/traits",
    ):
        assert forbidden not in everything
    tables = {
        rendered(r).replace(":", "/").rsplit("/", 1)[-1]
        for r in as_list(statements["ReadTheAnalystTableDefinitions"]["Resource"])
    }
    assert {t for t in tables if t not in ("catalog", "cdp_dev")} == {
        *(table.name for table in ANALYST_TABLES),
        *(view.name for view in ANALYST_VIEWS),
    }
    assert "table/cdp_dev/profiles" not in everything.replace("profiles_pseudonymized", "")
    workgroup_arn = rendered(statements["RunQueriesInTheWorkgroup"]["Resource"])
    assert workgroup_arn.endswith(":workgroup/cdp-dev")
    zone_kms = statements["DecryptTheZoneAndEncryptResultsThroughS3"]
    assert zone_kms["Resource"] == ZONE_KEY
    assert "kms:ViaService" in zone_kms["Condition"]["StringEquals"]
    lake_kms = statements["DecryptTheAnalystLakeTablesThroughS3"]
    assert (lake_kms["Resource"], lake_kms["Action"]) == (KEY, "kms:Decrypt")  # decrypt only


def rendered_arn(value: Any) -> str:
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        names = {json.dumps(LAKE_ARN): "<lake-arn>", json.dumps(ZONE_ARN): "<zone-arn>"}
        return str(separator).join(names.get(json.dumps(part)) or rendered_arn(part) for part in parts)
    return str(value)


def test_prod_has_termination_protection_and_the_same_cutoff(prod_cloud_assembly: Path) -> None:
    manifest = json.loads((prod_cloud_assembly / "manifest.json").read_text())
    stack = manifest["artifacts"]["CdpAnalytics-prod"]
    assert stack["properties"]["stackName"] == "cdp-prod-analytics"
    assert stack["properties"]["terminationProtection"] is True
    template = json.loads((prod_cloud_assembly / "CdpAnalytics-prod.template.json").read_text())
    [workgroup] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Athena::WorkGroup"]
    assert workgroup["Properties"]["Name"] == "cdp-prod"
    assert workgroup["Properties"]["WorkGroupConfiguration"]["BytesScannedCutoffPerQuery"] == 10 * GIB


def test_the_scan_cutoff_and_the_first_raw_events_day_are_context_settings() -> None:
    _, config = stage_config(App(context={"athenaScanCutoffGiB": "2.5", "rawEventsFirstDay": "2026-03-01"}))
    assert config.analytics.cutoff_bytes == int(2.5 * GIB)
    assert config.analytics.raw_events_first_day.isoformat() == "2026-03-01"
    for bad, message in (
        ({"athenaScanCutoffGiB": "lots"}, "athenaScanCutoffGiB"),
        ({"athenaScanCutoffGiB": "0.001"}, "10 MiB"),
        ({"rawEventsFirstDay": "yesterday"}, "rawEventsFirstDay"),
    ):
        with pytest.raises(ContextError, match=message):
            stage_config(App(context=bad))
