"""Every file of the lake, read and rewritten in its own format, for access requests and erasure.

The lake holds a person in Parquet snapshots (clean, identity, profiles, segments, exports ledger,
pseudonymized), JSON lines (raw events, quarantine, local destinations, suppression list), CSV, JSON lines
and Parquet uploads (landing, raw imports, in their original encoding: TIS-620 stays TIS-620), JSON
documents (import manifests whose rejection examples quote values, access exports) and the embedded
lookup store. :class:`LakeFile` reads one file as rows, tells which rows belong to the person, and
writes it back without them, in place and atomically (readers see the old file or the new one).

Formats are decided by name: ``.parquet``, ``.jsonl``/``.ndjson``, ``.csv``/``.tsv``/``.txt``, ``.json``.
Anything else (YAML definitions, SQL, SQLite, the salt) is only searched byte by byte by the proof: a hit
there is reported as *unhandled*, never silently ignored.
"""

from __future__ import annotations

import csv
import io
import posixpath
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cdp.activation.audience import PhoneHashFormat, email_hash, phone_hash
from cdp.imports.mapping import TextEncoding
from cdp.imports.reader import detect_encoding, sniff_delimiter
from cdp.lakefs import LakeFiles
from cdp.privacy.matching import Matcher
from cdp.standardize.email import standardize_email
from cdp.standardize.phone import standardize_phone

#: the suppression list must keep suppressing an erased person: their lines become unsalted hashes
SUPPRESSION_LIST = "privacy/suppression.jsonl"
#: access exports and erasure reports of earlier requests (a later erasure deletes the exports)
REQUESTS_PREFIX = "privacy/requests/"
ERASED = "[erased]"


class FileFormat(StrEnum):
    parquet = "parquet"
    jsonl = "jsonl"
    csv = "csv"
    json = "json"
    opaque = "opaque"  # searched as bytes only


#: formats screened line by line (:meth:`Matcher.candidate_lines`) before anything is decoded
_TEXT = frozenset({FileFormat.jsonl, FileFormat.csv, FileFormat.json})


def file_format(path: str) -> FileFormat:
    name = posixpath.basename(path).lower()
    if name.endswith(".partial"):
        return FileFormat.opaque
    if name.endswith(".parquet"):
        return FileFormat.parquet
    if name.endswith((".jsonl", ".ndjson")):
        return FileFormat.jsonl
    if name.endswith((".csv", ".tsv", ".txt")):
        return FileFormat.csv
    if name.endswith(".json"):
        return FileFormat.json
    return FileFormat.opaque


def zone_of(path: str) -> str:
    """``raw/events/dt=…/x`` → ``raw/events``; ``profiles/traits/…`` → ``profiles``; ``_local/x`` →
    ``_local``."""
    parts = path.split("/")
    if parts[0] == "raw" and len(parts) > 2:
        return f"raw/{parts[1]}"
    return parts[0] if len(parts) > 1 else "(root)"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    return value


@dataclass(slots=True)
class Inspection:
    path: str
    zone: str
    format: FileFormat
    rows: int = 0
    hits: int = 0
    matched: list[Any] = field(default_factory=list)  # the person's rows (access export), decoded


