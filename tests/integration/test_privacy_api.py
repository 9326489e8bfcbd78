"""The privacy API on AWS, end to end through its two Lambda handlers (:mod:`lambdas.privacy.handler`).

Requests are accepted by the API function, handed to the worker (here the worker handler itself, called as
Lambda's asynchronous queue would), run by the privacy service on a lake built through the real write paths
and the real pipeline, and their outcome read back through the API: on a local lake, and on a moto S3 lake
with the API's own S3 adapter. The worker's scheduled retention job runs on the same lakes. The Lambda
invocation is checked against the service model (botocore's Stubber), the salt is read from moto's Secrets
Manager, and the worker's imports are checked against the asset it is deployed with.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import boto3
import orjson
import pytest
from botocore.stub import Stubber
from moto import mock_aws

import lambdas.privacy.handler as handler
from cdp.adapters.aws_privacy_requests import LambdaJobDispatcher, S3RequestStore
from cdp.adapters.aws_secrets import read_salt
from cdp.engine.duckdb_engine import DuckDbEngine
from cdp.lake import LocalLake
from cdp.lakefs import LakeFiles
from cdp.localapi.apigw import LocalLambdaContext, http_api_event
from cdp.pipeline.runner import run_pipeline
from cdp.privacy.errors import RetentionConfigError
from cdp.privacy.requests import (
    RETENTION_PREFIX,
    LakeRequestStore,
    PrivacyJob,
    PrivacyRunner,
    PrivacySettings,
    RequestStore,
    access_key,
    request_key,
    retention_key,
    status_key,
)
from cdp.privacy.service import PrivacyService
from cdp.privacy.wiring import aws_privacy_service, local_privacy_service
from cdp.settings import ConfigError
from tests.pipeline_data import build_lake, copy_to_versioned_bucket, send_events

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
AS_OF = datetime(2026, 3, 2, tzinfo=UTC)
EMAIL, USER = "somchai.j@gmail.com", "user-1"
DPO = "arn:aws:sts::123456789012:assumed-role/dpo/officer"
#: a visitor who never logged in: one page view, months ago (the retention job runs on today's clock)
VISITOR, VISITOR_MESSAGE = "anon-visitor-7", "visit-1"
VISITOR_SEEN = datetime(2026, 3, 1, 9, tzinfo=UTC)


class InProcessWorker:
    """Lambda's asynchronous queue, reduced to its effect: the worker handler runs each dispatched job."""

    def __init__(self) -> None:
        self.jobs: list[PrivacyJob] = []

    def dispatch(self, job: PrivacyJob) -> None:
        self.jobs.append(job)

    def run_all(self) -> list[dict[str, Any]]:
        done = [handler.worker_handler(job.model_dump(mode="json"), context("worker")) for job in self.jobs]
        self.jobs.clear()
        return done


def context(name: str) -> Any:
    return LocalLambdaContext(function_name=f"cdp-test-privacy-{name}")


def call(method: str, path: str, body: bytes = b"") -> tuple[int, dict[str, Any]]:
    event = http_api_event(
        method=method,
        path=path,
        query="",
        headers=[("content-type", "application/json")],
        body=body,
        source_ip="10.0.0.1",
        authorizer={"iam": {"userArn": DPO, "accountId": "123456789012"}},
    )
    answer = handler.api_handler(event, context("api"))
    assert answer["headers"]["Content-Type"] == "application/json"
    return answer["statusCode"], orjson.loads(answer["body"])


def wire(store: RequestStore, worker: InProcessWorker, runner: PrivacyRunner) -> None:
    handler.use_wiring(api=(store, worker), worker=(store, runner))


@pytest.fixture(autouse=True)
def _unwired() -> Iterator[None]:
    yield
    handler.use_wiring()


