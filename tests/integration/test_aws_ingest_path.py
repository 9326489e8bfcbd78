"""The real Lambda handler wired from the environment to Firehose and DynamoDB, read back from S3, under moto.

The environment variables are the ones the CDK app gives the function (``tests/infra`` checks that side), so
this is the deployed ingestion path minus what moto does not model: it ignores Firehose's dynamic
partitioning and GZIP (objects land under the literal prefix, uncompressed) and does not buffer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from cdp.adapters.aws_firehose_sink import FirehoseEventSink
from cdp.cli.main import main as cdp
from cdp.ingestion.ports import SinkUnavailableError
from cdp.lake import QUARANTINE_EVENTS, RAW_EVENTS
from tests.contract.conftest import MOTO_REGION, MotoLake, moto_lake, raw_event
from tests.segment_calls import call_ingest_handler

os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
from lambdas.ingest import handler

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[MotoLake]:
    with moto_lake() as lake:
        monkeypatch.setenv("AWS_DEFAULT_REGION", MOTO_REGION)
        for name, value in {
            "CDP_EVENT_SINK": "firehose",
            "CDP_FIREHOSE_EVENTS_STREAM": lake.events_stream,
            "CDP_FIREHOSE_QUARANTINE_STREAM": lake.quarantine_stream,
            "CDP_KEY_STORE": "dynamodb",
            "CDP_KEY_TABLE": lake.key_table,
            "CDP_TIME_ZONE": "Asia/Bangkok",
            "CDP_LAKE": str(tmp_path / "unused-local-lake"),
        }.items():
            monkeypatch.setenv(name, value)
        handler.use_service(None)  # built from the environment on the first request, as on a cold start
        yield lake
        handler.use_service(None)


def add_source(name: str, capsys: pytest.CaptureFixture[str]) -> str:
    """The documented one-liner: ``CDP_KEY_STORE=dynamodb CDP_KEY_TABLE=… cdp sources add NAME``."""
    capsys.readouterr()
    assert cdp(["sources", "add", name]) == 0
    return capsys.readouterr().out.strip().splitlines()[-1]


def invoke(path: str, body: object, key: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    result = call_ingest_handler(path, body, key, source_ip="203.0.113.9")
    return result["statusCode"], json.loads(result["body"]), result.get("headers", {})


def test_an_event_posted_through_the_handler_lands_in_s3_under_raw_events(
    aws: MotoLake, capsys: pytest.CaptureFixture[str]
) -> None:
    write_key = add_source("web", capsys)
    status, body, _ = invoke(
        "/v1/track",
        {"event": "Order Completed", "userId": "u-1", "messageId": "m-1", "properties": {"ร้าน": "กรุงเทพ"}},
        write_key,
    )
    assert (status, body) == (200, {"success": True, "accepted": 1, "rejected": []})
    [key] = aws.object_keys(RAW_EVENTS)
    assert key.startswith("raw/events/dt=")
    [row] = aws.delivered(RAW_EVENTS)
    assert (row["message_id"], row["type"], row["event"], row["source_id"]) == (
        "m-1",
        "track",
        "Order Completed",
        "web",
    )
    assert json.loads(row["properties"]) == {"ร้าน": "กรุงเทพ"}
    assert row["write_key_id"].startswith("wk_")
    assert len(row["dt"]) == 10  # the business-time-zone date Firehose partitions on
    assert aws.object_keys(QUARANTINE_EVENTS) == []


def test_a_batch_keeps_valid_events_and_quarantines_the_rest(
    aws: MotoLake, capsys: pytest.CaptureFixture[str]
) -> None:
    write_key = add_source("app", capsys)
    status, body, _ = invoke(
        "/v1/batch",
        {
            "batch": [
                {"type": "identify", "userId": "u-2", "traits": {"email": "a@example.co.th"}},
                {"type": "alias", "userId": "u-2"},
                {"type": "page", "anonymousId": "anon-1", "name": "Home"},
            ]
        },
        write_key,
    )
    assert status == 200
    assert (body["accepted"], [r["index"] for r in body["rejected"]]) == (2, [1])
    assert sorted(row["type"] for row in aws.delivered(RAW_EVENTS)) == ["identify", "page"]
    [rejected] = aws.delivered(QUARANTINE_EVENTS)
    assert (rejected["source_id"], rejected["event_index"], rejected["reason"]) == (
        "app",
        1,
        "previousId is required",
    )


def test_unknown_and_rotated_keys_are_refused_and_store_nothing(
    aws: MotoLake, capsys: pytest.CaptureFixture[str]
) -> None:
    old_key = add_source("crm", capsys)
    status, body, _ = invoke("/v1/t", {"event": "E", "userId": "u"}, "wk_not-a-key")
    assert (status, body["code"]) == (401, "unauthorized")
    assert cdp(["sources", "rotate-key", "crm"]) == 0
    new_key = capsys.readouterr().out.strip().splitlines()[-1]
    assert invoke("/v1/t", {"event": "E", "userId": "u"}, old_key)[0] == 401
    assert aws.object_keys(RAW_EVENTS) == []
    assert invoke("/v1/t", {"event": "E", "userId": "u"}, new_key)[0] == 200


def test_a_sink_outage_answers_503_so_the_sdk_retries(
    aws: MotoLake, capsys: pytest.CaptureFixture[str]
) -> None:
    write_key = add_source("pos", capsys)
    aws.firehose.delete_delivery_stream(DeliveryStreamName=aws.events_stream)
    status, body, headers = invoke("/v1/track", {"event": "E", "userId": "u"}, write_key)
    assert (status, body["code"], headers.get("Retry-After")) == (503, "sink_unavailable", "1")


def test_a_key_table_outage_answers_503_not_401(aws: MotoLake, capsys: pytest.CaptureFixture[str]) -> None:
    write_key = add_source("kiosk", capsys)
    boto3.client("dynamodb", region_name=MOTO_REGION).delete_table(TableName=aws.key_table)
    status, body, headers = invoke("/v1/track", {"event": "E", "userId": "u"}, write_key)
    assert (status, body["code"], headers.get("Retry-After")) == (503, "service_unavailable", "1")
    assert aws.object_keys(RAW_EVENTS) == []


def test_records_firehose_refuses_are_resent_and_only_those() -> None:
    client = boto3.client(
        "firehose", region_name=MOTO_REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    sink = FirehoseEventSink(events_stream="s", quarantine_stream="q", client=client, retry_delays=(0,))
    sent: list[list[str]] = []
    with Stubber(client) as stub:
        stub.add_response(
            "put_record_batch",
            {
                "FailedPutCount": 1,
                "RequestResponses": [
                    {"RecordId": "1"},
                    {"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "slow down"},
                ],
            },
        )
        stub.add_response("put_record_batch", {"FailedPutCount": 0, "RequestResponses": [{"RecordId": "2"}]})
        client.meta.events.register(
            "provide-client-params.firehose.PutRecordBatch",
            lambda params, **_: sent.append([json.loads(r["Data"])["message_id"] for r in params["Records"]]),
        )
        sink.write_events([raw_event("a"), raw_event("b")])
        stub.assert_no_pending_responses()
    assert sent == [["a", "b"], ["b"]]


def test_records_still_refused_after_the_retries_fail_the_whole_call() -> None:
    client = boto3.client(
        "firehose", region_name=MOTO_REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    sink = FirehoseEventSink(events_stream="s", quarantine_stream="q", client=client, retry_delays=(0,))
    refused = {
        "FailedPutCount": 1,
        "RequestResponses": [{"ErrorCode": "InternalFailure", "ErrorMessage": "no"}],
    }
    with Stubber(client) as stub:
        stub.add_response("put_record_batch", refused)
        stub.add_response("put_record_batch", refused)
        with pytest.raises(SinkUnavailableError, match="1 records refused after 2 tries"):
            sink.write_events([raw_event("a")])


def test_large_writes_are_split_within_firehose_call_limits() -> None:
    client = boto3.client(
        "firehose", region_name=MOTO_REGION, aws_access_key_id="x", aws_secret_access_key="x"
    )
    sink = FirehoseEventSink(events_stream="s", quarantine_stream="q", client=client)
    calls: list[tuple[int, int]] = []
    client.meta.events.register(
        "provide-client-params.firehose.PutRecordBatch",
        lambda params, **_: calls.append(
            (len(params["Records"]), sum(len(r["Data"]) for r in params["Records"]))
        ),
    )
    with Stubber(client) as stub:
        for size in (500, 500, 201):
            stub.add_response(
                "put_record_batch", {"FailedPutCount": 0, "RequestResponses": [{"RecordId": "r"}] * size}
            )
        sink.write_events([raw_event(f"m-{i}") for i in range(1201)])
    assert [count for count, _ in calls] == [500, 500, 201]
    assert all(size <= 4 * 1024 * 1024 for _, size in calls)


def test_importing_the_handler_never_imports_boto3() -> None:
    """Cold start (SPEC 10): boto3 loads on the first request that needs it, even when AWS is configured."""
    env = {
        **os.environ,
        "CDP_EVENT_SINK": "firehose",
        "CDP_FIREHOSE_EVENTS_STREAM": "s",
        "CDP_FIREHOSE_QUARANTINE_STREAM": "q",
        "CDP_KEY_STORE": "dynamodb",
        "CDP_KEY_TABLE": "t",
    }
    # Powertools' user-agent shim imports the bare ``botocore`` package (well under 1 ms); the client and
    # session machinery (``botocore.*``) and boto3 are what cost cold-start time.
    code = (
        "import sys, lambdas.ingest.handler; "
        "print(sorted(m for m in sys.modules if m.startswith(('boto3', 'botocore.'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
