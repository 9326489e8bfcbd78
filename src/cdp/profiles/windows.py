"""The run's reference time (``as_of``) and windows of whole business days, as SQL both engines read alike.

A window of ``n`` days is the business day of ``as_of`` and the ``n - 1`` before it, in the business time
zone (SPEC 3.3: default Asia/Bangkok), up to ``as_of`` itself. Its start is computed here, in Python with
the zone's rules, and reaches the SQL as a UTC literal, so no engine converts time zones row by row and an
order at 23:30 Bangkok time on the day before the window stays out even though it is the same UTC date
as the window's first hour.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cdp.settings import DEFAULT_TIME_ZONE

#: day boundaries of windows, recency and the ``events.dt`` partitions
BUSINESS_TIME_ZONE = DEFAULT_TIME_ZONE


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC, to the microsecond (what the tables store); naive times are refused."""
    if moment.tzinfo is None:
        raise ValueError("as_of must be timezone-aware (UTC)")
    return moment.astimezone(UTC)


def business_date(moment: datetime, zone: str = BUSINESS_TIME_ZONE) -> date:
    return as_utc(moment).astimezone(ZoneInfo(zone)).date()


def window_start(as_of: datetime, days: int, zone: str = BUSINESS_TIME_ZONE) -> datetime:
    """The UTC instant at which a window of ``days`` business days ending on ``as_of``'s day begins."""
    first_day = business_date(as_of, zone) - timedelta(days=days - 1)
    return datetime.combine(first_day, time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def timestamp_sql(moment: datetime) -> str:
    """A ``TIMESTAMPTZ`` literal in the authoring dialect (both engines run with the session in UTC)."""
    return f"CAST('{as_utc(moment):%Y-%m-%d %H:%M:%S.%f}' AS TIMESTAMPTZ)"


def date_sql(day: date) -> str:
    return f"DATE '{day.isoformat()}'"


def within_sql(column: str, as_of: datetime, days: int | None, zone: str = BUSINESS_TIME_ZONE) -> str:
    """``column`` (a UTC time) falls in the window; ``days`` None is the whole history (no condition)."""
    if days is None:
        return "true"
    start, end = timestamp_sql(window_start(as_of, days, zone)), timestamp_sql(as_of)
    return f"({column} >= {start} AND {column} <= {end})"


def iso_text_sql(expression: str) -> str:
    """ISO-8601 UTC text of a time (``2026-03-31T05:00:00.000000Z``), identical on both engines (each
    ``strftime`` piece becomes Spark's ``date_format``; a one-piece pattern would not transpile the
    literal ``T`` and ``Z``)."""
    return f"strftime({expression}, '%Y-%m-%d') || 'T' || strftime({expression}, '%H:%M:%S.%f') || 'Z'"


def business_date_sql(expression: str, zone: str = BUSINESS_TIME_ZONE) -> str:
    """The business date of a UTC time (Spark: ``from_utc_timestamp``), for whole-day differences."""
    return f"CAST({expression} AT TIME ZONE '{zone}' AS DATE)"