def send_visitor(lake: LocalLake) -> None:
    """The anonymous visitor's page view, through the ingestion service like any event."""
    send_events(lake, {"type": "page", "anonymousId": VISITOR, "name": "Home", "messageId": VISITOR_MESSAGE,
                       "timestamp": VISITOR_SEEN.isoformat()})  # fmt: skip


@pytest.fixture
def lake(tmp_path: Path) -> LocalLake:
    built = build_lake(tmp_path / "lake")
    send_visitor(built)
    engine = DuckDbEngine()
    try:
        run_pipeline(
            LakeFiles(built.root), engine, steps=("standardize", "resolve", "profiles", "lookup"), as_of=AS_OF
        )
    finally:
        engine.close()
    return built


def holds(root: Path, token: str) -> list[str]:
    """Files whose bytes hold ``token`` (case-folded): independent of the product's own scan."""
    needle = token.lower().encode()
    return sorted(
        str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and needle in p.read_bytes().lower()
    )


# -- on a local lake ---------------------------------------------------------------------------------------


def test_an_access_request_is_accepted_run_in_the_background_and_its_document_kept(
    lake: LocalLake, capsys: pytest.CaptureFixture[str]
) -> None:
    files, worker = LakeFiles(lake.root), InProcessWorker()
    wire(LakeRequestStore(files), worker, local_privacy_service(lake.root))

    status, accepted = call("POST", "/v1/privacy/access", orjson.dumps({"user_id": USER}))
    assert status == 202
    assert (accepted["action"], accepted["status"]) == ("access", "accepted")
    request_id = accepted["request_id"]
    assert [job.request_id for job in worker.jobs] == [request_id]
    # the job names the request, never the person; the identifiers are in the lake only
    assert USER not in worker.jobs[0].model_dump_json()
    assert orjson.loads(files.read_bytes(request_key(request_id)) or b"") == {"user_id": USER}
    assert call("GET", f"/v1/privacy/requests/{request_id}")[1]["status"] == "accepted"

    [finished] = worker.run_all()
    assert finished["status"] == "done"
    status, done = call("GET", f"/v1/privacy/requests/{request_id}")
    assert status == 200
    assert done["status"] == "done"
    assert done["result_key"] == access_key(request_id)
    document = files.read_bytes(access_key(request_id)) or b""
    assert done["result_bytes"] == len(document)
    parsed = orjson.loads(document)
    assert len(parsed["profiles"]) == 1
    assert {"raw/events", "clean", "identity", "profiles"} <= set(parsed["summary"])
    assert EMAIL in document.decode()  # everything held on the person, found by their user id
    # nothing about the person went to a log line or into the status
    assert USER not in capsys.readouterr().out
    assert USER not in (files.read_bytes(status_key(request_id)) or b"").decode()


def test_an_erasure_answers_its_proven_report_and_leaves_no_trace(lake: LocalLake) -> None:
    files, worker = LakeFiles(lake.root), InProcessWorker()
    wire(LakeRequestStore(files), worker, local_privacy_service(lake.root))
    assert holds(lake.root, EMAIL)

    status, accepted = call(
        "POST", "/v1/privacy/erasure", orjson.dumps({"email": EMAIL, "request_id": "dpo-7"})
    )
    assert (status, accepted["request_id"], accepted["action"]) == (202, "dpo-7", "erasure")
    worker.run_all()

    status, done = call("GET", "/v1/privacy/requests/dpo-7")
    assert (status, done["status"]) == (200, "done")
    report = done["report"]
    assert report["request_id"] == "dpo-7"
    assert report["proof"]["hits"] == 0
    assert (report["profiles"], report["lookup_deleted"]) == (1, 1)
    assert holds(lake.root, EMAIL) == []  # its own request document included
    assert files.read_bytes(request_key("dpo-7")) is None
    # submitting it again is harmless: all that is left of the person is the new request document itself
    call("POST", "/v1/privacy/erasure", orjson.dumps({"email": EMAIL, "request_id": "dpo-7"}))
    [again] = worker.run_all()
    assert again["status"] == "done"
    assert (again["report"]["rows_removed"], again["report"]["proof"]["hits"]) == ({"privacy": 1}, 0)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "JSON object naming the person"),
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b"{}", "name the person"),
        (b'{"request_id": "r-1"}', "name the person"),
        (b'{"email": ""}', "email"),
        (b'{"email": "a\\u0001b@example.co.th"}', "control characters"),
        (b'{"email": "x@example.co.th", "name": "Somchai"}', "name"),
        (b'{"email": "x@example.co.th", "request_id": "../etc"}', "request_id"),
        (b'{"phone": 819473526}', "phone"),
    ],
)
def test_a_body_that_names_nobody_or_is_malformed_is_a_400_with_the_reason(
    tmp_path: Path, body: bytes, message: str
) -> None:
    worker = InProcessWorker()
    wire(LakeRequestStore(LakeFiles(tmp_path)), worker, local_privacy_service(tmp_path))
    status, answer = call("POST", "/v1/privacy/erasure", body)
    assert status == 400
    assert answer["code"] == "invalid_request"
    assert message in answer["message"]
    assert worker.jobs == []  # nothing dispatched
    assert not list(tmp_path.rglob("*.json"))  # nothing stored


