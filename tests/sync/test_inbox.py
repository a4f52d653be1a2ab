"""The inbox: notifications derived from the records, per person and role, with stable ids."""

from datetime import date

from sync import workdays
from sync.inbox import notifications
from sync.reports.model import Dataset
from tests.support.reports_factory import Town, cst

TODAY = date(2026, 3, 18)  # a Wednesday


def scenario():
    town = Town()
    p = {}
    p["A"] = a = town.issue("g1", "A 路灯", cst(2026, 3, 2))
    town.event(a, "assign", cst(2026, 3, 3), unit="u-water", deadline="2026-03-20")  # 2 working days left
    p["B"] = b = town.issue("g1", "B 水渠", cst(2026, 3, 2))
    town.event(b, "assign", cst(2026, 3, 3), unit="u-build", deadline="2026-03-16")  # overdue by 2
    town.event(b, "supervise", cst(2026, 3, 17), level=2, note="限期整改")
    p["C"] = c = town.issue("g1", "C 不受理", cst(2026, 3, 4))
    town.event(c, "reject", cst(2026, 3, 5), reason="不属于受理范围")
    p["D"] = d = town.issue("g1", "D 已办结", cst(2026, 3, 4))
    town.event(d, "assign", cst(2026, 3, 5), unit="u-water", deadline="2026-03-25")  # 5 working days: quiet
    town.event(d, "resolve", cst(2026, 3, 9), reply="已修")
    p["E"] = e = town.issue("g1", "E 轮椅", cst(2026, 3, 4), kind="wish")
    town.event(e, "claim", cst(2026, 3, 6), role="grid_worker", actor="w1", by="镇卫生院")
    # a hotline call registered by staff, routed to grid g1
    at = town.at(cst(2026, 3, 10))
    from sync.changes import new_record
    from sync.workflow import new_event

    rec, _ = new_record("issue", "g1", {"issue_kind": "problem", "title": "F 12345来电", "reporter": "s1"},
                        town.clock, "s1")
    town.records.append(rec)
    ev, _ = new_event(rec, "report", {}, town.clock, "s1", "township_staff", at=at)
    town.records.append(ev)
    p["F"] = rec
    # a colleague's report in the same grid is not work handed to w1
    p["K"] = town.issue("g1", "K 同网格另一网格员上报", cst(2026, 3, 11))
    p["K"]["fields"]["reporter"] = "w2"
    p["G"] = g = town.issue("g1", "G 退单", cst(2026, 3, 2))
    town.event(g, "assign", cst(2026, 3, 3), actor="s2", unit="u-build", deadline="2026-03-30")
    town.event(g, "return", cst(2026, 3, 4), actor="s2", reason="不属于本单位职责")
    town.event(g, "assign", cst(2026, 3, 5), actor="s1", unit="u-water", deadline="2026-03-30")
    return town, p


def _for(town, user, role):
    ds = Dataset.from_records(town.records)
    return notifications(ds.issues, ds.events, user, role, TODAY, workdays.official(),
                         unit_name=lambda u: {"u-water": "镇水务站", "u-build": "镇村建办"}.get(u, u))


def test_a_grid_worker_sees_their_grid():
    town, p = scenario()
    got = {(n.kind, n.issue) for n in _for(town, "w1", "grid_worker")}
    assert got == {
        ("due_soon", p["A"]["id"]), ("overdue", p["B"]["id"]), ("supervised", p["B"]["id"]),
        ("rejected", p["C"]["id"]), ("recheck_due", p["D"]["id"]), ("wish_claimed", p["E"]["id"]),
        ("assigned", p["F"]["id"]),
    }
    by = {(n.kind, n.issue): n for n in _for(town, "w1", "grid_worker")}
    assert by[("overdue", p["B"]["id"])].detail == "镇村建办 时限 2026-03-16，已超期 2 个工作日"
    assert by[("due_soon", p["A"]["id"])].detail == "镇水务站 时限 2026-03-20，还剩 2 个工作日"
    assert by[("rejected", p["C"]["id"])].detail == "不予受理：不属于受理范围"
    assert by[("wish_claimed", p["E"]["id"])].detail == "镇卫生院 认领了这个微心愿"
    assert by[("assigned", p["F"]["id"])].label == "交办"


def test_staff_see_what_they_dispatched_and_every_supervision():
    town, p = scenario()
    s1 = {(n.kind, n.issue) for n in _for(town, "s1", "township_staff")}
    assert s1 == {("due_soon", p["A"]["id"]), ("overdue", p["B"]["id"]), ("supervised", p["B"]["id"]),
                  ("assigned", p["F"]["id"]), ("assigned", p["K"]["id"])}  # new ones wait for staff
    s2 = {(n.kind, n.issue) for n in _for(town, "s2", "township_staff")}
    # s2 sees B (under 督办) and the unit's return of what s2 dispatched, not s1's A
    assert s2 == {("overdue", p["B"]["id"]), ("supervised", p["B"]["id"]), ("rejected", p["G"]["id"]),
                  ("assigned", p["F"]["id"]), ("assigned", p["K"]["id"])}


def test_ids_are_stable_and_a_new_cause_is_new():
    town, p = scenario()
    before = {n.id for n in _for(town, "w1", "grid_worker")}
    assert before == {n.id for n in _for(town, "w1", "grid_worker")}
    town.event(p["B"], "supervise", cst(2026, 3, 18), level=3, note="再次督办")
    town.event(p["A"], "extend", cst(2026, 3, 18, 10), deadline="2026-03-31", reason="等材料")
    after = _for(town, "w1", "grid_worker")
    new = {(n.kind, n.issue) for n in after if n.id not in before}
    assert new == {("supervised", p["B"]["id"])}  # the second 督办; A's extension ends its due_soon
    assert not any(n.kind == "due_soon" and n.issue == p["A"]["id"] for n in after)
    # newest first
    assert [n.at for n in after] == sorted((n.at for n in after), reverse=True)


def test_the_cause_ending_ends_the_notification():
    town, p = scenario()
    town.event(p["B"], "resolve", cst(2026, 3, 18), reply="已清淤")
    kinds = {(n.kind, n.issue) for n in _for(town, "w1", "grid_worker")}
    assert ("overdue", p["B"]["id"]) not in kinds and ("supervised", p["B"]["id"]) in kinds
    assert ("recheck_due", p["B"]["id"]) in kinds


def test_a_county_supervision_and_its_deadline():
    town, p = scenario()
    c = town.issue("g1", "H 县级督办", cst(2026, 3, 2))
    town.event(c, "county_supervise", cst(2026, 3, 3), role="county_staff", actor="c1", level=1,
               deadline="2026-03-13", card_no="榆督〔2026〕7号", note="限期办结")
    for user, role in (("w1", "grid_worker"), ("s1", "township_staff")):
        by = {(n.kind, n.issue): n for n in _for(town, user, role)}
        assert by[("supervised", c["id"])].detail == "1级督办：限期办结"
        # not dispatched yet, so only the county's deadline runs: 3 working days late on 3/18
        assert by[("overdue", c["id"])].detail == "县级督办 时限 2026-03-13，已超期 3 个工作日"
