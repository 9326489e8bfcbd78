"""The consent store end to end on a local lake: decisions posted to the ingestion API (identify traits and
Segment's ``context.consent.categoryPreferences``) and imported from a CRM file, through standardize,
resolve and profiles, into the ``consent`` table and ``profiles.consent``, then honoured by the export."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pyarrow.dataset as ds
import pytest
import yaml

from cdp.activation.consent import parse_consent
from cdp.adapters.local_destination import LocalDestination
from cdp.adapters.local_imports import LocalImportStore
from cdp.adapters.local_keys import LocalWriteKeyStore
from cdp.engine.duckdb_engine import DuckDbEngine
from cdp.imports.mapping import parse_mapping
from cdp.imports.service import ImportService
from cdp.lake import LocalLake
from cdp.lakefs import LakeFiles
from cdp.localapi.apigw import LocalLambdaContext, http_api_event
from cdp.pipeline.runner import RunReport, run_pipeline
from cdp.query.catalog import run_query
from cdp.settings import IngestionSettings
from cdp.tables import CONSENT, DELIVERIES, PROFILES
from cdp.wiring import build_ingestion_service
from tests.identity_data import table_rows
from tests.segment_calls import call_ingest_handler

os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
from lambdas.ingest import handler

AS_OF = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
RUN = "20260301T050000Z-c0ffee"
SALT = bytes(range(32))

CRM_MAPPING = """
source: crm
kind: customers
format: csv
encoding: utf-8
header: true
default_region: TH
time_zone: Asia/Bangkok
columns:
  id: record_id
  first_name: first_name
  email: email
  email_opt_in: {field: consent_email, true_values: [Y], false_values: [N]}
  consent_changed: {field: consent_updated_at, formats: ["%d/%m/%Y %H:%M"]}
