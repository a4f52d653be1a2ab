"""联户 figures (sync/reports/people.py): households covered, households without a linked
member, visits the linked member came along to, per village and per quarter."""

from __future__ import annotations

from typing import Any

from sync.ids import new_id
from sync.records import parse_time_ms
from sync.reports.people import pairing_report, quarter_of


def rec(kind: str, **fields: Any) -> dict[str, Any]:
    return {"id": new_id(), "kind": kind, "grid": "g1", "fields": fields}


def test_coverage_unpaired_and_member_visits_per_village_and_quarter():
    h1, h2, h3 = (rec("household", village="east", head=n, address="1") for n in "甲乙丙")
    h4 = rec("household", village="west", head="丁", address="2")
    gone = rec("household", village="west", head="戊", address="3", _deleted=True)
    m1 = rec("member", name="李党员", village="east", duty="party_member")
    m2 = rec("member", name="王联户长", village="east", duty="household_lead")
    m_gone = rec("member", name="走了", village="west", duty="party_member", _deleted=True)
    pairs = [
        rec("pairing", member=m1["id"], household=h1["id"]),
        rec("pairing", member=m2["id"], household=h1["id"]),  # 双联户: two members, one household
        rec("pairing", member=m2["id"], household=h2["id"]),
        rec("pairing", member=m1["id"], household=h3["id"], _deleted=True),  # unpaired again
        rec("pairing", member=m_gone["id"], household=h4["id"]),  # the member left the register
        rec("pairing", member=m1["id"], household=gone["id"]),
    ]
    visits = [
        rec("visit", household=h1["id"], time="2026-10-02T09:00:00", companion=m1["id"]),  # Q4, linked
        rec("visit", household=h2["id"], time="2026-11-02T09:00:00", companion=m1["id"]),  # not h2's member
        rec("visit", household=h2["id"], time="2026-12-31T23:30:00", companion=m2["id"]),  # Q4 (China time)
        rec("visit", household=h3["id"], time="2026-09-30T10:00:00"),  # Q3, nobody came along
        rec("visit", household=h4["id"], time="2026-10-05T10:00:00", companion=m_gone["id"]),
    ]
    report = pairing_report([h1, h2, h3, h4, gone, m1, m2, m_gone, *pairs, *visits],
                            {"east": "东村", "west": "西村"}, "青山镇")
    tot = report.total
    assert (tot.label, tot.households, tot.paired) == ("青山镇", 4, 2)
    assert sorted(tot.unpaired_ids) == sorted([h3["id"], h4["id"]])
    figs = tot.figures
    assert (figs["paired_households"].value, figs["paired_households"].denominator) == (2, 4)
    assert (figs["unpaired_households"].value, figs["unpaired_households"].denominator) == (2, 4)
    assert figs["paired_households"].label == "有联户人员的住户"
    assert report.quarters == ["2026-Q3", "2026-Q4"]
    q4 = tot.member_visit_figure("2026-Q4")
    assert (q4.value, q4.denominator) == (2, 4)
    assert tot.member_visit_figure("2026-Q3").value == 0
    assert tot.member_visit_figure("2025-Q1").value is None  # no visits: no figure, N = 0
    east, west = report.villages
    assert (east.label, east.households, east.paired, east.member_visits) == ("东村", 3, 2, {"2026-Q4": 2})
    assert (west.label, west.households, west.paired, west.visits) == ("西村", 1, 0, {"2026-Q4": 1})


def test_an_empty_register_has_no_figures_rather_than_zero_percent():
    report = pairing_report([])
    assert report.total.households == 0
    assert all(f.value is None and f.display() == "—" for f in report.total.figures.values())


def test_quarters_are_counted_in_china_time():
    assert quarter_of(parse_time_ms("2026-04-01T00:30:00+08:00")) == "2026-Q2"
    assert quarter_of(parse_time_ms("2026-03-31T16:30:00Z")) == "2026-Q2"  # 00:30 on 1 April in China
