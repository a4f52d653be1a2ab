"""Working days in China (sync.workdays): official holidays and make-up days (调休), local
days added by the admin, and the weekday fallback with a notice for years not known yet."""

from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from sync import workdays
from sync.reports.dates import add_working_days, working_days_between
from sync.workdays import WorkCalendar


def test_national_day_week_and_its_make_up_saturday():
    cal = workdays.official()
    # 2026: 1-7 October off; Saturday 10 October is a working day (调休)
    assert not cal.is_working_day(date(2026, 10, 5))  # a Monday inside the holiday
    assert cal.is_working_day(date(2026, 10, 10))  # a Saturday that is worked
    assert not cal.is_working_day(date(2026, 10, 11))  # an ordinary Sunday


def test_ten_working_days_from_28_september_2026_is_16_october():
    # the weekday rule says 2026-10-12; the holiday week and the make-up Saturday move it
    assert workdays.official().add(date(2026, 9, 28), 10) == date(2026, 10, 16)
    assert add_working_days(date(2026, 9, 28), 10) == date(2026, 10, 16)  # the reports' helper too
    assert working_days_between(date(2026, 9, 28), date(2026, 10, 16)) == 10


def test_spring_festival_is_not_worked():
    cal = workdays.official()
    days = [date(2026, 2, d) for d in range(15, 24)]
    assert not any(cal.is_working_day(d) for d in days if d.weekday() < 5)


def test_local_rest_day_and_make_up_day_from_holiday_records():
    cal = workdays.from_records([
        {"date": "2026-03-09", "name": "县庆"},  # a Monday off
        {"date": "2026-03-14", "working": True},  # a Saturday worked
        {"date": "2026-03-16", "_deleted": True},  # a removed one counts for nothing
        {"date": "not a date"},  # never trips a device
    ])
    assert not cal.is_working_day(date(2026, 3, 9))
    assert cal.is_working_day(date(2026, 3, 14))
    assert cal.is_working_day(date(2026, 3, 16))
    # Friday 6 March + 2 working days: Monday is off, so Wednesday
    assert cal.add(date(2026, 3, 6), 2) == date(2026, 3, 11)


def test_a_local_make_up_day_wins_over_an_official_holiday_and_back():
    official = workdays.official()
    assert not official.is_working_day(date(2026, 10, 7))
    worked = official.with_local(workdays=[date(2026, 10, 7)])
    assert worked.is_working_day(date(2026, 10, 7))
    assert not worked.with_local(holidays=[date(2026, 10, 7)]).is_working_day(date(2026, 10, 7))
    assert official.with_local() is official


def test_a_year_the_table_does_not_know_uses_weekdays_and_says_so():
    cal = workdays.official()
    assert 2026 in cal.known_years
    future = date(2099, 1, 1)  # the official table ends long before
    assert cal.unknown_years(future, date(2026, 5, 1), None) == [2099]
    assert cal.is_working_day(future) == (future.weekday() < 5)
    assert "2099" in cal.notice(future) and "周一至周五" in cal.notice(future)
    assert cal.notice(date(2026, 5, 1)) is None


def _walked(cal: WorkCalendar, start: date, end: date) -> int:
    """Working days after ``start`` up to ``end``, one day at a time (the definition)."""
    n, d = 0, start
    while d < end:
        d += timedelta(days=1)
        n += cal.is_working_day(d)
    return n


@pytest.mark.parametrize("seed", range(5))
def test_between_counts_what_walking_the_days_counts(seed):
    rng = random.Random(seed)
    base = date(2025, 1, 1)
    days = [base + timedelta(days=rng.randrange(900)) for _ in range(120)]
    local = workdays.official().with_local(days[:40], days[40:70])  # rest days, make-up days (some on weekends)
    for cal in (workdays.official(), local, WorkCalendar(frozenset(days[70:100]), frozenset(days[100:]))):
        for _ in range(300):
            a = base + timedelta(days=rng.randrange(-30, 930))
            b = a + timedelta(days=rng.randrange(-10, 400))
            assert cal.between(a, b) == _walked(cal, a, b), (a, b)
    assert local.between(date(2026, 9, 28), date(2026, 10, 16)) == _walked(local, date(2026, 9, 28), date(2026, 10, 16))
