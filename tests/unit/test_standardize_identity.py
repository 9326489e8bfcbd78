from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdp.standardize.identity import (
    IDENTITY_INPUT_COLUMNS,
    IDENTITY_STANDARD_SCHEMA,
    identity_output_schema,
    standardize_identity_batch,
)
from cdp.standardize.placeholders import DEFAULT_BLOCKLIST

from .standardize_strategies import messy_text

VALUE_KINDS = {"digits", "email_like", "thai_text", "latin_text", "mixed_text", "other_text", "symbols"}
REASONS = {"placeholder", "invalid", "unrecognized", "out_of_range"}


def standardize_rows(rows: list[dict[str, Any]], **kwargs: Any) -> list[dict[str, Any]]:
    columns = sorted({name for row in rows for name in row})
    batch = pa.RecordBatch.from_pydict(
        {name: pa.array([row.get(name) for row in rows], pa.string()) for name in columns}
    )
    return standardize_identity_batch(batch, **kwargs).to_pylist()


def issues(row: dict[str, Any]) -> list[tuple[str, str]]:
    return [(issue["field"], issue["reason"]) for issue in json.loads(row["quality_issues"])]


def test_a_thai_customer() -> None:
    [row] = standardize_rows(
        [
            {
                "record_id": "pos-1",
                "full_name": "นายสมชาย  ใจดี",
                "email": " Somchai.J+promo@GMAIL.com",
                "phone": "๐๘๑-๙๗๕-๓๐๔๒",
                "date_of_birth": "12 ม.ค. 2530",
                "address_line": "99/1 ถ.สุขุมวิท",
                "city": "เขตวัฒนา",
                "state": "กรุงเทพฯ",
                "postcode": "10110",
                "national_id": "3-1005-00612-34-3",
                "gender": "ช",
                "company": "บริษัท เอบีซี จำกัด",
            }
        ]
    )
    assert row == {
        "record_id": "pos-1",
        "full_name": "นายสมชาย  ใจดี",
        "email": " Somchai.J+promo@GMAIL.com",
        "phone": "๐๘๑-๙๗๕-๓๐๔๒",
        "date_of_birth": "12 ม.ค. 2530",
        "address_line": "99/1 ถ.สุขุมวิท",
        "city": "เขตวัฒนา",
        "state": "กรุงเทพฯ",
        "postcode": "10110",
        "national_id": "3-1005-00612-34-3",
        "gender": "ช",
        "company": "บริษัท เอบีซี จำกัด",
        "email_normalized": "somchai.j+promo@gmail.com",
        "email_key": "somchaij@gmail.com",
        "phone_e164": "+66819753042",
        "first_name_std": "สมชาย",
        "last_name_std": "ใจดี",
        "full_name_std": "สมชาย ใจดี",
        "name_script": "thai",
        "date_of_birth_std": "1987-01-12",
        "province_code": "TH-10",
        "country_code": "TH",
        "postcode_std": "10110",
        "gender_std": "male",
        "national_id_std": "3100500612343",
        "company_std": "เอบีซี",
        "quality_issues": "[]",
    }


def test_junk_is_dropped_and_reported_without_the_values() -> None:
    [row] = standardize_rows(
        [
            {
                "first_name": "ลูกค้า",
                "email": "test@test.com",
                "phone": "0000000000",
                "date_of_birth": "1900-01-01",
                "state": "Narnia",
                "postcode": "1011",
                "country": "n/a",
                "national_id": "3100500612345",
                "gender": "?",
                "company": "-",
            }
        ]
    )
    assert all(
        row[field.name] is None for field in IDENTITY_STANDARD_SCHEMA if field.name != "quality_issues"
    )
    assert issues(row) == [
        ("email", "placeholder"),
        ("phone", "placeholder"),
        ("name", "placeholder"),
        ("date_of_birth", "placeholder"),
        ("country", "placeholder"),
        ("state", "unrecognized"),
        ("postcode", "invalid"),
        ("national_id", "invalid"),
        ("gender", "placeholder"),
        ("company", "placeholder"),
    ]
    assert "test@test.com" not in row["quality_issues"]
    assert "ลูกค้า" not in row["quality_issues"]
    assert json.loads(row["quality_issues"])[0] == {
        "field": "email",
        "value_kind": "email_like",
        "reason": "placeholder",
    }


@pytest.mark.parametrize(
    ("row", "country"),
    [
        ({"country": "Japan", "phone": "0819753042", "state": "Bangkok"}, "JP"),  # written country wins
        ({"state": "เชียงใหม่"}, "TH"),  # a Thai province
        ({"city": "Bangkok"}, "TH"),  # the province may sit in city
        ({"phone": "0819753042"}, "TH"),  # a Thai number, read in the default region TH
        ({"phone": "+1 650 253 0000"}, "US"),
        ({"phone": "650 253 0000", "default_region": "US"}, "US"),
        ({"default_region": "TH"}, None),  # a parsing hint is no evidence
        ({"country": "Narnia", "phone": "0819753042"}, "TH"),
        ({"record_id": "r1"}, None),
    ],
)
def test_country_rule(row: dict[str, Any], country: str | None) -> None:
    assert standardize_rows([row])[0]["country_code"] == country


def test_default_region_reads_the_phone_and_the_postcode() -> None:
    thai, american, spelled = standardize_rows(
        [
            {"phone": "02-615-8890", "postcode": "10110"},
            {"phone": "650 253 0000", "postcode": "94043-1351", "default_region": "US"},
            {"phone": "02-615-8890", "default_region": "Thailand"},
        ]
    )
    assert (thai["phone_e164"], thai["postcode_std"]) == ("+6626158890", "10110")
    assert (american["phone_e164"], american["postcode_std"]) == ("+16502530000", "94043-1351")
    assert spelled["phone_e164"] == "+6626158890"


