"""Working days in China: weekends, public holidays and make-up working days (调休).

Deadlines (派单时限), the response limit behind 响应率 and 按期办结率 count working days.
China moves working days around public holidays every year: the State Council's notice turns
some weekdays into holidays and some Saturdays or Sundays into working days. A plain
Monday-to-Friday rule gets 2026-09-28 + 10 working days wrong (2026-10-12 instead of
2026-10-16), so the official calendar comes from ``chinese_calendar``, a small, well-kept
table of those notices (it raises for years it does not know yet).

For a year the table does not know (the notice comes out each November or December), the
calendar falls back to Monday to Friday and says so (``unknown_years`` / ``notice``), so a
report or a deadline can tell its reader. An administrator adds local holidays (a county's
own rest day) and make-up days as ``holiday`` reference records, which every device pulls;
``from_records`` turns them into a calendar.
"""

from __future__ import annotations

import functools
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import chinese_calendar
from chinese_calendar import constants as _official

from sync.i18n import t


@dataclass(frozen=True)
class WorkCalendar:
    """Which dates are working days. ``holidays`` and ``workdays`` override the weekday rule."""

    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    known_years: frozenset[int] = frozenset()

    def is_working_day(self, d: date) -> bool:
        return d in self.workdays or (d.weekday() < 5 and d not in self.holidays)

    def add(self, start: date, n: int) -> date:
        """The date ``n`` working days after ``start`` (``start`` itself does not count)."""
        d, left = start, n
        while left > 0:
            d += timedelta(days=1)
            if self.is_working_day(d):
                left -= 1
        return d

    def between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 when end <= start).

        Counted, not walked: the weekdays in the range, less the holidays on weekdays, plus
        the make-up days on weekends (an inbox at 50,000 issues asks how overdue each of
        thousands is, some by a year: walking day by day was most of a screen's start)."""
        if end <= start:
            return 0
        a, b = start.toordinal(), end.toordinal()
        off, on = self._exceptions
        return (_weekdays_to(b) - _weekdays_to(a) - bisect_right(off, b) + bisect_right(off, a)
                + bisect_right(on, b) - bisect_right(on, a))

    @functools.cached_property
    def _exceptions(self) -> tuple[list[int], list[int]]:
        """(weekdays that are not worked, weekend days that are), as sorted ordinals."""
        off = sorted(d.toordinal() for d in self.holidays if d.weekday() < 5 and d not in self.workdays)
        on = sorted(d.toordinal() for d in self.workdays if d.weekday() >= 5)
        return off, on

    def with_local(self, holidays: Iterable[date] = (), workdays: Iterable[date] = ()) -> WorkCalendar:
        """This calendar plus local rest days and make-up working days (a local make-up day
        wins over an official holiday on the same date, and the other way round)."""
        hol, work = frozenset(holidays), frozenset(workdays)
        if not hol and not work:
            return self
        return WorkCalendar((self.holidays - work) | hol, (self.workdays - hol) | work, self.known_years)

    def unknown_years(self, *dates: date | None) -> list[int]:
        """Years among ``dates`` whose official holidays are not known (weekday rule used)."""
        return sorted({d.year for d in dates if d is not None and d.year not in self.known_years})

    def notice(self, *dates: date | None) -> str | None:
        """A sentence for people when some of ``dates`` fall in unknown years, else None."""
        years = self.unknown_years(*dates)
        if not years:
            return None
        return t("model.workdays.unknown_year", years="、".join(str(y) for y in years))


def _weekdays_to(ordinal: int) -> int:
    """Monday-to-Friday days among ordinals 1..``ordinal`` (ordinal 1, 0001-01-01, a Monday)."""
    return ordinal // 7 * 5 + min(ordinal % 7, 5)


@functools.cache
def official() -> WorkCalendar:
    """The State Council's holidays and make-up days for every year the table knows."""
    holidays = frozenset(_official.holidays)
    workdays = frozenset(_official.workdays)
    known = frozenset(range(min(d.year for d in holidays), max(d.year for d in holidays) + 1))
    # the table's own range check is the truth for which years it knows
    known = frozenset(y for y in known if _knows(y))
    return WorkCalendar(holidays, workdays, known)


def _knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


def calendar(holidays: Iterable[date] = (), workdays: Iterable[date] = ()) -> WorkCalendar:
    """The official calendar with extra local rest days and make-up working days."""
    return official().with_local(holidays, workdays)


def local_days(records: Iterable[Mapping[str, Any]]) -> tuple[list[date], list[date]]:
    """(rest days, make-up working days) from ``holiday`` reference records' fields."""
    rest: list[date] = []
    work: list[date] = []
    for fields in records:
        if fields.get("_deleted"):
            continue
        try:
            d = date.fromisoformat(str(fields.get("date") or ""))
        except ValueError:
            continue  # validation refuses these on the server; a device never trips on one
        (work if fields.get("working") else rest).append(d)
    return rest, work


def from_records(records: Iterable[Mapping[str, Any]]) -> WorkCalendar:
    """The official calendar plus the local days in ``holiday`` records' fields."""
    rest, work = local_days(records)
    return calendar(rest, work)
