"""Dates for reports: parsing record times, periods (month, quarter, year, range), working days.

Report dates are calendar dates in China time (UTC+8): an issue reported at 23:30 Beijing
time on 31 March belongs to March, whatever the server's timezone is.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sync.chinatime import CHINA_TZ, in_china
from sync.i18n import t
from sync.workdays import calendar


class ReportInputError(ValueError):
    """Bad report input (period, file name, option); the message is for people."""


def to_datetime(value: object) -> datetime | None:
    """A record time as an aware datetime in China time, or None.

    Accepts epoch milliseconds (int/float), ISO 8601 strings (with or without offset; naive
    times are taken as China time), dates and datetimes, and HLC stamps
    (``0001732435200000-0000-node``, whose first part is wall milliseconds).
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return in_china(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=CHINA_TZ)
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value / 1000, tz=UTC).astimezone(CHINA_TZ)
    if isinstance(value, str):
        return _parse_text_time(value)
    return None


@functools.lru_cache(maxsize=100_000)
def _parse_text_time(value: str) -> datetime | None:
    # cached: a report reads each event's time several times (as-of filter, timeline, figures)
    if len(value) == 25 and value.endswith("+08:00") and value[10] == "T":
        # the shape events are written in (China time to the second): no regex, no conversion
        try:
            return datetime.fromisoformat(value[:19]).replace(tzinfo=CHINA_TZ)
        except ValueError:
            return None
    s = value.strip()
    m = re.fullmatch(r"(\d{13,16})-\d+-.+", s)
    if m:
        return to_datetime(int(m.group(1)))
    if s.isdigit():
        return to_datetime(int(s))
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None
    return to_datetime(dt)


def to_date(value: object) -> date | None:
    """A record time or date as a China calendar date, or None."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    dt = to_datetime(value)
    return dt.date() if dt else None


# ---------------------------------------------------------------- working days
# The rule lives in sync.workdays (official holidays and 调休 included); these keep the
# reports' signatures, with extra local rest days and make-up working days on top.


def is_working_day(d: date, holidays: Iterable[date] = (), workdays: Iterable[date] = ()) -> bool:
    """Mon-Fri, minus public and local holidays, plus make-up working days (调休)."""
    return calendar(holidays, workdays).is_working_day(d)


def add_working_days(
    start: date, n: int, holidays: Iterable[date] = (), workdays: Iterable[date] = ()
) -> date:
    """The date n working days after start (start itself does not count)."""
    return calendar(holidays, workdays).add(start, n)


def working_days_between(
    start: date, end: date, holidays: Iterable[date] = (), workdays: Iterable[date] = ()
) -> int:
    """Working days after start up to and including end (0 when end <= start)."""
    return calendar(holidays, workdays).between(start, end)


# ---------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    """An inclusive range of calendar dates with a label such as 2026年3月."""

    start: date
    end: date
    label: str

    def contains(self, d: date | None) -> bool:
        return d is not None and self.start <= d <= self.end

    def months(self) -> list[tuple[int, int]]:
        """(year, month) of every month the period touches, in order."""
        out: list[tuple[int, int]] = []
        y, m = self.start.year, self.start.month
        while (y, m) <= (self.end.year, self.end.month):
            out.append((y, m))
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out


def _month_end(y: int, m: int) -> date:
    nxt = date(y + 1, 1, 1) if m == 12 else date(y, m + 1, 1)
    return nxt - timedelta(days=1)


def month_period(y: int, m: int) -> Period:
    return Period(date(y, m, 1), _month_end(y, m), t("reports.period.month", y=y, m=m))


def parse_period(text: str) -> Period:
    """``2026-03`` (month), ``2026-Q1`` (quarter), ``2026`` (year) or
    ``2026-01-15..2026-02-20`` (custom range, inclusive)."""
    s = (text or "").strip()
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})", s):
            y, mo = int(m.group(1)), int(m.group(2))
            if not 1 <= mo <= 12:
                raise ValueError
            return month_period(y, mo)
        if m := re.fullmatch(r"(\d{4})-?[Qq]([1-4])", s):
            y, q = int(m.group(1)), int(m.group(2))
            first = 3 * (q - 1) + 1
            return Period(date(y, first, 1), _month_end(y, first + 2), t("reports.period.quarter", y=y, q=q))
        if m := re.fullmatch(r"(\d{4})", s):
            y = int(m.group(1))
            return Period(date(y, 1, 1), date(y, 12, 31), t("reports.period.year", y=y))
        if m := re.fullmatch(r"(\d{4}-\d{2}-\d{2})\s*(?:\.\.|~|至)\s*(\d{4}-\d{2}-\d{2})", s):
            a, b = date.fromisoformat(m.group(1)), date.fromisoformat(m.group(2))
            if b < a:
                raise ReportInputError(t("reports.error.period_reversed", text=s))
            return Period(a, b, t("reports.period.range", start=a.isoformat(), end=b.isoformat()))
    except ReportInputError:
        raise
    except ValueError:
        pass
    raise ReportInputError(t("reports.error.period", text=s))