def test_a_base64_body_is_read_and_unknown_routes_and_requests_are_404(tmp_path: Path) -> None:
    worker = InProcessWorker()
    wire(LakeRequestStore(LakeFiles(tmp_path)), worker, local_privacy_service(tmp_path))
    event = http_api_event(
        method="POST", path="/v1/privacy/access", query="", headers=[("content-encoding", "identity")],
        body=orjson.dumps({"phone": "0819473526"}), source_ip="10.0.0.1",
    )  # fmt: skip
    assert event["isBase64Encoded"] is True
    assert handler.api_handler(event, context("api"))["statusCode"] == 202
    assert call("GET", "/v1/privacy/requests/unknown-1") == (
        404,
        {"code": "not_found", "message": "no such request"},
    )
    assert call("GET", "/v1/privacy/requests/a/b")[0] == 404
    assert call("DELETE", "/v1/privacy/erasure")[0] == 404
    assert call("GET", "/v1/privacy/requests/bad id")[0] == 400


def test_a_refused_request_ends_failed_with_the_reason_and_a_fault_is_raised_for_a_retry(
    tmp_path: Path,
) -> None:
    class Refusing:
        def access(self, query: Any) -> dict[str, Any]:
            raise RuntimeError(f"disk full while reading {query.emails[0]}")  # quotes the person

        def erase(self, query: Any, *, request_id: str | None = None) -> Any:
            from cdp.privacy.errors import PrivacyRequestError

            raise PrivacyRequestError("email is held by 2 profiles: not erasing anyone")

    store, worker = LakeRequestStore(LakeFiles(tmp_path)), InProcessWorker()
    wire(store, worker, Refusing())
    erasure = call("POST", "/v1/privacy/erasure", orjson.dumps({"email": EMAIL}))[1]["request_id"]
    [refused] = worker.run_all()
    assert refused["status"] == "failed"
    assert "held by 2 profiles" in refused["error"]

    access = call("POST", "/v1/privacy/access", orjson.dumps({"email": EMAIL}))[1]["request_id"]
    with pytest.raises(RuntimeError, match="disk full"):
        worker.run_all()  # raised: Lambda retries it, then dead-letters and alarms
    failed = call("GET", f"/v1/privacy/requests/{access}")[1]
    assert failed["status"] == "failed"
    assert failed["error"] == f"RuntimeError: see the worker's log for request {access}"
    assert EMAIL not in orjson.dumps(failed).decode()  # the exception's text stays out of the status
    assert call("GET", f"/v1/privacy/requests/{erasure}")[1]["status"] == "failed"


