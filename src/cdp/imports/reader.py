"""Files to Arrow record batches of text, per the mapping's format, encoding and CSV dialect.

Every cell comes out as text (or null when absent): typing is :mod:`cdp.imports.casting`'s job, so that a
bad value is a row error with a reason rather than a failed file. Rows that cannot be read at all (a CSV
row with the wrong number of fields, a JSON line that does not parse, a byte that is not in the file's
encoding) become :class:`RowError` s beside the batch; only a file with nothing readable in it raises
:class:`~cdp.imports.UnreadableFileError`.

Text files are transcoded to UTF-8 before parsing (SPEC 11: TIS-620 through Python's codec). A byte that does
not decode is replaced by a marker character from Unicode's last private-use plane, so the parser never
fails on it and the row holding it is reported with the byte's value.

Row numbers are 1-based data rows: CSV rows after the header (a quoted field with line breaks is one row;
blank lines are not rows), JSON lines by line number, Parquet rows in file order.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from cdp.imports import UnreadableFileError
from cdp.imports.mapping import FileFormat, ImportMapping, TextEncoding

BATCH_ROWS: Final = 65_536
_CSV_BLOCK_BYTES: Final = 8 << 20  # a CSV row (quoted line breaks included) must fit in one block
_MARK_BASE: Final = 0x10FF00  # U+10FF00 + byte: plane 16 private use, never in real data
_MARKS: Final = re.compile("[\U0010ff00-\U0010ffff]")
_ERROR_HANDLER: Final = "cdp-mark-undecodable"
_BOM: Final = codecs.BOM_UTF8
_DELIMITER_CANDIDATES: Final = (",", ";", "\t", "|")
_C1_CONTROLS: Final = re.compile("[\x80-\x9f]")


def _mark_undecodable(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return "".join(chr(_MARK_BASE + byte) for byte in bad), error.end


codecs.register_error(_ERROR_HANDLER, _mark_undecodable)


@dataclass(frozen=True, slots=True)
class RowError:
    """A row that could not be read or mapped: it goes to quarantine, the rest of the file goes on."""

    row_number: int
    code: str
    reason: str
    raw_row: str  # JSON text: the row as an object of its cells, or a JSON string of the line
    column: str | None = None


@dataclass(frozen=True, slots=True)
class SourceBatch:
    """A stretch of the file: its readable rows as text columns and the rows that could not be read."""

    rows: pa.RecordBatch
    row_numbers: Sequence[int]
    errors: Sequence[RowError]
    #: how far into the file this batch ends (0-1), for progress displays
    progress: float
    #: True when every batch has every column of the file (CSV, Parquet); JSON lines have the keys seen
    complete_columns: bool


@dataclass(frozen=True, slots=True)
class _Text:
    data: bytes  # UTF-8, no BOM
    marked: bool  # some bytes did not decode and carry markers
    encoding: TextEncoding


def read_batches(data: bytes, mapping: ImportMapping, *, file_name: str) -> Iterator[SourceBatch]:
    """The file's rows in batches; :class:`UnreadableFileError` when the file as a whole is not readable."""
    if not data.strip():
        raise UnreadableFileError(f"{file_name}: the file is empty")
    if mapping.format is FileFormat.parquet:
        return _parquet_batches(data, file_name)
    text = _utf8(data, mapping.encoding)
    if mapping.format is FileFormat.jsonl:
        return _jsonl_batches(text, file_name)
    return _csv_batches(text, mapping, file_name)


def file_columns(
    data: bytes,
    file_format: FileFormat,
    *,
    file_name: str,
    encoding: TextEncoding = TextEncoding.utf_8,
    delimiter: str = ",",
    quotechar: str | None = '"',
) -> list[str]:
    """The column names a file offers (CSV header, JSON keys in order of appearance, Parquet schema)."""
    if not data.strip():
        raise UnreadableFileError(f"{file_name}: the file is empty")
    if file_format is FileFormat.parquet:
        return list(_parquet_file(data, file_name).schema_arrow.names)
    text = _utf8(data, encoding)
    if file_format is FileFormat.jsonl:
        keys: dict[str, None] = {}
        errors: list[RowError] = []
        for batch in _jsonl_batches(text, file_name):
            keys.update(dict.fromkeys(name for name in batch.rows.schema.names if name))
            errors.extend(batch.errors)
        if not keys and errors:
            first = errors[0]
            raise UnreadableFileError(
                f"{file_name}: no row could be read (row {first.row_number}: {first.reason}); "
                "check the format and encoding"
            )
        return list(keys)
    names = _csv_header(text, delimiter, quotechar, file_name)
    return [_unmark(name) for name in names]


