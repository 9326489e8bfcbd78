"""The handlers' Powertools metrics, read from what they print (CloudWatch's embedded metric format, EMF):
the real handlers on local lakes, their EMF documents parsed from stdout, names, dimensions and values
asserted against what the request or the run actually did."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cdp.activation.config import ActivationSettings
from cdp.adapters.local_keys import LocalWriteKeyStore
from cdp.lake import LocalLake
from cdp.lakefs import LakeFiles
from cdp.localapi.apigw import LocalLambdaContext
from cdp.lookup_wiring import LookupSettings
from cdp.settings import IngestionSettings
from cdp.wiring import build_ingestion_service
from tests.activation_data import (
    AS_OF_1,
    RUN_1,
    Person,
    configure_destinations,
    define_segment,
    membership,
    publish_memberships,
    publish_people,
    suppress,
)
from tests.lookup_data import profile_row, publish_snapshots
from tests.segment_calls import call_ingest_handler

ROOT = Path(__file__).resolve().parents[2]


def emf(out: str) -> list[dict[str, Any]]:
    """Every EMF document printed, flattened: metric name -> value, plus the dimensions and namespace."""
    documents = []
    for line in out.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        document = json.loads(line)
        [directive] = document["_aws"]["CloudWatchMetrics"]
        names = [m["Name"] for m in directive["Metrics"]]
        [dimensions] = directive["Dimensions"]
        documents.append(
            {
                "namespace": directive["Namespace"],
                "dimensions": {name: document[name] for name in dimensions},
                "units": {m["Name"]: m["Unit"] for m in directive["Metrics"]},
                **{name: _value(document[name]) for name in names},
            }
        )
    return documents


def _value(value: float | list[float]) -> float:
    """EMF takes one value or an array of them (Powertools writes an array): one each here."""
    if isinstance(value, list):
        [value] = value
    return value


@pytest.fixture
def metrics_on(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Other modules of the session import the handlers with metrics disabled: turn them back on."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    # Powertools keeps one metric set per process: values an earlier test added but never flushed
    # would be printed with this test's
    from aws_lambda_powertools import Metrics

    Metrics(namespace="CDP").clear_metrics()
    return monkeypatch


def _stage() -> str:
    return os.environ.get("CDP_STAGE") or "local"


# -- ingest --------------------------------------------------------------------------------------------


def test_ingest_counts_accepted_rejected_and_suppressed_events_per_request(
    tmp_path: Path, metrics_on: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lambdas.ingest import handler

    lake = LocalLake.at(tmp_path / "lake")
    key = LocalWriteKeyStore(lake).create_source("web").write_key
    metrics_on.setattr(handler, "_METRICS_ON", True)
    handler.use_service(build_ingestion_service(IngestionSettings(lake=str(lake.root))))
    try:
        batch = {
            "batch": [
                {"type": "track", "event": "Viewed", "userId": "u-1", "messageId": "m-1"},
                {"type": "track", "event": "Viewed", "userId": "u-1", "messageId": "m-1"},  # SDK retry
                {"type": "track", "userId": "u-2", "messageId": "m-2"},  # no event name: rejected
                {"type": "identify", "userId": "u-3", "messageId": "m-3"},
            ]
        }
        capsys.readouterr()
        result = call_ingest_handler("/v1/batch", batch, key)
    finally:
        handler.use_service(None)
    body = json.loads(result["body"])
    assert (result["statusCode"], body["accepted"], len(body["rejected"])) == (200, 3, 1)
    stored = [
        line for f in lake.path("raw/events").glob("dt=*/*.jsonl") for line in f.read_text().splitlines()
    ]
    assert len(stored) == 2  # m-1 once, m-3
    [document] = emf(capsys.readouterr().out)
    assert document["namespace"] == "CDP"
    assert document["dimensions"] == {"service": "cdp-ingest", "stage": _stage()}
    assert (document["EventsAccepted"], document["EventsRejected"], document["EventsSuppressed"]) == (3, 1, 1)
    assert set(document["units"].values()) == {"Count"}


def test_the_stage_dimension_comes_from_the_functions_environment(tmp_path: Path) -> None:
    """``CDP_STAGE`` (set by infra on every function) is read at cold start: a fresh interpreter."""
    script = """
