"""Dates and timestamps in the forms Thai sources write them, Buddhist era included (SPEC 5, SPEC 6).

Rules, chosen once so that every source reads the same:

* **Buddhist era.** A four-digit year of 2400 or more is a Buddhist-era year and becomes CE by
  subtracting 543 (2530 → 1987). No CE date in our data is that late, and no BE date is that early (BE
  2400 is CE 1857), so the two ranges cannot be confused. ``พ.ศ.`` before a year forces BE, ``ค.ศ.`` CE.
  The conversion happens on the text, before the calendar checks the day, because BE and CE years differ
  in leap-ness (543 is not a multiple of 4): 29 ก.พ. 2531 is 29 February 1988.
* **Two-digit years.** With a Thai month name or ``พ.ศ.``, Thai writers abbreviate the BE year, so
  ``12 ม.ค. 30`` is BE 2530 = CE 1987 (window CE 1957–2056). Otherwise the year is CE, with a fixed
  window: ``00``–``29`` → 2000–2029, ``30``–``99`` → 1930–1999. The window is fixed, not relative to
  today, so a re-run gives the same answer; explicit ``%y`` formats follow the same window.
* **Order.** Day first (Thai and British usage): ``03/04/2020`` is 3 April. Year first when the first
  number has four digits (ISO, ``2020/04/03``). Month first only when nothing else can be meant
  (``12/25/1987``). Eight digits are ``YYYYMMDD`` (``DDMMYYYY`` when the first four cannot be a year).
* **Explicit formats** (``strptime`` patterns from a source mapping) are tried first, after the BE
  conversion; the automatic reading is the fallback. An impossible date (31 April, 29 February 1987) is
  ``None``, never a nearby date.
* **Timestamps** without an offset are wall-clock time in the business time zone (``Asia/Bangkok``); the
  result is always UTC-aware. Ten- and thirteen-digit integers are Unix seconds and milliseconds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from cdp.standardize.text import ascii_digits, clean_text

BUDDHIST_ERA_OFFSET: Final = 543
FIRST_BUDDHIST_ERA_YEAR: Final = 2400
TWO_DIGIT_PIVOT: Final = 30  # 00–29 → 20xx, 30–99 → 19xx (CE two-digit years)
DEFAULT_TIME_ZONE: Final = "Asia/Bangkok"

_MAX_LENGTH: Final = 100
_DATE_NUMBERS: Final = 3
_YEAR_DIGITS: Final = 4
_COMPACT_DIGITS: Final = 8
_EARLIEST_COMPACT_YEAR: Final = 1800
_MONTHS_IN_YEAR: Final = 12
_HALF_DAY: Final = 12
_EPOCH_SECONDS_DIGITS: Final = 10
_EPOCH_MILLIS_DIGITS: Final = 13

_THAI_MONTHS: Final[dict[str, int]] = {
    name: number
    for number, names in enumerate(
        (
            ("มกราคม", "มกรา", "มค"),
            ("กุมภาพันธ์", "กุมภา", "กพ"),
            ("มีนาคม", "มีนา", "มีค"),
            ("เมษายน", "เมษา", "เมย"),
            ("พฤษภาคม", "พฤษภา", "พค"),
            ("มิถุนายน", "มิถุนา", "มิย"),
            ("กรกฎาคม", "กรกฏาคม", "กรกฎา", "กรกฏา", "กค"),
            ("สิงหาคม", "สิงหา", "สค"),
            ("กันยายน", "กันยา", "กย"),
            ("ตุลาคม", "ตุลา", "ตค"),
            ("พฤศจิกายน", "พฤศจิกา", "พย"),
            ("ธันวาคม", "ธันวา", "ธค"),
        ),
        start=1,
    )
    for name in names
}
_ENGLISH_MONTHS: Final[dict[str, int]] = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_BE_MARKERS: Final = frozenset({"พศ"})
_CE_MARKERS: Final = frozenset({"คศ", "ad", "ce"})
_IGNORED_WORDS: Final = frozenset(
    {
        "st",
        "nd",
        "rd",
        "th",
        "of",
        "the",
        "ที่",
        "วัน",
        "เดือน",
        "ปี",
        "mon",
        "monday",
        "tue",
        "tues",
        "tuesday",
        "wed",
        "wednesday",
        "thu",
        "thur",
        "thurs",
        "thursday",
        "fri",
        "friday",
        "sat",
        "saturday",
        "sun",
        "sunday",
        "จันทร์",
        "อังคาร",
        "พุธ",
        "พฤหัส",
        "พฤหัสบดี",
        "ศุกร์",
        "เสาร์",
        "อาทิตย์",
    }
)

# A BE year in text: four digits on their own, not the fraction of a second ("10:00:00.2500").
_FOUR_DIGIT_YEAR: Final = re.compile(r"(?<!\d)(?<!:\d\d[.,])(\d{4})(?!\d)")
_TIME_OF_DAY: Final = re.compile(
    r"[\st,]+(?P<hour>\d{1,2})[:.](?P<minute>\d{2})"
    r"(?:[:.](?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?"
    r"\s*(?P<meridiem>[ap]\.?m\.?)?"
    r"\s*(?:นาฬิกา|น\.?)?"
    r"\s*(?P<zone>z|utc|gmt|(?:utc|gmt)?\s*[+-]\d{1,2}(?::?\d{2})?)?$"
)


def parse_date(value: str | None, formats: Sequence[str] | None = None) -> date | None:
    """The calendar date ``value`` writes, or ``None`` when it writes none (or an impossible one)."""
    return _parse_date(value, tuple(formats or ()))


def parse_timestamp(
    value: str | None, formats: Sequence[str] | None = None, tz: str = DEFAULT_TIME_ZONE
) -> datetime | None:
    """The instant ``value`` writes, UTC-aware; naive wall-clock times are read in ``tz``.

    An unknown ``tz`` raises :class:`zoneinfo.ZoneInfoNotFoundError`: it comes from configuration, and
    configuration fails fast.
    """
    return _parse_timestamp(value, tuple(formats or ()), _zone(tz))


@lru_cache(maxsize=1 << 17)
def _parse_date(value: str | None, formats: tuple[str, ...]) -> date | None:
    text = _prepare(value)
    if text is None:
        return None
    for pattern in formats:
        parsed = _strptime(text, pattern)
        if parsed is not None:
            return parsed.date()
    iso = _iso(text)
    if iso is not None:
        return iso.date()
    date_text, _ = _split_time(text)
    return _parse_date_words(date_text)


@lru_cache(maxsize=1 << 17)
def _parse_timestamp(value: str | None, formats: tuple[str, ...], zone: tzinfo) -> datetime | None:
    text = _prepare(value)
    if text is None:
        return None
    for pattern in formats:
        parsed = _strptime(text, pattern)
        if parsed is not None:
            return _to_utc(parsed, zone)
    if text.isdigit() and len(text) in (_EPOCH_SECONDS_DIGITS, _EPOCH_MILLIS_DIGITS):
        seconds = int(text) / (1000 if len(text) == _EPOCH_MILLIS_DIGITS else 1)
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    iso = _iso(text)
    if iso is not None:
        return _to_utc(iso, zone)
    date_text, time_match = _split_time(text)
    day = _parse_date_words(date_text)
    if day is None:
        return None
    if time_match is None:
        return _to_utc(datetime(day.year, day.month, day.day), zone)
    return _with_time(day, time_match, zone)


@lru_cache(maxsize=16)
def _zone(name: str) -> tzinfo:
    return ZoneInfo(name)


def _prepare(value: str | None) -> str | None:
    text = clean_text(value)
    if text is None or len(text) > _MAX_LENGTH:
        return None
    return ascii_digits(text).casefold()


def _strptime(text: str, pattern: str) -> datetime | None:
    try:
        parsed = datetime.strptime(_to_common_era_text(text), pattern)
    except ValueError:
        return None
    if "%y" in pattern:
        try:
            parsed = parsed.replace(year=_two_digit_year(parsed.year % 100, buddhist=False))
        except ValueError:
            return None
    return parsed


def _iso(text: str) -> datetime | None:
    """ISO 8601 as Python reads it; a year still >= 2400 (BE in ``YYYYMMDD``) is left to the word reader."""
    try:
        parsed = datetime.fromisoformat(_to_common_era_text(text))
    except ValueError:
        return None
    return None if parsed.year >= FIRST_BUDDHIST_ERA_YEAR else parsed


def _to_common_era_text(text: str) -> str:
    return _FOUR_DIGIT_YEAR.sub(_common_era_match, text)


def _common_era_match(match: re.Match[str]) -> str:
    year = int(match.group(1))
    return str(year - BUDDHIST_ERA_OFFSET) if year >= FIRST_BUDDHIST_ERA_YEAR else match.group(1)


def _split_time(text: str) -> tuple[str, re.Match[str] | None]:
    match = _TIME_OF_DAY.search(text)
    if match is None:
        return text, None
    return text[: match.start()], match


def _tokens(text: str) -> list[str]:
    """Digit runs and words; a dot belongs to the word before it (``ม.ค.``), else separates."""
    tokens: list[str] = []
    current = ""
    for char in text:
        is_digit = char.isdigit() and char.isascii()
        is_word = not is_digit and (char.isalpha() or _is_mark(char))
        if current and (
            (is_digit and current[-1].isdigit())
            or (is_word and not current[-1].isdigit())
            or (char == "." and not current[-1].isdigit())
        ):
            current += char
            continue
        if current:
            tokens.append(current)
        current = char if (is_digit or is_word) else ""
    if current:
        tokens.append(current)
    return tokens


def _is_mark(char: str) -> bool:
    return "\u0e31" <= char <= "\u0e4e"  # Thai vowel signs and tone marks (category Mn/Lm)


def _parse_date_words(text: str) -> date | None:
    numbers: list[str] = []
    month: int | None = None
    month_first = False
    buddhist = False
    common = False
    for token in _tokens(text):
        if token.isdigit():
            numbers.append(token)
            continue
        word = token.replace(".", "")
        if word in _THAI_MONTHS or word in _ENGLISH_MONTHS:
            if month is not None:
                return None
            month = _THAI_MONTHS.get(word) or _ENGLISH_MONTHS[word]
            month_first = not numbers
            buddhist = buddhist or word in _THAI_MONTHS
        elif word in _BE_MARKERS:
            buddhist = True
        elif word in _CE_MARKERS:
            common = True
        elif not _ignorable(word):
            return None
    if common:
        buddhist = False
    if month is not None:
        return _date_with_month_name(numbers, month, buddhist=buddhist, month_first=month_first)
    return _date_from_numbers(numbers, buddhist=buddhist)


def _ignorable(word: str) -> bool:
    if word in _IGNORED_WORDS:
        return True
    stem = word.removeprefix("วัน").removesuffix("ที่")
    return stem != word and (not stem or stem in _IGNORED_WORDS)


def _date_with_month_name(
    numbers: list[str], month: int, *, buddhist: bool, month_first: bool
) -> date | None:
    if len(numbers) != 2:
        return None
    day_text, year_text = numbers
    if len(day_text) > 2 and len(year_text) <= 2 and not month_first:  # 1987 Jan 12
        day_text, year_text = year_text, day_text
    if len(day_text) > 2:
        return None
    return _safe_date(_year(year_text, buddhist=buddhist), month, int(day_text))


def _date_from_numbers(numbers: list[str], *, buddhist: bool) -> date | None:
    if len(numbers) == 1 and len(numbers[0]) == _COMPACT_DIGITS:
        digits = numbers[0]
        if int(digits[:4]) >= _EARLIEST_COMPACT_YEAR:
            numbers = [digits[:4], digits[4:6], digits[6:]]
        else:
            numbers = [digits[:2], digits[2:4], digits[4:]]
    if len(numbers) != _DATE_NUMBERS or any(len(number) > _YEAR_DIGITS for number in numbers):
        return None
    first, second, third = numbers
    if len(first) == _YEAR_DIGITS:
        if len(second) > 2 or len(third) > 2:
            return None
        return _safe_date(_year(first, buddhist=buddhist), int(second), int(third))
    if len(first) > 2 or len(second) > 2:
        return None
    day, month = int(first), int(second)
    if month > _MONTHS_IN_YEAR and day <= _MONTHS_IN_YEAR:
        day, month = month, day
    return _safe_date(_year(third, buddhist=buddhist), month, day)


def _year(text: str, *, buddhist: bool) -> int | None:
    if len(text) == _YEAR_DIGITS:
        year = int(text)
        return year - BUDDHIST_ERA_OFFSET if buddhist or year >= FIRST_BUDDHIST_ERA_YEAR else year
    if len(text) == 2:
        return _two_digit_year(int(text), buddhist=buddhist)
    return None


def _two_digit_year(short: int, *, buddhist: bool) -> int:
    if buddhist:
        return 2500 + short - BUDDHIST_ERA_OFFSET
    return (2000 if short < TWO_DIGIT_PIVOT else 1900) + short


def _safe_date(year: int | None, month: int, day: int) -> date | None:
    if year is None:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _with_time(day: date, match: re.Match[str], zone: tzinfo) -> datetime | None:
    hour, minute = int(match["hour"]), int(match["minute"])
    second = int(match["second"] or 0)
    micro = int((match["fraction"] or "0")[:6].ljust(6, "0"))
    meridiem = match["meridiem"]
    if meridiem:
        if not 1 <= hour <= _HALF_DAY:
            return None
        hour = hour % _HALF_DAY + (_HALF_DAY if meridiem.startswith("p") else 0)
    offset = _offset(match["zone"])
    if match["zone"] and offset is None:
        return None
    try:
        local = datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=offset)
    except ValueError:
        return None
    return _to_utc(local, zone)


def _offset(zone_text: str | None) -> tzinfo | None:
    if not zone_text:
        return None
    text = zone_text.replace(" ", "").removeprefix("utc").removeprefix("gmt")
    if text in ("", "z"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    hours_text, _, minutes_text = text[1:].partition(":")
    if not minutes_text and len(hours_text) > 2:
        hours_text, minutes_text = hours_text[:-2], hours_text[-2:]
    hours, minutes = int(hours_text), int(minutes_text or 0)
    if hours > 14 or minutes > 59:
        return None
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _to_utc(moment: datetime, zone: tzinfo) -> datetime | None:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
