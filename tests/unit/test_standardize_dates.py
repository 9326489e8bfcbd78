from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfoNotFoundError

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cdp.standardize.dates import parse_date, parse_timestamp

from .standardize_strategies import messy_text

THAI_MONTHS = [
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
]
THAI_ABBREVIATIONS = [
    "ม.ค.",
    "ก.พ.",
    "มี.ค.",
    "เม.ย.",
    "พ.ค.",
    "มิ.ย.",
    "ก.ค.",
    "ส.ค.",
    "ก.ย.",
    "ต.ค.",
    "พ.ย.",
    "ธ.ค.",
]
THAI_DIGITS = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")
BIRTHDAY = date(1987, 1, 12)


@pytest.mark.parametrize(
    "raw",
    [
        "1987-01-12",
        "19870112",
        "1987-01-12T00:00:00",
        "1987-01-12 08:30:00",
        "12/01/1987",
        "12/1/1987",
        "12-01-1987",
        "12.01.1987",
        "12 01 1987",
        "1987/01/12",
        "1987.01.12",
        "12011987",
        "12 Jan 1987",
        "12-JAN-1987",
        "12 January 1987",
        "January 12, 1987",
        "Jan 12 1987",
        "Monday, 12th of January 1987",
        "1987 Jan 12",
        "12/01/87",
        "12-Jan-87",
        "12/01/1987 00:00",
        # Buddhist era
        "12/01/2530",
        "12-01-2530",
        "2530-01-12",
        "25300112",
        "12 ม.ค. 2530",
        "12 ม.ค.2530",
        "12 มค 2530",
        "12 มกราคม 2530",
        "12 มกรา 2530",
        "12 มกราคม พ.ศ. 2530",
        "วันจันทร์ที่ 12 มกราคม พ.ศ. 2530",
        "12 ม.ค. 30",
        "12 มกราคม 30",
        "๑๒/๐๑/๒๕๓๐",
        "๑๒ มกราคม ๒๕๓๐",
        " \u200b12 / 01 / 2530 ",
        "12/01/2530 14.30 น.",
    ],
)
def test_formats(raw: str) -> None:
    assert parse_date(raw) == BIRTHDAY


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("03/04/2020", date(2020, 4, 3)),  # day first
        ("12/25/1987", date(1987, 12, 25)),  # month first only when nothing else fits
        ("12/01/05", date(2005, 1, 12)),  # two-digit CE window: 00-29 → 20xx
        ("12/01/29", date(2029, 1, 12)),
        ("12/01/30", date(1930, 1, 12)),  # 30-99 → 19xx
        ("12 ม.ค. 05", date(1962, 1, 12)),  # Thai month: two-digit BE (2505)
        ("1 ก.ค. 67", date(2024, 7, 1)),
        ("29/02/2531", date(1988, 2, 29)),  # BE 2531 is CE 1988, a leap year
        ("29 ก.พ. 2531", date(1988, 2, 29)),
        ("12 มกราคม ค.ศ. 1987", date(1987, 1, 12)),
        ("1 กรกฏาคม 2530", date(1987, 7, 1)),  # the common misspelling
        ("2024-01-05T10:00:00+07:00", date(2024, 1, 5)),  # the date as written
        ("2400-01-01", date(1857, 1, 1)),  # the first BE year
        ("2399-12-31", date(2399, 12, 31)),
    ],
)
def test_rules(raw: str, expected: date) -> None:
    assert parse_date(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "-",
        "n/a",
        "garbage",
        "29/02/1987",
        "31/04/2020",
        "29/02/2530",  # CE 1987: no 29 February
        "00/01/1987",
        "13/13/1987",
        "32/01/1987",
        "12/01",
        "1987",
        "January 1987",
        "12 foo 1987",
        "12 ม.ค. ก.พ. 2530",
        "12/01/987",
        "120187",
        "1/1/5",
        "12" * 100,
    ],
)
def test_not_a_date(raw: str | None) -> None:
    assert parse_date(raw) is None


