"""China time, the one definition: naive times are read as China time and every time shown to
people is China time, whatever the machine's zone (servers often run in UTC). One fixed
offset: China has no daylight saving time, so no tz database is needed."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

CHINA_TZ = timezone(timedelta(hours=8), "CST")


def china_time(ms: int | float) -> datetime:
    """Epoch milliseconds as an aware datetime in China time."""
    return datetime.fromtimestamp(ms / 1000, CHINA_TZ)


def in_china(value: datetime) -> datetime:
    """A datetime in China time; a naive one is taken as China time already."""
    return (value if value.tzinfo else value.replace(tzinfo=CHINA_TZ)).astimezone(CHINA_TZ)


def china_now() -> datetime:
    return datetime.now(CHINA_TZ)


def china_today() -> date:
    """Today's date in China (deadlines and report periods are China dates)."""
    return china_now().date()


def fmt_date(ms: int | float | None) -> str:
    """A date for people ("" for none): ``2026-10-16``."""
    return china_time(ms).strftime("%Y-%m-%d") if ms else ""


def fmt_time(ms: int | float | None) -> str:
    """A time for people ("" for none): ``2026-10-16 09:30``."""
    return china_time(ms).strftime("%Y-%m-%d %H:%M") if ms else ""


def file_stamp(ms: int | float) -> str:
    """A time for file names: ``20261016-093000``."""
    return china_time(ms).strftime("%Y%m%d-%H%M%S")
