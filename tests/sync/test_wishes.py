"""Wishes end to end in the shared workflow: staff dispatch a wish (派单) like a problem, with a
deadline that can pass; whoever is sent (or anyone) claims it; the wish is fulfilled."""

from __future__ import annotations

from test_model_workflow import STAFF, WORKER, Issue

from sync.workflow import WISH_STATES, is_overdue


def test_a_dispatched_wish_is_claimed_fulfilled_and_can_run_late():
    i = Issue("wish")
    i.ev("assign", {"unit": "town-civil", "deadline": "2026-12-10"})
    s = i.fold()
    assert (s.state, s.unit, s.deadline) == ("assigned", "town-civil", "2026-12-10")
    assert is_overdue(s, "2026-12-11T09:00:00") and not is_overdue(s, "2026-12-10T20:00:00")
    i.ev("extend", {"deadline": "2026-12-20", "reason": "等物资"})
    i.ev("supervise", {"level": 1})
    i.ev("claim", {"by": "镇卫生院党支部"}, role=WORKER)
    i.ev("fulfil", {"note": "轮椅已送到"}, role=WORKER)
    s = i.fold()
    assert [e.state for e in s.timeline] == ["assigned", "assigned", "assigned", "claimed", "fulfilled"]
    assert all(e.valid for e in s.timeline) and s.deadline == "2026-12-20" and s.supervised == 1
    assert not is_overdue(s, "2027-01-01")  # claimed: no longer waiting on the unit


def test_a_returned_wish_is_collected_again_and_a_claimed_one_cannot_be_dispatched():
    i = Issue("wish")
    i.ev("assign", {"unit": "town-civil", "deadline": "2026-12-10"})
    i.ev("return", {"reason": "不属本单位"})
    s = i.fold()
    assert (s.state, s.unit, s.deadline) == ("collected", None, None)
    i.ev("claim", {"by": "志愿者小李"}, role=WORKER)
    i.ev("assign", {"unit": "town-civil", "deadline": "2026-12-10"}, role=STAFF)
    assert [(e.valid, e.reason) for e in i.fold().timeline][-1] == (False, "state")
    assert WISH_STATES == ("collected", "assigned", "claimed", "fulfilled", "closed")