def test_explicit_formats_come_first() -> None:
    assert parse_date("01/12/1987", ["%m/%d/%Y"]) == date(1987, 1, 12)
    assert parse_date("01/12/1987") == date(1987, 12, 1)
    assert parse_date("12/01/2530", ["%d/%m/%Y"]) == BIRTHDAY
    assert parse_date("29-02-2531", ["%d-%m-%Y"]) == date(1988, 2, 29)
    assert parse_date("12/01/30", ["%d/%m/%y"]) == date(1930, 1, 12)  # our window, not strptime's
    assert parse_date("1987-01-12", ["%d/%m/%Y"]) == BIRTHDAY  # falls back to the automatic reading


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-01-05T10:00:00+07:00", datetime(2024, 1, 5, 3, tzinfo=UTC)),
        ("2024-01-05T03:00:00Z", datetime(2024, 1, 5, 3, tzinfo=UTC)),
        ("2024-01-05 10:00:00", datetime(2024, 1, 5, 3, tzinfo=UTC)),  # naive: Bangkok
        ("2024-01-05", datetime(2024, 1, 4, 17, tzinfo=UTC)),
        ("2567-01-05 10:00", datetime(2024, 1, 5, 3, tzinfo=UTC)),
        ("05/01/2567 10:00", datetime(2024, 1, 5, 3, tzinfo=UTC)),
        ("5 ม.ค. 2567 10:00 น.", datetime(2024, 1, 5, 3, tzinfo=UTC)),
        ("5 ม.ค. 2567 10.00 น.", datetime(2024, 1, 5, 3, tzinfo=UTC)),
        ("05/01/2024 10:00 AM", datetime(2024, 1, 5, 3, tzinfo=UTC)),
        ("05/01/2024 12:30 am", datetime(2024, 1, 4, 17, 30, tzinfo=UTC)),
        ("05/01/2024 1:00 PM", datetime(2024, 1, 5, 6, tzinfo=UTC)),
        ("05/01/2024 10:00:00 +0000", datetime(2024, 1, 5, 10, tzinfo=UTC)),
        ("05/01/2024 10:00 GMT+7", datetime(2024, 1, 5, 3, tzinfo=UTC)),
        ("2024-01-05 10:00:00.250", datetime(2024, 1, 5, 3, 0, 0, 250000, tzinfo=UTC)),
        ("1704423600", datetime(2024, 1, 5, 3, tzinfo=UTC)),
        ("1704423600000", datetime(2024, 1, 5, 3, tzinfo=UTC)),
    ],
)
def test_timestamps(raw: str, expected: datetime) -> None:
    parsed = parse_timestamp(raw)
    assert parsed == expected
    assert parsed is not None
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize("raw", [None, "", "garbage", "2024-01-05 25:00", "05/01/2024 13:00 PM", "10:00"])
def test_not_a_timestamp(raw: str | None) -> None:
    assert parse_timestamp(raw) is None


def test_timestamp_time_zone_and_formats() -> None:
    assert parse_timestamp("2024-01-05 10:00", tz="UTC") == datetime(2024, 1, 5, 10, tzinfo=UTC)
    assert parse_timestamp("05.01.2567 10:00", ["%d.%m.%Y %H:%M"]) == datetime(2024, 1, 5, 3, tzinfo=UTC)
    with pytest.raises(ZoneInfoNotFoundError):
        parse_timestamp("2024-01-05", tz="Mars/Olympus")


days = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))


@settings(max_examples=300, deadline=None)
@given(days, st.sampled_from(["/", "-", ".", " "]), st.booleans())
def test_buddhist_era_round_trip(day: date, separator: str, thai_digits: bool) -> None:
    be = day.year + 543
    written = [
        separator.join([f"{day.day:02d}", f"{day.month:02d}", str(be)]),
        separator.join([str(day.day), str(day.month), str(be)]),
        f"{day.day} {THAI_ABBREVIATIONS[day.month - 1]} {be}",
        f"{day.day} {THAI_MONTHS[day.month - 1]} พ.ศ. {be}",
        f"{be}-{day.month:02d}-{day.day:02d}",
        f"{be}{day.month:02d}{day.day:02d}",
    ]
    for text in written:
        assert parse_date(text.translate(THAI_DIGITS) if thai_digits else text) == day, text
    short = f"{day.day} {THAI_ABBREVIATIONS[day.month - 1]} {be % 100:02d}"
    assert parse_date(short) == _in_be_window(day)


def _in_be_window(day: date) -> date | None:
    """A two-digit BE year is read in BE 2500-2599 (CE 1957-2056), whatever century was meant."""
    try:
        return day.replace(year=2500 + (day.year + 543) % 100 - 543)
    except ValueError:  # 29 February of a year that is not leap in the window
        return None


@settings(max_examples=300, deadline=None)
@given(days)
def test_common_era_round_trip(day: date) -> None:
    assert parse_date(day.isoformat()) == day
    assert parse_date(day.strftime("%d/%m/%Y")) == day
    assert parse_date(day.strftime("%d %b %Y")) == day
    assert parse_date(day.strftime("%B %d, %Y")) == day


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2080, 1, 1)))
def test_timestamp_round_trip(moment: datetime) -> None:
    moment = moment.replace(microsecond=0)
    utc = moment.replace(tzinfo=UTC) - timedelta(hours=7)
    assert parse_timestamp(moment.isoformat(sep=" ")) == utc
    be = moment.replace(year=moment.year + 543) if not (moment.month == 2 and moment.day == 29) else None
    if be is not None:
        assert parse_timestamp(be.strftime("%d/%m/%Y %H:%M:%S")) == utc


@settings(max_examples=300, deadline=None)
@given(messy_text)
def test_never_raises(raw: str) -> None:
    day = parse_date(raw)
    assert day is None or isinstance(day, date)
    moment = parse_timestamp(raw)
    assert moment is None or moment.tzinfo is UTC