class LakeFile:
    """One file: :meth:`inspect` counts (and collects) the person's rows, :meth:`rewrite` removes them."""

    def __init__(self, files: LakeFiles, path: str, matcher: Matcher) -> None:
        self.files, self.path, self.matcher = files, path, matcher
        self.format = file_format(path)
        self.zone = zone_of(path)

    def inspect(self, *, collect: bool = False, data: bytes | None = None) -> Inspection:
        """``data``: the file's bytes when the caller has read them already (the proof reads each file
        once for this and for its raw-byte search)."""
        result = Inspection(self.path, self.zone, self.format)
        if data is None:
            data = self.files.read_bytes(self.path)
        if data is None:
            return result
        candidates = self.matcher.candidate_lines(data) if self.format in _TEXT else set()
        if self.format is FileFormat.parquet:
            table = pq.read_table(pa.BufferReader(data), use_threads=False)
            mask = self.matcher.table_mask(table)
            result.rows = table.num_rows
            result.hits = int(pc.sum(mask).as_py() or 0)
            if collect and result.hits:
                rows = table.filter(mask).to_pylist()
                result.matched = [{key: _deep_plain(value) for key, value in row.items()} for row in rows]
        elif self.format is FileFormat.jsonl:
            lines = _lines(data)
            result.rows = sum(1 for line in lines if line.strip())
            for index in sorted(candidates):
                if index >= len(lines) or not lines[index].strip():
                    continue
                decoded = _json_or_text(lines[index])
                if self.matcher.anything(decoded):
                    result.hits += 1
                    if collect:
                        result.matched.append(decoded)
        elif not candidates:  # CSV or JSON without a trace of the person
            result.rows = data.count(b"\n") if self.format is FileFormat.csv else 1
        elif self.format is FileFormat.csv:
            text, _encoding, _bom = _decode(data)
            header, rows, _dialect = _csv_rows(text)
            for row, span in rows:
                result.rows += 1
                if not candidates.isdisjoint(span) and self.matcher.row(row):
                    result.hits += 1
                    if collect:
                        result.matched.append(dict(zip(header, row, strict=False)))
        elif self.format is FileFormat.json:
            result.rows = 1
            try:
                document = orjson.loads(data)
            except orjson.JSONDecodeError:
                document = data.decode("utf-8", "replace")
            if self.matcher.anything(document):
                result.hits = 1
                if collect:
                    result.matched.append(document)
        return result

    def rewrite(self) -> int:
        """Write the file back without the person's rows; returns the rows removed (or redacted). A JSON
        document is redacted in place, except earlier access exports, which are deleted whole."""
        data = self.files.read_bytes(self.path)
        if data is None:
            return 0
        if self.format is FileFormat.parquet:
            return self._rewrite_parquet(data)
        candidates = self.matcher.candidate_lines(data) if self.format in _TEXT else set()
        if self.format is FileFormat.jsonl:
            return self._rewrite_jsonl(data, candidates)
        if self.format in (FileFormat.csv, FileFormat.json) and not candidates:
            return 0
        if self.format is FileFormat.csv:
            return self._rewrite_csv(data, candidates)
        if self.format is FileFormat.json:
            return self._rewrite_json(data)
        if posixpath.basename(self.path).endswith(".partial"):  # a crashed write's leftover: nobody reads it
            self.files.delete_file(self.path)
            return 1
        return 0

    def _rewrite_parquet(self, data: bytes) -> int:
        table = pq.read_table(pa.BufferReader(data), use_threads=False)
        mask = self.matcher.table_mask(table)
        removed = int(pc.sum(mask).as_py() or 0)
        if removed:
            kept = table.filter(pc.invert(mask))
            metadata = pq.read_metadata(pa.BufferReader(data))
            compression = metadata.row_group(0).column(0).compression if metadata.num_row_groups else "snappy"
            sink = io.BytesIO()
            pq.write_table(kept, sink, compression=str(compression).lower() if compression else "snappy")
            self.files.write_bytes(self.path, sink.getvalue())
        return removed

    def _rewrite_jsonl(self, data: bytes, candidates: set[int]) -> int:
        kept: list[bytes] = []
        removed = 0
        replace: Callable[[Any], bytes | None] | None = (
            _hashed_suppression_line if self.path == SUPPRESSION_LIST else None
        )
        for index, line in enumerate(_lines(data)):
            decoded = _json_or_text(line) if index in candidates and line.strip() else None
            if decoded is not None and self.matcher.anything(decoded):
                removed += 1
                substitute = replace(decoded) if replace else None
                if substitute is not None:
                    kept.append(substitute)
                continue
            kept.append(line)
        if removed:
            body = b"\n".join(kept)
            self._replace(body + b"\n" if body and data.endswith(b"\n") else body)
        return removed

    def _rewrite_csv(self, data: bytes, candidates: set[int]) -> int:
        text, encoding, bom = _decode(data)
        header, rows, dialect = _csv_rows(text)
        kept = [row for row, span in rows if candidates.isdisjoint(span) or not self.matcher.row(row)]
        removed = len(rows) - len(kept)
        if removed:
            out = io.StringIO(newline="")
            writer = csv.writer(out, dialect=dialect)
            if header:
                writer.writerow(header)
            writer.writerows(kept)
            body = out.getvalue().encode(encoding.codec, "surrogateescape")
            self._replace((b"\xef\xbb\xbf" if bom else b"") + body)
        return removed

    def _rewrite_json(self, data: bytes) -> int:
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError:
            return 0
        if not self.matcher.anything(document):
            return 0
        if self.path.startswith(REQUESTS_PREFIX):
            self.files.delete_file(self.path)
            return 1
        redacted, count = _redact(document, self.matcher)
        self._replace(orjson.dumps(redacted, option=orjson.OPT_INDENT_2) + b"\n")
        return count

    def _replace(self, body: bytes) -> None:
        if body.strip():
            self.files.write_bytes(self.path, body)
        else:  # nothing left: an empty JSON-lines or CSV file is noise, not data
            self.files.delete_file(self.path)


