"""The per-source mapping YAML (SPEC 5): how to read one source's files and what their columns mean.

A mapping is parsed once, before any byte of the file is read, so that a typo fails the command with the
key path and the reason instead of quarantining every row. The YAML is read the YAML 1.2 way (only
``true``/``false`` are booleans), because Thai CRM columns called ``no`` or ``on`` must stay names.

Example::

    source: crm
    kind: customers
    format: csv
    encoding: tis-620
    columns:
      รหัสลูกค้า: record_id                  # shorthand for {field: record_id}
      วันเกิด: {field: date_of_birth, formats: ["%d/%m/%Y"]}   # 15/03/2530 → 1987-03-15
      แต้มสะสม: {attribute: loyalty_points, type: integer}
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal
from enum import StrEnum
from pathlib import Path, PurePath
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from cdp.imports import MappingError
from cdp.imports.fields import PII_FIELDS, STANDARD_FIELDS, FieldType, RowKind
from cdp.settings import DEFAULT_TIME_ZONE
from cdp.sources.keys import SourceNameError, validate_source_name


class FileFormat(StrEnum):
    csv = "csv"
    jsonl = "jsonl"
    parquet = "parquet"


class TextEncoding(StrEnum):
    """Encodings of text files. UTF-8 files may start with a BOM either way; ``utf-8-sig`` only says so."""

    utf_8 = "utf-8"
    utf_8_sig = "utf-8-sig"
    tis_620 = "tis-620"  # old Thai systems (Python's strict ``tis_620`` codec)
    windows_874 = "windows-874"  # TIS-620 plus Windows' smart quotes, ellipsis and no-break space

    @property
    def codec(self) -> str:
        return _CODECS[self]


_CODECS: Final = {
    TextEncoding.utf_8: "utf-8",
    TextEncoding.utf_8_sig: "utf-8",
    TextEncoding.tis_620: "tis_620",
    TextEncoding.windows_874: "cp874",
}

#: what a boolean column accepts when the mapping does not say (compared case-insensitively)
DEFAULT_TRUE_VALUES: Final = ("true", "t", "yes", "y", "1", "ใช่", "จริง", "ยินยอม")
DEFAULT_FALSE_VALUES: Final = ("false", "f", "no", "n", "0", "ไม่", "ไม่ใช่", "เท็จ", "ไม่ยินยอม")

#: file extensions and the format (and CSV delimiter) they imply when no mapping is given
_EXTENSIONS: Final[dict[str, tuple[FileFormat, str]]] = {
    ".csv": (FileFormat.csv, ","),
    ".txt": (FileFormat.csv, ","),
    ".tsv": (FileFormat.csv, "\t"),
    ".tab": (FileFormat.csv, "\t"),
    ".jsonl": (FileFormat.jsonl, ","),
    ".ndjson": (FileFormat.jsonl, ","),
    ".json": (FileFormat.jsonl, ","),
    ".parquet": (FileFormat.parquet, ","),
    ".pq": (FileFormat.parquet, ","),
}

_REGION: Final = re.compile(r"^[A-Za-z]{2}$")


def _problem(message: str, *at: str) -> PydanticCustomError:
    """A validation error located below the validator's own field (``at``), e.g. ``dob.field``."""
    return PydanticCustomError("mapping", "{message}", {"message": message, "at": ".".join(at)})


def normalize_column_name(name: str) -> str:
    """How file headers and mapping keys are compared: NFC, trimmed, case-folded.

    Spreadsheets add trailing spaces and change case; Thai text typed on different systems differs in
    Unicode normalization. None of that should make a mapped column "missing".
    """
    return unicodedata.normalize("NFC", name).strip().casefold()


