"""Reading and mapping rows: casts, encodings, CSV dialects, bad rows to quarantine with a reason."""

from __future__ import annotations

import codecs
import io
import json
import re
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdp.imports import UnreadableFileError
from cdp.imports.casting import (
    CastError,
    cast_boolean,
    cast_date,
    cast_decimal,
    cast_integer,
    cast_timestamp,
    common_era,
)
from cdp.imports.fields import IMPORT_ROWS_SCHEMA
from cdp.imports.mapping import ImportMapping, validate_mapping
from cdp.imports.reader import detect_encoding, file_columns, read_batches, sniff_delimiter
from cdp.imports.rows import ImportContext, MappedFile, content_key, map_rows, quarantine_records

BANGKOK = ZoneInfo("Asia/Bangkok")


def mapping(columns: dict[str, Any], **options: Any) -> ImportMapping:
    document = {"source": "test", "kind": "customers", "format": "csv", "columns": columns, **options}
    return validate_mapping(document, "test.yaml")


def run(data: bytes, the_mapping: ImportMapping, file_name: str = "file.csv") -> MappedFile:
    context = ImportContext("test", "0123456789abcdef", file_name, "2026-01-01T00:00:00.000000Z")
    return map_rows(read_batches(data, the_mapping, file_name=file_name), the_mapping, context)


def rows(mapped: MappedFile, *columns: str) -> list[dict[str, Any]]:
    return mapped.rows.select(list(columns)).to_pylist()


def rejected(mapped: MappedFile) -> list[tuple[int, str, str]]:
    return [(error.row_number, error.code, error.reason) for error in mapped.rejections]


# -- casts -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "formats", "expected"),
    [
        ("15/03/2530", ("%d/%m/%Y",), "1987-03-15"),  # Buddhist era
        ("15/03/1987", ("%d/%m/%Y",), "1987-03-15"),  # Common era stays
        ("29/02/2543", ("%d/%m/%Y",), "2000-02-29"),  # a leap day although 2543 is not a Gregorian leap year
        ("๑๕/๐๓/๒๕๓๐", ("%d/%m/%Y",), "1987-03-15"),  # Thai digits
        ("5/3/2530", ("%d/%m/%Y",), "1987-03-05"),
        ("25300315", ("%Y%m%d",), "1987-03-15"),  # no separators: converted after parsing
        ("2530-03-15", (), "1987-03-15"),  # ISO with a BE year
        ("1987-03-15", ("%d/%m/%Y",), "1987-03-15"),  # ISO is always understood
        ("1987-03-15T00:00:00", (), "1987-03-15"),
        ("15/03/2530", (), "1987-03-15"),  # no formats: the platform's reading (day first)
        ("15 มี.ค. 2530", (), "1987-03-15"),  # Thai month abbreviation
        ("15 มีนาคม พ.ศ. 2530", ("%d/%m/%Y",), "1987-03-15"),  # formats first, then the automatic reading
        ("March 15, 2530", ("%B %d, %Y",), "1987-03-15"),
        ("15/03/2530", ("%Y-%m-%d", "%d/%m/%Y"), "1987-03-15"),  # formats tried in order
    ],
)
def test_dates(text: str, formats: tuple[str, ...], expected: str) -> None:
    assert cast_date(text, formats) == expected


@pytest.mark.parametrize(
    ("text", "formats", "reason"),
    [
        ("31/02/2530", ("%d/%m/%Y",), "is not a date in formats ['%d/%m/%Y']"),
        ("15/13/2530", ("%d/%m/%Y",), "is not a date in formats ['%d/%m/%Y']"),
        ("yesterday", (), "is not a date (give 'formats' in the mapping)"),
        ("yesterday", ("%d/%m/%Y",), "is not a date in formats ['%d/%m/%Y']"),
        ("29/02/2530", (), "is not a date"),  # 1987 is no leap year: never a nearby day
    ],
)
def test_bad_dates(text: str, formats: tuple[str, ...], reason: str) -> None:
    with pytest.raises(CastError, match=re.escape(reason)) as raised:
        cast_date(text, formats)
    assert raised.value.code == "invalid_date"


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)))
def test_every_buddhist_era_date_reads_back(day: date) -> None:
    text = f"{day.day}/{day.month}/{day.year + 543}"
    assert cast_date(text, ("%d/%m/%Y",)) == day.isoformat()


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)))
def test_every_compact_buddhist_era_date_except_shifted_leap_days_reads_back(day: date) -> None:
    text = f"{day.year + 543:04d}{day.month:02d}{day.day:02d}"
    if (day.month, day.day) == (2, 29):  # 29 Feb of a BE year that is no Gregorian leap year
        return
    assert cast_date(text, ("%Y%m%d",)) == day.isoformat()


