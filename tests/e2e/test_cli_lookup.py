"""The profile lookup API as a service desk uses it: ``cdp serve``, real HTTP, keys from ``cdp lookup-keys``.

The lake holds ``profiles`` / ``profile_traits`` / ``segment_memberships`` snapshots published as the
pipeline publishes them (written with pyarrow here: the profiles step is another issue), and the loader
(the pipeline's ``lookup`` step) fills the lake's SQLite store while ``cdp serve`` is already running.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import requests

from cdp.adapters.local_profiles import SqliteProfileStore
from cdp.lake import LocalLake
from cdp.lakefs import LakeFiles
from cdp.pipeline.lookup import refresh_lookup
from tests.e2e.conftest import RunningServer, cdp
from tests.lookup_data import membership_row, profile_row, publish_snapshots, trait_row

SOMCHAI = profile_row(
    "p-somchai",
    emails=["somchai.j@gmail.com"],
    primary_email="somchai.j@gmail.com",
    phones=["+66819753042"],
    primary_phone="+66819753042",
    user_ids=["u-100"],
    anonymous_ids=["anon-1"],
)
MALEE = profile_row("p-malee", first_name="มาลี", emails=["malee@shop.co.th"], user_ids=["u-200"])


def load(lake: Path, **tables: object) -> None:
    publish_snapshots(lake, **tables)  # type: ignore[arg-type]
    report = refresh_lookup(LakeFiles(lake), SqliteProfileStore(LocalLake.at(lake)))
    assert report.complete


def add_key(lake: Path, name: str) -> str:
    added = cdp("lookup-keys", "add", name, lake=lake)
    assert added.code == 0, added.stderr
    return added.stdout.strip().splitlines()[-1]


def test_a_service_desk_looks_up_profiles_with_its_key(server: RunningServer) -> None:
    load(
        server.lake,
        profiles=[SOMCHAI, MALEE],
        traits=[trait_row("p-somchai", "ltv", 1234.5), trait_row("p-somchai", "is_vip", True)],
        memberships=[membership_row("high-value", "p-somchai")],
    )
    key = add_key(server.lake, "service-desk")
    assert key.startswith("lk_")
    auth = {"x-api-key": key}
    url = f"{server.url}/v1/profiles"

    by_id = requests.get(f"{url}/p-somchai", headers=auth, timeout=10)
    assert by_id.status_code == 200
    profile = by_id.json()
    assert profile["profile_id"] == "p-somchai"
    assert profile["attributes"]["first_name"] == "สมชาย"
    assert profile["traits"] == {"ltv": 1234.5, "is_vip": True}
    assert profile["segments"] == ["high-value"]
    assert profile["consent"]["email"]["granted"] is True
    assert by_id.headers["Cache-Control"] == "no-store"

    for params in ({"email": "Somchai.J@Gmail.com"}, {"phone": "081-975-3042"}, {"user_id": "u-100"}):
        found = requests.get(url, params=params, headers=auth, timeout=10)
        assert (found.status_code, found.json()["profile_id"]) == (200, "p-somchai"), params

    missing = requests.get(url, params={"email": "wichai@shop.co.th"}, headers=auth, timeout=10)
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
    assert requests.get(f"{url}/p-nobody", headers=auth, timeout=10).status_code == 404
    for params in ({}, {"email": "a@shop.co.th", "phone": "0819753042"}, {"name": "Somchai"}, {"phone": "x"}):
        bad = requests.get(url, params=params, headers=auth, timeout=10)
        assert bad.status_code == 400, params
        assert set(bad.json()) == {"code", "message"}


def test_without_a_valid_key_the_handler_is_never_reached(server: RunningServer) -> None:
    load(server.lake, profiles=[SOMCHAI])
    key = add_key(server.lake, "desk")
    url = f"{server.url}/v1/profiles/p-somchai"
    anonymous = requests.get(url, timeout=10)
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "unauthorized")
    forged = requests.get(url, headers={"x-api-key": "lk_not-a-key"}, timeout=10)
    assert (forged.status_code, forged.json()["code"]) == (403, "forbidden")
    assert requests.get(url, headers={"x-api-key": key}, timeout=10).status_code == 200
    # a revoked key stops working on the running server at once
    assert cdp("lookup-keys", "revoke", "desk", lake=server.lake).code == 0
    assert requests.get(url, headers={"x-api-key": key}, timeout=10).status_code == 403
    # the ingestion API beside it is unaffected (its own auth: write keys)
    assert (
        requests.post(f"{server.url}/v1/track", json={"event": "x", "userId": "u"}, timeout=10).status_code
        == 401
    )


def test_a_new_load_is_served_without_a_restart(server: RunningServer) -> None:
    key = add_key(server.lake, "desk")
    auth = {"x-api-key": key}
    url = f"{server.url}/v1/profiles"
    assert requests.get(f"{url}/p-somchai", headers=auth, timeout=10).status_code == 404  # nothing loaded yet
    load(server.lake, profiles=[SOMCHAI, MALEE])
    assert requests.get(f"{url}/p-malee", headers=auth, timeout=10).status_code == 200
    # the next run merged Malee into Somchai
    merged = {
        **SOMCHAI,
        "user_ids": ["u-100", "u-200"],
        "emails": ["somchai.j@gmail.com", "malee@shop.co.th"],
    }
    load(server.lake, profiles=[merged], run_id="20260302T000000Z-bbbbbb")
    assert requests.get(f"{url}/p-malee", headers=auth, timeout=10).status_code == 404
    moved = requests.get(url, params={"user_id": "u-200"}, headers=auth, timeout=10)
    assert (moved.status_code, moved.json()["profile_id"]) == (200, "p-somchai")
    thai = requests.get(f"{url}/{quote('p-ไม่มี', safe='')}", headers=auth, timeout=10)
    assert thai.status_code == 404


def test_lookup_keys_commands_follow_the_cli_conventions(lake: Path) -> None:
    key = add_key(lake, "desk")
    listed = cdp("lookup-keys", "list", lake=lake)
    assert listed.code == 0
    assert "desk" in listed.stdout
    assert key not in listed.stdout
    assert key not in (lake / "_local" / "lookup_keys.json").read_text()  # stored hashed
    for args in (
        ("lookup-keys", "add", "desk"),  # still active
        ("lookup-keys", "add", "Bad Name"),
        ("lookup-keys", "revoke", "nobody"),
        ("lookup-keys", "add"),
    ):
        result = cdp(*args, lake=lake)
        assert result.code == 2, (args, result)
        assert len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)
        assert result.stderr.startswith("cdp: error: ")
    assert cdp("lookup-keys", "revoke", "desk", lake=lake).code == 0
    assert add_key(lake, "desk") != key  # a revoked name may be given a new key
    for args in (("lookup-keys", "add"), ("lookup-keys", "list"), ("lookup-keys", "revoke")):
        assert "--lake" in cdp(*args, "--help", lake=lake).stdout