import json, sys
from cdp.lake import LocalLake
from cdp.localapi.apigw import LocalLambdaContext, http_api_event
from cdp.settings import IngestionSettings
from cdp.wiring import build_ingestion_service
from lambdas.ingest import handler
handler.use_service(build_ingestion_service(IngestionSettings(lake=sys.argv[1])))
event = http_api_event(
    method="POST", path="/v1/track", query="", headers=[], body=b"{}", source_ip="127.0.0.1"
)
handler.lambda_handler(event, LocalLambdaContext(function_name="cdp-ingest"))
"""
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("POWERTOOLS_")},
        "CDP_STAGE": "prod",
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}",
    }
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "lake")],
        capture_output=True,
        text=True,
        env=environment,
        cwd=ROOT,
        timeout=120,
        check=True,
    )
    [document] = emf(result.stdout)
    assert document["dimensions"] == {"service": "cdp-ingest", "stage": "prod"}
    assert (document["EventsAccepted"], document["EventsRejected"]) == (0, 0)  # 401: no write key


# -- export --------------------------------------------------------------------------------------------

PEOPLE = [
    Person("p1", "somchai@example.co.th", "+66819753001"),
    Person("p2", "malee@example.co.th", "+66819753002", granted=("sms",)),  # no e-mail consent
    Person("p3", "blocked@example.co.th", "+66819753003"),  # suppressed
    Person("p4", None, "+66819753004"),  # no e-mail address
]


def _export_context() -> LocalLambdaContext:
    return LocalLambdaContext(function_name="cdp-test-export", memory_limit_in_mb=1024, timeout_seconds=900)


def test_export_counts_deliveries_by_outcome(
    tmp_path: Path, metrics_on: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import lambdas.export.handler as handler

    root = tmp_path / "lake"
    publish_people(root, PEOPLE)
    publish_memberships(
        root, [membership("vip", p.profile_id, RUN_1, entered=AS_OF_1) for p in PEOPLE], RUN_1
    )
    define_segment(root, "vip", ["newsletter"])
    configure_destinations(
        root,
        [
            {
                "id": "newsletter",
                "type": "local",
                "purpose": "email",
                "needs_any": ["email"],
                "include": ["email"],
            }
        ],
    )
    suppress(root, {"email": "blocked@example.co.th", "reason": "asked"})
    metrics_on.setattr(handler, "_settings", ActivationSettings(lake=str(root)))
    metrics_on.setattr(handler, "_METRICS_ON", True)

    def deliveries() -> dict[str, int]:
        documents = emf(capsys.readouterr().out)
        assert all(d["dimensions"].keys() == {"service", "stage", "outcome"} for d in documents)
        assert all(d["dimensions"]["service"] == "cdp-export" for d in documents)
        return {d["dimensions"]["outcome"]: d["Deliveries"] for d in documents}

    capsys.readouterr()
    answer = handler.lambda_handler({"segment_id": "vip", "run_id": RUN_1}, _export_context())  # type: ignore[arg-type]
    [report] = answer["destinations"]
    first = deliveries()
    assert first == {
        "sent": 1,  # p1
        "skipped_consent": 1,  # p2
        "suppressed": 1,  # p3
        "skipped_no_contact": 1,  # p4
        "failed": 0,
        "already_sent": 0,
    }
    assert {outcome: report[outcome] for outcome in first} == first  # what the answer says, counted
    handler.lambda_handler({"segment_id": "vip", "run_id": RUN_1}, _export_context())  # type: ignore[arg-type]
    again = deliveries()
    assert (again["sent"], again["already_sent"]) == (0, 1)


# -- lookup loader -------------------------------------------------------------------------------------


def test_the_loader_counts_profiles_loaded_written_and_deleted(
    tmp_path: Path, metrics_on: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import lambdas.lookup_loader.handler as handler

    lake = tmp_path / "lake"
    publish_snapshots(lake, profiles=[profile_row(f"p-{i}", user_ids=[f"u-{i}"]) for i in range(12)])
    metrics_on.setattr(handler, "_settings", LookupSettings(lake=str(lake), lake_bucket="cdp-test-lake"))
    metrics_on.setattr(handler, "_METRICS_ON", True)
    # the lake bucket the function is invoked with, as the local lake directory
    metrics_on.setattr(
        handler, "LakeFiles", lambda uri: LakeFiles(lake) if uri == "s3://cdp-test-lake" else None
    )

    def loaded() -> dict[str, Any]:
        [document] = emf(capsys.readouterr().out)
        assert document["dimensions"] == {"service": "cdp-lookup-loader", "stage": _stage()}
        return {k: document[k] for k in ("LookupProfiles", "ProfilesWritten", "ProfilesDeleted")}

    capsys.readouterr()
    answer = handler.lambda_handler({"lake_bucket": "cdp-test-lake"}, _export_context())  # type: ignore[arg-type]
    assert answer["complete"] is True
    assert loaded() == {"LookupProfiles": 12, "ProfilesWritten": 12, "ProfilesDeleted": 0}
    publish_snapshots(
        lake,
        profiles=[profile_row(f"p-{i}", user_ids=[f"u-{i}"]) for i in range(9)],
        run_id="20260302T000000Z-bbbbbb",
    )
    handler.lambda_handler({"lake_bucket": "cdp-test-lake"}, _export_context())  # type: ignore[arg-type]
    assert loaded() == {"LookupProfiles": 9, "ProfilesWritten": 0, "ProfilesDeleted": 3}