def test_hhmm_times_are_never_taken_for_years() -> None:
    assert common_era("05/01/2567 2359") == "05/01/2024 2359"


@pytest.mark.parametrize(
    ("text", "formats", "expected"),
    [
        ("2024-01-05 09:15:00", (), "2024-01-05T02:15:00.000000Z"),  # naive: the mapping's zone
        ("2024-01-05T09:15:00+07:00", (), "2024-01-05T02:15:00.000000Z"),
        ("2024-01-05T02:15:00Z", (), "2024-01-05T02:15:00.000000Z"),
        ("2024-01-05T02:15:00.123456Z", (), "2024-01-05T02:15:00.123456Z"),
        ("2567-01-05T09:15:00+07:00", (), "2024-01-05T02:15:00.000000Z"),  # BE year
        ("05/01/2567 09:15", ("%d/%m/%Y %H:%M",), "2024-01-05T02:15:00.000000Z"),
        ("15/3/2567, 10:22:05", ("%d/%m/%Y, %H:%M:%S",), "2024-03-15T03:22:05.000000Z"),
        ("2024-01-05", (), "2024-01-04T17:00:00.000000Z"),  # a date alone: midnight in Bangkok
        ("1704421800", (), "2024-01-05T02:30:00.000000Z"),  # Unix seconds (JSON exports)
    ],
)
def test_timestamps_become_utc_text(text: str, formats: tuple[str, ...], expected: str) -> None:
    assert cast_timestamp(text, formats, BANGKOK) == expected


def test_bad_timestamps() -> None:
    with pytest.raises(CastError, match=r"^is not a timestamp$") as raised:
        cast_timestamp("next tuesday", (), BANGKOK)
    assert raised.value.code == "invalid_timestamp"
    with pytest.raises(CastError, match=r"^is not a timestamp in formats \['%d/%m/%Y %H:%M'\]$"):
        cast_timestamp("32/01/2567 09:00", ("%d/%m/%Y %H:%M",), BANGKOK)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("42", 42), ("-7", -7), ("+3", 3), ("1,234", 1234), ("1,234,567", 1234567), ("12.0", 12), ("๑๒๐", 120)],
)
def test_integers(text: str, expected: int) -> None:
    assert cast_integer(text) == expected


@pytest.mark.parametrize("text", ["1.5", "12,34", "1 000", "ten", "0x10", "1e3", "9223372036854775808"])
def test_bad_integers(text: str) -> None:
    with pytest.raises(CastError) as raised:
        cast_integer(text)
    assert raised.value.code == "invalid_integer"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1290.50", "1290.50"), ("1,290.5", "1290.5"), ("-0.25", "-0.25"), (".5", "0.5"), ("๑๒.๕", "12.5")],
)
def test_decimals_are_exact(text: str, expected: str) -> None:
    assert str(cast_decimal(text)) == expected


@pytest.mark.parametrize("text", ["฿1,200", "12,5", "NaN", "Infinity", "1.2.3", ""])
def test_bad_decimals(text: str) -> None:
    with pytest.raises(CastError, match="is not a decimal number"):
        cast_decimal(text)


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_integers_read_back_with_and_without_grouping(value: int) -> None:
    assert cast_integer(str(value)) == value
    assert cast_integer(f"{value:,}") == value


def test_booleans() -> None:
    truthy, falsy = frozenset({"true", "yes", "y", "1", "ใช่"}), frozenset({"false", "no", "n", "0", "ไม่"})
    assert [cast_boolean(text, truthy, falsy) for text in ("true", "yes", "1", "ใช่")] == [True] * 4
    assert [cast_boolean(text, truthy, falsy) for text in ("false", "no", "0", "ไม่")] == [False] * 4
    with pytest.raises(CastError, match=r"is not a boolean \(true: "):
        cast_boolean("maybe", truthy, falsy)


# -- rows ------------------------------------------------------------------------------------------