def sniff_delimiter(data: bytes, encoding: TextEncoding = TextEncoding.utf_8) -> str:
    """The likeliest delimiter of a CSV header line (``,`` ``;`` tab ``|``), for files without a mapping."""
    first_line = _utf8(data[: 64 << 10], encoding).data.split(b"\n", 1)[0].decode("utf-8", "replace")
    unquoted = re.sub(r'"[^"]*"', "", first_line)
    counts = {candidate: unquoted.count(candidate) for candidate in _DELIMITER_CANDIDATES}
    best = max(counts, key=lambda candidate: counts[candidate])
    return best if counts[best] else ","


def detect_encoding(data: bytes) -> TextEncoding:
    """UTF-8 unless the bytes are not UTF-8 but are plausible TIS-620 (files without a mapping).

    Plausible means decodable but for a stray byte or so, with no C1 control characters: UTF-8 Thai is
    full of bytes 0x80-0x9F, which TIS-620 decodes as controls, so a UTF-8 file with one bad byte is not
    mistaken for TIS-620.
    """
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("tis_620", "replace")
        stray_bytes = text.count("\ufffd")  # a few become row errors; many mean it is not TIS-620
        if _C1_CONTROLS.search(text) or stray_bytes > max(1, len(data) // 1000):
            return TextEncoding.utf_8
        return TextEncoding.tis_620
    return TextEncoding.utf_8


# -- text ------------------------------------------------------------------------------------------


def _utf8(data: bytes, encoding: TextEncoding) -> _Text:
    """UTF-8 bytes for the parsers; valid UTF-8 input is passed through without a copy of the text."""
    if encoding in (TextEncoding.utf_8, TextEncoding.utf_8_sig):
        body = data[len(_BOM) :] if data.startswith(_BOM) else data
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            return _Text(body.decode("utf-8", _ERROR_HANDLER).encode("utf-8"), True, encoding)
        return _Text(body, False, encoding)
    try:
        return _Text(data.decode(encoding.codec).encode("utf-8"), False, encoding)
    except UnicodeDecodeError:
        return _Text(data.decode(encoding.codec, _ERROR_HANDLER).encode("utf-8"), True, encoding)


def _unmark(text: str) -> str:
    return _MARKS.sub("\ufffd", text)


def _bad_byte(text: str) -> int | None:
    match = _MARKS.search(text)
    return ord(match.group(0)) - _MARK_BASE if match else None


def _raw_object(row: dict[str, str | None]) -> str:
    return orjson.dumps({key: _unmark(value) for key, value in row.items() if value is not None}).decode()


def _separate_undecodable(
    rows: pa.RecordBatch, numbers: list[int], encoding: TextEncoding
) -> tuple[pa.RecordBatch, list[int], list[RowError]]:
    """Rows with a byte that did not decode leave the batch as row errors naming the column and byte."""
    if rows.num_rows == 0:
        return rows, numbers, []
    bad = pa.array([False] * rows.num_rows, pa.bool_())
    for column in rows.columns:
        if pa.types.is_string(column.type):
            found = pc.fill_null(pc.match_substring_regex(column, _MARKS.pattern), False)
            bad = pc.or_(bad, found)
    if not pc.any(bad).as_py():
        return rows, numbers, []
    errors: list[RowError] = []
    flags = bad.to_pylist()
    for index in (i for i, flag in enumerate(flags) if flag):
        row = rows.slice(index, 1).to_pylist()[0]
        column, byte = next(
            (name, _bad_byte(value))
            for name, value in row.items()
            if isinstance(value, str) and _bad_byte(value) is not None
        )
        errors.append(
            RowError(
                row_number=numbers[index],
                code="undecodable",
                column=column,
                reason=f'column "{column}": byte 0x{byte:02X} is not valid {encoding.value}',
                raw_row=_raw_object(row),
            )
        )
    keep = pc.invert(bad)
    kept = [number for number, flag in zip(numbers, flags, strict=True) if not flag]
    return rows.filter(keep), kept, errors


# -- CSV -------------------------------------------------------------------------------------------


def _csv_parse_options(delimiter: str, quotechar: str | None, handler: object = None) -> pcsv.ParseOptions:
    return pcsv.ParseOptions(
        delimiter=delimiter,
        quote_char=quotechar if quotechar is not None else False,
        double_quote=True,
        newlines_in_values=quotechar is not None,
        ignore_empty_lines=True,
        invalid_row_handler=handler,
    )


def _csv_header(text: _Text, delimiter: str, quotechar: str | None, file_name: str) -> list[str]:
    try:
        reader = pcsv.open_csv(
            pa.BufferReader(text.data),
            read_options=pcsv.ReadOptions(use_threads=False, block_size=_CSV_BLOCK_BYTES),
            parse_options=_csv_parse_options(delimiter, quotechar, lambda _row: "skip"),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise UnreadableFileError(f"{file_name}: not a readable CSV file: {_first_line(error)}") from None
    return list(reader.schema.names)


def _unique_names(names: list[str]) -> list[str]:
    """Repeated header names get ``" (2)"``-style suffixes, so every column stays addressable."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        count = seen.get(name, 0) + 1
        seen[name] = count
        unique.append(name if count == 1 else f"{name} ({count})")
    return unique


def _csv_batches(text: _Text, mapping: ImportMapping, file_name: str) -> Iterator[SourceBatch]:
    delimiter, quotechar = mapping.delimiter, mapping.quotechar
    first_row = _csv_header(text, delimiter, quotechar, file_name)
    if mapping.header:
        names = _unique_names([_unmark(name) for name in first_row])
    else:
        names = [str(position) for position in range(1, len(first_row) + 1)]
    header_rows = 1 if mapping.header else 0
    invalid: dict[int, RowError] = {}

    def on_invalid_row(row: pcsv.InvalidRow) -> str:
        if row.number is None:  # only with parallel parsing, which is off
            return "error"
        number = row.number - header_rows
        invalid[number] = RowError(
            row_number=number,
            code="malformed_row",
            reason=f"row has {row.actual_columns} fields where the header has {row.expected_columns}",
            raw_row=orjson.dumps(_unmark(row.text)).decode(),
        )
        return "skip"

    source = pa.BufferReader(text.data)
    try:
        reader = pcsv.open_csv(
            source,
            read_options=pcsv.ReadOptions(
                use_threads=False, block_size=_CSV_BLOCK_BYTES, column_names=names, skip_rows=header_rows
            ),
            parse_options=_csv_parse_options(delimiter, quotechar, on_invalid_row),
            convert_options=pcsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise UnreadableFileError(f"{file_name}: not a readable CSV file: {_first_line(error)}") from None
    total = max(len(text.data), 1)
    return _csv_stream(reader, source, total, invalid, text, file_name)


def _csv_stream(
    reader: pcsv.CSVStreamingReader,
    source: pa.BufferReader,
    total: int,
    invalid: dict[int, RowError],
    text: _Text,
    file_name: str,
) -> Iterator[SourceBatch]:
    next_number = 1
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            break
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise UnreadableFileError(f"{file_name}: not a readable CSV file: {_first_line(error)}") from None
        numbers: list[int] = []
        errors: list[RowError] = []
        while len(numbers) < batch.num_rows:
            if next_number in invalid:
                errors.append(invalid.pop(next_number))
            else:
                numbers.append(next_number)
            next_number += 1
        if text.marked:
            batch, numbers, undecodable = _separate_undecodable(batch, numbers, text.encoding)
            errors.extend(undecodable)
        yield SourceBatch(batch, numbers, errors, min(source.tell() / total, 1.0), complete_columns=True)
    leftover = [invalid[number] for number in sorted(invalid)]
    empty = pa.RecordBatch.from_pylist([], schema=reader.schema)
    yield SourceBatch(empty, [], leftover, 1.0, complete_columns=True)


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


# -- JSON lines ------------------------------------------------------------------------------------


def _cell_text(value: object) -> str | None:
    """JSON values as the text a CSV would hold: strings as they are, everything else as JSON."""
    if value is None or isinstance(value, str):
        return value
    return orjson.dumps(value, default=str).decode()


def _jsonl_batches(text: _Text, file_name: str) -> Iterator[SourceBatch]:
    del file_name  # a JSON-lines file is never unreadable as a whole: bad lines are row errors
    total = max(len(text.data), 1)
    position = 0
    records: list[dict[str, object]] = []
    numbers: list[int] = []
    errors: list[RowError] = []
    for line_number, line in enumerate(text.data.split(b"\n"), start=1):
        position += len(line) + 1
        if not line.strip():
            continue
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            reason = f"line is not valid JSON: {str(error).split(':', 1)[0]}"
            errors.append(_line_error(line_number, "invalid_json", reason, line))
            continue
        if not isinstance(value, dict):
            reason = f"line is a JSON {_json_kind(value)}, not an object"
            errors.append(_line_error(line_number, "invalid_json", reason, line))
            continue
        records.append(value)
        numbers.append(line_number)
        if len(records) >= BATCH_ROWS:
            yield _jsonl_batch(records, numbers, errors, min(position / total, 1.0), text)
            records, numbers, errors = [], [], []
    yield _jsonl_batch(records, numbers, errors, 1.0, text)


def _line_error(line_number: int, code: str, reason: str, line: bytes) -> RowError:
    raw = _unmark(line.decode("utf-8", "replace").rstrip("\r"))
    return RowError(row_number=line_number, code=code, reason=reason, raw_row=orjson.dumps(raw).decode())


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    return "null" if value is None else "number"


def _jsonl_batch(
    records: list[dict[str, object]], numbers: list[int], errors: list[RowError], progress: float, text: _Text
) -> SourceBatch:
    keys: dict[str, None] = {}
    for record in records:
        keys.update(dict.fromkeys(record))
    columns = {key: pa.array([_cell_text(r.get(key)) for r in records], pa.string()) for key in keys}
    if not columns:  # only ``{}`` objects (or none): rows without values are still rows
        columns = {"": pa.nulls(len(records), pa.string())}
    rows = pa.RecordBatch.from_pydict(columns)
    if text.marked:
        rows, numbers, undecodable = _separate_undecodable(rows, numbers, text.encoding)
        errors = [*errors, *undecodable]
    return SourceBatch(rows, numbers, errors, progress, complete_columns=False)


# -- Parquet ---------------------------------------------------------------------------------------


def _parquet_file(data: bytes, file_name: str) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(pa.BufferReader(data))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as error:
        raise UnreadableFileError(f"{file_name}: not a readable Parquet file: {_first_line(error)}") from None


def _parquet_batches(data: bytes, file_name: str) -> Iterator[SourceBatch]:
    parquet = _parquet_file(data, file_name)
    total = max(parquet.metadata.num_rows, 1)
    return _parquet_stream(parquet, total, file_name)


def _parquet_stream(parquet: pq.ParquetFile, total: int, file_name: str) -> Iterator[SourceBatch]:
    done = 0
    try:
        for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
            columns = {name: _parquet_text(batch.column(name)) for name in batch.schema.names}
            rows = pa.RecordBatch.from_pydict(columns)
            numbers = list(range(done + 1, done + batch.num_rows + 1))
            done += batch.num_rows
            yield SourceBatch(rows, numbers, [], min(done / total, 1.0), complete_columns=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as error:
        raise UnreadableFileError(f"{file_name}: not a readable Parquet file: {_first_line(error)}") from None
    if done == 0:
        empty = pa.RecordBatch.from_pydict(
            {name: pa.array([], pa.string()) for name in parquet.schema_arrow.names}
        )
        yield SourceBatch(empty, [], [], 1.0, complete_columns=True)


def _parquet_text(column: pa.Array) -> pa.Array:
    """Typed Parquet values as text: casting then reads them like any other file's cells."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.dictionary_decode()
        kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return pc.cast(column, pa.string())
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return pa.array(
            [None if v is None else v.decode("utf-8", "replace") for v in column.to_pylist()], pa.string()
        )
    if pa.types.is_nested(kind):
        return pa.array([_cell_text(value) for value in column.to_pylist()], pa.string())
    try:
        return pc.cast(column, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([None if v is None else str(v) for v in column.to_pylist()], pa.string())
