"""The standardization step of identity resolution, over Arrow batches (SPEC 3.4, SPEC 6, STYLE 7).

Both engines call :func:`standardize_identity_batch`: DuckDB on the batches of a relation, Spark through
``mapInArrow``. It is pure and deterministic: the same rows give the same output on either engine and
on every run. The output is the input's columns (an input column that has the name of an added column is
replaced) followed by :data:`IDENTITY_STANDARD_SCHEMA`, whatever the input holds, so Spark can be given
:func:`identity_output_schema` up front; every added column is ``pa.string()``, never ``large_string``,
which the Arrow conversion of Spark 3.5 (Glue 5.1) does not read.

Each scalar standardizer runs once per distinct value of a batch (and its ``lru_cache`` spares it again
across batches); the results are spread back over the rows with Arrow ``take``, so the Python work grows
with the number of distinct values, not of rows.

``country_code`` is the written country when it is recognised; otherwise ``TH`` when a Thai province was
recognised in ``state`` or ``city``; otherwise the country of the phone number (``+66…`` → ``TH``); else
null. ``default_region`` is only a hint for reading numbers written without a country code (blank → TH),
never evidence of where someone lives. Postcodes follow the rules of that country (``default_region``,
then TH, when none is known). A birth date must fall in :data:`BIRTH_YEARS`; system default dates
(1900-01-01, 1970-01-01) are placeholders.

``quality_issues`` is a JSON array of ``{"field", "value_kind", "reason"}`` for each non-empty value that
was dropped: ``reason`` is ``placeholder``, ``invalid``, ``unrecognized`` or ``out_of_range``, and
``value_kind`` the shape of the value (``digits``, ``email_like``, ``thai_text``, ``latin_text``,
``mixed_text``, ``other_text``, ``symbols``), never the value itself, so the column holds no PII.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from functools import reduce
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from cdp.standardize.company import standardize_company
from cdp.standardize.dates import parse_date
from cdp.standardize.email import standardize_email
from cdp.standardize.gender import gender
from cdp.standardize.geo import country_code, postcode, province_code
from cdp.standardize.names import standardize_person_name
from cdp.standardize.national_id import standardize_national_id
from cdp.standardize.phone import DEFAULT_REGION, standardize_phone
from cdp.standardize.placeholders import (
    DEFAULT_BLOCKLIST,
    PlaceholderBlocklist,
    is_placeholder_date,
    is_placeholder_text,
)
from cdp.standardize.text import ascii_digits, script_of

#: The identity columns read from the input (all text, nullable; a missing column counts as all null).
IDENTITY_INPUT_COLUMNS: Final = (
    "first_name",
    "last_name",
    "full_name",
    "email",
    "phone",
    "date_of_birth",
    "address_line",
    "city",
    "state",
    "postcode",
    "country",
    "national_id",
    "gender",
    "company",
    "default_region",
)

#: The columns this step adds, in this order, after the input's own.
IDENTITY_STANDARD_SCHEMA: Final = pa.schema(
    [
        pa.field("email_normalized", pa.string()),
        pa.field("email_key", pa.string()),
        pa.field("phone_e164", pa.string()),
        pa.field("first_name_std", pa.string()),
        pa.field("last_name_std", pa.string()),
        pa.field("full_name_std", pa.string()),
        pa.field("name_script", pa.string()),
        pa.field("date_of_birth_std", pa.string()),
        pa.field("province_code", pa.string()),
        pa.field("country_code", pa.string()),
        pa.field("postcode_std", pa.string()),
        pa.field("gender_std", pa.string()),
        pa.field("national_id_std", pa.string()),
        pa.field("company_std", pa.string()),
        pa.field("quality_issues", pa.string()),
    ]
)

#: Birth dates outside these years are typing errors (a BE year typed twice, "0987"), not ages.
BIRTH_YEARS: Final = range(1900, 2101)

_NO_ISSUE_REASONS: Final = frozenset({None, "empty"})
_SEPARATORS: Final = frozenset(" -+().#/")
_NULL: Final = pa.scalar(None, pa.string())


def identity_output_schema(input_schema: pa.Schema) -> pa.Schema:
    """The schema :func:`standardize_identity_batch` returns for batches of ``input_schema``."""
    kept = [field for field in input_schema if field.name not in IDENTITY_STANDARD_SCHEMA.names]
    return pa.schema([*kept, *IDENTITY_STANDARD_SCHEMA])


def standardize_identity_batch(
    batch: pa.RecordBatch, *, blocklist: PlaceholderBlocklist = DEFAULT_BLOCKLIST
) -> pa.RecordBatch:
    issues: list[pa.Array] = []

    def text(name: str) -> pa.Array:
        return _text_column(batch, name)

    def report(
        field: str, values: Sequence[str | None], reasons: Sequence[str | None], rows: pa.Array
    ) -> None:
        issues.append(_spread(_issues(field, values, reasons), rows))

    # e-mail
    emails, email_rows = _distinct(text("email"))
    email_results = [standardize_email(value, blocklist) for value in emails]
    report("email", emails, [result.reason for result in email_results], email_rows)

    # phone, read in the row's region
    phone_keys, phone_rows = _distinct_rows(text("phone"), text("default_region"))
    phone_results = [
        standardize_phone(value, _phone_region(region), blocklist) if value is not None else None
        for value, region in phone_keys
    ]
    e164s = [result.e164 if result else None for result in phone_results]
    phone_countries = [result.region if result else None for result in phone_results]
    report(
        "phone",
        [value for value, _ in phone_keys],
        [result.reason if result else None for result in phone_results],
        phone_rows,
    )

    # names
    name_keys, name_rows = _distinct_rows(text("first_name"), text("last_name"), text("full_name"))
    names = [standardize_person_name(first, last, full, blocklist) for first, last, full in name_keys]
    first_given = [next((part for part in key if part), None) for key in name_keys]
    report("name", first_given, [name.reason for name in names], name_rows)

    # date of birth
    births, birth_rows = _distinct(text("date_of_birth"))
    birth_results = [_birth_date(value, blocklist) for value in births]
    report("date_of_birth", births, [reason for _, reason in birth_results], birth_rows)

    # province (from state, else city), then country from the evidence
    states, state_rows = _distinct(text("state"))
    state_codes = [province_code(value) for value in states]
    cities, city_rows = _distinct(text("city"))
    province = pc.coalesce(
        _spread(state_codes, state_rows), _spread([province_code(value) for value in cities], city_rows)
    )
    countries, country_rows = _distinct(text("country"))
    written_countries = [country_code(value) for value in countries]
    report("country", countries, _unresolved(countries, written_countries, blocklist), country_rows)
    country = pc.coalesce(
        _spread(written_countries, country_rows),
        pc.if_else(pc.is_valid(province), pa.scalar("TH"), _NULL),
        _spread(phone_countries, phone_rows),
    )
    # a state abroad ("California") is not an unknown Thai province
    in_thailand = pc.fill_null(pc.equal(country, pa.scalar("TH")), pa.scalar(True))
    state_issues = _spread(_issues("state", states, _unresolved(states, state_codes, blocklist)), state_rows)
    issues.append(pc.if_else(in_thailand, state_issues, _NULL))

    # postcode, by the rules of the row's country
    rules_of = pc.coalesce(country, pc.utf8_upper(text("default_region")), pa.scalar(DEFAULT_REGION))
    postcode_keys, postcode_rows = _distinct_rows(text("postcode"), rules_of)
    postcodes = [postcode(value, where) for value, where in postcode_keys]
    postcode_values = [value for value, _ in postcode_keys]
    report(
        "postcode",
        postcode_values,
        _unresolved(postcode_values, postcodes, blocklist, "invalid"),
        postcode_rows,
    )

    # gender, company
    # national ID, by the rules of the row's written country (the default region does not make a foreign
    # ID Thai, nor a Thai one foreign)
    id_keys, id_rows = _distinct_rows(text("national_id"), pc.coalesce(country, pa.scalar("TH")))
    id_results = [standardize_national_id(value, where) for value, where in id_keys]
    id_values = [value for value, _ in id_keys]
    report("national_id", id_values, [result.reason for result in id_results], id_rows)
    genders, gender_rows = _distinct(text("gender"))
    gender_values = [gender(value) for value in genders]
    report("gender", genders, _unresolved(genders, gender_values, blocklist), gender_rows)
    companies, company_rows = _distinct(text("company"))
    company_values = [standardize_company(value) for value in companies]
    report("company", companies, [None if value else "placeholder" for value in company_values], company_rows)

    added = [
        _spread([result.normalized for result in email_results], email_rows),
        _spread([result.match_key for result in email_results], email_rows),
        _spread(e164s, phone_rows),
        _spread([name.first for name in names], name_rows),
        _spread([name.last for name in names], name_rows),
        _spread([name.full for name in names], name_rows),
        _spread([name.script for name in names], name_rows),
        _spread([day for day, _ in birth_results], birth_rows),
        province,
        country,
        _spread(postcodes, postcode_rows),
        _spread(gender_values, gender_rows),
        _spread([result.digits for result in id_results], id_rows),
        _spread(company_values, company_rows),
        _issue_lists(issues, batch.num_rows),
    ]
    kept = [
        column
        for column, field in zip(batch.columns, batch.schema, strict=True)
        if field.name not in IDENTITY_STANDARD_SCHEMA.names
    ]
    return pa.RecordBatch.from_arrays([*kept, *added], schema=identity_output_schema(batch.schema))


def value_kind(value: str) -> str:
    """The shape of a value, for reports that must not hold the value itself."""
    if "@" in value:
        return "email_like"
    compact = [char for char in ascii_digits(value) if char not in _SEPARATORS]
    if compact and all(char.isascii() and char.isdigit() for char in compact):
        return "digits"
    script = script_of(value)
    if script is not None:
        return f"{script}_text"
    return "other_text" if any(char.isalnum() for char in value) else "symbols"


def _text_column(batch: pa.RecordBatch, name: str) -> pa.Array:
    index = batch.schema.get_field_index(name)
    if index < 0:
        return pa.nulls(batch.num_rows, pa.string())
    column = batch.column(index)
    return column if column.type == pa.string() else column.cast(pa.string())


def _distinct(column: pa.Array) -> tuple[list[str], pa.Array]:
    """The distinct non-null values and, per row, the index of its value (null for a null)."""
    encoded = pc.dictionary_encode(column)
    return encoded.dictionary.to_pylist(), encoded.indices


def _distinct_rows(*columns: pa.Array) -> tuple[list[tuple[Any, ...]], pa.Array]:
    """Like :func:`_distinct`, for a combination of columns (every row gets an index)."""
    seen: dict[tuple[Any, ...], int] = {}
    values = [column.to_pylist() for column in columns]
    indices = [seen.setdefault(key, len(seen)) for key in zip(*values, strict=True)]
    return list(seen), pa.array(indices, pa.int32())


def _spread(per_value: Sequence[str | None], indices: pa.Array) -> pa.Array:
    return pc.take(pa.array(per_value, pa.string()), indices)


def _phone_region(region: str | None) -> str | None:
    return country_code(region, default=DEFAULT_REGION)


def _birth_date(value: str, blocklist: PlaceholderBlocklist) -> tuple[str | None, str | None]:
    if is_placeholder_text(value, blocklist):
        return None, "placeholder"
    day: date | None = parse_date(value)
    if day is None:
        return None, "invalid"
    if is_placeholder_date(day, blocklist):
        return None, "placeholder"
    if day.year not in BIRTH_YEARS:
        return None, "out_of_range"
    return day.isoformat(), None


def _unresolved(
    values: Sequence[str | None],
    results: Sequence[object],
    blocklist: PlaceholderBlocklist,
    reason: str = "unrecognized",
) -> list[str | None]:
    """Why each given value gave no result: a placeholder, or ``reason``."""
    return [
        None
        if value is None or result is not None
        else ("placeholder" if is_placeholder_text(value, blocklist) else reason)
        for value, result in zip(values, results, strict=True)
    ]


def _issues(field: str, values: Sequence[str | None], reasons: Sequence[str | None]) -> list[str | None]:
    return [
        None
        if reason in _NO_ISSUE_REASONS or value is None
        else json.dumps(
            {"field": field, "value_kind": value_kind(value), "reason": reason},
            ensure_ascii=False,
            separators=(",", ":"),
        )
        for value, reason in zip(values, reasons, strict=True)
    ]


def _issue_lists(fragments: list[pa.Array], rows: int) -> pa.Array:
    """One JSON array per row; the rows without issues (most) never reach Python."""
    lists = ["[]"] * rows
    if rows == 0:
        return pa.array(lists, pa.string())
    flagged = reduce(pc.or_, [pc.is_valid(fragment) for fragment in fragments])
    positions = pc.indices_nonzero(flagged)
    taken = [pc.take(fragment, positions).to_pylist() for fragment in fragments]
    for position, row in zip(positions.to_pylist(), zip(*taken, strict=True), strict=True):
        lists[position] = "[" + ",".join(part for part in row if part) + "]"
    return pa.array(lists, pa.string())
