"""Reader batches through a mapping into ``import_rows`` rows and quarantine rows (SPEC 5).

Every data row ends up in exactly one of the two, so ``rows_read = accepted + rejected`` always holds and a
rejected row can be fixed and re-sent by its row number. A row is rejected for the first problem found, in
mapping order, with one sentence naming the column and the value (and how many other columns were bad too).

``row_key`` is the source's own ``record_id`` when the row has one, else a SHA-256 of the row's mapped,
*typed* values (so ``1,250`` and ``1250`` give the same key, and a later export with an extra empty column
keeps every key). Within one file a key may appear once; later repeats are quarantined as duplicates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import orjson
import pyarrow as pa

from cdp.imports import UnreadableFileError
from cdp.imports.casting import Cast, CastError, cast_for
from cdp.imports.fields import (
    ATTRIBUTES_COLUMN,
    IMPORT_ROWS_SCHEMA,
    QUARANTINE_IMPORT_COLUMNS,
)
from cdp.imports.mapping import ColumnMapping, ImportMapping, normalize_column_name
from cdp.imports.reader import RowError, SourceBatch

#: called after each batch with the fraction of the file done and the rows read so far
ProgressCallback = Callable[[float, int], None]

_READER_CODES: Final = frozenset({"malformed_row", "invalid_json", "undecodable"})
_VALUE_PREVIEW: Final = 80


@dataclass(frozen=True, slots=True)
class ImportContext:
    """Bookkeeping stamped on every row of one import."""

    source_id: str
    import_id: str
    file_name: str
    imported_at: str  # ISO-8601 UTC


@dataclass(frozen=True, slots=True)
class MappedFile:
    rows: pa.Table  # IMPORT_ROWS_SCHEMA
    rejections: list[RowError]  # in row order
    rows_read: int
    missing_columns: list[str]  # mapping columns the file does not have (their fields stay null)

    @property
    def rows_accepted(self) -> int:
        return int(self.rows.num_rows)


@dataclass(frozen=True, slots=True)
class _Plan:
    name: str  # the mapping's column name
    column: ColumnMapping
    cast: Cast


#: an accepted row: number, row_key, standard field values, attribute values
_Accepted = tuple[int, str, dict[str, object], dict[str, object]]


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return orjson.Fragment(format(value, "f"))  # a JSON number, digit for digit
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def attributes_json(attributes: dict[str, object]) -> str:
    """The ``attributes`` column: a JSON object, UTF-8 with Thai as Thai (no ``\\u`` escapes)."""
    return orjson.dumps(attributes, default=_json_default).decode()


def content_key(fields: dict[str, object], attributes: dict[str, object]) -> str:
    """A stable key for rows without a ``record_id``: nulls are left out, so new empty columns keep it."""
    canonical = orjson.dumps(
        {**fields, ATTRIBUTES_COLUMN: attributes}, option=orjson.OPT_SORT_KEYS, default=_json_default
    )
    return "sha256:" + hashlib.sha256(canonical).hexdigest()[:32]


def _quoted(text: str) -> str:
    shown = text if len(text) <= _VALUE_PREVIEW else text[: _VALUE_PREVIEW - 1] + "…"
    return orjson.dumps(shown).decode()


class _RowMapper:
    def __init__(self, mapping: ImportMapping, context: ImportContext, file_name: str) -> None:
        self._mapping = mapping
        self._context = context
        self._file_name = file_name
        zone = mapping.zone
        self._plans = [
            _Plan(name=name, column=column, cast=cast_for(column, zone))
            for name, column in mapping.columns.items()
        ]
        self._required = mapping.required_fields
        self._column_of = {column.field: name for name, column in mapping.columns.items() if column.field}
        self._mapped_fields = frozenset(self._column_of)
        self._keys: dict[str, int] = {}
        self._resolved: dict[tuple[str, ...], list[tuple[_Plan, str]]] = {}
        self.found: set[str] = set()
        self.saw_complete_header = False
        self.file_columns: list[str] = []
        self.rows_read = 0
        self.reader_errors = 0
        self.rejections: list[RowError] = []
        self.batches: list[pa.RecordBatch] = []

    def _resolve(self, names: Sequence[str], complete: bool) -> list[tuple[_Plan, str]]:
        """Mapping columns to the file's columns: exact name first, then trimmed and case-folded."""
        cache_key = tuple(names)
        if cache_key in self._resolved:
            return self._resolved[cache_key]
        folded: dict[str, list[str]] = {}
        for name in names:
            folded.setdefault(normalize_column_name(name), []).append(name)
        resolved = []
        for plan in self._plans:
            if plan.name in names:
                resolved.append((plan, plan.name))
                continue
            candidates = folded.get(normalize_column_name(plan.name), [])
            if len(candidates) > 1:
                raise UnreadableFileError(
                    f'{self._file_name}: mapping column "{plan.name}" matches several columns of the file: '
                    + ", ".join(f'"{candidate}"' for candidate in candidates)
                )
            if candidates:
                resolved.append((plan, candidates[0]))
        if complete and not resolved:
            raise self.nothing_mapped(names)
        if complete:
            present = {plan.column.field for plan, _ in resolved}
            for required in self._required:
                if required not in present:
                    raise UnreadableFileError(
                        f'{self._file_name}: required column "{self._column_of[required]}" ({required}) is '
                        f"not in the file; its columns are: {_listing(names)}"
                    )
        self._resolved[cache_key] = resolved
        return resolved

    def nothing_mapped(self, names: Sequence[str]) -> UnreadableFileError:
        return UnreadableFileError(
            f"{self._file_name}: none of the mapping's columns ({_listing(list(self._mapping.columns))}) "
            f"is in the file; its columns are: {_listing(names)} (check the format, delimiter and encoding)"
        )

    def add(self, batch: SourceBatch) -> None:
        names = batch.rows.schema.names
        if batch.complete_columns:
            self.saw_complete_header = True
            if not self.file_columns:
                self.file_columns = list(names)
        elif batch.row_numbers:
            self.file_columns.extend(name for name in names if name not in self.file_columns)
        resolved = self._resolve(names, batch.complete_columns)
        self.found.update(plan.name for plan, _ in resolved)
        self.rows_read += len(batch.row_numbers) + len(batch.errors)
        self.reader_errors += sum(1 for error in batch.errors if error.code in _READER_CODES)
        self.rejections.extend(batch.errors)
        if not batch.row_numbers:
            return
        cells = [(plan, batch.rows.column(actual).to_pylist()) for plan, actual in resolved]
        everything: dict[str, list[Any]] | None = None
        accepted: list[_Accepted] = []
        for index, number in enumerate(batch.row_numbers):
            fields: dict[str, object] = {}
            attributes: dict[str, object] = {}
            problem: tuple[str, str, str] | None = None  # code, column, reason
            more = 0
            for plan, values in cells:
                text = values[index]
                if text is None or not (text := text.strip()):
                    continue
                try:
                    value = plan.cast(text)
                except CastError as error:
                    if problem is None:
                        problem = (error.code, plan.name, f'column "{plan.name}": {_quoted(text)} {error}')
                    else:
                        more += 1
                    continue
                if plan.column.field is not None:
                    fields[plan.column.field] = value
                else:
                    attributes[plan.column.target] = value
            if problem is None:
                problem = self._missing(fields, attributes)
            key = None
            if problem is None:
                record_id = fields.get("record_id")
                key = str(record_id) if record_id is not None else content_key(fields, attributes)
                first = self._keys.setdefault(key, number)
                if first != number:
                    problem = self._duplicate(record_id, first)
            if problem is not None:
                if everything is None:
                    everything = {name: batch.rows.column(name).to_pylist() for name in names}
                code, column, reason = problem
                if more:
                    reason += f" (and {more} more bad column{'s' if more > 1 else ''})"
                raw = {
                    name: values[index] for name, values in everything.items() if values[index] is not None
                }
                self.rejections.append(
                    RowError(number, code, reason, orjson.dumps(raw).decode(), column=column or None)
                )
                continue
            accepted.append((number, str(key), fields, attributes))
        self.batches.append(self._record_batch(accepted))

    def _missing(
        self, fields: dict[str, object], attributes: dict[str, object]
    ) -> tuple[str, str, str] | None:
        if not fields and not attributes:
            return "empty_row", "", "row has no value in any mapped column"
        for required in self._required:
            if fields.get(required) is None:
                column = self._column_of[required]
                return "missing_required", column, f'column "{column}" ({required}) is empty but required'
        return None

    def _duplicate(self, record_id: object, first: int) -> tuple[str, str, str]:
        if record_id is not None:
            column = self._column_of["record_id"]
            return (
                "duplicate_key",
                column,
                f'column "{column}": record_id {_quoted(str(record_id))} repeats row {first}',
            )
        return "duplicate_key", "", f"row repeats row {first} (same values in every mapped column)"

    def _record_batch(self, accepted: list[_Accepted]) -> pa.RecordBatch:
        """Accepted rows column by column: bookkeeping repeated, unmapped fields all null."""
        context, count = self._context, len(accepted)
        constants = {
            "source_id": context.source_id,
            "import_id": context.import_id,
            "file_name": context.file_name,
            "kind": self._mapping.kind.value,
            "default_region": self._mapping.default_region,
            "imported_at": context.imported_at,
        }
        arrays: list[pa.Array] = []
        for column in IMPORT_ROWS_SCHEMA:
            name, kind = column.name, column.type
            if name in constants:
                values: list[Any] = [constants[name]] * count
            elif name == "row_number":
                values = [row[0] for row in accepted]
            elif name == "row_key":
                values = [row[1] for row in accepted]
            elif name == ATTRIBUTES_COLUMN:
                values = [attributes_json(row[3]) for row in accepted]
            elif name in self._mapped_fields:
                values = [row[2].get(name) for row in accepted]
                if pa.types.is_floating(kind):  # the table stores decimal fields as doubles
                    values = [float(value) if value is not None else None for value in values]
            else:
                arrays.append(pa.nulls(count, kind))
                continue
            arrays.append(pa.array(values, kind))
        return pa.RecordBatch.from_arrays(arrays, schema=IMPORT_ROWS_SCHEMA)


