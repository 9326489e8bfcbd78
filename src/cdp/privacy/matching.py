"""Does this value, line, row or Parquet row belong to the person? One matcher for every zone and format.

The lake holds a person in many shapes: ``Somchai@Example.com`` as typed in a CRM export, ``081-234-5678``
in a shop order, ``+66812345678`` in ``profiles``, a device id inside an event's JSON, a JSON payload inside a
quarantined line inside a JSON line. The matcher knows the person's identifiers (:class:`Subject`) and
recognizes them in every shape:

- **exact**: ids and keys compared whole (profile, record, message, order, user and anonymous ids, national
  ids, the sources' record keys, normalized e-mails, E.164 phones, and the salted hashes of
  ``profiles_pseudonymized``); a value is never matched by a *part* of it, so user ``u12`` never takes
  ``u123`` along;
- **e-mail**: any value with an ``@``, compared lower-cased, then by its mailbox match key;
- **phone and national id**: a value made of digits and separators, compared by its digits
  (``081-234-5678`` → ``0812345678``, ``+66 81 234 5678`` → ``66812345678``);
- **JSON inside text**: a string that is a JSON object or array is parsed and walked;
- **inside text**: every string is searched for the strong identifiers (e-mails, phones in any
  punctuation, ids of six characters or more) with token boundaries, case-insensitively.

Short source keys (``C1``) are only compared whole, so they never match inside free text. Values the
matcher recognized in a non-canonical shape are remembered (:attr:`Matcher.observed`): the byte-level proof
scan looks for those exact bytes too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from cdp.privacy.models import Subject
from cdp.profiles.salt import pseudonym
from cdp.standardize.email import standardize_email

#: shortest identifier searched inside longer text (shorter ones only match whole values)
MIN_SUBSTRING_TOKEN = 6
_PHONE_LIKE = re.compile(r"^[+(\d][\d\s().-]{6,24}$")
_NOT_DIGIT = re.compile(r"\D")
#: characters that may continue an identifier: a token only counts when none of these touch it
_WORD = "A-Za-z0-9_.@+\\-"


def phone_digit_forms(e164: str) -> set[str]:
    """The digit strings a phone is written as: ``+66812345678`` → ``66812345678``, ``0812345678``."""
    digits = e164.lstrip("+")
    forms = {digits}
    if digits.startswith("66") and len(digits) >= 10:
        forms.add("0" + digits[2:])
    return forms


class Matcher:
    def __init__(self, subject: Subject, *, salt: bytes | None = None) -> None:
        exact: set[str] = set()
        for values in (
            subject.profile_ids,
            subject.record_ids,
            subject.message_ids,
            subject.order_ids,
            subject.user_ids,
            subject.anonymous_ids,
            subject.national_ids,
            subject.source_keys,
            subject.emails,
            subject.phones,
        ):
            exact.update(value for value in values if value)
        self.lower_emails = {email.lower() for email in subject.emails}
        self.digits: set[str] = set()
        for phone in subject.phones:
            self.digits.update(phone_digit_forms(phone))
        for national_id in subject.national_ids:
            plain = _NOT_DIGIT.sub("", national_id)
            if len(plain) >= 8 and ":" not in national_id:
                self.digits.add(plain)
        if salt is not None:  # profiles_pseudonymized holds these instead of the values
            exact.update(pseudonym(email, salt) for email in subject.emails)
            exact.update(pseudonym(phone, salt) for phone in subject.phones)
        self.exact = exact
        strong = sorted(
            {token for token in exact | self.lower_emails if len(token) >= MIN_SUBSTRING_TOKEN}
            | {form for form in self.digits if len(form) >= MIN_SUBSTRING_TOKEN},
            key=len,
            reverse=True,
        )
        self.strong_tokens: tuple[str, ...] = tuple(strong)
        # a phone inside text may be punctuated any way: 081 947 3526, (081) 947-3526
        spaced = [r"[\s().-]{0,2}".join(form) for form in sorted(self.digits) if len(form) >= 9]
        alternation = "|".join([*(re.escape(token) for token in strong), *spaced])
        self._pattern = f"(?:^|[^{_WORD}])(?:{alternation})(?:$|[^{_WORD}])" if strong else None
        self._regex = re.compile(self._pattern, re.IGNORECASE) if self._pattern else None
        # the line prefilter (RE2 over lower-cased bytes): a superset of what the matcher accepts, so text
        # files and lines without a candidate are never decoded
        lines = [re.escape(token.lower()) for token in sorted(exact | self.lower_emails) if token]
        lines += spaced + [_email_variants(email) for email in sorted(self.lower_emails) if "@" in email]
        self._line_pattern = (
            f"(?:^|[^a-z0-9_.@+-])(?:{'|'.join(lines)})(?:$|[^a-z0-9_.@-])" if lines else None
        )
        self._exact_array = pa.array(sorted(exact), pa.string())
        self._lower_array = pa.array(sorted(self.lower_emails), pa.string())
        self._digits_array = pa.array(sorted(self.digits), pa.string())
        self.observed: set[str] = set()
        self._byte_pattern_for = -1  # len(observed) the cached byte pattern was built for
        self._byte_pattern_cache: str | None = None

    @property
    def empty(self) -> bool:
        return not self.exact and not self.digits

    # --- Python values (JSON lines, CSV cells, decoded JSON) ---

    def value(self, text: str) -> bool:
        if text in self.exact:
            return True
        stripped = text.strip()
        if "@" in stripped and len(stripped) <= 320:
            lowered = stripped.lower()
            if lowered in self.lower_emails:
                self.observed.add(stripped)
                return True
            key = standardize_email(stripped).match_key
            if key and key in self.lower_emails:
                self.observed.add(stripped)
                return True
        if self.digits and _PHONE_LIKE.match(stripped) and _NOT_DIGIT.sub("", stripped) in self.digits:
            self.observed.add(stripped)
            return True
        if len(stripped) > 1 and stripped[0] in "{[" and stripped[-1] in "]}":
            try:
                return self.anything(orjson.loads(stripped))
            except orjson.JSONDecodeError:
                pass
        return bool(self._regex is not None and self._regex.search(text))

    def anything(self, node: Any) -> bool:
        """Whether any leaf of a decoded JSON value (dicts' values and keys, lists) belongs to the person."""
        if isinstance(node, str):
            return self.value(node)
        if isinstance(node, dict):
            return any(self.value(key) for key in node if isinstance(key, str)) or any(
                self.anything(child) for child in node.values()
            )
        if isinstance(node, list):
            return any(self.anything(child) for child in node)
        if isinstance(node, int) and not isinstance(node, bool):  # a phone or id stored as a JSON number
            return self.value(str(node))
        return False

    def row(self, values: Iterable[str]) -> bool:
        return any(self.value(value) for value in values if value)

    # --- Arrow (Parquet snapshots, import rows) ---

    def table_mask(self, table: pa.Table) -> pa.ChunkedArray | pa.Array:
        """True for the rows of ``table`` that belong to the person (null counts as no)."""
        mask = pa.array([False] * table.num_rows, pa.bool_())
        for column in table.columns:
            hits = self._column_mask(column)
            if hits is not None:
                mask = pc.or_(mask, pc.fill_null(hits, False))
        return mask

    def _column_mask(self, column: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array | None:
        kind = column.type
        if pa.types.is_dictionary(kind):
            column = column.cast(kind.value_type)
            kind = kind.value_type
        if pa.types.is_list(kind) or pa.types.is_large_list(kind):
            if not (pa.types.is_string(kind.value_type) or pa.types.is_large_string(kind.value_type)):
                return None
            combined = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
            flat = pc.list_flatten(combined)
            if len(flat) == 0:
                return None
            flat_hits = self._strings_mask(flat)
            parents = pc.list_parent_indices(combined)
            hit_rows = pc.filter(parents, pc.fill_null(flat_hits, False))
            return pc.is_in(pa.array(range(len(combined)), pa.int64()), value_set=hit_rows.cast(pa.int64()))
        if pa.types.is_string(kind) or pa.types.is_large_string(kind):
            return self._strings_mask(column)
        return None

    def _strings_mask(self, values: pa.ChunkedArray | pa.Array) -> pa.Array:
        """One vectorized RE2 pass finds the candidate values (a superset: the line prefilter's pattern,
        case-insensitive); only those few are decided by :meth:`value`, the same rules as for text."""
        combined = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        size = len(combined)
        if self._line_pattern is None or size == 0:
            return pa.array([False] * size, pa.bool_())
        candidates = pc.indices_nonzero(
            pc.fill_null(pc.match_substring_regex(combined, self._line_pattern, ignore_case=True), False)
        )
        mask = [False] * size  # (no numpy: the privacy Lambda's asset has only pyarrow)
        if len(candidates):
            for index, text in zip(
                candidates.to_pylist(), pc.take(combined, candidates).to_pylist(), strict=True
            ):
                if text is not None and self.value(text):
                    mask[index] = True
        return pa.array(mask, pa.bool_())

    # --- raw text (the prefilter of JSON lines, CSV and JSON files) ---

    def candidate_lines(self, data: bytes) -> set[int]:
        """Indexes of the lines of ``data`` (split on ``\\n``) that may hold the person; a line not in the
        set certainly does not. One vectorized RE2 pass, whatever the encoding (TIS-620 stays bytes)."""
        if self._line_pattern is None or not data:
            return set()
        lines = pa.array(data.lower().split(b"\n"), pa.binary())
        mask = pc.match_substring_regex(lines, self._line_pattern)
        return set(pc.indices_nonzero(mask).to_pylist())

    # --- raw bytes (the proof) ---

    def byte_hits(self, data: bytes) -> bool:
        """Whether ``data`` holds any :meth:`byte_tokens` as a whole token (case-insensitive, RE2)."""
        pattern = self._byte_pattern()
        if pattern is None or not data:
            return False
        lines = pa.array(data.lower().split(b"\n"), pa.binary())
        return bool(pc.any(pc.match_substring_regex(lines, pattern)).as_py())

    def _byte_pattern(self) -> str | None:
        """The RE2 of :meth:`byte_tokens`, rebuilt only when matching has seen a new shape."""
        if self._byte_pattern_for != len(self.observed):
            tokens = self.byte_tokens()
            alternation = "|".join(re.escape(token.decode("utf-8")) for token in tokens)
            self._byte_pattern_cache = (
                f"(?:^|[^a-z0-9_.@+-])(?:{alternation})(?:$|[^a-z0-9_.@-])" if tokens else None
            )
            self._byte_pattern_for = len(self.observed)
        return self._byte_pattern_cache

    def byte_tokens(self) -> tuple[bytes, ...]:
        """Lower-cased byte strings no file may contain once the person is erased: the strong tokens
        and every non-canonical shape seen while matching."""
        tokens = set(self.strong_tokens) | {
            value for value in self.observed if len(value) >= MIN_SUBSTRING_TOKEN
        }
        return tuple(sorted({token.lower().encode("utf-8") for token in tokens}, key=len, reverse=True))


def _email_variants(email: str) -> str:
    """RE2 for the spellings one mailbox match key covers: dots anywhere in the local part and a ``+tag``
    (``s.om.chai+news@gmail.com`` for ``somchai@gmail.com``); a superset, only used to skip text."""
    local, _, domain = email.partition("@")
    body = r"\.?".join(re.escape(character) for character in local.replace(".", ""))
    return rf"{body}(?:\+[^@\s\"',;]*)?@{re.escape(domain)}"
