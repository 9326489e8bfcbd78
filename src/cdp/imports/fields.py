"""The standard fields a mapping may target, with their types (SPEC 3.4 identity columns and more).

One row of the ``import_rows`` table is one accepted source row: the bookkeeping columns, one column per
standard field (null when the file has no such column), and ``attributes`` (JSON object text) for mapped
columns that are not standard fields (survey answers, loyalty points …).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

import pyarrow as pa


class FieldType(StrEnum):
    string = "string"
    integer = "integer"
    decimal = "decimal"
    boolean = "boolean"
    date = "date"  # ISO ``YYYY-MM-DD`` text after the cast (Buddhist-era years already converted)
    timestamp = "timestamp"  # ISO-8601 UTC text ``…Z`` after the cast


class RowKind(StrEnum):
    """What one row of a file is."""

    customers = "customers"  # one person (CRM export, loyalty members)
    orders = "orders"  # one order or order line (shop, point of sale)
    survey = "survey"  # one respondent's answers (attitudinal data)
    consent = "consent"  # one consent decision


#: identity fields of SPEC 3.4 (``record_id`` is the source's own record key)
IDENTITY_FIELDS: Final[dict[str, FieldType]] = {
    "record_id": FieldType.string,
    "first_name": FieldType.string,
    "last_name": FieldType.string,
    "full_name": FieldType.string,
    "email": FieldType.string,
    "phone": FieldType.string,
    "date_of_birth": FieldType.date,
    "address_line": FieldType.string,
    "city": FieldType.string,
    "postcode": FieldType.string,
    "state": FieldType.string,
    "country": FieldType.string,
    "national_id": FieldType.string,
    "user_id": FieldType.string,
    "anonymous_id": FieldType.string,
    "gender": FieldType.string,
    "company": FieldType.string,
}

ORDER_FIELDS: Final[dict[str, FieldType]] = {
    "order_id": FieldType.string,
    "order_date": FieldType.timestamp,
    "order_total": FieldType.decimal,
    "currency": FieldType.string,
    "product_id": FieldType.string,
    "product_name": FieldType.string,
    "category": FieldType.string,
    "quantity": FieldType.integer,
    "unit_price": FieldType.decimal,
    "channel": FieldType.string,
}

CONSENT_FIELDS: Final[dict[str, FieldType]] = {
    "consent_email": FieldType.boolean,
    "consent_sms": FieldType.boolean,
    "consent_push": FieldType.boolean,
    "consent_ads": FieldType.boolean,
    "consent_updated_at": FieldType.timestamp,
}

STANDARD_FIELDS: Final[dict[str, FieldType]] = {
    **IDENTITY_FIELDS,
    **ORDER_FIELDS,
    **CONSENT_FIELDS,
    "updated_at": FieldType.timestamp,
}

#: columns every ``import_rows`` row carries before the standard fields
IMPORT_ROW_COLUMNS: Final[tuple[str, ...]] = (
    "source_id",  # the source's name
    "import_id",  # first 16 hex digits of the file's SHA-256: the idempotency key
    "file_name",
    "row_number",  # 1-based data row number in the file (header excluded), for quarantine and lineage
    "row_key",  # ``record_id`` when mapped, else the row's content hash: unique per source
    "kind",  # RowKind
    "default_region",  # ISO 3166 alpha-2 region used to read national phone numbers (mapping's default)
    "imported_at",  # ISO-8601 UTC
)

#: the attribute bag column after the standard fields
ATTRIBUTES_COLUMN: Final = "attributes"


def _arrow_type(kind: FieldType) -> pa.DataType:
    # dates and timestamps stay ISO text in import_rows: the standardize step types them, on either engine
    return {
        FieldType.integer: pa.int64(),
        FieldType.decimal: pa.float64(),
        FieldType.boolean: pa.bool_(),
    }.get(kind, pa.string())


#: the Parquet schema of ``import_rows`` (readers cast to it, so files may omit all-null columns)
IMPORT_ROWS_SCHEMA: Final[pa.Schema] = pa.schema(
    [
        *(pa.field(name, pa.int64() if name == "row_number" else pa.string()) for name in IMPORT_ROW_COLUMNS),
        *(pa.field(name, _arrow_type(kind)) for name, kind in STANDARD_FIELDS.items()),
        pa.field(ATTRIBUTES_COLUMN, pa.string()),
    ]
)

#: standard fields that are personal data (PDPA/GDPR) unless a mapping says otherwise: the manifest lists
#: them so pseudonymization and erasure know which columns of an import hold a person's identifiers
PII_FIELDS: Final[frozenset[str]] = frozenset(
    {
        "first_name",
        "last_name",
        "full_name",
        "email",
        "phone",
        "date_of_birth",
        "address_line",
        "postcode",
        "national_id",
        "user_id",
        "anonymous_id",
    }
)

#: the ``quarantine_imports`` table (JSON lines under ``quarantine/imports/source=…/import_id=…/``)
QUARANTINE_IMPORT_COLUMNS: Final[tuple[str, ...]] = (
    "source_id",
    "import_id",
    "file_name",
    "row_number",  # 1-based data row (CSV: header excluded; JSON lines: the line number)
    "code",  # machine-readable reason: invalid_date, missing_required, malformed_row …
    "column",  # the source column at fault, when one is
    "reason",  # one sentence naming the column and what is wrong with the value
    "raw_row",  # the row as read (JSON object text, or JSON string of the line when it did not parse)
    "quarantined_at",  # ISO-8601 UTC
)
