"""The floor under the import: plain pyarrow reading the same bytes and writing them as Parquet (zstd).

No mapping, no casting in Python, no quarantine, no row keys, no manifest: pyarrow's C++ readers with their
defaults (type inference, threads on) and ``pyarrow.parquet.write_table(..., compression="zstd")`` into the
same kind of directory the import writes to. What a plain reader cannot take from these files is left out
*before* the clock starts, and its rows/s is over the rows it read:

- ``csv raw``: the TIS-620 bytes as they are (``check_utf8=False``: the text is not decoded at all). Its
  invalid-row handler hands the row to Python as UTF-8 and fails on TIS-620, so the rows with a field too
  many (the generator's ``malformed_row`` dirt) are cut out beforehand; the header names are decoded.
- ``csv transcoded``: ``bytes.decode(<the mapping's codec>, "replace").encode("utf-8")`` inside the clock,
  as the importer does, then ``read_csv`` skipping the rows with a field too many.
- ``jsonl``: ``pyarrow.json.read_json`` cannot read a key that is a number on one line and a string on
  another (``"qty": "1"``, ``"total": "2,670.00"``: ≈ 10 % of the shop's lines) nor a line that is not
  JSON, so it reads the lines whose every value has its key's usual JSON type (decided over the file).
"""

from __future__ import annotations

import csv
from collections import Counter
from typing import Final

import orjson
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.json as pjson
import pyarrow.parquet as pq

CSV_RAW: Final = "csv raw"
CSV_TRANSCODED: Final = "csv transcoded"
JSONL: Final = "jsonl"

_NUMBER: Final = frozenset({int, float})


def csv_header(data: bytes, codec: str, delimiter: str) -> list[str]:
    first = data.split(b"\n", 1)[0].rstrip(b"\r").decode(codec, "replace")
    return next(csv.reader([first], delimiter=delimiter))


def csv_rows_with_header_width(data: bytes, delimiter: str) -> tuple[bytes, int, int]:
    """The data rows (header cut) whose field count is the header's; how many were kept and dropped.

    The generator quotes nothing it does not need to; a line holding a quote is split by :mod:`csv`
    (quoted line breaks are not handled here, and the CRM file has none).
    """
    lines = data.split(b"\n")
    separator = delimiter.encode("ascii")
    width = len(next(csv.reader([lines[0].decode("latin-1")], delimiter=delimiter)))
    kept: list[bytes] = []
    dropped = 0
    for line in lines[1:]:
        if not line.strip(b"\r"):
            continue
        if b'"' in line:
            fields = len(next(csv.reader([line.decode("latin-1")], delimiter=delimiter)))
        else:
            fields = line.count(separator) + 1
        if fields == width:
            kept.append(line)
        else:
            dropped += 1
    return b"\n".join(kept) + b"\n", len(kept), dropped


def jsonl_typed_lines(data: bytes) -> tuple[bytes, int, int]:
    """The lines a typed JSON reader can take: objects whose values have their key's usual JSON type."""
    lines = [line for line in data.split(b"\n") if line.strip()]
    objects: list[dict[str, object] | None] = []
    kinds: dict[str, Counter[type]] = {}
    for line in lines:
        try:
            value = orjson.loads(line)
        except orjson.JSONDecodeError:
            objects.append(None)
            continue
        if not isinstance(value, dict):
            objects.append(None)
            continue
        objects.append(value)
        for key, item in value.items():
            if item is not None:
                kinds.setdefault(key, Counter())[float if type(item) is int else type(item)] += 1
    allowed: dict[str, frozenset[type]] = {}
    for key, counts in kinds.items():
        usual = counts.most_common(1)[0][0]
        allowed[key] = (_NUMBER if usual is float else frozenset({usual})) | {type(None)}
    kept = [
        line
        for line, value in zip(lines, objects, strict=True)
        if value is not None and all(type(item) in allowed[key] for key, item in value.items())
    ]
    return b"\n".join(kept) + b"\n", len(kept), len(lines) - len(kept)


def read_csv_raw(data: bytes, names: list[str], delimiter: str) -> pa.Table:
    return pcsv.read_csv(
        pa.BufferReader(data),
        read_options=pcsv.ReadOptions(column_names=names),
        parse_options=pcsv.ParseOptions(delimiter=delimiter),
        convert_options=pcsv.ConvertOptions(check_utf8=False),
    )


def read_csv_transcoded(data: bytes, codec: str, delimiter: str) -> pa.Table:
    text = data.decode(codec, "replace").encode("utf-8")
    return pcsv.read_csv(
        pa.BufferReader(text),
        parse_options=pcsv.ParseOptions(delimiter=delimiter, invalid_row_handler=lambda _row: "skip"),
    )


def read_jsonl(data: bytes) -> pa.Table:
    return pjson.read_json(pa.BufferReader(data))


def write_parquet(table: pa.Table, path: str) -> None:
    pq.write_table(table, path, compression="zstd")
