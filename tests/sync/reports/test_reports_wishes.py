"""微心愿 figures (sync/reports/wishes.py): collected, claimed, fulfilled and days to fulfil, by
village and by the kind of claimant; what the fold refuses does not count."""

from __future__ import annotations

from sync.changes import new_record
from sync.clock import HybridClock
from sync.reports.wishes import wish_report
from sync.workflow import new_event

CLOCK = HybridClock("dev")


def rec(kind: str, grid: str = "g-east", **fields):  # type: ignore[no-untyped-def]
    return new_record(kind, grid, fields, CLOCK, "w1")[0]


def test_wish_figures_by_village_and_claimant_kind():
    grids = [rec("grid", "town", name="东一", village="east"), rec("grid", "town", name="西一", village="west")]
    grids[0]["id"], grids[1]["id"] = "g-east", "g-west"
    volunteer = rec("claimant", name="志愿者小李", claimant_kind="volunteer")
    unit = rec("claimant", name="县供电公司", claimant_kind="unit")
    out = [*grids, volunteer, unit]

    def wish(grid: str, title: str, *steps):  # type: ignore[no-untyped-def]
        issue = rec("issue", grid, issue_kind="wish", title=title, reporter="w1")
        evs = []
        for etype, data, at, role in (("report", {}, "2026-11-01T09:00:00", "grid_worker"), *steps):
            evs.append(new_event(issue, etype, data, CLOCK, "w1", role, at=at, after=evs)[0])
        out.extend([issue, *evs])

    w = "grid_worker"
    wish("g-east", "收音机", ("claim", {"claimant": volunteer["id"], "by": "志愿者小李"}, "2026-11-02T09:00:00", w),
         ("fulfil", {"note": "送到"}, "2026-11-05T09:00:00", w))  # 4 days
    wish("g-east", "轮椅", ("assign", {"unit": "town-civil", "deadline": "2026-11-20"}, "2026-11-02T09:00:00",
                          "township_staff"),
         ("claim", {"claimant": unit["id"], "by": "县供电公司"}, "2026-11-03T09:00:00", w),
         ("fulfil", {}, "2026-11-11T09:00:00", w),  # 10 days; feedback closes it, the day stays
         ("feedback", {"satisfied": True, "text": "好"}, "2026-11-12", w))
    wish("g-west", "课外书", ("claim", {"by": "村两委"}, "2026-11-02T09:00:00", w))  # a name only: unregistered
    wish("g-west", "理发")  # still open
    wish("g-west", "不合规", ("reject", {"reason": "不属微心愿"}, "2026-11-02T09:00:00", "township_staff"))
    wish("g-west", "抢先兑现", ("fulfil", {}, "2026-11-02T09:00:00", w))  # fulfil before a claim: flagged
    r = wish_report(out, {"east": "东村", "west": "西村"})
    tot = r.total
    assert (tot.collected, tot.claimed, tot.fulfilled) == (5, 3, 2)
    assert {k: (f.value, f.denominator) for k, f in tot.figures.items()} == {
        "wishes_collected": (5, 5), "wishes_claimed": (3, 5), "wishes_fulfilled": (2, 5)}
    assert tot.days_figure.value == 7.0 and tot.days_figure.denominator == 2 and tot.days_text() == "7.0天"
    east, west = r.villages
    assert (east.label, east.collected, east.fulfilled, west.label, west.collected, west.claimed) == (
        "东村", 2, 2, "西村", 3, 1)
    kinds = {g.key: (g.claimed, g.fulfilled, g.days) for g in r.claimants}
    assert kinds == {"volunteer": (1, 1, [4.0]), "party_member": (0, 0, []), "unit": (1, 1, [10.0]),
                     "unregistered": (1, 0, [])}
    assert [g.label for g in r.claimants] == ["志愿者", "党员", "单位/部门", "未登记的认领人"]


def test_no_wishes_no_figures():
    r = wish_report([])
    assert all(f.value is None for f in r.total.figures.values()) and r.total.days_text() == "—"
