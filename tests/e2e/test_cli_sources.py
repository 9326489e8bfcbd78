"""``cdp sources`` and ``cdp query`` as a user runs them: real processes, exit codes, stderr."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import requests

from tests.e2e.conftest import RunningServer, cdp, query_json


def test_add_prints_the_key_last_and_list_never_shows_it(lake: Path) -> None:
    added = cdp("sources", "add", "web", lake=lake)
    assert added.code == 0, added.stderr
    key = added.stdout.strip().splitlines()[-1]
    assert key.startswith("wk_")
    listed = cdp("sources", "list", lake=lake)
    assert listed.code == 0
    assert "web" in listed.stdout
    assert key not in listed.stdout


def test_bad_input_exits_2_with_one_line_on_stderr(lake: Path) -> None:
    assert cdp("sources", "add", "web", lake=lake).code == 0
    for args in (
        ("sources", "add", "web"),  # exists
        ("sources", "add", "Bad Name"),
        ("sources", "rotate-key", "nope"),
        ("sources", "revoke", "nope"),
        ("query", "SELEC oops FROM"),
        ("query", "SELECT * FROM no_such_table"),
        ("query", "SELECT 1", "--format", "xml"),
        ("sources", "add"),  # missing argument
    ):
        result = cdp(*args, lake=lake)
        assert result.code == 2, (args, result)
        assert len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)
        assert result.stderr.startswith("cdp: error: ")


def test_every_subcommand_has_help(lake: Path) -> None:
    for args in (("sources", "add"), ("sources", "list"), ("serve",), ("query",), ("demo",)):
        result = cdp(*args, "--help", lake=lake)
        assert result.code == 0, args
        assert "--lake" in result.stdout


def test_lake_from_environment(tmp_path: Path, monkeypatch: object) -> None:
    import os
    import subprocess

    from tests.e2e.conftest import CDP

    env = {**os.environ, "CDP_LAKE": str(tmp_path / "env-lake")}
    done = subprocess.run(
        [CDP, "sources", "add", "crm"], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "env-lake" / "_local" / "write_keys.json").exists()


def test_rotate_and_revoke_take_effect_on_a_running_server(server: RunningServer) -> None:
    key = cdp("sources", "add", "app", lake=server.lake).stdout.strip().splitlines()[-1]
    event = {"event": "Opened", "anonymousId": "a-1"}
    assert requests.post(f"{server.url}/v1/track", json=event, auth=(key, ""), timeout=10).status_code == 200
    rotated = cdp("sources", "rotate-key", "app", lake=server.lake)
    assert rotated.code == 0
    new_key = rotated.stdout.strip().splitlines()[-1]
    old = requests.post(f"{server.url}/v1/track", json=event, auth=(key, ""), timeout=10)
    assert old.status_code == 401
    assert old.json()["code"] == "unauthorized"
    assert (
        requests.post(f"{server.url}/v1/track", json=event, auth=(new_key, ""), timeout=10).status_code == 200
    )
    assert cdp("sources", "revoke", "app", lake=server.lake).code == 0
    assert (
        requests.post(f"{server.url}/v1/track", json=event, auth=(new_key, ""), timeout=10).status_code == 401
    )


def test_query_formats(server: RunningServer) -> None:
    key = cdp("sources", "add", "web", lake=server.lake).stdout.strip().splitlines()[-1]
    requests.post(
        f"{server.url}/v1/identify",
        json={"userId": "u-1", "traits": {"name": "ศิริพร"}, "messageId": "m-1"},
        auth=(key, ""),
        timeout=10,
    ).raise_for_status()
    sql = "SELECT message_id, json_extract_scalar(traits, '$.name') AS name FROM raw_events"
    assert query_json(sql, server.lake) == [{"message_id": "m-1", "name": "ศิริพร"}]
    as_csv = cdp("query", sql, "--format", "csv", lake=server.lake)
    assert list(csv.DictReader(io.StringIO(as_csv.stdout))) == [{"message_id": "m-1", "name": "ศิริพร"}]
    as_table = cdp("query", sql, lake=server.lake)
    assert "ศิริพร" in as_table.stdout
    assert "(1 row)" in as_table.stdout