def test_a_job_whose_request_is_gone_says_to_resubmit(tmp_path: Path) -> None:
    store = LakeRequestStore(LakeFiles(tmp_path))
    wire(store, InProcessWorker(), local_privacy_service(tmp_path))
    answer = handler.worker_handler({"action": "erasure", "request_id": "lost-1"}, context("worker"))
    assert answer["status"] == "failed"
    assert "submit it again with the same request_id" in answer["error"]
    with pytest.raises(ValueError, match="request_id"):
        handler.worker_handler({"action": "erasure", "request_id": "../x"}, context("worker"))


# -- the scheduled retention job ---------------------------------------------------------------------------


def test_the_retention_job_expires_the_idle_visitor_keeps_known_people_and_records_counts(
    lake: LocalLake, caplog: pytest.LogCaptureFixture
) -> None:
    assert datetime.now(UTC) - VISITOR_SEEN > timedelta(days=90)  # idle longer than the default 90 days
    files, worker = LakeFiles(lake.root), InProcessWorker()
    wire(LakeRequestStore(files), worker, local_privacy_service(lake.root))
    assert holds(lake.root, VISITOR)
    assert holds(lake.root, VISITOR_MESSAGE)
    known_before = holds(lake.root, EMAIL)

    done = handler.worker_handler({"action": "retention"}, context("worker"))  # what the schedule sends

    assert (done["action"], done["status"]) == ("retention", "done")
    report = done["report"]
    assert (report["anonymous_days"], report["profiles_expired"]) == (90, 1)
    assert report["rows_removed"] > 0
    assert report["files_rewritten"] > 0
    assert holds(lake.root, VISITOR) == []  # every zone, the lookup store too
    assert holds(lake.root, VISITOR_MESSAGE) == []
    # the known people stay, in every file they were in, with their profile and lookup document
    assert holds(lake.root, EMAIL) == known_before
    assert holds(lake.root, "malee.srisuk@outlook.co.th")
    request_id = call("POST", "/v1/privacy/access", orjson.dumps({"user_id": USER}))[1]["request_id"]
    worker.run_all()
    access = orjson.loads(files.read_bytes(access_key(request_id)) or b"")
    assert len(access["profiles"]) == 1
    assert set(access["lookup"]) == set(access["profiles"])
    # the run is recorded in the lake: the worker's answer, counts only
    [recorded] = sorted((lake.root / RETENTION_PREFIX).iterdir())
    assert recorded.name == f"{done['run_id']}.json"
    assert orjson.loads(recorded.read_bytes()) == done
    assert set(done) == {"run_id", "action", "status", "started_at", "updated_at", "report"}
    [finished] = [r for r in caplog.records if r.getMessage() == "retention finished"]
    assert (finished.run_id, finished.report) == (done["run_id"], report)  # the counts are logged
    logged = str([record.__dict__ for record in caplog.records])
    for text in (recorded.read_text(), logged):
        for identifier in (VISITOR, VISITOR_MESSAGE, EMAIL, USER):
            assert identifier not in text

    # again, with a run id of its own: nothing left to expire, a second document
    again = handler.worker_handler({"action": "retention", "run_id": "manual-1"}, context("worker"))
    assert (again["run_id"], again["status"], again["report"]["profiles_expired"]) == ("manual-1", "done", 0)
    assert orjson.loads(files.read_bytes(retention_key("manual-1")) or b"")["report"] == again["report"]
    assert len(list((lake.root / RETENTION_PREFIX).iterdir())) == 2


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"action": "retention", "request_id": "r-1"}, "request_id"),  # no request: it is about nobody
        ({"action": "retention", "days": 30}, "days"),  # the cutoff is the lake's config, not the caller's
        ({"action": "retention", "as_of": "2099-01-01T00:00:00Z"}, "as_of"),
        ({"action": "retention", "run_id": "../x"}, "run_id"),
        ({"action": "purge"}, "action"),
        ({"action": "access"}, "request_id"),
        ({}, "action"),
    ],
)
def test_a_worker_event_is_validated_strictly_before_anything_runs(
    tmp_path: Path, event: dict[str, Any], field: str
) -> None:
    wire(LakeRequestStore(LakeFiles(tmp_path)), InProcessWorker(), local_privacy_service(tmp_path))
    with pytest.raises(ValueError, match=field):
        handler.worker_handler(event, context("worker"))
    assert not (tmp_path / RETENTION_PREFIX).exists()


