"""Cell casts from source text to the mapping's types.

Casting is deliberately strict about meaning and lenient about spelling: ``1,250``, ``1250.0`` and Thai
digits are the same integer, but ``31/02/2530`` is not a date and ``12,5`` is not a decimal. A value that
cannot be read exactly is a row error (the row goes to quarantine with the reason), never a silent null.

Dates and timestamps: the mapping's ``formats`` first (strict ``strptime``), then ISO 8601, then the
platform's automatic reading (:mod:`cdp.standardize.dates`: Thai month names, ``พ.ศ.``, Unix epochs), so an
import accepts exactly what the standardize step would read and no more.

Buddhist-era years (SPEC 6): a four-digit year of 2400 or more is BE and becomes CE by subtracting 543.
The year is converted *before* the date is parsed, since 29/02/2543 is a real day (29 Feb 2000) although
2543 is not a leap year in the Gregorian rules.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Final
from zoneinfo import ZoneInfo

from cdp.imports.fields import FieldType
from cdp.imports.mapping import ColumnMapping
from cdp.standardize.dates import parse_date, parse_timestamp

#: a cast takes trimmed, non-empty text and returns the typed value or raises :class:`CastError`
Cast = Callable[[str], object]

BE_OFFSET: Final = 543
FIRST_BE_YEAR: Final = 2400

_THAI_DIGITS: Final = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_GROUPED: Final = r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)"
_INTEGER: Final = re.compile(rf"^[+-]?{_GROUPED}(?:\.0*)?$")
_DECIMAL: Final = re.compile(rf"^[+-]?(?:{_GROUPED}(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")
_YEAR: Final = re.compile(r"(?<![0-9])([0-9]{4})(?![0-9])")
_INT64: Final = 2**63


class CastError(ValueError):
    """One value that does not read as its column's type; ``str()`` is the reason without the column."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def cast_for(column: ColumnMapping, zone: ZoneInfo) -> Cast:
    """The cast of one mapped column; built once per column, called once per cell.

    Date and timestamp casts are memoized: strptime dominates the cost of an import, and a file holds
    far fewer distinct dates than rows (failures are not cached, they raise).
    """
    cast = _type_cast(column, zone)
    if column.source_type in (FieldType.date, FieldType.timestamp):
        cast = functools.lru_cache(maxsize=1 << 16)(cast)
    if column.minimum is None and column.maximum is None:
        return cast
    return lambda text: _in_range(cast(text), column.minimum, column.maximum)


def _in_range(value: object, minimum: Decimal | None, maximum: Decimal | None) -> object:
    assert isinstance(value, int | Decimal)
    if minimum is not None and value < minimum:
        raise CastError("out_of_range", f"is below the minimum {minimum}")
    if maximum is not None and value > maximum:
        raise CastError("out_of_range", f"is above the maximum {maximum}")
    return value


def _type_cast(column: ColumnMapping, zone: ZoneInfo) -> Cast:
    source, stored = column.source_type, column.stored_type
    if source is FieldType.string:
        return cast_string
    if source is FieldType.integer:
        return cast_integer
    if source is FieldType.decimal:
        return cast_decimal
    if source is FieldType.boolean:
        truthy = frozenset(value.strip().casefold() for value in column.truthy)
        falsy = frozenset(value.strip().casefold() for value in column.falsy)
        return lambda text: cast_boolean(text, truthy, falsy)
    formats = column.formats
    if source is FieldType.date and stored is FieldType.timestamp:
        return lambda text: midnight_utc(cast_date(text, formats), zone)
    if source is FieldType.date:
        return lambda text: cast_date(text, formats)
    return lambda text: cast_timestamp(text, formats, zone)


def cast_string(text: str) -> str:
    return text


def cast_integer(text: str) -> int:
    digits = text.translate(_THAI_DIGITS)
    if not _INTEGER.match(digits):
        raise CastError("invalid_integer", "is not an integer")
    value = int(digits.split(".", 1)[0].replace(",", ""))
    if not -_INT64 <= value < _INT64:
        raise CastError("invalid_integer", "is out of the 64-bit integer range")
    return value


