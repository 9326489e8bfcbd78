"""``cdp match`` (SPEC 3.4) and ``cdp identity`` as a user runs them: real processes, files in and out."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.e2e.conftest import cdp

HEADER = "record_id,source,first_name,last_name,email,phone,date_of_birth,user_id,notes\n"
ROWS = [
    "a1,crm,Somchai,Jaidee,Somchai.J@Gmail.com,081-947-3526,12/05/2530,,vip",
    "a2,shop,สมชาย,ใจดี,somchaij@gmail.com,,,,",  # same Gmail match key, other script
    "b1,crm,Malee,Jaidee,,0819473526,1990-01-01,,household phone",  # dad's phone, other person
    "t1,crm,Test,User,test@test.com,0000000000,,,",
    "t2,shop,Someone,Else,test@test.com,0000000000,,,",
    "u1,app,,,,,,user-1,",
    "u2,app,,,,,,user-2,",
]
NO_SPLINK = "probabilistic:\n  enabled: false\n"


def read_output(path: Path) -> dict[str, str]:
    with path.open(encoding="utf-8", newline="") as file:
        reader = csv.reader(file)
        assert next(reader) == ["record_id", "profile_id"]
        return dict(reader)  # type: ignore[arg-type]


def test_match_writes_one_profile_per_person_and_touches_no_lake(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(HEADER + "\n".join(ROWS) + "\n", encoding="utf-8")
    config = tmp_path / "identity.yaml"
    config.write_text(NO_SPLINK, encoding="utf-8")
    lake = tmp_path / "lake"
    result = cdp(
        "match", str(source), "--output", str(tmp_path / "out.csv"), "--config", str(config), lake=lake
    )
    assert result.code == 0, result.stderr
    profiles = read_output(tmp_path / "out.csv")
    assert list(profiles) == ["a1", "a2", "b1", "t1", "t2", "u1", "u2"]  # one row per record, input order
    assert profiles["a1"] == profiles["a2"]
    assert len({profiles[r] for r in ("a1", "b1", "t1", "t2", "u1", "u2")}) == 6
    assert not lake.exists()
    again = cdp(
        "match", str(source), "--output", str(tmp_path / "again.csv"), "--config", str(config), lake=lake
    )
    assert again.code == 0, again.stderr
    assert read_output(tmp_path / "again.csv") == profiles  # same input, same ids


def test_bad_match_input_exits_2_with_one_line(tmp_path: Path) -> None:
    cases = {
        "no_id.csv": "id,email\n1,a@b.com\n",
        "dupes.csv": "record_id,email\n1,a@b.com\n1,c@d.com\n",
    }
    for name, text in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    for name, reason in (("no_id.csv", "no record_id column"), ("dupes.csv", "duplicate record_id '1'")):
        result = cdp(
            "match", str(tmp_path / name), "--output", str(tmp_path / "o.csv"), lake=tmp_path / "lake"
        )
        assert result.code == 2, result
        assert len(result.stderr.strip().splitlines()) == 1
        assert reason in result.stderr
    bad_config = tmp_path / "bad.yaml"
    bad_config.write_text("max_profile_records: 0\n", encoding="utf-8")
    result = cdp(
        "match", str(tmp_path / "dupes.csv"), "--output", "o.csv", "--config", str(bad_config), lake=tmp_path
    )
    assert result.code == 2
    assert "max_profile_records" in result.stderr


def test_override_then_resolve_then_explain(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    bad = cdp("identity", "override", "split", "a", "b", "--reason", "x", lake=lake)
    assert bad.code == 2
    assert "split takes 1 record id(s)" in bad.stderr
    added = cdp(
        "identity", "override", "force-merge", "crm:1", "shop:2", "--reason", "checked by phone", lake=lake
    )
    assert added.code == 0, added.stderr
    ran = cdp("run", "--steps", "resolve", lake=lake)
    assert ran.code == 0, ran.stderr
    assert "identity_links" in ran.stdout
    missing = cdp("identity", "explain", "p_nobody", lake=lake)
    assert missing.code == 2
    assert "no profile 'p_nobody'" in missing.stderr