def _deep_plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_deep_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _deep_plain(item) for key, item in value.items()}
    return _plain(value)


def _lines(data: bytes) -> list[bytes]:
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def _json_or_text(line: bytes) -> Any:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return line.decode("utf-8", "replace")


def _decode(data: bytes) -> tuple[str, TextEncoding, bool]:
    bom = data.startswith(b"\xef\xbb\xbf")
    body = data[3:] if bom else data
    encoding = detect_encoding(body)
    return body.decode(encoding.codec, "surrogateescape"), encoding, bom


def _csv_rows(text: str) -> tuple[list[str], list[tuple[list[str], range]], type[csv.Dialect]]:
    """The header, then each record with the (0-based) lines it spans: a quoted field may hold line
    breaks, and the line prefilter speaks in lines."""
    delimiter = sniff_delimiter(text[: 64 << 10].encode("utf-8", "replace"))

    class Dialect(csv.excel):
        pass

    Dialect.delimiter = delimiter
    Dialect.lineterminator = "\r\n" if "\r\n" in text[:4096] else "\n"
    reader = csv.reader(io.StringIO(text, newline=""), dialect=Dialect)
    rows: list[tuple[list[str], range]] = []
    start = 0
    for row in reader:
        rows.append((row, range(start, reader.line_num)))
        start = reader.line_num
    header = rows[0][0] if rows else []
    return header, rows[1:], Dialect


def _redact(node: Any, matcher: Matcher) -> tuple[Any, int]:
    if isinstance(node, str):
        return (ERASED, 1) if matcher.value(node) else (node, 0)
    if isinstance(node, dict):
        total = 0
        out: dict[str, Any] = {}
        for key, value in node.items():
            new_key = key
            if isinstance(key, str) and matcher.value(key):
                new_key, total = f"{ERASED}-{total}", total + 1
            redacted, count = _redact(value, matcher)
            out[new_key] = redacted
            total += count
        return out, total
    if isinstance(node, list):
        items = [_redact(item, matcher) for item in node]
        return [item for item, _ in items], sum(count for _, count in items)
    if isinstance(node, int) and not isinstance(node, bool) and matcher.value(str(node)):
        return ERASED, 1
    return node, 0


def _hashed_suppression_line(entry: Any) -> bytes | None:
    """A suppression-list line naming the erased person, as the unsalted hash the list also accepts
    (``email_sha256``/``phone_sha256``): the person stays suppressed without the list holding who."""
    if not isinstance(entry, dict):
        return None
    hashed: dict[str, Any] = {
        key: value for key, value in entry.items() if key in ("reason", "added_at", "source")
    }
    if isinstance(entry.get("email"), str):
        # the address and its mailbox match key, as a plain line suppresses both (s.o.m@gmail.com
        # suppresses som@gmail.com): one hashed line each, so the list suppresses no less than before
        result = standardize_email(entry["email"])
        forms = {result.normalized or entry["email"].strip().lower(), result.match_key}
        return b"\n".join(
            orjson.dumps({**hashed, "email_sha256": email_hash(form)})
            for form in sorted(f for f in forms if f)
        )
    if isinstance(entry.get("phone"), str):
        e164 = standardize_phone(entry["phone"]).e164 or entry["phone"].strip()
        return orjson.dumps({**hashed, "phone_sha256": phone_hash(e164, PhoneHashFormat.E164)})
    return None