def test_a_failed_retention_run_is_recorded_and_raised_so_it_alarms(lake: LocalLake) -> None:
    files = LakeFiles(lake.root)
    wire(LakeRequestStore(files), InProcessWorker(), local_privacy_service(lake.root))
    lake.write_atomic("privacy/retention.yaml", b"anonymous_days: 14\n")
    with pytest.raises(RetentionConfigError, match="anonymous_days"):
        handler.worker_handler({"action": "retention", "run_id": "bad-config"}, context("worker"))
    failed = orjson.loads(files.read_bytes(retention_key("bad-config")) or b"")
    assert failed["status"] == "failed"
    assert "privacy/retention.yaml: anonymous_days" in failed["error"]
    assert "report" not in failed
    assert holds(lake.root, VISITOR)  # nothing expired

    class Faulty:
        def expire(self) -> Any:
            raise OSError(f"cannot rewrite the file holding {VISITOR}")  # quotes what it failed on

    wire(LakeRequestStore(files), InProcessWorker(), Faulty())
    with pytest.raises(OSError, match="cannot rewrite"):
        handler.worker_handler({"action": "retention", "run_id": "fault"}, context("worker"))
    fault = orjson.loads(files.read_bytes(retention_key("fault")) or b"")
    assert fault["status"] == "failed"
    assert fault["error"] == "OSError: see the worker's log for retention run fault"


# -- on S3: the API's own adapter, the worker on the lake bucket -------------------------------------------


def s3_lake(lake: LocalLake, moto_endpoint: str) -> tuple[Any, str, PrivacyService]:
    """The local lake copied into a versioned bucket, and the worker's service over it."""
    endpoint = f"http://{moto_endpoint}"
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    bucket = copy_to_versioned_bucket(lake, s3)
    service = aws_privacy_service(
        f"s3://{bucket}?endpoint_override={moto_endpoint}&scheme=http&region=us-east-1",
        salt=b"\x07" * 32,
        region="us-east-1",
        endpoint_url=endpoint,
    )
    return s3, bucket, service


def every_version(s3: Any, bucket: str) -> dict[tuple[str, str], bytes]:
    """(key, version id) -> body, of every version of every object (case-folded)."""
    return {
        (v["Key"], v["VersionId"]): s3.get_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])[
            "Body"
        ]
        .read()
        .lower()
        for v in s3.list_object_versions(Bucket=bucket).get("Versions", [])
    }


def test_on_s3_the_api_stores_the_request_and_the_worker_erases_the_person(
    lake: LocalLake, moto_endpoint: str, aws_env: None
) -> None:
    s3, bucket, service = s3_lake(lake, moto_endpoint)
    worker = InProcessWorker()
    handler.use_wiring(
        api=(S3RequestStore(bucket, client=s3), worker), worker=(LakeRequestStore(service.files), service)
    )

    request_id = call("POST", "/v1/privacy/erasure", orjson.dumps({"email": EMAIL}))[1]["request_id"]
    stored = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="privacy/requests/")["Contents"]}
    assert stored == {request_key(request_id), status_key(request_id)}
    assert call("GET", "/v1/privacy/requests/not-there") == (
        404,
        {"code": "not_found", "message": "no such request"},
    )

    worker.run_all()
    status, done = call("GET", f"/v1/privacy/requests/{request_id}")  # read by the API's adapter
    assert (status, done["status"], done["report"]["proof"]["hits"]) == (200, "done", 0)
    for version, body in every_version(s3, bucket).items():
        assert EMAIL.encode() not in body, version


