"""Access, erasure and retention on a lake built through the real write paths and the real pipeline
(DuckDB): crash and re-run, shared identifiers, the lake lock, anonymous-only retention, SES contact
deletion and the S3 path (moto server: pyarrow's S3 client, a versioned bucket)."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cdp.engine.duckdb_engine import DuckDbEngine
from cdp.imports.fields import IMPORT_ROWS_SCHEMA
from cdp.lake import LocalLake
from cdp.lakefs import LakeFiles
from cdp.pipeline.runner import run_pipeline
from cdp.privacy import files as privacy_files
from cdp.privacy.errors import LakeLockedError, PrivacyRequestError, RetentionConfigError
from cdp.privacy.lock import LocalLakeLock, S3LakeLock
from cdp.privacy.models import SubjectQuery
from cdp.privacy.retention import run_retention
from cdp.privacy.service import PrivacyService
from cdp.privacy.subject import read_current
from cdp.privacy.wiring import aws_privacy_service, local_privacy_service
from cdp.tables import IDENTITY_RECORDS
from tests.pipeline_data import build_lake, copy_to_versioned_bucket, import_row, send_events

AS_OF = datetime(2026, 3, 2, tzinfo=UTC)
SOMCHAI = ("somchai.j@gmail.com", "user-1", "anon-1", "anon-9", "0819473526", "+66819473526", "C-1")


def _add_import(lake: LocalLake, import_id: str, *rows: dict[str, Any]) -> None:
    target = lake.path("clean/import_rows", "source=crm", f"import_id={import_id}", "rows.parquet")
    target.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(list(rows), schema=IMPORT_ROWS_SCHEMA), target)
    lake.write_atomic(f"raw/imports/crm/{import_id}/_manifest.json", b'{"status": "complete"}')


def _pipeline(
    lake: LocalLake, steps: tuple[str, ...] = ("standardize", "resolve", "profiles", "lookup")
) -> Any:
    engine = DuckDbEngine()
    try:
        return run_pipeline(LakeFiles(lake.root), engine, steps=steps, as_of=AS_OF)
    finally:
        engine.close()


def _hits(root: Path, tokens: tuple[str, ...]) -> dict[str, list[str]]:
    """Independent of the product: every file's bytes and every Parquet value, case-folded, with token
    boundaries (``user-1`` must not be found inside ``user-12``)."""
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        texts = [path.read_bytes().decode("utf-8", "replace").lower()]
        if path.suffix == ".parquet":
            texts.append(str(pq.read_table(path).to_pylist()).lower())
        for token in tokens:
            pattern = rf"(?<![\w.@+-]){re.escape(token.lower())}(?![\w.@-])"
            if any(re.search(pattern, text) for text in texts):
                found.setdefault(str(path.relative_to(root)), []).append(token)
    return found


@pytest.fixture
def lake(tmp_path: Path) -> LocalLake:
    built = build_lake(tmp_path / "lake")
    _pipeline(built)
    return built


def test_access_finds_the_person_in_every_zone_and_erasure_leaves_no_trace(lake: LocalLake) -> None:
    assert _hits(lake.root, SOMCHAI)  # the person is everywhere before
    service = local_privacy_service(lake.root)
    document = service.access(SubjectQuery(user_ids=("user-1",)))
    assert len(document["profiles"]) == 1
    assert {"raw/events", "clean", "identity", "profiles", "_local"} - {"_local"} <= set(document["summary"])
    assert document["lookup"][document["profiles"][0]]["profile_id"] == document["profiles"][0]

    report = service.erase(SubjectQuery(user_ids=("user-1",)))
    assert report.proven
    assert report.lookup_deleted == 1
    assert _hits(lake.root, SOMCHAI) == {}
    # Malee, in the same files, is untouched
    assert _hits(lake.root, ("malee.srisuk@outlook.co.th", "anon-2"))
    report_file = lake.path("privacy", "erasures", report.request_id, "report.json")
    assert orjson.loads(report_file.read_bytes())["proof"]["hits"] == 0
    assert not lake.path("privacy", "erasures", report.request_id, "journal.json").exists()


def test_an_erasure_that_crashed_half_way_is_finished_by_a_rerun(
    lake: LocalLake, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = local_privacy_service(lake.root)
    real_rewrite = privacy_files.LakeFile.rewrite
    calls = {"n": 0}

    def crash_after_three(self: privacy_files.LakeFile) -> int:
        calls["n"] += 1
        if calls["n"] > 3:
            raise OSError("disk went away")
        return real_rewrite(self)

    monkeypatch.setattr(privacy_files.LakeFile, "rewrite", crash_after_three)
    with pytest.raises(OSError, match="disk went away"):
        service.erase(SubjectQuery(emails=("Somchai.J@Gmail.com",)), request_id="req-1")
    monkeypatch.setattr(privacy_files.LakeFile, "rewrite", real_rewrite)
    assert lake.path("privacy", "erasures", "req-1", "journal.json").exists()
    assert _hits(lake.root, SOMCHAI)  # half done

    report = local_privacy_service(lake.root).erase(
        SubjectQuery(emails=("somchai.j@gmail.com",)), request_id="req-1"
    )
    assert report.proven
    assert _hits(lake.root, SOMCHAI) == {}
    assert not lake.path("privacy", "erasures", "req-1", "journal.json").exists()


def test_a_shared_identifier_is_refused_until_the_profile_is_named(tmp_path: Path) -> None:
    lake = build_lake(tmp_path / "lake")
    common = {"source_id": "crm", "kind": "customers", "default_region": "TH", "file_name": "family.csv"}
    _add_import(
        lake,
        "dddd000000000004",
        import_row(**common, import_id="dddd000000000004", imported_at="2026-02-25T00:00:00.000000Z",
                   row_number=1, row_key="C-3", record_id="C-3", first_name="Anan", last_name="Wong",
                   date_of_birth="1961-01-09", email="wong.family@gmail.com", phone="0861112233"),
        import_row(**common, import_id="dddd000000000004", imported_at="2026-02-25T00:00:00.000000Z",
                   row_number=2, row_key="C-4", record_id="C-4", first_name="Ploy", last_name="Wong",
                   date_of_birth="1996-07-30", email="wong.family@gmail.com", phone="0897776655"),
    )  # fmt: skip
    _pipeline(lake)
    service = local_privacy_service(lake.root)
    document = service.access(SubjectQuery(emails=("wong.family@gmail.com",)))
    assert len(document["profiles"]) == 2
    assert list(document["ambiguous"].values()) == [document["profiles"]]
    with pytest.raises(PrivacyRequestError, match="held by 2 profiles"):
        service.erase(SubjectQuery(emails=("wong.family@gmail.com",)))
    assert _hits(lake.root, ("0897776655",))  # nothing was erased

    ploy = service.access(SubjectQuery(phones=("089-777-6655",)))["profiles"]
    report = service.erase(SubjectQuery(profile_ids=tuple(ploy)))
    assert report.proven
    assert _hits(lake.root, ("0897776655", "C-4")) == {}
    # the shared e-mail stays with Anan, who did not ask
    assert "clean/import_rows/source=crm/import_id=dddd000000000004/rows.parquet" in _hits(
        lake.root, ("wong.family@gmail.com", "0861112233")
    )


def test_pipeline_steps_and_erasures_take_turns_on_the_lake_lock(tmp_path: Path) -> None:
    holder = LocalLakeLock(tmp_path, wait_seconds=5)
    waiter = LocalLakeLock(tmp_path, wait_seconds=0.3)
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        with holder.hold("erasure r-1"):
            entered.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    entered.wait(5)
    try:
        with pytest.raises(LakeLockedError, match="locked by another"), waiter.hold("standardize run-2"):
            pass
    finally:
        release.set()
        thread.join()
    with waiter.hold("standardize run-2"):  # free again
        pass


def test_retention_expires_idle_anonymous_profiles_and_old_quarantine(tmp_path: Path) -> None:
    lake = build_lake(tmp_path / "lake")
    send_events(lake, {"type": "page", "anonymousId": "anon-lonely-7", "name": "Home",
                       "messageId": "lonely-1", "timestamp": "2026-03-01T09:00:00Z"})  # fmt: skip
    send_events(lake, {"type": "track", "event": "x"})  # invalid: quarantined
    _pipeline(lake)
    service = local_privacy_service(lake.root)
    early = run_retention(service, as_of=AS_OF + timedelta(days=30))
    assert early.profiles_expired == 0  # idle for 30 days only
    assert early.quarantine_files_deleted == 0

    later = run_retention(service, as_of=AS_OF + timedelta(days=91))
    assert later.profiles_expired == 1
    assert later.quarantine_files_deleted >= 1
    assert _hits(lake.root, ("anon-lonely-7", "lonely-1")) == {}
    assert _hits(lake.root, ("user-1",))  # a known person is never anonymous-only

    lake.write_atomic("privacy/retention.yaml", b"anonymous_days: 14\n")
    with pytest.raises(RetentionConfigError, match="anonymous_days"):
        run_retention(service)


def test_on_s3_erasure_rewrites_objects_purges_old_versions_and_deletes_ses_contacts(
    lake: LocalLake, moto_endpoint: str, aws_env: None
) -> None:
    endpoint = f"http://{moto_endpoint}"
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    bucket = copy_to_versioned_bucket(lake, s3)
    ses = boto3.client("sesv2", endpoint_url=endpoint, region_name="us-east-1")
    ses.create_contact_list(ContactListName="newsletter", Topics=[])
    ses.create_contact(ContactListName="newsletter", EmailAddress="somchai.j@gmail.com")
    ses.create_contact(ContactListName="newsletter", EmailAddress="malee.srisuk@outlook.co.th")

    service = aws_privacy_service(
        f"s3://{bucket}?endpoint_override={moto_endpoint}&scheme=http&region=us-east-1",
        ses_contact_lists=("newsletter",),
        salt=b"\x07" * 32,
        region="us-east-1",
        endpoint_url=endpoint,
    )
    report = service.erase(SubjectQuery(emails=("somchai.j@gmail.com",)))
    assert report.proven
    assert report.files_rewritten > 0
    assert report.destinations == {"ses:newsletter": 1}
    contacts = {c["EmailAddress"] for c in ses.list_contacts(ContactListName="newsletter")["Contacts"]}
    assert contacts == {"malee.srisuk@outlook.co.th"}

    versions = s3.list_object_versions(Bucket=bucket)
    for version in versions.get("Versions", []):
        body = s3.get_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])["Body"].read()
        assert b"somchai.j@gmail.com" not in body.lower(), version["Key"]
    assert s3.list_objects_v2(Bucket=bucket, Prefix="_lock/").get("KeyCount", 0) == 0  # released


def test_the_s3_lock_has_one_holder_and_takes_over_a_crashed_ones_lease(
    moto_endpoint: str, aws_env: None
) -> None:
    s3 = boto3.client("s3", endpoint_url=f"http://{moto_endpoint}", region_name="us-east-1")
    s3.create_bucket(Bucket="lock-test")
    now = [datetime(2026, 3, 1, tzinfo=UTC)]
    first = S3LakeLock(s3, "lock-test", clock=lambda: now[0], sleep=lambda _s: None, wait_seconds=10)
    second = S3LakeLock(s3, "lock-test", clock=lambda: now[0], sleep=lambda _s: None, wait_seconds=10)
    with (
        first.hold("resolve run-1"),
        pytest.raises(LakeLockedError, match="resolve run-1"),
        second.hold("erasure r-9"),
    ):
        pass
    with second.hold("erasure r-9"):
        pass
    # a holder that died leaves its object behind; after the lease it is taken over
    s3.put_object(Bucket="lock-test", Key="_lock/lake.json", Body=orjson.dumps(
        {"owner": "profiles run-0", "acquired_at": (now[0] - timedelta(hours=4)).isoformat()}))  # fmt: skip
    with second.hold("erasure r-10"):
        body = s3.get_object(Bucket="lock-test", Key="_lock/lake.json")["Body"].read()
        assert orjson.loads(body)["owner"] == "erasure r-10"


def test_a_tombstoned_person_does_not_come_back_through_a_later_import(lake: LocalLake) -> None:
    service: PrivacyService = local_privacy_service(lake.root)
    assert service.erase(SubjectQuery(emails=("somchai.j@gmail.com",))).proven
    _add_import(
        lake,
        "eeee000000000005",
        import_row(source_id="crm", import_id="eeee000000000005", file_name="crm3.csv", row_number=1,
                   row_key="C-9", kind="customers", default_region="TH",
                   imported_at="2026-03-01T00:00:00.000000Z", record_id="C-9",
                   email="SOMCHAI.J@gmail.com", phone="02-111-2222"),
    )  # fmt: skip
    report = _pipeline(lake, ("standardize",))
    assert report.steps[0].guards["suppressed_erased"] == 1
    table = read_current(LakeFiles(lake.root), IDENTITY_RECORDS, ("record_id", "email"))
    assert table is not None
    assert "C-9" not in str(table.column("record_id").to_pylist())
    assert "malee.srisuk@outlook.co.th" in table.column("email").to_pylist()


def test_a_glue_step_on_s3_takes_the_s3_lock_and_refuses_tombstones_without_the_salt(
    moto_endpoint: str, aws_env: None
) -> None:
    from cdp.pipeline.jobs import lake_lock
    from cdp.settings import ConfigError

    assert lake_lock("/tmp/lake") is None  # run_pipeline's file lock instead
    lock = lake_lock(f"s3://glue-lake?endpoint_override={moto_endpoint}&scheme=http")
    assert isinstance(lock, S3LakeLock)
    assert lock.bucket == "glue-lake"

    s3 = boto3.client("s3", endpoint_url=f"http://{moto_endpoint}", region_name="us-east-1")
    s3.create_bucket(Bucket="tomb-lake")
    s3.put_object(
        Bucket="tomb-lake", Key="privacy/tombstones/r-1.jsonl", Body=b'{"kind": "email", "hash": "ab"}\n'
    )
    files = LakeFiles(f"s3://tomb-lake?endpoint_override={moto_endpoint}&scheme=http&region=us-east-1")
    engine = DuckDbEngine()
    try:
        with pytest.raises(ConfigError, match="salt"):
            run_pipeline(files, engine, steps=("standardize",), lock=S3LakeLock(s3, "tomb-lake"))
    finally:
        engine.close()
    assert s3.list_objects_v2(Bucket="tomb-lake", Prefix="_lock/").get("KeyCount", 0) == 0


def test_retention_keeps_the_newest_snapshots_and_always_the_published_one(lake: LocalLake) -> None:
    _pipeline(lake, ("standardize",))
    last = _pipeline(lake, ("standardize",)).run_id
    runs = sorted(p.name for p in lake.path("clean", "events").iterdir() if p.name.startswith("run_id="))
    assert len(runs) == 3
    lake.write_atomic("privacy/retention.yaml", b"snapshots_kept: 1\n")
    report = run_retention(local_privacy_service(lake.root), as_of=AS_OF)
    assert report.snapshots_deleted == 6  # 2 old runs of events, identity_records and orders
    for table in ("events", "identity_records", "orders"):
        left = [p.name for p in lake.path("clean", table).iterdir() if p.name.startswith("run_id=")]
        assert left == [f"run_id={last}"]
    # the tables the other steps published once are untouched, and every table still reads
    assert len(list(lake.path("identity", "links").glob("run_id=*"))) == 1
    table = read_current(LakeFiles(lake.root), IDENTITY_RECORDS, ("record_id",))
    assert table is not None
    assert table.num_rows > 0
