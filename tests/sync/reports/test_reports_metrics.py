"""Figures on a small hand-computed township (see reports_factory.march_town)."""

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.reports.dates import (
    ReportInputError,
    add_working_days,
    is_working_day,
    parse_period,
    to_date,
    working_days_between,
)
from sync.reports.metrics import FIGURES, compute_metrics, metrics_table
from sync.reports.model import Dataset
from tests.support.reports_factory import Town, cst, march_town

MARCH = parse_period("2026-03")


def fig(report, label_or_key, key):
    groups = {g.key: g for g in report.groups}
    g = report.total if label_or_key == "total" else groups[label_or_key]
    f = g.figures[key]
    return f.numerator, f.denominator, f.display()


@pytest.fixture(scope="module")
def ds():
    town, _ = march_town()
    return Dataset.from_records(town.records)


def test_per_village_figures_match_hand_computation(ds):
    r = compute_metrics(ds, MARCH, "village")
    # 东风村: A accepted next day (in time); B accepted after 3 working days (late);
    # D never accepted and past its limit; C reported 27 March is still inside its limit.
    assert fig(r, "v1", "response_rate") == (1, 3, "33.3%")
    # A resolved 9 March, deadline 10 March; B resolved (again) 28 March, deadline 20 March.
    assert fig(r, "v1", "on_time_rate") == (1, 2, "50.0%")
    # residents' last answers in March: A solved+satisfied, B solved+not satisfied
    assert fig(r, "v1", "solved_rate") == (2, 2, "100.0%")
    assert fig(r, "v1", "satisfied_rate") == (1, 2, "50.0%")
    # B was sent back once (resident said not solved on 26 March)
    assert fig(r, "v1", "redo_rate") == (1, 2, "50.0%")
    # A: 7.25 days, B: 23 days
    n, d, shown = fig(r, "v1", "avg_days")
    assert (n, d) == (30.25, 2)
    assert r.groups[0].figures["avg_days"].value == pytest.approx(15.125)
    # households of 东风村: 3, visited in March: 2 (h1, h2; h2 twice counts once)
    assert fig(r, "v1", "visit_coverage") == (2, 3, "66.7%")
    # 红旗村: F accepted at once; deadline 6 March passed unresolved -> overdue, not on time
    assert fig(r, "v2", "response_rate") == (1, 1, "100.0%")
    assert fig(r, "v2", "on_time_rate") == (0, 1, "0.0%")
    assert fig(r, "v2", "overdue") == (1, 1, "1")
    assert fig(r, "v2", "visit_coverage") == (0, 1, "0.0%")  # its visit was in February
    assert fig(r, "v2", "solved_rate") == (0, 0, "—")


def test_totals_and_groupings(ds):
    r = compute_metrics(ds, MARCH, "grid")
    assert [g.key for g in r.groups] == ["g1", "g2", "g3"]
    assert fig(r, "g2", "response_rate") == (0, 2, "0.0%")
    assert fig(r, "g1", "visit_coverage") == (2, 3, "66.7%")
    assert fig(r, "g2", "visit_coverage") == (0, 0, "—")  # a grid without households
    assert fig(r, "total", "response_rate") == (2, 4, "50.0%")
    assert fig(r, "total", "on_time_rate") == (1, 3, "33.3%")
    cats = compute_metrics(ds, MARCH, "category")
    labels = {g.key: g.label for g in cats.groups}
    assert labels["c-light"] == "道路交通/路灯"
    assert fig(cats, "c-light", "on_time_rate") == (1, 1, "100.0%")
    assert fig(cats, "c-light", "visit_coverage") == (0, 0, "—")  # not a per-category figure


def test_figures_as_they_stood_at_the_period_end(ds):
    # F's deadline was extended on 2 April: in a March report it is still overdue ...
    assert fig(compute_metrics(ds, MARCH, "village"), "v2", "overdue") == (1, 1, "1")
    # ... and in an April report its new deadline (20 April) has not passed by 10 April
    april = compute_metrics(ds, parse_period("2026-04"), "village", as_of=date(2026, 4, 10))
    assert fig(april, "v2", "overdue") == (0, 1, "0")


def test_holidays_change_the_response_limit(ds):
    # with 6 March a holiday, B's limit moves to Tuesday 10 March: accepted in time
    r = compute_metrics(ds, MARCH, "village", holidays=[date(2026, 3, 6)])
    assert fig(r, "v1", "response_rate") == (2, 3, "66.7%")
    # a longer accept limit
    r5 = compute_metrics(ds, MARCH, "village", accept_limit_days=5)
    assert fig(r5, "v1", "response_rate") == (2, 3, "66.7%")


def test_a_synced_holiday_record_counts_like_a_given_holiday(ds):
    # the admin's local rest day reaches reports as a ``holiday`` reference record
    town, _ = march_town()
    day_off = {"id": "h1", "kind": "holiday", "grid": None, "fields": {"date": "2026-03-06", "name": "县庆"}}
    with_record = compute_metrics(Dataset.from_records([*town.records, day_off]), MARCH, "village")
    assert fig(with_record, "v1", "response_rate") == (2, 3, "66.7%")
    assert fig(compute_metrics(ds, MARCH, "village"), "v1", "response_rate") != (2, 3, "66.7%")


