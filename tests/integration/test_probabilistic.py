"""The probabilistic matcher on a small constructed population, on DuckDB and on local Spark (SPEC 3.4, 6).

The Spark tests use the session-wide ``spark`` fixture: :func:`ensure_similarity_udfs` adds Splink's UDF jar
to the running local session with ``ADD JAR``, so no second session is needed.
"""

from __future__ import annotations

import json
import random
from typing import TYPE_CHECKING

import pyarrow as pa
import pytest

from cdp.identity.probabilistic import PAIR_SCHEMA, MatchSettings, score_record_pairs

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

pytestmark = pytest.mark.integration

COLUMNS = (
    "record_id",
    "source_id",
    "first_name",
    "last_name",
    "date_of_birth",
    "gender",
    "email_key",
    "phone_e164",
    "address_line",
    "city",
    "province_code",
    "postcode",
    "national_id",
)
FIRST = [
    ("สมชาย", "Somchai"),
    ("สมศักดิ์", "Somsak"),
    ("สมหญิง", "Somying"),
    ("ศิริพร", "Siriporn"),
    ("สุดา", "Suda"),
    ("วิไล", "Wilai"),
    ("มานี", "Manee"),
    ("อนันต์", "Anan"),
    ("ณัฐ", "Nat"),
    ("ปิยะ", "Piya"),
    ("สมปอง", "Sompong"),
    ("นภา", "Napa"),
]
LAST = [
    ("ใจดี", "Jaidee"),
    ("สุขใจ", "Sukjai"),
    ("ทองคำ", "Thongkham"),
    ("ศรีสุข", "Srisuk"),
    ("มั่นคง", "Mankong"),
    ("บุญมี", "Boonmee"),
    ("สมบูรณ์", "Somboon"),
    ("วงศ์ใหญ่", "Wongyai"),
]
SUFFIXES = [("", ""), ("กุล", "kul"), ("วงศ์", "wong"), ("ศรี", "sri"), ("ทอง", "thong"), ("ชัย", "chai")]

#: The cases a careful human decides, planted in the population.
CASES: list[dict[str, str | None]] = [
    # romanized vs Thai script, same birth date and phone: one person
    {
        "record_id": "thai-1",
        "first_name": "สมชาย",
        "last_name": "ใจดีมาก",
        "date_of_birth": "1985-03-12",
        "phone_e164": "+66811111111",
        "province_code": "TH-10",
    },
    {
        "record_id": "thai-2",
        "first_name": "Somchay",
        "last_name": "Jaideemak",
        "date_of_birth": "1985-03-12",
        "phone_e164": "+66811111111",
        "province_code": "TH-10",
    },
    # household: same phone and last name, different first name and birth date: two people
    {
        "record_id": "home-1",
        "first_name": "Wichai",
        "last_name": "Rakthai",
        "date_of_birth": "1958-07-01",
        "phone_e164": "+66822222222",
        "address_line": "99/1 moo 3",
        "postcode": "50200",
        "province_code": "TH-50",
    },
    {
        "record_id": "home-2",
        "first_name": "Kanya",
        "last_name": "Rakthai",
        "date_of_birth": "1992-11-23",
        "phone_e164": "+66822222222",
        "address_line": "99/1 moo 3",
        "postcode": "50200",
        "province_code": "TH-50",
    },
    # swapped first/last name, day and month swapped, same e-mail: one person
    {
        "record_id": "swap-1",
        "first_name": "Siriporn",
        "last_name": "Kaewmanee",
        "date_of_birth": "1990-01-02",
        "email_key": "siriporn.k@example.co.th",
        "postcode": "10110",
    },
    {
        "record_id": "swap-2",
        "first_name": "Kaewmanee",
        "last_name": "Siriphon",
        "date_of_birth": "1990-02-01",
        "email_key": "siriporn.k@example.co.th",
        "postcode": "10110",
    },
]


def population(people: int = 220, seed: int = 11) -> pa.Table:
    rng = random.Random(seed)
    rows: list[dict[str, str | None]] = []
    for person in range(people):
        (first_th, first_en), (last_th, last_en) = rng.choice(FIRST), rng.choice(LAST)
        suffix_th, suffix_en = rng.choice(SUFFIXES)
        dob = f"{rng.randrange(1945, 2005)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
        phone = f"+668{rng.randrange(10**8):08d}"
        postcode = f"{rng.randrange(10, 97)}{rng.randrange(1000):03d}"
        for copy in range(1 + (person % 3 == 0)):
            thai = rng.random() < 0.5
            rows.append(
                {
                    "record_id": f"p{person:04d}-{copy}",
                    "first_name": first_th if thai else first_en,
                    "last_name": (last_th + suffix_th) if thai else (last_en + suffix_en),
                    "date_of_birth": dob if copy == 0 or rng.random() < 0.8 else None,
                    "phone_e164": phone if copy == 0 or rng.random() < 0.6 else None,
                    "email_key": f"c{person}@example.com" if rng.random() < 0.5 else None,
                    "postcode": postcode,
                    "province_code": "TH-10",
                }
            )
    rows.extend(CASES)
    return pa.table({name: pa.array([row.get(name) for row in rows], pa.string()) for name in COLUMNS})