def test_columns_are_renamed_cast_trimmed_and_unmapped_ones_dropped() -> None:
    data = (
        "id,email,dob,points,vip,spent,note,ignored\n"
        'C1,  a@example.com ,15/03/2530,"1,250",Y,12.50,สวัสดีครับ,x\n'
        "C2,,,,,,,y\n"
    ).encode()
    the_mapping = mapping(
        {
            "id": "record_id",
            "email": "email",
            "dob": {"field": "date_of_birth", "formats": ["%d/%m/%Y"]},
            "points": {"attribute": "points", "type": "integer"},
            "vip": {"attribute": "vip", "type": "boolean", "true_values": ["Y"], "false_values": ["N"]},
            "spent": {"attribute": "spent", "type": "decimal"},
            "note": {"attribute": "หมายเหตุ"},
        }
    )
    mapped = run(data, the_mapping)
    assert mapped.rows.schema == IMPORT_ROWS_SCHEMA
    assert rows(mapped, "row_number", "row_key", "email", "date_of_birth", "attributes") == [
        {
            "row_number": 1,
            "row_key": "C1",
            "email": "a@example.com",
            "date_of_birth": "1987-03-15",
            "attributes": '{"points":1250,"vip":true,"spent":12.50,"หมายเหตุ":"สวัสดีครับ"}',
        },
        {"row_number": 2, "row_key": "C2", "email": None, "date_of_birth": None, "attributes": "{}"},
    ]
    first = mapped.rows.to_pylist()[0]
    assert (first["source_id"], first["import_id"], first["file_name"]) == (
        "test",
        "0123456789abcdef",
        "file.csv",
    )
    assert (first["kind"], first["default_region"], first["imported_at"]) == (
        "customers",
        "TH",
        "2026-01-01T00:00:00.000000Z",
    )
    assert "ignored" not in json.loads(first["attributes"])
    assert mapped.rejections == []


def test_typed_standard_fields() -> None:
    the_mapping = mapping(
        {
            "order": "order_id",
            "at": "order_date",
            "total": "order_total",
            "qty": "quantity",
            "ok": "consent_email",
            "day": {"field": "consent_updated_at", "type": "date", "formats": ["%d/%m/%Y"]},
        },
        kind="orders",
    )
    mapped = run(b'order,at,total,qty,ok,day\nA1,2024-01-05 09:15,"1,290.50",2,yes,05/01/2567\n', the_mapping)
    assert rows(mapped, "order_date", "order_total", "quantity", "consent_email", "consent_updated_at") == [
        {
            "order_date": "2024-01-05T02:15:00.000000Z",
            "order_total": 1290.5,
            "quantity": 2,
            "consent_email": True,
            "consent_updated_at": "2024-01-04T17:00:00.000000Z",
        }
    ]


def test_bad_rows_go_to_quarantine_with_row_number_and_reason_and_the_good_ones_stay() -> None:
    data = (
        b"id,dob,points\n"
        b"C1,15/03/2530,10\n"
        b"C2,31/02/2530,x\n"  # two bad columns: the first is the reason
        b",01/01/2530,5\n"
        b"C1,02/02/2530,6\n"
        b"C4,03/03/2530\n"
        b",,\n"
        b"C5,04/04/2530,-1\n"
        b"C6,05/05/2530,7\n"
    )
    the_mapping = mapping(
        {
            "id": "record_id",
            "dob": {"field": "date_of_birth", "formats": ["%d/%m/%Y"]},
            "points": {"attribute": "points", "type": "integer", "minimum": 0},
        }
    )
    mapped = run(data, the_mapping)
    assert rows(mapped, "row_number", "row_key") == [
        {"row_number": 1, "row_key": "C1"},
        {"row_number": 8, "row_key": "C6"},
    ]
    assert rejected(mapped) == [
        (
            2,
            "invalid_date",
            """column "dob": "31/02/2530" is not a date in formats ['%d/%m/%Y']"""
            " (and 1 more bad column)",
        ),
        (3, "missing_required", 'column "id" (record_id) is empty but required'),
        (4, "duplicate_key", 'column "id": record_id "C1" repeats row 1'),
        (5, "malformed_row", "row has 2 fields where the header has 3"),
        (6, "empty_row", "row has no value in any mapped column"),
        (7, "out_of_range", 'column "points": "-1" is below the minimum 0'),
    ]
    assert mapped.rows_read == 8 == mapped.rows_accepted + len(mapped.rejections)
    records = quarantine_records(
        mapped, ImportContext("test", "0123456789abcdef", "f.csv", "2026-01-01T00:00:00Z")
    )
    assert records[0]["raw_row"] == '{"id":"C2","dob":"31/02/2530","points":"x"}'
    assert records[0]["column"] == "dob"
    assert records[3]["raw_row"] == '"C4,03/03/2530"'
    assert list(records[0]) == [
        "source_id",
        "import_id",
        "file_name",
        "row_number",
        "code",
        "column",
        "reason",
        "raw_row",
        "quarantined_at",
    ]