def test_state_abroad_is_not_an_unknown_province() -> None:
    [row] = standardize_rows([{"state": "California", "country": "USA"}])
    assert row["province_code"] is None
    assert issues(row) == []


def test_birth_date_bounds() -> None:
    rows = standardize_rows(
        [{"date_of_birth": "12/01/1887"}, {"date_of_birth": "12/01/2530"}, {"date_of_birth": "1/13/45"}]
    )
    assert [row["date_of_birth_std"] for row in rows] == [None, "1987-01-12", "1945-01-13"]
    assert issues(rows[0]) == [("date_of_birth", "out_of_range")]


def test_tenant_blocklist_reaches_every_field() -> None:
    tenant = DEFAULT_BLOCKLIST.extended(email_addresses=frozenset({"info@shop.co.th"}))
    [row] = standardize_rows([{"email": "INFO@shop.co.th"}], blocklist=tenant)
    assert row["email_normalized"] is None
    assert issues(row) == [("email", "placeholder")]


def test_empty_and_columnless_batches_keep_the_schema() -> None:
    empty = standardize_identity_batch(pa.record_batch([], schema=pa.schema([])))
    assert empty.schema == IDENTITY_STANDARD_SCHEMA
    assert empty.num_rows == 0
    ids_only = pa.RecordBatch.from_pydict({"record_id": pa.array(["1", "2"], pa.string())})
    out = standardize_identity_batch(ids_only)
    assert out.schema == pa.schema([pa.field("record_id", pa.string()), *IDENTITY_STANDARD_SCHEMA])
    assert out.column("quality_issues").to_pylist() == ["[]", "[]"]
    assert out.column("email_key").null_count == 2


def test_other_string_types_are_read_and_passed_through_unchanged() -> None:
    batch = pa.RecordBatch.from_pydict(
        {
            "email": pa.array(["Nok@Shop.co.th", None], pa.large_string()),
            "phone": pa.array(["0819753042", "0819753042"]).dictionary_encode(),
            "date_of_birth": pa.array([None, "1987-01-12"], pa.string()).cast(pa.date32()),
        }
    )
    out = standardize_identity_batch(batch)
    assert out.schema == identity_output_schema(batch.schema)
    assert out.column("email").type == pa.large_string()
    assert out.column("email_normalized").to_pylist() == ["nok@shop.co.th", None]
    assert out.column("phone_e164").to_pylist() == ["+66819753042", "+66819753042"]
    assert out.column("date_of_birth_std").to_pylist() == [None, "1987-01-12"]


def test_standardizing_again_replaces_the_added_columns() -> None:
    batch = pa.RecordBatch.from_pydict({"email": pa.array(["Nok@Shop.co.th"])})
    once = standardize_identity_batch(batch)
    twice = standardize_identity_batch(once)
    assert twice.schema == once.schema
    assert twice.equals(once)


column_names = st.lists(
    st.sampled_from([*IDENTITY_INPUT_COLUMNS, "record_id", "source", "email_key"]), unique=True, max_size=8
)
cell = st.one_of(st.none(), messy_text)


@st.composite
def batches(draw: st.DrawFn) -> pa.RecordBatch:
    names = draw(column_names)
    rows = draw(st.integers(0, 6))
    return pa.RecordBatch.from_pydict(
        {name: pa.array(draw(st.lists(cell, min_size=rows, max_size=rows)), pa.string()) for name in names},
        schema=pa.schema([pa.field(name, pa.string()) for name in names]),
    )


@settings(max_examples=150, deadline=None)
@given(batches())
def test_output_schema_is_fixed_for_any_input(batch: pa.RecordBatch) -> None:
    out = standardize_identity_batch(batch)
    assert out.schema == identity_output_schema(batch.schema)
    added = out.schema.names[-len(IDENTITY_STANDARD_SCHEMA) :]
    assert pa.schema([out.schema.field(name) for name in added]) == IDENTITY_STANDARD_SCHEMA
    assert all(field.type == pa.string() for field in IDENTITY_STANDARD_SCHEMA)
    assert out.num_rows == batch.num_rows
    for field in batch.schema:
        if field.name not in IDENTITY_STANDARD_SCHEMA.names:
            assert out.column(field.name).equals(batch.column(field.name))
    for text in out.column("quality_issues").to_pylist():
        for issue in json.loads(text):
            assert set(issue) == {"field", "value_kind", "reason"}
            assert issue["value_kind"] in VALUE_KINDS
            assert issue["reason"] in REASONS


@settings(max_examples=60, deadline=None)
@given(batches())
def test_rows_are_standardized_independently_and_deterministically(batch: pa.RecordBatch) -> None:
    out = standardize_identity_batch(batch)
    assert standardize_identity_batch(batch).equals(out)
    for index in range(batch.num_rows):
        assert standardize_identity_batch(batch.slice(index, 1)).equals(out.slice(index, 1))


def test_huge_values_are_refused_quickly() -> None:
    huge = "๑" * 500_000 + "a@b.co " + "นาย" * 100_000
    batch = pa.RecordBatch.from_pydict(
        {name: pa.array([huge], pa.string()) for name in IDENTITY_INPUT_COLUMNS}
    )
    [row] = standardize_identity_batch(batch).to_pylist()
    assert all(
        row[field.name] is None for field in IDENTITY_STANDARD_SCHEMA if field.name != "quality_issues"
    )
    assert {issue["field"] for issue in json.loads(row["quality_issues"])} >= {"email", "phone", "name"}
