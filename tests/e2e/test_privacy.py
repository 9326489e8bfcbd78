"""Access and erasure as a user runs them (SPEC 9, issue 9): one person reaches the lake through every path
— a real Segment SDK against ``cdp serve``, the TIS-620 CRM export, the shop's JSON lines, the survey — the
whole pipeline runs, ``cdp privacy export`` finds them in every zone, ``cdp privacy erase`` removes them,
and an independent scan of every file of the lake (raw bytes, decoded text, decoded Parquet) finds none of
their identifiers while their neighbours' data is intact. A later event from them is suppressed.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import orjson
import pyarrow.parquet as pq
import pytest
from segment.analytics import Client

from tests.e2e.conftest import RunningServer, cdp, import_examples, query_json

#: Somchai as every source writes him (examples/data: CRM C0001, shop SO-1001, the survey's first answer)
EMAIL = "somchai.j@hotmail.co.th"
PHONE_FORMS = ("0812345678", "66812345678")  # digits of 081-234-5678 / +66 81 234 5678
USER_ID = "u-somchai-0001"
DEVICE = "dev-3f9a2c77-somchai"
NATIONAL_ID = "1101700203451"
CRM_KEY = "C0001"
ORDER_ID = "SO-1001"
#: someone else in the same files who must survive (CRM C0002 and the survey's second answer)
NEIGHBOUR_EMAIL = "somying@gmail.com"


def _send(server: RunningServer, key: str, calls: list[tuple[str, dict[str, Any]]]) -> None:
    errors: list[str] = []
    client = Client(write_key=key, host=server.url, on_error=lambda error, _batch: errors.append(repr(error)))
    for method, kwargs in calls:
        getattr(client, method)(**kwargs)
    client.flush()
    client.shutdown()
    assert errors == []


def _wait_for(server: RunningServer, sql: str, expected: int) -> None:
    deadline = time.monotonic() + 10
    while True:
        [row] = query_json(sql, server.lake)
        if row["n"] >= expected or time.monotonic() > deadline:
            assert row["n"] >= expected, row
            return
        time.sleep(0.2)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _scan(lake: Path, tokens: tuple[str, ...], phone_digits: tuple[str, ...]) -> dict[str, set[str]]:
    """Every file of the lake, searched independently of the product's matcher: raw bytes (case-folded),
    the text decoded as UTF-8 and TIS-620 (phones in any punctuation), and every value of every Parquet
    row."""
    hits: dict[str, set[str]] = {}
    lowered = tuple(token.lower() for token in tokens)
    for path in sorted(p for p in lake.rglob("*") if p.is_file()):
        name = str(path.relative_to(lake))
        data = path.read_bytes().lower()
        found = {token for token in lowered if token.encode() in data}
        texts = [data.decode("utf-8", "replace"), data.decode("tis-620", "replace")]
        if path.suffix == ".parquet":
            rows = pq.read_table(path).to_pylist()
            texts.append("\n".join(json.dumps(row, default=str, ensure_ascii=False).lower() for row in rows))
            found |= {token for token in lowered if token in texts[-1]}
        for text in texts:
            for candidate in re.findall(r"[+\d][\d\s().-]{7,20}", text):
                if _digits(candidate) in phone_digits:
                    found.add(f"phone {candidate.strip()}")
        if found:
            hits[name] = found
    return hits


@pytest.mark.timeout(300)
def test_a_person_from_every_path_is_exported_then_erased_from_every_file(
    server: RunningServer, tmp_path: Path
) -> None:
    lake = server.lake
    key = cdp("sources", "add", "app", lake=lake).stdout.strip().splitlines()[-1]
    _send(
        server,
        key,
        [
            ("page", {"anonymous_id": DEVICE, "name": "Home"}),
            (
                "identify",
                {
                    "user_id": USER_ID,
                    "anonymous_id": DEVICE,
                    "traits": {
                        "email": "Somchai.J@Hotmail.co.th",
                        "phone": "+66 81 234 5678",
                        "firstName": "สมชาย",
                    },
                },
            ),
            ("track", {"user_id": USER_ID, "event": "Product Viewed", "properties": {"sku": "TS-001"}}),
            ("identify", {"user_id": "u-somying", "traits": {"email": NEIGHBOUR_EMAIL}}),
        ],
    )
    _wait_for(server, "SELECT count(*) AS n FROM raw_events", 4)
    import_examples(lake)
    ran = cdp("run", lake=lake, timeout=180)
    assert ran.code == 0, ran.stderr
    tokens = (EMAIL, USER_ID, DEVICE, NATIONAL_ID, "+66812345678")
    before = _scan(lake, tokens, PHONE_FORMS)
    zones_before = {name.split("/")[0] for name in before}
    assert zones_before >= {"raw", "clean", "profiles", "_local"}, before  # _local: the lookup store

    # access: one document with the person from every zone that holds them
    access_file = tmp_path / "access.json"
    exported = cdp(
        "privacy", "export", "--email", "SOMCHAI.J@hotmail.co.th", "-o", str(access_file), lake=lake
    )
    assert exported.code == 0, exported.stderr
    document = orjson.loads(access_file.read_bytes())
    assert len(document["profiles"]) == 1
    assert {"raw/events", "raw/imports", "clean", "identity", "profiles"} <= set(document["summary"])
    text = access_file.read_text().lower()
    for token in (USER_ID, DEVICE, NATIONAL_ID, CRM_KEY.lower(), ORDER_ID.lower()):
        assert token.lower() in text
    assert document["lookup"], "the lookup store's document is part of the export"

    # erasure, with its own proof
    erased = cdp("privacy", "erase", "--email", EMAIL, "--json", lake=lake)
    assert erased.code == 0, erased.stderr
    report = orjson.loads(erased.stdout)
    assert report["proof"]["hits"] == 0
    assert report["profiles"] == 1
    assert report["files_rewritten"] > 0
    assert report["lookup_deleted"] == 1
    # e-mail, user id, device; 081-234-5678 is a placeholder and the CRM's national id fails its checksum:
    # neither identifies anyone, so neither is tombstoned (a stranger typing them must not be suppressed)
    assert report["tombstones"] == 3
    assert EMAIL not in erased.stdout  # the report names nobody
    assert USER_ID not in erased.stdout

    # the independent proof: nothing anywhere, in any shape
    assert _scan(lake, (*tokens, CRM_KEY, ORDER_ID), PHONE_FORMS) == {}
    # the neighbour in the same files is intact
    [neighbour] = query_json(
        f"SELECT count(*) AS n FROM identity_records WHERE email = '{NEIGHBOUR_EMAIL}'", lake
    )
    assert neighbour["n"] >= 3  # CRM, survey, identify event
    crm_rows = query_json("SELECT count(*) AS n FROM import_rows WHERE source_id = 'crm'", lake)[0]["n"]
    assert crm_rows > 0

    # idempotent: the same request again finds nothing more and still proves 0
    again = cdp("privacy", "erase", "--email", EMAIL, "--json", lake=lake)
    assert again.code == 0, again.stderr
    assert orjson.loads(again.stdout)["proof"]["hits"] == 0
    assert orjson.loads(again.stdout)["files_rewritten"] == 0

    # a later event from the same person is suppressed by the tombstones, the neighbour's is not
    _send(
        server,
        key,
        [
            ("identify", {"user_id": USER_ID, "traits": {"email": EMAIL}}),
            ("identify", {"user_id": "u-late-neighbour", "traits": {"email": "late@example.com"}}),
        ],
    )
    _wait_for(server, "SELECT count(*) AS n FROM raw_events WHERE user_id = 'u-late-neighbour'", 1)
    rerun = cdp("run", lake=lake, timeout=180)
    assert rerun.code == 0, rerun.stderr
    assert "suppressed_erased" in rerun.stdout
    assert (
        query_json(f"SELECT count(*) AS n FROM identity_records WHERE user_id = '{USER_ID}'", lake)[0]["n"]
        == 0
    )
    assert (
        query_json(f"SELECT count(*) AS n FROM profiles WHERE list_contains(emails, '{EMAIL}')", lake)[0]["n"]
        == 0
    )
    assert (
        query_json("SELECT count(*) AS n FROM identity_records WHERE user_id = 'u-late-neighbour'", lake)[0][
            "n"
        ]
        == 1
    )
    # the raw copy of what they sent is erased by the next retention run, which the run queued it for
    assert _scan(lake, (USER_ID,), ()) != {}
    retention = cdp("privacy", "retention", lake=lake)
    assert retention.code == 0, retention.stderr
    assert "1 record(s) of erased people who came back erased" in retention.stdout
    assert _scan(lake, (*tokens, CRM_KEY, ORDER_ID), PHONE_FORMS) == {}
    assert (
        query_json("SELECT count(*) AS n FROM raw_events WHERE user_id = 'u-late-neighbour'", lake)[0]["n"]
        == 1
    )


def test_a_request_naming_nobody_or_a_shared_identifier_is_refused(lake: Path) -> None:
    nobody = cdp("privacy", "erase", lake=lake)
    assert nobody.code == 2
    assert "name the person" in nobody.stderr
    blank = cdp("privacy", "export", "--email", "  ", lake=lake)
    assert blank.code == 2
    assert "empty" in blank.stderr