def test_empty_rows_are_rejected_when_nothing_is_required() -> None:
    mapped = run(b"email,note\na@example.com,\n,\n", mapping({"email": "email", "note": {"attribute": "n"}}))
    assert rejected(mapped) == [(2, "empty_row", "row has no value in any mapped column")]


def test_row_keys_without_record_id_hash_the_typed_values() -> None:
    the_mapping = mapping(
        {"email": "email", "qty": "quantity", "extra": {"attribute": "extra"}}, kind="orders"
    )
    first = run(b"email,qty\na@example.com,1000\n", the_mapping)
    # same values spelled differently, and a new empty column: the same key
    second = run(b'email,qty,extra\na@example.com,"1,000",\n', the_mapping)
    key = first.rows.column("row_key")[0].as_py()
    assert key.startswith("sha256:")
    assert len(key) == len("sha256:") + 32
    assert second.rows.column("row_key")[0].as_py() == key
    assert key == content_key({"email": "a@example.com", "quantity": 1000}, {})
    assert run(b"email,qty\na@example.com,2\n", the_mapping).rows.column("row_key")[0].as_py() != key
    duplicate = run(b"email,qty\na@example.com,1\na@example.com,1.0\n", the_mapping)
    assert rejected(duplicate) == [
        (2, "duplicate_key", "row repeats row 1 (same values in every mapped column)")
    ]


def test_tis_620_is_transcoded_and_an_undecodable_byte_rejects_only_its_row() -> None:
    text = "รหัส,ชื่อ,จังหวัด\nC1,สมชาย,เชียงใหม่\nC2,BAD,ขอนแก่น\nC3,มาลี,ภูเก็ต\n"
    data = text.encode("tis_620").replace(b"BAD", "สม".encode("tis_620") + b"\xfc")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    the_mapping = mapping({"รหัส": "record_id", "ชื่อ": "first_name", "จังหวัด": "state"}, encoding="tis-620")
    mapped = run(data, the_mapping)
    assert rows(mapped, "row_number", "first_name", "state") == [
        {"row_number": 1, "first_name": "สมชาย", "state": "เชียงใหม่"},
        {"row_number": 3, "first_name": "มาลี", "state": "ภูเก็ต"},
    ]
    assert rejected(mapped) == [(2, "undecodable", 'column "ชื่อ": byte 0xFC is not valid tis-620')]
    assert json.loads(mapped.rejections[0].raw_row) == {"รหัส": "C2", "ชื่อ": "สม\ufffd", "จังหวัด": "ขอนแก่น"}


def test_invalid_utf8_is_a_row_error_too() -> None:
    data = b"id,name\nC1,ok\nC2,caf\xe9\n"
    mapped = run(data, mapping({"id": "record_id", "name": "first_name"}))
    assert rejected(mapped) == [(2, "undecodable", 'column "name": byte 0xE9 is not valid utf-8')]
    assert mapped.rows_accepted == 1


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_a_utf8_bom_is_never_part_of_the_first_column_name(encoding: str) -> None:
    data = codecs.BOM_UTF8 + "อีเมล,ชื่อ\na@example.com,สมหญิง\n".encode()
    mapped = run(data, mapping({"อีเมล": "email", "ชื่อ": "first_name"}, encoding=encoding))
    assert rows(mapped, "email", "first_name") == [{"email": "a@example.com", "first_name": "สมหญิง"}]
    assert mapped.missing_columns == []


@pytest.mark.parametrize("delimiter", [";", "\t", "|", "^"])
def test_any_single_character_delimiter(delimiter: str) -> None:
    data = f"id{delimiter}name{delimiter}city\nC1{delimiter}Ann, Jr.{delimiter}Bangkok\n".encode()
    mapped = run(
        data, mapping({"id": "record_id", "name": "first_name", "city": "city"}, delimiter=delimiter)
    )
    assert rows(mapped, "first_name", "city") == [{"first_name": "Ann, Jr.", "city": "Bangkok"}]