def pair_set(pairs: pa.Table) -> set[tuple[str, str]]:
    return set(zip(pairs["record_id_l"].to_pylist(), pairs["record_id_r"].to_pylist(), strict=True))


#: Small data: a cheap u sample, and few EM iterations (each is a Spark job per comparison on Spark).
SETTINGS = MatchSettings(u_max_pairs=100_000, em_max_iterations=6)


@pytest.fixture(scope="module")
def records() -> pa.Table:
    return population()


@pytest.fixture(scope="module")
def duckdb_pairs(records: pa.Table) -> pa.Table:
    return score_record_pairs(records, settings=SETTINGS)


def test_pairs_follow_the_contract(duckdb_pairs: pa.Table) -> None:
    assert duckdb_pairs.schema == PAIR_SCHEMA
    assert duckdb_pairs.num_rows > 0
    for row in duckdb_pairs.to_pylist():
        assert row["record_id_l"] < row["record_id_r"]
        assert row["match_probability"] >= MatchSettings().threshold
        evidence = json.loads(row["evidence"])
        assert set(evidence) >= {"first_name", "last_name", "date_of_birth", "phone"}


def test_thai_and_romanized_names_with_same_birth_date_and_phone_match(duckdb_pairs: pa.Table) -> None:
    assert ("thai-1", "thai-2") in pair_set(duckdb_pairs)
    [row] = [
        r for r in duckdb_pairs.to_pylist() if (r["record_id_l"], r["record_id_r"]) == ("thai-1", "thai-2")
    ]
    assert row["match_probability"] > 0.99
    assert json.loads(row["evidence"])["first_name"]["level"] == "same key"


def test_a_shared_household_phone_does_not_link_different_people(duckdb_pairs: pa.Table) -> None:
    assert ("home-1", "home-2") not in pair_set(duckdb_pairs)


def test_swapped_names_and_swapped_day_and_month_match(duckdb_pairs: pa.Table) -> None:
    assert ("swap-1", "swap-2") in pair_set(duckdb_pairs)


def test_most_planted_duplicates_are_found(records: pa.Table, duckdb_pairs: pa.Table) -> None:
    planted = {(f"p{person:04d}-0", f"p{person:04d}-1") for person in range(220) if person % 3 == 0}
    found = pair_set(duckdb_pairs)
    assert len(planted & found) / len(planted) > 0.9
    strangers = {(a, b) for a, b in found if a.startswith("p") and b.startswith("p") and a[:5] != b[:5]}
    assert len(strangers) <= 2


def test_too_few_records_give_no_pairs() -> None:
    one = population().slice(0, 1)
    assert score_record_pairs(one).num_rows == 0


def test_a_file_where_no_strict_rule_matches_still_scores() -> None:
    """Every record a different person: Splink estimates a prior of 0, which must not fail prediction."""
    people = population()
    rows = [row for row in people.to_pylist() if row["record_id"].endswith("-0")][:40]
    pairs = score_record_pairs(pa.Table.from_pylist(rows, schema=people.schema))
    assert pairs.schema == PAIR_SCHEMA
    assert pairs.num_rows == 0


def test_a_small_file_keeps_the_whole_model_when_training_cannot_run() -> None:
    """EM finds no blocked pairs in a few records; the model must keep every comparison (a failed EM
    session once left names, birth date and phone out, and a shared phone linked a father and mother)."""
    from cdp.tables import IDENTITY_RECORDS
    from tests.identity_data import record

    phone = "+66812345678"
    rows = [
        record("dad", first_name="somchai", date_of_birth="1960-02-01", phone_e164=phone),
        record("mum", first_name="malee", date_of_birth="1963-07-09", phone_e164=phone),
        record("mum-2", first_name="malee", phone_e164=phone, email_key="malee@mail.com"),
        *(record(f"other-{i}", email_key=f"o{i}@mail.com") for i in range(8)),
    ]
    pairs = pair_set(score_record_pairs(pa.Table.from_pylist(rows, schema=IDENTITY_RECORDS.schema)))
    assert ("dad", "mum") not in pairs
    assert ("dad", "mum-2") not in pairs


def test_spark_gives_the_same_pairs_as_duckdb(
    spark: SparkSession, records: pa.Table, duckdb_pairs: pa.Table
) -> None:
    spark_pairs = score_record_pairs(records, spark=spark, settings=SETTINGS)
    assert spark_pairs.schema == PAIR_SCHEMA
    assert pair_set(spark_pairs) == pair_set(duckdb_pairs)
