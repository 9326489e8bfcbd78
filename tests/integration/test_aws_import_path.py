"""The upload path on AWS under moto: a file put under ``landing/{source}/``, the import Lambda invoked with
the EventBridge "Object Created" event S3 sends for it, the results read back from the bucket.

The handler is wired from the environment the CDK app gives the function (``tests/infra`` checks that
side); the bucket is versioned like the lake. Large files start the Glue import job (moto records the run
and its arguments), and the job's ``main`` then imports the same object version in-process.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import boto3
import orjson
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from cdp.adapters.aws_glue_imports import ImportJobUnavailableError
from cdp.import_wiring import UploadPathSettings
from cdp.imports.landing import failure_key, mapping_key
from cdp.imports.layout import manifest_key, original_key, quarantine_key, rows_key
from cdp.imports.ports import ImportStoreError
from cdp.imports.service import import_id_for
from cdp.localapi.apigw import LocalLambdaContext
from cdp.settings import ConfigError
from glue_jobs import import_file
from tests.contract.conftest import MOTO_REGION

os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
from lambdas.imports import handler

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BUCKET = "cdp-test-lake"
IMPORT_JOB = "cdp-test-import-file"
ACCOUNT = "123456789012"


@dataclass(frozen=True)
class AwsLake:
    s3: S3Client
    glue: Any

    def upload(self, key: str, data: bytes) -> dict[str, Any]:
        """Put an object and return the EventBridge event S3 sends for it (URL-encoded key, as S3 does)."""
        put = self.s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        return {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Object Created",
            "source": "aws.s3",
            "account": ACCOUNT,
            "time": "2026-03-02T03:04:05Z",
            "region": MOTO_REGION,
            "resources": [f"arn:aws:s3:::{BUCKET}"],
            "detail": {
                "version": "0",
                "bucket": {"name": BUCKET},
                "object": {
                    "key": quote_plus(key, safe="/"),
                    "size": len(data),
                    "etag": put["ETag"].strip('"'),
                    "version-id": put["VersionId"],
                    "sequencer": "0062E99A88DC407460",
                },
                "request-id": "N4N7GDK58NMKJ12R",
                "requester": ACCOUNT,
                "source-ip-address": "203.0.113.15",
                "reason": "PutObject",
            },
        }

    def get(self, key: str) -> bytes | None:
        try:
            return self.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None

    def versions(self, prefix: str = "") -> list[tuple[str, str]]:
        """Every object version and delete marker in the bucket: what any write would change."""
        listed = self.s3.list_object_versions(Bucket=BUCKET, Prefix=prefix)
        entries = [*listed.get("Versions", []), *listed.get("DeleteMarkers", [])]
        return sorted((entry["Key"], entry["VersionId"]) for entry in entries)

    def job_runs(self) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = self.glue.get_job_runs(JobName=IMPORT_JOB)["JobRuns"]
        return runs


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsLake]:
    with mock_aws():
        monkeypatch.setenv("AWS_DEFAULT_REGION", MOTO_REGION)
        s3 = boto3.client("s3", region_name=MOTO_REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": MOTO_REGION})
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        glue = boto3.client("glue", region_name=MOTO_REGION)
        glue.create_job(
            Name=IMPORT_JOB,
            Role=f"arn:aws:iam::{ACCOUNT}:role/cdp-test-import-job",
            Command={
                "Name": "glueetl",
                "ScriptLocation": "s3://cdk-assets/import_file.py",
                "PythonVersion": "3",
            },
            GlueVersion="5.1",
        )
        for name, value in {
            "CDP_LAKE_BUCKET": BUCKET,
            "CDP_IMPORT_JOB_NAME": IMPORT_JOB,
            "CDP_IMPORT_MAX_INLINE_MIB": "1",
        }.items():
            monkeypatch.setenv(name, value)
        handler.use_importer(None)  # built from the environment on the first event, as on a cold start
        yield AwsLake(s3=s3, glue=glue)
        handler.use_importer(None)


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = handler.lambda_handler(event, LocalLambdaContext(function_name="cdp-import"))
    return result


def example(name: str) -> bytes:
    return (EXAMPLES / "data" / name).read_bytes()


def example_mapping(name: str) -> bytes:
    return (EXAMPLES / "mappings" / name).read_bytes()


def test_a_small_upload_is_imported_by_the_lambda_with_the_sources_mapping(aws: AwsLake) -> None:
    data = example("crm_customers.csv")  # TIS-620, Thai headers, Buddhist-era dates
    aws.s3.put_object(Bucket=BUCKET, Key=mapping_key("crm"), Body=example_mapping("crm_customers.yaml"))
    event = aws.upload("landing/crm/2026-03/crm_customers.csv", data)

    result = invoke(event)

    import_id = import_id_for(data)
    assert result["status"] == "imported"
    assert (result["source_id"], result["import_id"]) == ("crm", import_id)
    assert (result["rows_read"], result["rows_accepted"], result["rows_rejected"]) == (28, 20, 8)
    # the original, exactly as uploaded, in raw/imports/{source}/{import_id}/
    assert aws.get(original_key("crm", import_id, "crm_customers.csv")) == data
    rows_file = aws.get(rows_key("crm", import_id))
    assert rows_file is not None
    rows = pq.read_table(io.BytesIO(rows_file)).to_pylist()
    assert len(rows) == 20
    first = next(row for row in rows if row["record_id"] == "C0001")
    assert (first["first_name"], first["date_of_birth"], first["source_id"]) == ("สมชาย", "1987-03-15", "crm")
    quarantine_file = aws.get(quarantine_key("crm", import_id))
    assert quarantine_file is not None
    rejected = [orjson.loads(line) for line in quarantine_file.splitlines()]
    assert len(rejected) == 8
    assert {"invalid_date", "undecodable", "malformed_row"} <= {row["code"] for row in rejected}
    manifest_file = aws.get(manifest_key("crm", import_id))
    assert manifest_file is not None
    manifest = orjson.loads(manifest_file)
    assert (manifest["status"], manifest["encoding"], manifest["rows_accepted"]) == (
        "complete",
        "tis-620",
        20,
    )
    assert "national_id" in manifest["pii_columns"]
    # the upload itself is gone from landing/ (that version deleted: no delete marker left behind)
    assert aws.versions("landing/") == []
    assert aws.job_runs() == []


def test_a_redelivered_event_and_a_reupload_change_nothing(aws: AwsLake) -> None:
    data = example("survey.csv")
    aws.s3.put_object(Bucket=BUCKET, Key=mapping_key("survey"), Body=example_mapping("survey.yaml"))
    event = aws.upload("landing/survey/survey.csv", data)
    assert invoke(event)["status"] == "imported"
    after_import = aws.versions()

    assert invoke(event)["status"] == "gone"  # EventBridge delivers at least once
    assert aws.versions() == after_import

    again = aws.upload("landing/survey/survey-copy.csv", data)  # same content, another name
    result = invoke(again)
    assert (result["status"], result["import_id"]) == ("already_imported", import_id_for(data))
    assert aws.versions() == after_import  # nothing written, and the second upload removed too


def test_without_a_mapping_the_default_mapping_reads_standard_column_names(aws: AwsLake) -> None:
    data = b"record_id,email,phone,favourite_colour\nW1,a@example.com,0812345678,green\n"
    result = invoke(aws.upload("landing/web-signups/signups.csv", data))
    assert (result["status"], result["rows_accepted"]) == ("imported", 1)
    rows_file = aws.get(rows_key("web-signups", import_id_for(data)))
    assert rows_file is not None
    [row] = pq.read_table(io.BytesIO(rows_file)).to_pylist()
    assert (row["record_id"], row["email"]) == ("W1", "a@example.com")
    assert orjson.loads(row["attributes"]) == {"favourite_colour": "green"}


def test_a_bad_mapping_is_recorded_not_retried_and_the_upload_waits_for_the_fix(aws: AwsLake) -> None:
    data = example("shop_orders.jsonl")
    aws.s3.put_object(
        Bucket=BUCKET, Key=mapping_key("shop"), Body=b"source: shop\nkind: orders\nformat: jsonl\n"
    )
    key = "landing/shop/shop_orders.jsonl"
    result = invoke(aws.upload(key, data))  # returns: the invocation succeeds, so nothing retries

    import_id = import_id_for(data)
    assert (result["status"], result["code"]) == ("failed", "invalid_mapping")
    assert "columns: is required" in result["reason"]
    record = aws.get(failure_key("shop", import_id))
    assert record is not None
    failure = orjson.loads(record)
    assert (failure["landing_key"], failure["mapping_key"], failure["size_bytes"]) == (
        key,
        "config/mappings/shop.yaml",
        len(data),
    )
    assert aws.get(key) == data  # kept in landing/ for a re-run
    assert aws.get(manifest_key("shop", import_id)) is None
    assert aws.get(original_key("shop", import_id, "shop_orders.jsonl")) is None

    # the documented fix: put the right mapping, then copy the upload onto itself (a new Object Created)
    aws.s3.put_object(Bucket=BUCKET, Key=mapping_key("shop"), Body=example_mapping("shop_orders.yaml"))
    retried = invoke(aws.upload(key, data))
    assert (retried["status"], retried["rows_accepted"]) == ("imported", 17)
    assert aws.get(manifest_key("shop", import_id)) is not None


@pytest.mark.parametrize(
    ("key", "data", "code"),
    [
        ("landing/crm/empty.csv", b"", "unreadable_file"),
        ("landing/crm/orders.parquet", b"PAR1 but not really", "unreadable_file"),
        ("landing/crm/scan.png", b"\x89PNG\r\n", "invalid_mapping"),  # no format for the extension
        ("landing/Not A Source/x.csv", b"record_id\n1\n", "invalid_file_name"),
        ("landing/stray.csv", b"record_id\n1\n", "invalid_file_name"),  # not in a source folder
    ],
)
def test_uploads_that_cannot_be_imported_are_recorded_with_their_reason(
    aws: AwsLake, key: str, data: bytes, code: str
) -> None:
    result = invoke(aws.upload(key, data))
    assert (result["status"], result["code"]) == ("failed", code)
    assert result["failure_key"].startswith("quarantine/import_failures/")
    assert aws.get(result["failure_key"]) is not None
    assert aws.versions("raw/") == aws.versions("clean/") == []


def test_a_console_folder_marker_is_ignored(aws: AwsLake) -> None:
    result = invoke(aws.upload("landing/crm/", b""))
    assert result["status"] == "ignored"
    assert aws.versions("quarantine/") == []


def big_orders_file(minimum_bytes: int) -> bytes:
    """An orders CSV of at least ``minimum_bytes``, every row valid under the default mapping."""
    lines = ["order_id,user_id,order_date,order_total,currency"]
    size, number = len(lines[0]) + 1, 0
    while size <= minimum_bytes:
        number += 1
        lines.append(f"O{number:07d},C{number % 997:04d},2026-03-01T10:00:00+07:00,{number % 5000}.50,THB")
        size += len(lines[-1]) + 1
    return ("\n".join(lines) + "\n").encode()


def test_a_large_upload_starts_the_glue_job_whose_main_imports_it(aws: AwsLake) -> None:
    data = big_orders_file(1024 * 1024 + 1)  # over CDP_IMPORT_MAX_INLINE_MIB=1
    key = "landing/pos/2026/03/orders.csv"
    event = aws.upload(key, data)

    result = invoke(event)

    assert result["status"] == "started_large_import"
    [run] = aws.job_runs()
    assert run["Id"] == result["job_run_id"]
    assert run["Arguments"] == {
        "--lake_uri": f"s3://{BUCKET}",
        "--source": "pos",
        "--key": key,
        "--version_id": event["detail"]["object"]["version-id"],
    }
    assert aws.get(key) == data  # the job, not the function, imports and removes it
    assert aws.versions("raw/") == []

    # what the Glue run does with those arguments (Glue adds its own, which the job ignores)
    arguments = [part for name, value in run["Arguments"].items() for part in (name, value)]
    glue_own = ["--JOB_NAME", IMPORT_JOB, "--job-bookmark-option", "job-bookmark-disable"]
    outcome = import_file.main([*arguments, *glue_own])
    import_id = import_id_for(data)
    assert outcome.status == "imported"
    assert outcome.report is not None
    assert outcome.report.rows_accepted == data.count(b"\n") - 1
    assert aws.get(original_key("pos", import_id, "orders.csv")) == data
    assert aws.get(manifest_key("pos", import_id)) is not None
    assert aws.versions("landing/") == []

    # the same event delivered twice starts a second run, which finds the upload gone
    invoke(event)
    assert len(aws.job_runs()) == 2
    assert import_file.main(arguments).status == "gone"


def test_the_glue_job_refuses_a_key_outside_its_source(aws: AwsLake) -> None:
    with pytest.raises(SystemExit, match="not in the folder"):
        import_file.main(["--lake_uri", f"s3://{BUCKET}", "--source", "crm", "--key", "landing/shop/x.csv"])


def test_transient_failures_raise_so_lambda_retries_then_dead_letters(
    aws: AwsLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the Glue job cannot be started (here: it does not exist; in life: throttled, concurrency limit)
    monkeypatch.setenv("CDP_IMPORT_JOB_NAME", "cdp-test-no-such-job")
    handler.use_importer(None)
    with pytest.raises(ImportJobUnavailableError, match="cdp-test-no-such-job"):
        invoke(aws.upload("landing/pos/orders.csv", big_orders_file(1024 * 1024 + 1)))

    # the lake cannot be written (here: the bucket is gone)
    monkeypatch.setenv("CDP_LAKE_BUCKET", "cdp-test-missing-bucket")
    handler.use_importer(None)
    event = aws.upload("landing/crm/small.csv", b"record_id\nC1\n")
    with pytest.raises(ImportStoreError, match="cdp-test-missing-bucket"):
        invoke(event)


def test_settings_come_from_the_functions_environment_and_name_a_bad_variable() -> None:
    settings = UploadPathSettings.from_env(
        {"CDP_LAKE_BUCKET": "cdp-dev-lake", "CDP_IMPORT_JOB_NAME": "cdp-dev-import-file"}
    )
    assert (settings.lake_uri, settings.max_inline_bytes) == ("s3://cdp-dev-lake", 50 * 1024 * 1024)
    assert UploadPathSettings.from_lake_uri("s3://cdp-dev-lake/").import_job_name is None
    for env, variable in (
        ({}, "CDP_LAKE_BUCKET"),
        ({"CDP_LAKE_BUCKET": "Not_A_Bucket"}, "CDP_LAKE_BUCKET"),
        (
            {"CDP_LAKE_BUCKET": "cdp-dev-lake", "CDP_IMPORT_MAX_INLINE_MIB": "lots"},
            "CDP_IMPORT_MAX_INLINE_MIB",
        ),
    ):
        with pytest.raises(ConfigError, match=variable):
            UploadPathSettings.from_env(env)
    with pytest.raises(ConfigError, match="s3://<bucket>"):
        UploadPathSettings.from_lake_uri("/tmp/lake")