def test_quoted_fields_hold_delimiters_quotes_and_line_breaks_and_rows_keep_counting() -> None:
    data = b'id,comment\nC1,"line one\nline two, with a comma"\nC2,"she said ""hi"""\n\nC3,x,extra\nC4,last\n'
    mapped = run(data, mapping({"id": "record_id", "comment": {"attribute": "comment"}}))
    assert [json.loads(value)["comment"] for value in mapped.rows.column("attributes").to_pylist()] == [
        "line one\nline two, with a comma",
        'she said "hi"',
        "last",
    ]
    assert mapped.rows.column("row_number").to_pylist() == [1, 2, 4]
    assert rejected(mapped) == [(3, "malformed_row", "row has 3 fields where the header has 2")]


def test_a_custom_quote_character_and_no_quoting() -> None:
    quoted = run(
        b"id;name\nC1;'Smith; John'\n",
        mapping({"id": "record_id", "name": "full_name"}, delimiter=";", quotechar="'"),
    )
    assert quoted.rows.column("full_name").to_pylist() == ["Smith; John"]
    bare = run(b'id,name\nC1,"Ann\n', mapping({"id": "record_id", "name": "full_name"}, quotechar=None))
    assert bare.rows.column("full_name").to_pylist() == ['"Ann']


def test_files_without_a_header_name_columns_by_position() -> None:
    data = b"C1,x,a@example.com\nC2,y,b@example.com\n"
    mapped = run(data, mapping({"1": "record_id", "3": "email"}, header=False))
    assert rows(mapped, "row_number", "record_id", "email") == [
        {"row_number": 1, "record_id": "C1", "email": "a@example.com"},
        {"row_number": 2, "record_id": "C2", "email": "b@example.com"},
    ]


def test_headers_match_trimmed_and_case_insensitively() -> None:
    mapped = run(b" E-Mail ,ID\na@example.com,C1\n", mapping({"e-mail": "email", "id": "record_id"}))
    assert rows(mapped, "email", "record_id") == [{"email": "a@example.com", "record_id": "C1"}]


def test_a_missing_optional_column_is_reported_and_left_empty() -> None:
    mapped = run(b"id\nC1\n", mapping({"id": "record_id", "phone": "phone"}))
    assert mapped.missing_columns == ["phone"]
    assert rows(mapped, "phone") == [{"phone": None}]


def test_json_lines_bad_lines_are_row_errors_with_their_line_number() -> None:
    data = (
        '{"order_id": "A1", "qty": 2, "total": 10.5, "paid": true, "meta": {"src": "app"}, "note": "ส่งด่วน"}\n'
        "\n"
        '{"order_id": "A2", "qty": \n'
        '["A3"]\n'
        '{"order_id": "A4", "qty": "two"}\r\n'
        '{"order_id": "A5", "qty": null}\n'
    ).encode()
    the_mapping = mapping(
        {
            "order_id": "order_id",
            "qty": "quantity",
            "total": "order_total",
            "paid": {"attribute": "paid", "type": "boolean"},
            "meta": {"attribute": "meta"},
            "note": {"attribute": "note"},
        },
        kind="orders",
        format="jsonl",
    )
    mapped = run(data, the_mapping, "orders.jsonl")
    assert rows(mapped, "row_number", "order_id", "quantity", "order_total") == [
        {"row_number": 1, "order_id": "A1", "quantity": 2, "order_total": 10.5},
        {"row_number": 6, "order_id": "A5", "quantity": None, "order_total": None},
    ]
    assert json.loads(mapped.rows.column("attributes")[0].as_py()) == {
        "paid": True,
        "meta": '{"src":"app"}',
        "note": "ส่งด่วน",
    }
    assert [(number, code) for number, code, _ in rejected(mapped)] == [
        (3, "invalid_json"),
        (4, "invalid_json"),
        (5, "invalid_integer"),
    ]
    assert rejected(mapped)[1][2] == "line is a JSON array, not an object"
    assert mapped.rejections[0].raw_row == orjson.dumps('{"order_id": "A2", "qty": ').decode()