def cast_decimal(text: str) -> Decimal:
    """The exact decimal the text spells; ``import_rows`` stores fields as doubles, attributes exactly."""
    digits = text.translate(_THAI_DIGITS)
    if not _DECIMAL.match(digits):
        raise CastError("invalid_decimal", "is not a decimal number")
    try:
        return Decimal(digits.replace(",", ""))
    except InvalidOperation:
        raise CastError("invalid_decimal", "is not a decimal number") from None


def cast_boolean(text: str, truthy: frozenset[str], falsy: frozenset[str]) -> bool:
    folded = text.casefold()
    if folded in truthy:
        return True
    if folded in falsy:
        return False
    raise CastError("invalid_boolean", f"is not a boolean (true: {sorted(truthy)}, false: {sorted(falsy)})")


def common_era(text: str) -> str:
    """Four-digit Buddhist-era years (≥ 2400) rewritten as CE; ``HHMM`` times never reach 2400."""

    def convert(match: re.Match[str]) -> str:
        year = int(match.group(1))
        return str(year - BE_OFFSET) if year >= FIRST_BE_YEAR else match.group(1)

    return _YEAR.sub(convert, text.translate(_THAI_DIGITS))


def cast_date(text: str, formats: tuple[str, ...]) -> str:
    """ISO ``YYYY-MM-DD`` from the mapping's formats (first match wins), ISO 8601 or the automatic reading."""
    parsed = _parse_date(text, formats)
    if parsed is None:
        if formats:
            raise CastError("invalid_date", f"is not a date in formats {list(formats)}")
        raise CastError("invalid_date", "is not a date (give 'formats' in the mapping)")
    return parsed.isoformat()


def _parse_date(text: str, formats: tuple[str, ...]) -> date | None:
    ce = common_era(text)
    for pattern in formats:
        parsed = _strptime(ce, pattern)
        if parsed is not None:
            return parsed.date()
    try:
        return date.fromisoformat(ce)
    except ValueError:
        return parse_date(text)


def _strptime(text: str, pattern: str) -> datetime | None:
    """``strptime`` that says ``None`` instead of raising, with BE years the separators hid converted.

    :func:`common_era` cannot see the year in ``25300315`` (``%Y%m%d``), so a parsed year of 2400 or more
    is converted here; 29 February of such a year is lost (2543 is no Gregorian leap year).
    """
    try:
        parsed = datetime.strptime(text, pattern)  # naive by design: the caller applies the zone
    except ValueError:
        return None
    if parsed.year < FIRST_BE_YEAR:
        return parsed
    try:
        return parsed.replace(year=parsed.year - BE_OFFSET)
    except ValueError:
        return None


def cast_timestamp(text: str, formats: tuple[str, ...], zone: ZoneInfo) -> str:
    """Fixed-width ISO-8601 UTC (``2026-11-28T08:03:13.123456Z``, so text order is time order);
    naive values are in the mapping's time zone."""
    ce = common_era(text)
    moment: datetime | None = None
    for pattern in formats:
        moment = _strptime(ce, pattern)
        if moment is not None:
            break
    if moment is None:
        try:
            moment = datetime.fromisoformat(ce)
        except ValueError:
            moment = parse_timestamp(text, tz=zone.key)
    if moment is None:
        where = f" in formats {list(formats)}" if formats else ""
        raise CastError("invalid_timestamp", f"is not a timestamp{where}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    try:
        return utc_text(moment)
    except (OverflowError, ValueError):
        raise CastError("invalid_timestamp", "is out of the supported time range") from None


def midnight_utc(iso_date: str, zone: ZoneInfo) -> str:
    """A date read into a timestamp field: the start of that day in the mapping's time zone."""
    try:
        return utc_text(datetime.combine(date.fromisoformat(iso_date), time(0), tzinfo=zone))
    except (OverflowError, ValueError):
        raise CastError("invalid_date", "is out of the supported time range") from None


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