"""
# Somchai revoked e-mail at the shop counter on 1 February, 10:00 Bangkok time (03:00 UTC)
CRM_FILE = (
    "id,first_name,email,email_opt_in,consent_changed\n"
    "C1,Somchai,somchai.jaidee@mail.co.th,N,01/02/2026 10:00\n"
    "C2,Malee,malee.srisuk@mail.co.th,,\n"
)
PREFERENCES = {"Advertising": True, "Analytics": False, "SMS": False}


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[LocalLake]:
    lake = LocalLake.at(tmp_path / "lake")
    handler.use_service(build_ingestion_service(IngestionSettings(lake=str(lake.root))))
    yield lake
    handler.use_service(None)


def post(path: str, body: dict[str, Any], key: str) -> dict[str, Any]:
    result = call_ingest_handler(path, body, key)
    answer: dict[str, Any] = json.loads(result["body"])
    assert result["statusCode"] == 200, answer
    return answer


def send_the_decisions(lake: LocalLake) -> None:
    """Somchai (u-1) grants e-mail and SMS in the app, revokes e-mail in the CRM, then answers the app's
    cookie banner; Malee (u-2) grants e-mail in the app and is in the CRM without an answer."""
    key = LocalWriteKeyStore(lake).create_source("app").write_key
    post(
        "/v1/identify",
        {
            "userId": "u-1",
            "messageId": "identify-1",
            "timestamp": "2026-01-10T03:00:00Z",
            "traits": {"email": "somchai.jaidee@mail.co.th", "consent": {"email": True, "sms": True}},
        },
        key,
    )
    post(
        "/v1/identify",
        {
            "userId": "u-2",
            "messageId": "identify-2",
            "timestamp": "2026-01-11T03:00:00Z",
            "traits": {"email": "malee.srisuk@mail.co.th", "email_opt_in": "yes"},
        },
        key,
    )
    # Segment's consent wrapper: the preference event, then the same object stamped on a later page view
    post(
        "/v1/track",
        {
            "userId": "u-1",
            "messageId": "consent-1",
            "event": "Segment Consent Preference Updated",
            "timestamp": "2026-02-15T03:00:00Z",
            "context": {"consent": {"categoryPreferences": PREFERENCES}},
        },
        key,
    )
    post(
        "/v1/batch",
        {
            "batch": [
                {
                    "type": "page",
                    "userId": "u-1",
                    "messageId": "page-1",
                    "name": "Home",
                    "timestamp": "2026-02-20T03:00:00Z",
                    "context": {"consent": {"categoryPreferences": PREFERENCES}},
                }
            ]
        },
        key,
    )
    report = ImportService(LocalImportStore(lake)).import_file(
        "crm", "customers.csv", CRM_FILE.encode(), parse_mapping(CRM_MAPPING, "crm.yaml")
    )
    assert (report.rows_accepted, report.rows_rejected) == (2, 0)


def activate(lake: LocalLake) -> None:
    """A segment of everyone with events, delivered to an e-mail and an ads stand-in."""
    segment = {
        "id": "app_users",
        "name": "App users",
        "destinations": ["newsletter", "ads_audience"],
        "condition": {"trait": "event_count", "gt": 0},
    }
    definitions = lake.path("segments/definitions")
    definitions.mkdir(parents=True, exist_ok=True)
    (definitions / "app_users.yaml").write_text(yaml.safe_dump(segment))
    destinations = [
        {
            "id": "newsletter",
            "type": "local",
            "purpose": "email",
            "needs_any": ["email"],
            "include": ["email"],
        },
        {"id": "ads_audience", "type": "local", "purpose": "ads"},
    ]
    lake.path("segments/destinations.yaml").write_text(yaml.safe_dump({"destinations": destinations}))


def run(lake: LocalLake) -> RunReport:
    engine = DuckDbEngine()
    try:
        return run_pipeline(
            LakeFiles(lake.root),
            engine,
            steps=["standardize", "resolve", "profiles", "segments", "export"],
            run_id=RUN,
            scorer=None,
            as_of=AS_OF,
            salt=SALT,
        )
    finally:
        engine.close()


@pytest.fixture
def ran(lake: LocalLake) -> LocalLake:
    send_the_decisions(lake)
    activate(lake)
    run(lake)
    return lake


def profile_of(files: LakeFiles, user_id: str) -> dict[str, Any]:
    [row] = [row for row in table_rows(files, PROFILES) if user_id in row["user_ids"]]
    return row


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_the_consent_table_holds_each_decision_with_the_latest_flagged(ran: LocalLake) -> None:
    files = LakeFiles(ran.root)
    somchai = profile_of(files, "u-1")["profile_id"]
    malee = profile_of(files, "u-2")["profile_id"]
    rows = table_rows(files, CONSENT)
    assert {row["run_id"] for row in rows} == {RUN}
    decisions = sorted(
        (
            row["profile_id"],
            row["purpose"],
            row["decided_at"],
            row["granted"],
            row["source_id"],
            row["origin"],
            row["record_id"],
            row["is_latest"],
        )
        for row in rows
    )
    assert decisions == sorted(
        [
            # e-mail: granted in the app, revoked in the CRM (its time is Bangkok 10:00)
            (somchai, "email", at("2026-01-10T03:00:00+00:00"), True, "app", "event", "identify-1", False),
            (somchai, "email", at("2026-02-01T03:00:00+00:00"), False, "crm", "import", "crm:C1", True),
            # SMS: granted in the app, refused on the cookie banner ("SMS" is the purpose, case ignored)
            (somchai, "sms", at("2026-01-10T03:00:00+00:00"), True, "app", "event", "identify-1", False),
            (somchai, "sms", at("2026-02-15T03:00:00+00:00"), False, "app", "event", "consent-1", True),
            # ads: "Advertising" → ads; the page view repeating the same object is no new decision;
            # "Analytics" is no purpose and is ignored
            (somchai, "ads", at("2026-02-15T03:00:00+00:00"), True, "app", "event", "consent-1", True),
            # Malee: the CRM row without an answer decides nothing
            (malee, "email", at("2026-01-11T03:00:00+00:00"), True, "app", "event", "identify-2", True),
        ]
    )


def test_profiles_consent_is_exactly_the_latest_rows(ran: LocalLake) -> None:
    files = LakeFiles(ran.root)
    somchai = profile_of(files, "u-1")
    assert orjson.loads(somchai["consent"]) == {
        "ads": {"granted": True, "at": "2026-02-15T03:00:00.000000Z", "source": "app"},
        "email": {"granted": False, "at": "2026-02-01T03:00:00.000000Z", "source": "crm"},
        "sms": {"granted": False, "at": "2026-02-15T03:00:00.000000Z", "source": "app"},
    }
    latest: dict[str, dict[str, dict[str, Any]]] = {}
    for row in table_rows(files, CONSENT):
        if row["is_latest"]:
            assert row["purpose"] not in latest.get(row["profile_id"], {})  # one in force per purpose
            latest.setdefault(row["profile_id"], {})[row["purpose"]] = {
                "granted": row["granted"],
                "at": row["decided_at"].strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "source": row["source_id"],
            }
    for profile in table_rows(files, PROFILES):
        assert orjson.loads(profile["consent"]) == latest.get(profile["profile_id"], {})


def test_activation_holds_back_a_person_whose_latest_decision_is_a_refusal(ran: LocalLake) -> None:
    files = LakeFiles(ran.root)
    somchai = profile_of(files, "u-1")["profile_id"]
    malee = profile_of(files, "u-2")["profile_id"]
    assert parse_consent(profile_of(files, "u-1")["consent"]) == {"ads": True, "email": False, "sms": False}
    newsletter = LocalDestination(files, "newsletter").recorded(RUN)
    assert [(event["profile_id"], event["contact"]["email"]) for event in newsletter] == [
        (malee, "malee.srisuk@mail.co.th")
    ]
    ads = LocalDestination(files, "ads_audience").recorded(RUN)
    assert [event["profile_id"] for event in ads] == [somchai]
    # the deliveries ledger: every attempt's Parquet under its prefix
    ledger = [files.path(name) for name in files.find(DELIVERIES.prefix, lambda n: n.endswith(".parquet"))]
    outcomes = {
        (row["destination_id"], row["profile_id"]): row["outcome"]
        for row in ds.dataset(ledger, format="parquet").to_table().to_pylist()
    }
    assert outcomes == {
        ("newsletter", somchai): "skipped_consent",  # revoked in the CRM after granting in the app
        ("newsletter", malee): "sent",
        ("ads_audience", somchai): "sent",
        ("ads_audience", malee): "skipped_consent",  # never asked
    }


def test_cdp_query_reads_the_consent_table(ran: LocalLake) -> None:
    rows = run_query(
        ran,
        "SELECT purpose, count(*) AS decisions, "
        "count(*) FILTER (WHERE is_latest AND NOT granted) AS refused_now "
        "FROM consent GROUP BY purpose ORDER BY purpose",
    ).to_pylist()
    assert rows == [
        {"purpose": "ads", "decisions": 1, "refused_now": 0},
        {"purpose": "email", "decisions": 3, "refused_now": 1},
        {"purpose": "sms", "decisions": 2, "refused_now": 1},
    ]


def test_a_malformed_consent_object_is_refused_by_the_api(lake: LocalLake) -> None:
    key = LocalWriteKeyStore(lake).create_source("web").write_key
    token = base64.b64encode(f"{key}:".encode()).decode()
    body = {
        "userId": "u-9",
        "event": "Clicked",
        "context": {"consent": {"categoryPreferences": {"Advertising": "maybe"}}},
    }
    event = http_api_event(
        method="POST",
        path="/v1/track",
        query="",
        headers=[("Content-Type", "application/json"), ("Authorization", f"Basic {token}")],
        body=json.dumps(body).encode(),
        source_ip="127.0.0.1",
    )
    result = handler.lambda_handler(event, LocalLambdaContext(function_name="cdp-ingest"))
    assert result["statusCode"] == 400
    assert json.loads(result["body"]) == {
        "code": "invalid_event",
        "message": "context: consent.categoryPreferences.Advertising must be true or false",
    }
    assert run_query(lake, "SELECT count(*) AS n FROM raw_events").to_pylist() == [{"n": 0}]