def test_parquet_columns_of_any_type_are_read_as_text_then_cast() -> None:
    table = pa.table(
        {
            "id": pa.array([1, 2], pa.int64()),
            "at": pa.array([1704421800000000, None], pa.timestamp("us", tz="UTC")),
            "total": pa.array([12.5, 3.0]),
            "ok": pa.array([True, False]),
            "born": pa.array([date(1987, 3, 15), date(2000, 2, 29)]),
            "tags": pa.array([["a", "b"], []]),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    the_mapping = mapping(
        {
            "id": "record_id",
            "at": "updated_at",
            "total": "order_total",
            "ok": "consent_sms",
            "born": "date_of_birth",
            "tags": {"attribute": "tags"},
        },
        format="parquet",
    )
    mapped = run(buffer.getvalue(), the_mapping, "x.parquet")
    assert rows(mapped, "record_id", "updated_at", "order_total", "consent_sms", "date_of_birth") == [
        {
            "record_id": "1",
            "updated_at": "2024-01-05T02:30:00.000000Z",
            "order_total": 12.5,
            "consent_sms": True,
            "date_of_birth": "1987-03-15",
        },
        {
            "record_id": "2",
            "updated_at": None,
            "order_total": 3.0,
            "consent_sms": False,
            "date_of_birth": "2000-02-29",
        },
    ]
    assert json.loads(mapped.rows.column("attributes")[0].as_py()) == {"tags": '["a","b"]'}


def test_a_header_only_file_is_an_import_of_no_rows() -> None:
    mapped = run(b"id,email\n", mapping({"id": "record_id", "email": "email"}))
    assert (mapped.rows_read, mapped.rows_accepted, mapped.rejections) == (0, 0, [])


@pytest.mark.parametrize(
    ("data", "options", "message"),
    [
        (b"", {}, "file.csv: the file is empty"),
        (b"  \n", {}, "the file is empty"),
        (b"a;b\n1;2\n", {}, "none of the mapping's columns"),  # wrong delimiter: one column "a;b"
        (b"email\na@example.com\n", {}, 'required column "id" (record_id) is not in the file'),
        (b"not json\n{broken\n", {"format": "jsonl"}, "no row could be read (row 1: line is not valid JSON"),
        (b"PAR1 not really parquet", {"format": "parquet"}, "not a readable Parquet file"),
        (b'{"x": 1}\n', {"format": "jsonl"}, "none of the mapping's columns"),
    ],
)
def test_files_that_are_garbage_as_a_whole_raise(data: bytes, options: dict[str, Any], message: str) -> None:
    the_mapping = mapping({"id": "record_id", "email": "email"}, **options)
    with pytest.raises(UnreadableFileError, match=re.escape(message)):
        run(data, the_mapping)


def test_a_utf8_csv_read_as_tis_620_when_tis_620_was_meant_is_detected() -> None:
    data = "ชื่อ\nสมชาย\n".encode("tis_620")
    assert detect_encoding(data).value == "tis-620"
    assert detect_encoding("ชื่อ\n".encode()).value == "utf-8"
    # UTF-8 Thai with one bad byte is still UTF-8 (its bytes 0x80-0x9F would be controls in TIS-620)
    assert detect_encoding("ชื่อ,สมชาย\n".encode() + b"\xff\n").value == "utf-8"
    # and TIS-620 with one stray byte is still TIS-620: that row will be quarantined
    assert detect_encoding("ชื่อ,สมชาย\n".encode("tis_620") + b"\xff\n").value == "tis-620"


def test_header_helpers_for_files_without_a_mapping() -> None:
    assert sniff_delimiter(b"a;b;c\n1;2;3\n") == ";"
    assert sniff_delimiter(b"a\tb\n") == "\t"
    assert sniff_delimiter(b'"x;y",b\n') == ","
    assert sniff_delimiter(b"single\n") == ","
    assert file_columns(
        codecs.BOM_UTF8 + b"email,phone\n", mapping({"email": "email"}).format, file_name="f.csv"
    ) == [
        "email",
        "phone",
    ]
    lines = b'{"a": 1}\n{"b": 2, "a": 3}\nbroken\n'
    assert file_columns(lines, mapping({"a": "email"}, format="jsonl").format, file_name="f.jsonl") == [
        "a",
        "b",
    ]


def test_dates_spread_over_a_century_in_one_file() -> None:
    start = date(1930, 1, 1)
    days = [start + timedelta(days=97 * index) for index in range(300)]
    body = "".join(f"C{i},{d.day:02d}/{d.month:02d}/{d.year + 543}\n" for i, d in enumerate(days))
    mapped = run(
        ("id,dob\n" + body).encode(),
        mapping({"id": "record_id", "dob": {"field": "date_of_birth", "formats": ["%d/%m/%Y"]}}),
    )
    assert mapped.rows.column("date_of_birth").to_pylist() == [d.isoformat() for d in days]
