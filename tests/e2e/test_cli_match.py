"""``cdp match`` (SPEC 3.4) and ``cdp identity`` as a user runs them: real processes, files in and out."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

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


#: SPEC 3.4's hard cases in one file, resolved with the defaults (probabilistic matching on)
HARD_HEADER = (
    "record_id,source,first_name,last_name,full_name,email,phone,date_of_birth,address_line,city,"
    "postcode,country,national_id\n"
)
HARD_ROWS = [
    # one man: English, Thai with a Buddhist-era date, a survey with the name order swapped, a typo
    "s1,crm,Somchai,Jaidee,,somchai.j@gmail.com,081-234-5678,1985-03-12,12 Sukhumvit Rd,Bangkok,10110,TH,",
    "s2,shop,สมชาย,ใจดี,,,+66 81 234 5678,12/03/2528,,กรุงเทพมหานคร,10110,TH,",
    "s3,survey,,,Jaidee Somchai,SOMCHAI.J@GMAIL.COM,,12 Mar 1985,,,,,",
    "s4,crm,Somchay,Jaidee,,,0812345678,1985-03-12,,,,TH,",
    # his wife: same phone, same address, her own name and birth date
    "w1,crm,Malee,Jaidee,,,081-234-5678,1987-07-01,12 Sukhumvit Rd,Bangkok,10110,TH,",
    # placeholders shared by strangers
    "j1,shop,Test,User,,test@test.com,0000000000,,,,,TH,",
    "j2,shop,Anna,Smith,,test@test.com,0000000000,,,,,TH,",
    "j3,crm,n/a,n/a,,n/a,n/a,n/a,,,,TH,",
    # a nickname in one source, the full name in another, one e-mail
    "n1,crm,Nok,Srisuk,,nok.s@hotmail.com,089-999-1111,1990-12-01,,,,TH,",
    "n2,shop,Pimchanok,Srisuk,,nok.s@hotmail.com,,01/12/1990,,,,TH,",
    # an American customer, phone in two formats, a one-letter typo in the first name
    "e1,crm,John,Miller,,john.miller@outlook.com,+1 415 555 0100,1979-05-05,,San Francisco,94105,US,",
    "e2,shop,Jon,Miller,,,+14155550100,05/05/1979,,,,US,",
    # one national ID written two ways
    "i1,crm,Wichai,Thongdee,,,,1970-01-01,55 Rama 4,Bangkok,10500,TH,3101700123452",
    "i2,shop,Wichai,Thongdee,,,,,,,,TH,3-1017-00123-45-2",
]
HARD_PEOPLE = [
    {"s1", "s2", "s3", "s4"},
    {"w1"},
    {"j1"},
    {"j2"},
    {"j3"},
    {"n1", "n2"},
    {"e1", "e2"},
    {"i1", "i2"},
]


def _groups(profiles: dict[str, str]) -> list[set[str]]:
    groups: dict[str, set[str]] = {}
    for record_id, profile_id in profiles.items():
        groups.setdefault(profile_id, set()).add(record_id)
    return sorted(groups.values(), key=sorted)


def test_match_resolves_the_hard_cases_like_a_careful_human(tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text(HARD_HEADER + "\n".join(HARD_ROWS) + "\n", encoding="utf-8")
    result = cdp("match", str(source), "--output", str(tmp_path / "out.csv"), lake=tmp_path / "lake")
    assert result.code == 0, result.stderr
    assert result.stderr.strip() == ""  # no training chatter from Splink on a small file
    assert _groups(read_output(tmp_path / "out.csv")) == sorted(HARD_PEOPLE, key=sorted)


@pytest.mark.timeout(600)
def test_match_on_spark_gives_the_same_profiles(tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text(HARD_HEADER + "\n".join(HARD_ROWS) + "\n", encoding="utf-8")
    on_duckdb = cdp("match", str(source), "--output", str(tmp_path / "duck.csv"), lake=tmp_path / "lake")
    assert on_duckdb.code == 0, on_duckdb.stderr
    on_spark = cdp(
        "match",
        str(source),
        "--output",
        str(tmp_path / "spark.csv"),
        "--engine",
        "spark",
        lake=tmp_path / "lake",
        timeout=420,  # a JVM, then Splink's ~40 small Spark jobs: about a minute on 2 cores
    )
    assert on_spark.code == 0, on_spark.stderr
    assert read_output(tmp_path / "spark.csv") == read_output(tmp_path / "duck.csv")
