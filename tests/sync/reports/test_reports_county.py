"""Figures and the ledger at county level (issue 14), hand-computed: a county of two
townships, a county department, a hotline problem with a county 督办卡, a transfer."""

from __future__ import annotations

import pytest

from sync.reports.dates import parse_period
from sync.reports.ledger import build_ledger
from sync.reports.metrics import GROUPINGS, compute_metrics
from sync.reports.model import Dataset
from tests.support.reports_factory import Town, _ref, cst

MARCH = parse_period("2026-03")


@pytest.fixture(scope="module")
def ds() -> Dataset:
    town = Town()
    town.records += [
        _ref("county", "c1", name="青山县"),
        _ref("township", "t1", name="青山镇", county="c1"),
        _ref("township", "t2", name="绿水镇", county="c1"),
        _ref("village", "v3", name="南村", township="绿水镇", township_id="t2"),
        _ref("grid", "g4", name="南村一网格", village="v3"),
        _ref("user", "w2", name="赵网格员", role="grid_worker", grid="g4"),
        _ref("unit", "u-county-water", name="县水利局", level="county", county="c1"),
        _ref("source", "hotline", name="12345热线"),
        _ref("source", "grid", name="网格员上报"),
    ]
    for rec in town.records:  # the township's own villages know their township record
        if rec["kind"] == "village" and rec["id"] in ("v1", "v2"):
            rec["fields"]["township_id"] = "t1"
    # A: hotline problem in 南村 (绿水镇), dispatched to a township unit, transferred to the
    # county department, a county card due 10 March, resolved 12 March (late for the card)
    a = town.issue("g4", "夜间施工噪音", cst(2026, 3, 2))
    a["fields"].update(source="hotline", external_no="QT-1")
    town.event(a, "assign", cst(2026, 3, 3), unit="u-water", deadline="2026-03-13")
    town.event(a, "transfer", cst(2026, 3, 4), unit="u-county-water", deadline="2026-03-13", reason="县水利局职责")
    town.event(a, "county_supervise", cst(2026, 3, 5), role="county_staff", actor="k1", level=2,
               deadline="2026-03-10", card_no="县督1号")
    town.event(a, "resolve", cst(2026, 3, 12), reply="已停工整改")
    # B: a grid worker's problem in 东风村 (青山镇), dispatched, still open
    b = town.issue("g1", "路灯坏了", cst(2026, 3, 3), category="c-light")
    town.event(b, "assign", cst(2026, 3, 4), unit="u-build", deadline="2026-03-20")
    return Dataset.from_records(town.records)


def _fig(report, key: str, figure: str) -> tuple[float, int]:
    g = report.total if key == "total" else {g.key: g for g in report.groups}[key]
    f = g.figures[figure]
    return f.numerator, f.denominator


def test_every_grouping_of_the_county_has_one_row_per_entry(ds: Dataset) -> None:
    assert GROUPINGS == ("county", "township", "village", "grid", "unit", "worker", "source", "category")
    by_town = compute_metrics(ds, MARCH, "township")
    assert [(g.key, g.label) for g in by_town.groups] == [("t2", "绿水镇"), ("t1", "青山镇")]
    assert by_town.total.label == "青山县"  # the county's name over its townships
    assert _fig(by_town, "t2", "county_supervised") == (1, 1)
    assert _fig(by_town, "t1", "county_supervised") == (0, 1)
    by_county = compute_metrics(ds, MARCH, "county")
    assert [g.label for g in by_county.groups] == ["青山县"]
    assert _fig(by_county, "c1", "county_supervised") == (1, 2)


def test_county_cards_and_transfers_are_counted_with_their_n(ds: Dataset) -> None:
    r = compute_metrics(ds, MARCH, "unit")
    labels = {g.key: g.label for g in r.groups}
    assert labels["u-county-water"] == "县水利局"
    assert _fig(r, "u-county-water", "transferred") == (1, 1)  # the problem ended with it
    assert _fig(r, "u-county-water", "county_overdue") == (1, 1)  # due 10th, resolved 12th
    assert _fig(r, "u-build", "county_overdue") == (0, 0)
    assert r.groups[0].figures["visit_coverage"].denominator == 0  # not a per-unit figure
    assert _fig(r, "total", "transferred") == (1, 2)


def test_by_worker_and_by_source(ds: Dataset) -> None:
    workers = compute_metrics(ds, MARCH, "worker")
    assert {g.key: g.label for g in workers.groups} == {"w1": "李网格员", "w2": "赵网格员"}
    assert _fig(workers, "w2", "on_time_rate") == (1, 1)  # the unit deadline (13th) was kept
    sources = compute_metrics(ds, MARCH, "source")
    assert {g.key: g.label for g in sources.groups} == {"grid": "网格员上报", "hotline": "12345热线"}
    assert _fig(sources, "hotline", "county_supervised") == (1, 1)


def test_the_ledger_source_column_shows_the_channel(ds: Dataset) -> None:
    ledger = build_ledger(ds, MARCH)
    sources = {r.title.split("（")[0]: r.source for r in ledger.rows}
    assert sources == {"夜间施工噪音": "12345热线", "路灯坏了": "问题墙"}