class ColumnMapping(BaseModel):
    """What one source column becomes: a standard field, or a key of the ``attributes`` JSON object."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    field: str | None = None
    attribute: str | None = None
    #: for attributes: how to type the value (default string); for fields: the field's own type, or
    #: ``date`` for a timestamp field whose source only has dates (midnight in the mapping's time zone)
    type: FieldType | None = None
    #: strptime patterns tried in order for date/timestamp values; ISO 8601 is always understood too
    formats: tuple[str, ...] = ()
    #: personal data? default: true for identifying standard fields (fields.PII_FIELDS), else false
    pii: bool | None = None
    true_values: tuple[str, ...] | None = None
    false_values: tuple[str, ...] | None = None
    #: inclusive bounds of integer and decimal values (survey scales: 1-5, NPS 0-10)
    minimum: Decimal | None = None
    maximum: Decimal | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        """``column: email`` means ``column: {field: email}``: most columns need nothing more."""
        if isinstance(value, str):
            return {"field": value}
        return value

    @field_validator("field")
    @classmethod
    def _standard_field(cls, value: str | None) -> str | None:
        if value is None or value in STANDARD_FIELDS:
            return value
        close = difflib.get_close_matches(value, STANDARD_FIELDS, n=1)
        if close:
            raise ValueError(f"{value!r} is not a standard field; did you mean {close[0]!r}?")
        raise ValueError(
            f"{value!r} is not a standard field (one of {', '.join(STANDARD_FIELDS)}); "
            "map other columns with 'attribute:'"
        )

    @field_validator("attribute")
    @classmethod
    def _attribute_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        name = unicodedata.normalize("NFC", value).strip()
        if not name or len(name) > 128 or not name.isprintable():
            raise ValueError("must be 1-128 printable characters")
        return name

    @field_validator("formats", mode="before")
    @classmethod
    def _formats_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("formats")
    @classmethod
    def _strptime_patterns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for index, pattern in enumerate(value):
            if "%" not in pattern:
                raise _problem(f"{pattern!r} is not a strptime pattern (e.g. '%d/%m/%Y')", str(index))
        return value

    @field_validator("true_values", "false_values")
    @classmethod
    def _non_empty_values(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and not [text for text in value if text.strip()]:
            raise ValueError("must list at least one value")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ColumnMapping:
        if (self.field is None) == (self.attribute is None):
            raise ValueError("set exactly one of 'field' (a standard field) or 'attribute' (a name)")
        if self.field is not None and self.type is not None:
            own = STANDARD_FIELDS[self.field]
            if self.type != own and not (own is FieldType.timestamp and self.type is FieldType.date):
                raise _problem(
                    f"field {self.field!r} is {own.value}; 'type' may only repeat it"
                    + (" or be 'date'" if own is FieldType.timestamp else ""),
                    "type",
                )
        if self.formats and self.source_type not in (FieldType.date, FieldType.timestamp):
            raise _problem(
                f"only date and timestamp columns take formats, this one is {self.source_type}", "formats"
            )
        if (self.true_values or self.false_values) and self.source_type is not FieldType.boolean:
            key = "true_values" if self.true_values else "false_values"
            raise _problem(f"only boolean columns take {key}, this one is {self.source_type}", key)
        bounded = self.minimum is not None or self.maximum is not None
        if bounded and self.source_type not in (FieldType.integer, FieldType.decimal):
            key = "minimum" if self.minimum is not None else "maximum"
            raise _problem(
                f"only integer and decimal columns take {key}, this one is {self.source_type}", key
            )
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise _problem(f"is less than minimum {self.minimum}", "maximum")
        overlap = {v.strip().casefold() for v in self.truthy} & {v.strip().casefold() for v in self.falsy}
        if overlap:
            raise _problem(f"{sorted(overlap)[0]!r} is both a true and a false value", "false_values")
        return self

    @property
    def source_type(self) -> FieldType:
        """The type the cell text is read as (a timestamp field may be read as a date)."""
        if self.type is not None:
            return self.type
        return STANDARD_FIELDS[self.field] if self.field is not None else FieldType.string

    @property
    def stored_type(self) -> FieldType:
        """The type the value is stored as: the field's own type, or the attribute's."""
        return STANDARD_FIELDS[self.field] if self.field is not None else self.source_type

    @property
    def target(self) -> str:
        """The field or attribute name."""
        return self.field if self.field is not None else str(self.attribute)

    @property
    def is_pii(self) -> bool:
        return self.pii if self.pii is not None else self.field in PII_FIELDS

    @property
    def truthy(self) -> tuple[str, ...]:
        return self.true_values if self.true_values is not None else DEFAULT_TRUE_VALUES

    @property
    def falsy(self) -> tuple[str, ...]:
        return self.false_values if self.false_values is not None else DEFAULT_FALSE_VALUES


class ImportMapping(BaseModel):
    """How one source's files are read and mapped (SPEC 5); the same model on the CLI, Lambda and Glue.

    ``required`` defaults (when the YAML leaves it out) to the record's own key when the mapping maps it:
    ``record_id`` for every kind and ``order_id`` for orders. A row without its key cannot be told apart
    from its next version, so it is quarantined rather than stored under a content hash. ``required: []``
    turns that off.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    kind: RowKind
    format: FileFormat
    encoding: TextEncoding = TextEncoding.utf_8
    delimiter: str = ","
    #: ``null`` for files without quoting; quoted fields may hold delimiters and line breaks
    quotechar: str | None = '"'
    #: CSV only: without a header row, columns are named by position, ``"1"`` for the first
    header: bool = True
    columns: dict[str, ColumnMapping] = Field(min_length=1)
    #: ISO 3166 alpha-2 region for reading national phone numbers such as ``081 234 5678``
    default_region: str = "TH"
    required: tuple[str, ...] | None = None
    #: the zone of naive timestamps (and of dates read into timestamp fields)
    time_zone: str = DEFAULT_TIME_ZONE

    @field_validator("source")
    @classmethod
    def _source_name(cls, value: str) -> str:
        try:
            return validate_source_name(value)
        except SourceNameError as error:
            raise ValueError(str(error).removeprefix(f"invalid source name {value!r}: ")) from None

    @field_validator("delimiter")
    @classmethod
    def _one_char(cls, value: str) -> str:
        if len(value) != 1 or value in "\r\n":
            raise ValueError('must be exactly one character other than a line break (a tab is "\\t")')
        return value

    @field_validator("quotechar")
    @classmethod
    def _quote_char(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        if len(value) != 1 or value in "\r\n":
            raise ValueError("must be exactly one character, or null for no quoting")
        if value == info.data.get("delimiter"):
            raise ValueError("must differ from the delimiter")
        return value

    @field_validator("columns", mode="before")
    @classmethod
    def _column_keys(cls, value: Any) -> Any:
        """YAML keys such as ``1`` (header-less files) arrive as ints; names are compared normalized."""
        if not isinstance(value, dict):
            return value
        seen: dict[str, str] = {}
        columns: dict[str, Any] = {}
        for key, spec in value.items():
            name = unicodedata.normalize("NFC", str(key)).strip()
            if not name:
                raise ValueError("a column name is empty")
            folded = normalize_column_name(name)
            if folded in seen:
                raise _problem(f"column {name!r} is listed twice (as {seen[folded]!r})", name)
            seen[folded] = name
            columns[name] = spec
        return columns

    @field_validator("columns")
    @classmethod
    def _one_column_per_target(
        cls, value: dict[str, ColumnMapping], info: ValidationInfo
    ) -> dict[str, ColumnMapping]:
        targets: dict[tuple[bool, str], str] = {}
        for name, column in value.items():
            key = (column.field is not None, column.target)
            if key in targets:
                what = "field" if column.field is not None else "attribute"
                raise _problem(
                    f"{what} {column.target!r} is already mapped by column {targets[key]!r}", name, what
                )
            targets[key] = name
        if info.data.get("header") is False:
            for name in value:
                if not name.isdigit() or int(name) < 1:
                    raise _problem("without a header, columns are named by position: 1, 2, …", name)
        return value

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not _REGION.match(value):
            raise ValueError("must be an ISO 3166 alpha-2 code such as TH")
        return value.upper()

    @field_validator("required")
    @classmethod
    def _mapped_fields(cls, value: tuple[str, ...] | None, info: ValidationInfo) -> tuple[str, ...] | None:
        if value is None:
            return None
        mapped = {column.field for column in (info.data.get("columns") or {}).values()}
        for index, name in enumerate(value):
            if name not in STANDARD_FIELDS:
                raise _problem(f"{name!r} is not a standard field", str(index))
            if name not in mapped:
                raise _problem(f"{name!r} is not mapped by any column", str(index))
        return tuple(dict.fromkeys(value))

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def required_fields(self) -> tuple[str, ...]:
        if self.required is not None:
            return self.required
        mapped = {column.field for column in self.columns.values()}
        keys = ["record_id"] + (["order_id"] if self.kind is RowKind.orders else [])
        return tuple(key for key in keys if key in mapped)

    @property
    def pii_targets(self) -> list[str]:
        """Fields and attributes holding personal data, for the manifest (erasure, pseudonymization)."""
        return [column.target for column in self.columns.values() if column.is_pii]

    @property
    def sha256(self) -> str:
        """Hash of the mapping's meaning (not its YAML text): comments and key order do not change it."""
        canonical = orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(canonical).hexdigest()


#: the contract's name for the model
Mapping = ImportMapping


# -- loading ---------------------------------------------------------------------------------------


class _MappingLoader(yaml.SafeLoader):
    """YAML 1.2 booleans (``true``/``false`` only) and no silently overwritten duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"key {key!r} appears twice",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_MappingLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_MappingLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def parse_mapping(text: str | bytes, name: str) -> ImportMapping:
    """Validate mapping YAML read from anywhere (a file, an S3 object); ``name`` is used in messages."""
    try:
        document = yaml.load(text, Loader=_MappingLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise MappingError(f"mapping {name}: not valid YAML{where}: {problem}") from None
    if not isinstance(document, dict):
        raise MappingError(
            f"mapping {name}: must be a YAML mapping of keys (source, kind, format, columns …)"
        )
    return validate_mapping(document, name)


def load_mapping(path: str | os.PathLike[str]) -> ImportMapping:
    file = Path(path)
    try:
        text = file.read_bytes()
    except OSError as error:
        raise MappingError(f"mapping {file.name}: cannot read it: {error.strerror or error}") from None
    return parse_mapping(text, file.name)


def validate_mapping(document: dict[str, Any], name: str) -> ImportMapping:
    try:
        return ImportMapping.model_validate(document)
    except ValidationError as error:
        problems = [_describe(detail) for detail in error.errors()]
        more = f" (and {len(problems) - 3} more problems)" if len(problems) > 3 else ""
        raise MappingError(f"mapping {name}: " + "; ".join(problems[:3]) + more) from None


def _describe(detail: Any) -> str:
    """One pydantic error as ``key.path: reason`` in the mapping's own words."""
    loc = [str(part) for part in detail["loc"]]
    context = detail.get("ctx") or {}
    if context.get("at"):
        loc.extend(context["at"].split("."))
    kind = detail["type"]
    if kind == "enum":
        reason = f"must be one of {context['expected']}"
    elif kind == "missing":
        reason = "is required"
    elif kind == "extra_forbidden":
        column_level = len(loc) == 3 and loc[0] == "columns"
        allowed = tuple(ColumnMapping.model_fields if column_level else ImportMapping.model_fields)
        reason = f"unknown key (use one of: {', '.join(allowed)})"
    else:
        reason = str(detail["msg"]).removeprefix("Value error, ").replace("Input should be", "must be")
    path = ".".join(_quote_key(part) for part in loc) or "(top level)"
    return f"{path}: {reason}"


def _quote_key(part: str) -> str:
    return f'"{part}"' if not part or any(char in part for char in ". \t") else part


# -- default mapping -------------------------------------------------------------------------------


def format_for(file_name: str) -> tuple[FileFormat, str]:
    """The format (and CSV delimiter) a file name's extension implies."""
    suffix = PurePath(file_name).suffix.lower()
    try:
        return _EXTENSIONS[suffix]
    except KeyError:
        known = ", ".join(sorted(_EXTENSIONS))
        raise MappingError(
            f"cannot tell the format of {file_name!r} from its extension (known: {known}); give a mapping"
        ) from None


def infer_kind(columns: Iterable[str]) -> RowKind:
    """Orders when the columns say so, consent when they only carry consent, else customers."""
    names = {normalize_column_name(column) for column in columns}
    if names & {"order_id", "order_date", "order_total"}:
        return RowKind.orders
    consent = {name for name in names if name.startswith("consent_")}
    if consent and not names & {"record_id", "first_name", "last_name", "full_name"}:
        return RowKind.consent
    return RowKind.customers


def default_mapping(
    source: str,
    kind: RowKind | None,
    columns: Sequence[str],
    *,
    file_name: str,
    delimiter: str | None = None,
    encoding: TextEncoding = TextEncoding.utf_8,
) -> ImportMapping:
    """The mapping used without ``--mapping``: columns named like standard fields map to them, the rest
    become attributes under their own names, so nothing in the file is silently dropped.

    ``kind`` ``None`` infers it from the columns (:func:`infer_kind`).
    """
    file_format, implied_delimiter = format_for(file_name)
    specs: dict[str, dict[str, str]] = {}
    taken: set[str] = set()
    for column in columns:
        name = unicodedata.normalize("NFC", column).strip()
        folded = normalize_column_name(name)
        if not name or folded in taken:
            continue  # unnamed and repeated headers cannot be addressed by name
        taken.add(folded)
        field = folded if folded in STANDARD_FIELDS else None
        if field is not None and any(spec.get("field") == field for spec in specs.values()):
            field = None
        specs[name] = {"field": field} if field is not None else {"attribute": name}
    if not specs:
        raise MappingError(f"{file_name}: the file has no named columns to map")
    return validate_mapping(
        {
            "source": source,
            "kind": kind or infer_kind(columns),
            "format": file_format,
            "encoding": encoding,
            "delimiter": delimiter or implied_delimiter,
            "columns": specs,
        },
        f"(default for {file_name})",
    )
