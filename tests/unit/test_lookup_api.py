"""The lookup Lambda handler with payload-v2 events as API Gateway sends them (in-memory store).

Every answer is asserted as a client sees it: status, JSON body, headers. Nothing a client sends may give
a 5xx; only the store being down does (503, retry).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cdp.adapters.memory import InMemoryProfileStore
from cdp.localapi.apigw import LocalLambdaContext, http_api_event
from cdp.lookup.service import ProfileLookupService
from cdp.lookup_wiring import LoadRequest, LookupSettings
from cdp.settings import ConfigError
from tests.lookup_data import documents, profile_row

os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
from lambdas.lookup import handler

ROOT = Path(__file__).resolve().parents[2]
SOMCHAI = profile_row(
    "p-somchai",
    emails=["somchai.j@gmail.com"],
    primary_email="somchai.j@gmail.com",
    phones=["+66819753042"],
    user_ids=["u-100"],
    anonymous_ids=["anon-1"],
)
MALEE = profile_row("p-malee", phones=["+6626158890"], user_ids=["u-200"])
NIRAN = profile_row("p-niran", phones=["+6626158890"])  # Malee's household landline
THAI_ID = profile_row("p-ไทย/1", user_ids=["u-300"])


@pytest.fixture
def store() -> Iterator[InMemoryProfileStore]:
    memory = InMemoryProfileStore()
    memory.replace_all([documents([SOMCHAI, MALEE, NIRAN, THAI_ID], segments={"p-somchai": ["vip"]})])
    handler.use_service(ProfileLookupService(memory))
    yield memory
    handler.use_service(None)


def get(path: str, query: str = "", method: str = "GET") -> tuple[int, dict[str, Any], dict[str, str]]:
    event = http_api_event(
        method=method, path=path, query=query, headers=[("Host", "lookup")], body=b"", source_ip="10.0.0.1"
    )
    result = handler.lambda_handler(event, LocalLambdaContext(function_name="cdp-lookup"))
    assert result["isBase64Encoded"] is False
    return result["statusCode"], orjson.loads(result["body"]), result["headers"]


def test_by_id_answers_the_document_and_forbids_caching(store: InMemoryProfileStore) -> None:
    status, body, headers = get("/v1/profiles/p-somchai")
    assert status == 200
    assert body["profile_id"] == "p-somchai"
    assert body["segments"] == ["vip"]
    assert body["identifiers"]["emails"] == ["somchai.j@gmail.com"]
    assert headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"] == "no-store"


def test_a_percent_encoded_id_is_decoded(store: InMemoryProfileStore) -> None:
    status, body, _ = get("/v1/profiles/" + quote("p-ไทย/1", safe=""))
    assert (status, body["profile_id"]) == (200, "p-ไทย/1")


@pytest.mark.parametrize(
    "query",
    [
        urlencode({"email": "Somchai.J@Gmail.com"}),
        urlencode({"email": "somchaij+shop@googlemail.com"}),  # one Gmail inbox
        "email=somchaij+shop@gmail.com",  # a '+' typed by hand, not %2B
        urlencode({"email": " <SOMCHAI.J@GMAIL.COM> "}),
        urlencode({"phone": "081-975-3042"}),
        urlencode({"phone": "+66 81 975 3042"}),
        urlencode({"phone": "๐๘๑ ๙๗๕ ๓๐๔๒"}),  # Thai digits
        urlencode({"phone": "0066819753042"}),
        urlencode({"user_id": "u-100"}),
        urlencode({"anonymous_id": "anon-1"}),
    ],
)
def test_identifiers_are_normalized_like_the_pipeline_does(store: InMemoryProfileStore, query: str) -> None:
    status, body, headers = get("/v1/profiles", query)
    assert (status, body["profile_id"]) == (200, "p-somchai"), body
    assert headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("path", "query", "kind"),
    [
        ("/v1/profiles/p-nobody", "", "id"),
        ("/v1/profiles", "email=wichai%40shop.co.th", "email"),
        ("/v1/profiles", "phone=086-419-7730", "phone"),
        ("/v1/profiles", "user_id=u-999", "user_id"),
        ("/v1/profiles", "anonymous_id=u-100", "anonymous_id"),  # a user id is not an anonymous id
    ],
)
def test_unknown_profiles_are_404_without_echoing_the_identifier(
    store: InMemoryProfileStore, path: str, query: str, kind: str
) -> None:
    status, body, _ = get(path, query)
    assert status == 404
    assert body["code"] == "not_found"
    assert kind in body["message"]
    for echoed in ("wichai", "999", "7730", "nobody"):
        assert echoed not in body["message"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("", "missing_parameter"),
        ("email=", "missing_parameter"),
        ("email=a%40b.co&phone=0819753042", "too_many_parameters"),
        ("user_id=u-1&user_id=u-2", "too_many_parameters"),
        ("name=Somchai", "unknown_parameter"),
        ("Email=somchai%40example.com", "unknown_parameter"),
        ("email=not-an-address", "invalid_email"),
        ("email=test%40test.com", "invalid_email"),  # a placeholder: no profile can hold it
        ("phone=hello", "invalid_phone"),
        ("phone=081-234-5678", "invalid_phone"),  # a typed sequence, refused by the pipeline too
        ("user_id=" + "u" * 600, "invalid_parameter"),
        ("user_id=%ED%A0%80", "not_found"),  # undecodable bytes become U+FFFD: a valid, unknown id
    ],
)
def test_bad_parameters_are_400_with_a_code_and_a_reason(
    store: InMemoryProfileStore, query: str, code: str
) -> None:
    status, body, _ = get("/v1/profiles", query)
    assert body["code"] == code, body
    assert status == (404 if code == "not_found" else 400)
    assert body["message"]


def test_the_placeholder_reason_is_given(store: InMemoryProfileStore) -> None:
    _, body, _ = get("/v1/profiles", "phone=081-234-5678")
    assert body["message"] == "not a usable phone number (placeholder)"


def test_a_shared_identifier_is_300_with_every_holder(store: InMemoryProfileStore) -> None:
    status, body, _ = get("/v1/profiles", urlencode({"phone": "02 615 8890"}))
    assert status == 300
    assert body["code"] == "multiple_profiles"
    assert body["profiles"] == [
        {"profile_id": "p-malee", "href": "/v1/profiles/p-malee"},
        {"profile_id": "p-niran", "href": "/v1/profiles/p-niran"},
    ]
    assert body["more"] is False
    assert "first_name" not in orjson.dumps(body).decode()  # nobody's data until one is chosen


def test_a_down_store_is_503_with_retry_after(store: InMemoryProfileStore) -> None:
    store.fail_next = True
    status, body, headers = get("/v1/profiles/p-somchai")
    assert (status, body["code"], headers["Retry-After"]) == (503, "unavailable", "1")
    store.down = True
    status, body, _ = get("/v1/profiles", "email=somchai.j%40gmail.com")
    assert (status, body["code"]) == (503, "unavailable")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/profiles/p-somchai"),
        ("DELETE", "/v1/profiles/p-somchai"),
        ("GET", "/v1/profiles/"),
        ("GET", "/v1/profiles/p-somchai/segments"),
        ("GET", "/v1/profilesX"),
        ("GET", "/v2/profiles/p-somchai"),
    ],
)
def test_other_routes_are_404(store: InMemoryProfileStore, method: str, path: str) -> None:
    status, body, _ = get(path, method=method)
    assert (status, body["code"]) == (404, "not_found")


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    suffix=_TEXT,
    name=st.sampled_from(["email", "phone", "user_id", "anonymous_id", "x", ""]) | _TEXT,
    value=_TEXT,
    raw=st.booleans(),
)
def test_nothing_a_client_sends_gives_a_5xx(
    store: InMemoryProfileStore, suffix: str, name: str, value: str, raw: bool
) -> None:
    query = f"{name}={value}" if raw else urlencode({name: value})
    for path, q in (
        ("/v1/profiles", query),
        ("/v1/profiles/" + quote(suffix, safe=""), ""),
        ("/v1/profiles", ""),
    ):
        status, body, _ = get(path, q)
        assert status in (200, 300, 400, 404), (path, q, body)
        if status != 200:
            assert set(body) >= {"code", "message"}


def test_settings_and_load_requests_are_validated() -> None:
    assert LookupSettings.from_env({"CDP_PHONE_REGION": "SG"}).phone_region == "SG"
    with pytest.raises(ConfigError, match="CDP_PROFILE_TABLE"):
        LookupSettings.from_env({"CDP_PROFILE_STORE": "dynamodb"})
    with pytest.raises(ConfigError, match="CDP_PHONE_REGION"):
        LookupSettings.from_env({"CDP_PHONE_REGION": "XX"})
    settings = LookupSettings(lake_bucket="cdp-dev-lake")
    assert (
        LoadRequest.model_validate({"lake_bucket": "cdp-dev-lake"}).lake_uri(settings) == "s3://cdp-dev-lake"
    )
    with pytest.raises(ConfigError, match="reads only"):
        LoadRequest.model_validate({"lake_bucket": "someone-elses-bucket"}).lake_uri(settings)


def test_the_handler_module_imports_neither_boto3_nor_pyarrow() -> None:
    """Cold start: the AWS adapter makes its client on the first lookup; pyarrow is the loader's.
    (Powertools imports the bare ``botocore`` package for its user agent; its client machinery stays out.)"""
    code = (
        "import sys; import lambdas.lookup.handler; "
        "print(sorted(m for m in ('boto3', 'botocore.client', 'pyarrow', 'duckdb') if m in sys.modules))"
    )
    env = {**os.environ, "CDP_PROFILE_STORE": "dynamodb", "CDP_PROFILE_TABLE": "t"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, check=True
    )
    assert done.stdout.strip() == "[]"