def test_on_s3_the_retention_job_expires_the_visitor_in_every_version_and_records_the_run(
    lake: LocalLake, moto_endpoint: str, aws_env: None
) -> None:
    s3, bucket, service = s3_lake(lake, moto_endpoint)
    handler.use_wiring(worker=(LakeRequestStore(service.files), service))
    assert any(VISITOR.encode() in body for body in every_version(s3, bucket).values())

    done = handler.worker_handler({"action": "retention"}, context("worker"))

    assert (done["status"], done["report"]["profiles_expired"]) == ("done", 1)
    recorded = s3.get_object(Bucket=bucket, Key=retention_key(done["run_id"]))["Body"].read()
    assert orjson.loads(recorded) == done
    versions = every_version(s3, bucket)
    for version, body in versions.items():  # the rewritten files' old versions are purged too
        assert VISITOR.encode() not in body, version
        assert VISITOR_MESSAGE.encode() not in body, version
    current = [
        s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read().lower()
        for o in s3.list_objects_v2(Bucket=bucket)["Contents"]
    ]
    assert any(EMAIL.encode() in body for body in current)  # the known people stay
    assert any(b"malee.srisuk@outlook.co.th" in body for body in current)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="_lock/")  # the lake lock is released


def test_the_job_is_an_asynchronous_invocation_naming_the_request_only() -> None:
    client = boto3.client("lambda", region_name="ap-southeast-1")
    dispatcher = LambdaJobDispatcher("cdp-dev-privacy-worker", client=client)
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            {"StatusCode": 202},
            {
                "FunctionName": "cdp-dev-privacy-worker",
                "InvocationType": "Event",
                "Payload": b'{"action":"erasure","request_id":"dpo-7"}',
            },
        )
        stub.add_response("invoke", {"StatusCode": 200})
        dispatcher.dispatch(PrivacyJob.model_validate({"action": "erasure", "request_id": "dpo-7"}))
        with pytest.raises(RuntimeError, match="did not accept"):
            dispatcher.dispatch(PrivacyJob.model_validate({"action": "access", "request_id": "dpo-8"}))
        stub.assert_no_pending_responses()


def test_the_worker_reads_the_salt_the_profiles_job_hashes_with(aws_env: None) -> None:
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        arn = secrets.create_secret(Name="cdp-test-salt", SecretString="a" * 64)["ARN"]
        assert read_salt(arn, client=secrets) == b"a" * 64
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="lake")
        store = S3RequestStore("lake", client=s3)
        assert store.get("privacy/requests/r-1/status.json") is None
        store.put("privacy/requests/r-1/status.json", b"{}")
        assert store.get("privacy/requests/r-1/status.json") == b"{}"
        assert store.get("privacy/requests/r-1/status") is None  # a prefix of a key is not the key


def test_settings_come_from_the_environment_and_name_the_bad_variable() -> None:
    settings = PrivacySettings.from_env(
        {
            "CDP_LAKE_BUCKET": "cdp-dev-lake",
            "CDP_PSEUDONYMIZED_ROOT": "s3://cdp-dev-zone/pseudonymized",
            "CDP_PROFILE_TABLE": "cdp-dev-profiles",
            "CDP_SES_CONTACT_LISTS": "cdp-dev-audiences, other",
            "CDP_SALT_SECRET_ARN": "arn:aws:secretsmanager:ap-southeast-1:123456789012:secret:salt-AbCdEf",
            "CDP_PRIVACY_WORKER": "cdp-dev-privacy-worker",
        }
    )
    assert settings.lake_uri == "s3://cdp-dev-lake"
    assert settings.ses_contact_lists == ("cdp-dev-audiences", "other")
    for env, variable in (
        ({}, "CDP_LAKE_BUCKET"),
        ({"CDP_LAKE_BUCKET": "Not_A_Bucket"}, "CDP_LAKE_BUCKET"),
        ({"CDP_LAKE_BUCKET": "lake-1", "CDP_PSEUDONYMIZED_ROOT": "/tmp/zone"}, "CDP_PSEUDONYMIZED_ROOT"),
    ):
        with pytest.raises(ConfigError, match=variable):
            PrivacySettings.from_env(env)