def _listing(names: Sequence[str]) -> str:
    shown = ", ".join(f'"{name}"' for name in names[:12])
    return shown + (f" … ({len(names)} in all)" if len(names) > 12 else "") if names else "(none)"


def map_rows(
    batches: Iterable[SourceBatch],
    mapping: ImportMapping,
    context: ImportContext,
    *,
    progress: ProgressCallback | None = None,
) -> MappedFile:
    """Apply ``mapping`` to every batch; :class:`UnreadableFileError` if the file as a whole does not fit."""
    mapper = _RowMapper(mapping, context, context.file_name)
    for batch in batches:
        mapper.add(batch)
        if progress is not None:
            progress(batch.progress, mapper.rows_read)
    name = context.file_name
    if mapper.rows_read and mapper.reader_errors == mapper.rows_read:
        first = min(mapper.rejections, key=lambda error: error.row_number)
        raise UnreadableFileError(
            f"{name}: no row could be read (row {first.row_number}: {first.reason}); "
            "check the format, delimiter and encoding"
        )
    if not mapper.found and (mapper.rows_read or mapper.saw_complete_header):
        raise mapper.nothing_mapped(mapper.file_columns)
    table = pa.Table.from_batches(mapper.batches, schema=IMPORT_ROWS_SCHEMA)
    return MappedFile(
        rows=table,
        rejections=sorted(mapper.rejections, key=lambda error: error.row_number),
        rows_read=mapper.rows_read,
        missing_columns=[name for name in mapping.columns if name not in mapper.found],
    )


def quarantine_records(mapped: MappedFile, context: ImportContext) -> list[dict[str, object]]:
    """Rows of the ``quarantine_imports`` table, in QUARANTINE_IMPORT_COLUMNS order."""
    records = []
    for error in mapped.rejections:
        record = {
            "source_id": context.source_id,
            "import_id": context.import_id,
            "file_name": context.file_name,
            "row_number": error.row_number,
            "code": error.code,
            "column": error.column,
            "reason": error.reason,
            "raw_row": error.raw_row,
            "quarantined_at": context.imported_at,
        }
        records.append({name: record[name] for name in QUARANTINE_IMPORT_COLUMNS})
    return records


def quarantine_jsonl(records: Sequence[dict[str, object]]) -> bytes:
    return b"".join(orjson.dumps(record) + b"\n" for record in records)