def test_no_issues_gives_n_zero_and_a_dash():
    town = Town()
    r = compute_metrics(Dataset.from_records(town.records), MARCH, "village")
    assert [g.key for g in r.groups] == ["v1", "v2"]  # known villages show even when empty
    for g in [*r.groups, r.total]:
        for key in FIGURES:
            f = g.figures[key]
            assert f.denominator == 0
            if key != "overdue":
                assert f.value is None and f.display() == "—"
    headers, rows = metrics_table(r)
    assert headers[:3] == ["分组", "指标", "数值"]
    assert len(rows) == 3 * len(FIGURES)
    assert rows[0][:3] == ["东风村", "响应率", "—"]
    assert rows[0][5].startswith("本期上报的问题中")


def test_wishes_are_not_counted_as_problems(ds):
    r = compute_metrics(ds, MARCH, "village")
    # the wish (reported 3 March, never "accepted": wishes are claimed) is not in N
    assert fig(r, "v1", "response_rate")[1] == 3


def test_bad_grouping_is_a_clear_error(ds):
    with pytest.raises(ReportInputError, match="无法按“street”分组"):
        compute_metrics(ds, MARCH, "street")


def test_working_days():
    fri = date(2026, 3, 6)
    assert is_working_day(fri) and not is_working_day(date(2026, 3, 7))
    assert add_working_days(fri, 1) == date(2026, 3, 9)
    assert add_working_days(fri, 2, holidays=[date(2026, 3, 9)]) == date(2026, 3, 11)
    # a make-up working Saturday (调休)
    assert add_working_days(fri, 1, workdays=[date(2026, 3, 7)]) == date(2026, 3, 7)
    assert working_days_between(date(2026, 3, 2), date(2026, 3, 9)) == 5
    assert working_days_between(date(2026, 3, 9), date(2026, 3, 2)) == 0


def test_periods():
    assert (MARCH.start, MARCH.end, MARCH.label) == (date(2026, 3, 1), date(2026, 3, 31), "2026年3月")
    q = parse_period("2026-Q1")
    assert (q.start, q.end, q.label) == (date(2026, 1, 1), date(2026, 3, 31), "2026年第1季度")
    assert parse_period("2025").end == date(2025, 12, 31)
    feb = parse_period("2028-02")
    assert feb.end == date(2028, 2, 29)
    r = parse_period("2026-01-15..2026-02-20")
    assert r.months() == [(2026, 1), (2026, 2)]
    for bad in ("2026-13", "March", "", "2026-03-05..2026-03-01"):
        with pytest.raises(ReportInputError):
            parse_period(bad)


def test_dates_from_record_times():
    assert to_date("2026-03-31T23:30:00+08:00") == date(2026, 3, 31)
    # 16:30 UTC on 31 March is already 1 April in China
    assert to_date("2026-03-31T16:30:00Z") == date(2026, 4, 1)
    assert to_date(int(cst(2026, 3, 31, 23, 59).timestamp() * 1000)) == date(2026, 3, 31)
    assert to_date("2026-03-05") == date(2026, 3, 5)
    assert to_date("not a date") is None


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), month=st.integers(1, 12), group_by=st.sampled_from(["village", "grid", "category"]))
def test_groups_partition_the_total(seed, month, group_by):
    """Every issue is in exactly one group: numerators and N of the groups add up to the total,
    and no figure has a numerator above its N."""
    from tests.support.reports_factory import big_town

    ds = Dataset.from_records(big_town(40, events_per_issue=6, seed=seed))
    rep = compute_metrics(ds, parse_period(f"2026-{month:02d}"), group_by, as_of=date(2026, 12, 31))
    for key in FIGURES:
        if key == "visit_coverage" and group_by == "category":
            continue
        total = rep.total.figures[key]
        assert sum(g.figures[key].denominator for g in rep.groups) == total.denominator
        assert sum(g.figures[key].numerator for g in rep.groups) == pytest.approx(total.numerator)
        for g in rep.groups:
            f = g.figures[key]
            if key != "avg_days":
                assert 0 <= f.numerator <= f.denominator
            assert (f.value is None) == (f.denominator == 0) or key == "overdue"


def test_invalid_events_do_not_count():
    """A re-check that lands where it does not apply (the issue was never resolved) is kept in
    the timeline but flagged by the fold: it is not a resident's verdict on a resolution."""
    town = Town()
    iss = town.issue("g1", "路面坑洼", cst(2026, 3, 2))
    town.event(iss, "accept", cst(2026, 3, 2, 10))
    town.recheck(iss, cst(2026, 3, 5), True, True)  # not resolved yet: invalid
    town.event(iss, "resolve", cst(2026, 3, 6), role="grid_worker", actor="w1", reply="自己修好了")  # role may not
    ds = Dataset.from_records(town.records)
    r = compute_metrics(ds, MARCH, "township")
    assert fig(r, "total", "solved_rate") == (0, 0, "—")
    assert fig(r, "total", "avg_days") == (0, 0, "—")
    from sync.reports.ledger import build_ledger

    row = build_ledger(ds, MARCH).rows[0]
    assert row.status == "已受理"
    assert "回头看" not in row.progress[(2026, 3)] and "办结" not in row.progress[(2026, 3)]
