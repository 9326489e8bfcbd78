"""Mapping YAML: what a valid one means, and that an invalid one says where and why."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cdp.imports import MappingError
from cdp.imports.fields import RowKind
from cdp.imports.mapping import (
    FileFormat,
    ImportMapping,
    TextEncoding,
    default_mapping,
    infer_kind,
    load_mapping,
    parse_mapping,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "mappings"

BASE = """\
source: crm
kind: customers
format: csv
columns:
  รหัสลูกค้า: record_id
  dob: {field: date_of_birth, formats: ["%d/%m/%Y"]}
  points: {attribute: loyalty_points, type: integer}
"""


def test_the_example_mappings_are_valid() -> None:
    crm = load_mapping(EXAMPLES / "crm_customers.yaml")
    assert (crm.source, crm.kind, crm.format, crm.encoding) == (
        "crm",
        RowKind.customers,
        FileFormat.csv,
        TextEncoding.tis_620,
    )
    assert crm.columns["วันเกิด"].field == "date_of_birth"
    assert crm.columns["วันเกิด"].formats == ("%d/%m/%Y",)
    assert crm.columns["แต้มสะสม"].attribute == "loyalty_points"
    shop = load_mapping(EXAMPLES / "shop_orders.yaml")
    assert (shop.kind, shop.format, shop.required_fields) == (RowKind.orders, FileFormat.jsonl, ("order_id",))
    survey = load_mapping(EXAMPLES / "survey.yaml")
    assert (survey.encoding, survey.required_fields) == (TextEncoding.utf_8_sig, ())
    assert "comment" in survey.pii_targets


def test_defaults() -> None:
    mapping = parse_mapping(BASE, "crm.yaml")
    assert mapping.encoding is TextEncoding.utf_8
    assert (mapping.delimiter, mapping.quotechar, mapping.header) == (",", '"', True)
    assert (mapping.default_region, mapping.time_zone) == ("TH", "Asia/Bangkok")
    # the record's own key is required when mapped; nothing else is
    assert mapping.required_fields == ("record_id",)
    # identifying standard fields are PII unless a mapping says otherwise; attributes are not
    assert mapping.pii_targets == ["date_of_birth"]


def test_required_defaults_follow_the_kind_and_what_is_mapped() -> None:
    orders = parse_mapping(
        "source: shop\nkind: orders\nformat: jsonl\ncolumns: {id: order_id, e: email}", "o"
    )
    assert orders.required_fields == ("order_id",)
    survey = parse_mapping("source: s\nkind: survey\nformat: csv\ncolumns: {e: email}", "s")
    assert survey.required_fields == ()
    explicit = parse_mapping(BASE + "required: []\n", "crm.yaml")
    assert explicit.required_fields == ()
    extra = parse_mapping(BASE + "required: [record_id, date_of_birth]\n", "crm.yaml")
    assert extra.required_fields == ("record_id", "date_of_birth")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ("dob: {field: date_of_birth,", "dob: {field: date_of_birth, type: dates,"),
            "mapping crm.yaml: columns.dob.type: must be one of 'string', 'integer', 'decimal', 'boolean', "
            "'date' or 'timestamp'",
        ),
        (("kind: customers", "kind: people"), "mapping crm.yaml: kind: must be one of 'customers'"),
        (
            ("format: csv", "format: xlsx"),
            "mapping crm.yaml: format: must be one of 'csv', 'jsonl' or 'parquet'",
        ),
        (("format: csv", "format: csv\nencoding: latin-1"), "encoding: must be one of 'utf-8', 'utf-8-sig'"),
        (("format: csv", "format: csv\ndelimiter: ';;'"), "delimiter: must be exactly one character"),
        (("format: csv", "format: csv\nquotechar: ','"), "quotechar: must differ from the delimiter"),
        (("source: crm", "source: Old CRM"), "source: use 1-63 of a-z, 0-9"),
        (("source: crm\n", ""), "mapping crm.yaml: source: is required"),
        (("รหัสลูกค้า: record_id", "รหัสลูกค้า: record_idd"), "columns.รหัสลูกค้า.field: 'record_idd' is not"),
        (("รหัสลูกค้า: record_id", "รหัสลูกค้า: emial"), "did you mean 'email'?"),
        (("points: {attribute: loyalty_points,", "points: {"), "columns.points: set exactly one of 'field'"),
        (
            ("points: {attribute: loyalty_points,", "points: {field: email, attribute: x,"),
            "columns.points: set exactly one of",
        ),
        (
            ("type: integer}", "type: integer, formats: ['%Y']}"),
            "columns.points.formats: only date and timestamp columns take formats, this one is integer",
        ),
        (
            ("dob: {field: date_of_birth,", "dob: {field: date_of_birth, type: integer,"),
            "columns.dob.type: field 'date_of_birth' is date; 'type' may only repeat it",
        ),
        (
            ("type: integer}", "type: integer, colour: red}"),
            "columns.points.colour: unknown key (use one of:",
        ),
        (("format: csv", "format: csv\ncolour: red"), "colour: unknown key (use one of: source, kind"),
        (
            ("format: csv", "format: csv\nrequired: [email]"),
            "required.0: 'email' is not mapped by any column",
        ),
        (
            ("format: csv", "format: csv\ntime_zone: Mars/Base"),
            "time_zone: unknown IANA time zone 'Mars/Base'",
        ),
        (("format: csv", "format: csv\ndefault_region: THA"), "default_region: must be an ISO 3166 alpha-2"),
        (("format: csv", "format: csv\nheader: maybe"), "header: must be a valid boolean"),
        (
            (
                "points: {attribute: loyalty_points",
                "pts: {attribute: loyalty_points}\n  points: {attribute: loyalty_points",
            ),
            "columns.points.attribute: attribute 'loyalty_points' is already mapped by column 'pts'",
        ),
        (("  dob:", "  DOB: email\n  dob:"), "columns.dob: column 'dob' is listed twice"),
        (
            ("type: integer}", "type: integer, minimum: 5, maximum: 1}"),
            "columns.points.maximum: is less than",
        ),
        (
            ("dob: {field: date_of_birth,", "dob: {field: date_of_birth, minimum: 1,"),
            "columns.dob.minimum: only integer and decimal columns take minimum",
        ),
        (("format: csv", "format: csv\nheader: false"), "without a header, columns are named by position"),
    ],
)
def test_validation_errors_name_the_key_and_the_reason(change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in BASE
    with pytest.raises(MappingError) as raised:
        parse_mapping(BASE.replace(old, new, 1), "crm.yaml")
    message = str(raised.value)
    assert message.startswith("mapping crm.yaml: ")
    assert expected in message
    assert "\n" not in message  # the CLI prints it as one line


def test_yaml_problems_give_the_line() -> None:
    with pytest.raises(MappingError, match=r"mapping m.yaml: not valid YAML at line 2, column"):
        parse_mapping("source: crm\n  kind: : customers\n", "m.yaml")
    with pytest.raises(MappingError, match=r"key 'kind' appears twice"):
        parse_mapping(BASE + "kind: orders\n", "m.yaml")
    with pytest.raises(MappingError, match=r"must be a YAML mapping"):
        parse_mapping("- just\n- a list\n", "m.yaml")
    with pytest.raises(MappingError, match=r"mapping missing.yaml: cannot read it"):
        load_mapping("/nonexistent/missing.yaml")


def test_yaml_12_booleans_keep_column_names_such_as_no_and_on() -> None:
    extra = "  no: {attribute: number}\n  on: {attribute: on_time}\n  1: {attribute: one}\n"
    mapping = parse_mapping(BASE + extra + "header: yes\n", "m.yaml")
    assert {"no", "on", "1"} <= set(mapping.columns)
    assert mapping.columns["no"].attribute == "number"
    assert mapping.header is True  # still a boolean where a boolean is expected


def test_positional_columns_without_a_header() -> None:
    text = "source: pos\nkind: customers\nformat: csv\nheader: false\ncolumns:\n  1: record_id\n  3: email\n"
    mapping = parse_mapping(text, "m.yaml")
    assert list(mapping.columns) == ["1", "3"]


def test_the_hash_is_of_the_meaning_not_the_text() -> None:
    first = parse_mapping(BASE, "a.yaml")
    same_meaning = parse_mapping(
        "# a comment\nformat: csv\nkind: customers\nsource: crm\ncolumns:\n"
        "  points: {type: integer, attribute: loyalty_points}\n"
        "  dob: {formats: ['%d/%m/%Y'], field: date_of_birth}\n"
        "  รหัสลูกค้า: {field: record_id}\n",
        "b.yaml",
    )
    assert same_meaning.sha256 == first.sha256
    assert parse_mapping(BASE.replace("%d/%m/%Y", "%Y-%m-%d"), "c.yaml").sha256 != first.sha256


def test_default_mapping_maps_standard_names_case_insensitively_and_keeps_the_rest() -> None:
    mapping = default_mapping(
        "shop",
        None,
        ["Email", " phone ", "First_Name", "แต้มสะสม", "Favourite Colour", "", "email"],
        file_name="x.csv",
    )
    assert isinstance(mapping, ImportMapping)
    fields = {name: (column.field, column.attribute) for name, column in mapping.columns.items()}
    assert fields == {
        "Email": ("email", None),
        "phone": ("phone", None),
        "First_Name": ("first_name", None),
        "แต้มสะสม": (None, "แต้มสะสม"),
        "Favourite Colour": (None, "Favourite Colour"),
    }
    assert (mapping.kind, mapping.format, mapping.required_fields) == (RowKind.customers, FileFormat.csv, ())


@pytest.mark.parametrize(
    ("file_name", "file_format", "delimiter"),
    [
        ("crm.csv", FileFormat.csv, ","),
        ("CRM.CSV", FileFormat.csv, ","),
        ("export.tsv", FileFormat.csv, "\t"),
        ("orders.jsonl", FileFormat.jsonl, ","),
        ("orders.ndjson", FileFormat.jsonl, ","),
        ("orders.json", FileFormat.jsonl, ","),
        ("orders.parquet", FileFormat.parquet, ","),
    ],
)
def test_default_mapping_takes_the_format_from_the_extension(
    file_name: str, file_format: FileFormat, delimiter: str
) -> None:
    mapping = default_mapping("s", RowKind.customers, ["email"], file_name=file_name)
    assert (mapping.format, mapping.delimiter) == (file_format, delimiter)


def test_default_mapping_refuses_unknown_extensions_and_empty_headers() -> None:
    with pytest.raises(MappingError, match=r"cannot tell the format of 'data.xlsx'"):
        default_mapping("s", None, ["email"], file_name="data.xlsx")
    with pytest.raises(MappingError, match="no named columns"):
        default_mapping("s", None, ["", " "], file_name="data.csv")


def test_kind_inference() -> None:
    assert infer_kind(["order_id", "email"]) is RowKind.orders
    assert infer_kind(["email", "consent_email", "consent_sms"]) is RowKind.consent
    assert infer_kind(["record_id", "first_name", "consent_email"]) is RowKind.customers
    assert infer_kind(["q1", "q2"]) is RowKind.customers


def test_mapping_text_may_be_bytes_with_thai() -> None:
    text = textwrap.dedent(
        """\
        source: crm
        kind: customers
        format: csv
        encoding: tis-620
        columns:
          ชื่อ: first_name
        """
    ).encode("utf-8")
    assert parse_mapping(text, "thai.yaml").columns["ชื่อ"].field == "first_name"