# -- the asset it is deployed with -------------------------------------------------------------------------

#: what the Lambda runtime provides besides the standard library
RUNTIME_PROVIDED = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six"}


def test_the_worker_imports_nothing_the_export_asset_lacks(lake: LocalLake, tmp_path: Path) -> None:
    """It runs on the export function's asset (scripts/build_lambda_assets.py): a real access, erasure and
    retention run in a fresh interpreter that can import only that asset's wheels (and what the runtime
    provides) succeed, and load nothing else."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from build_lambda_assets import LAMBDA_ASSETS, PRIVACY_ASSETS
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    lock = LAMBDA_ASSETS[PRIVACY_ASSETS["privacy-worker"]].lock
    wheels = {line.split("==")[0] for line in lock.read_text().splitlines() if "==" in line}
    importable = {
        module for module, distributions in metadata.packages_distributions().items()
        if any(d.lower().replace("_", "-") in wheels for d in distributions)
    }  # fmt: skip
    store = LakeRequestStore(LakeFiles(lake.root))
    store.put(request_key("r-access"), b'{"user_id": "user-1"}')
    store.put(request_key("r-erasure"), b'{"email": "somchai.j@gmail.com"}')
    # every module the dev venv has but the asset lacks is made absent, as it is on Lambda
    absent = sorted(
        set(metadata.packages_distributions()) - importable - RUNTIME_PROVIDED - {"cdp", "lambdas"}
    )
    script = textwrap.dedent(
        f"""
        import importlib.abc, sys

        class Absent(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name.split(".")[0] in {set(absent)!r}:
                    raise ModuleNotFoundError(f"No module named {{name!r}} (not in the asset)", name=name)
                return None

        sys.meta_path.insert(0, Absent())
        import lambdas.privacy.handler as handler
        import cdp.adapters.aws_privacy_requests, cdp.adapters.aws_dynamodb_profiles
        import cdp.adapters.aws_ses_contacts, cdp.privacy.lock, cdp.privacy.wiring
        from cdp.lakefs import LakeFiles
        from cdp.localapi.apigw import LocalLambdaContext
        from cdp.privacy.wiring import local_privacy_service
        from cdp.privacy.requests import LakeRequestStore
        lake = {str(lake.root)!r}
        handler.use_wiring(worker=(LakeRequestStore(LakeFiles(lake)), local_privacy_service(lake)))
        for action in ("access", "erasure"):
            answer = handler.worker_handler({{"action": action, "request_id": "r-" + action}},
                                            LocalLambdaContext(function_name="worker"))
            assert answer["status"] == "done", answer
        answer = handler.worker_handler({{"action": "retention"}}, LocalLambdaContext(function_name="worker"))
        assert answer["status"] == "done" and answer["report"]["profiles_expired"] == 1, answer
        print(" ".join(sorted({{name.split(".")[0] for name in sys.modules}})))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, (
        "the privacy worker needs a module its Lambda asset lacks: drop the import, or give the worker an "
        f"asset of its own (scripts/build_lambda_assets.py)\n{result.stderr[-2000:]}"
    )
    loaded = set(result.stdout.strip().splitlines()[-1].split())
    third_party = {
        name for name in loaded
        if name not in sys.stdlib_module_names and not name.startswith("_")
        and name not in {"cdp", "lambdas", "cython_runtime"}  # the last: made by every Cython extension
    }  # fmt: skip
    assert "pyarrow" in third_party  # the run really read Parquet
    assert third_party - importable - RUNTIME_PROVIDED == set()
