"""The issue workflow fold, role rules, invalid events kept and flagged (sync.workflow)."""

import random
from datetime import datetime

import pytest

from sync.changes import new_record
from sync.clock import HybridClock
from sync.i18n import t
from sync.ids import new_id
from sync.records import EVENT_TYPES
from sync.workflow import (
    PERMISSIONS,
    ROLES,
    fold,
    is_overdue,
    may_emit,
    new_event,
    resolved_on_time,
    state_label,
)

STAFF, WORKER = "township_staff", "grid_worker"


class Issue:
    """Builds an issue and its events with one clock, the way devices do."""

    def __init__(self, kind="problem"):
        self.clock = HybridClock("dev1", wall=lambda: 1_790_000_000.0)
        fields = {"issue_kind": kind, "title": "路灯坏了", "reporter": "u-w"}
        self.issue, _ = new_record("issue", "g1", fields, self.clock, "u-w")
        self.events = []

    def ev(self, etype, data=None, role=STAFF, at=None):
        event, _ = new_event(self.issue, etype, data or {}, self.clock, "u-" + role[:1], role, at=at, after=self.events)
        self.events.append(event)
        return event

    def fold(self, events=None):
        return fold(self.issue, self.events if events is None else events)


def test_role_table():
    assert PERMISSIONS["grid_worker"] == {"report", "comment", "recheck", "claim", "fulfil", "feedback"}
    assert PERMISSIONS["operator"] == {"comment"}
    assert PERMISSIONS["county_staff"] == PERMISSIONS["admin"] == set(EVENT_TYPES)
    # 县级督办 is the county's: a township may do everything else
    assert PERMISSIONS["township_staff"] == set(EVENT_TYPES) - {"county_supervise"}
    assert ROLES == ("grid_worker", "township_staff", "county_staff", "operator", "admin")
    assert may_emit("grid_worker", "recheck") and not may_emit("grid_worker", "resolve")
    assert may_emit("operator", "comment") and not may_emit("operator", "accept")
    assert not may_emit("visitor", "comment") and not may_emit("admin", "dance")


def test_labels_come_from_the_catalog():
    assert t("model.state.assigned") == "已派单"
    assert state_label("closed") == "已销号"
    assert t("model.event.return") == "退单"


def test_problem_happy_path():
    i = Issue()
    i.ev("report", role=WORKER)
    i.ev("accept", at="2026-11-20T09:00:00+08:00")
    i.ev("assign", {"unit": "water-bureau", "deadline": "2026-11-30"}, at="2026-11-20T10:00:00+08:00")
    i.ev("progress", {"note": "已联系施工队"})
    i.ev("resolve", {"reply": "已更换灯泡", "photos": ["c" * 64]}, at="2026-11-28T16:00:00+08:00")
    i.ev("recheck", {"solved": True, "satisfied": True}, role=WORKER)
    i.ev("close", {"outcome": "已解决"}, at="2026-11-29T09:00:00+08:00")
    s = i.fold()
    assert [e.state for e in s.timeline] == [
        "submitted", "accepted", "assigned", "in_progress", "resolved", "rechecked", "closed"
    ]  # fmt: skip
    assert all(e.valid for e in s.timeline) and not s.flagged and not s.is_open
    assert (s.unit, s.deadline, s.outcome, s.reply) == ("water-bureau", "2026-11-30", "已解决", "已更换灯泡")
    assert (s.solved, s.satisfied, s.redo_count) == (True, True, 0)
    assert s.accepted_at == "2026-11-20T09:00:00+08:00" and s.closed_at == "2026-11-29T09:00:00+08:00"
    assert resolved_on_time(s) is True


def test_reject_closes_with_reason():
    i = Issue()
    i.ev("reject", {"reason": "不属于本乡镇职责"})
    s = i.fold()
    assert (s.state, s.outcome, s.reason) == ("closed", "rejected", "不属于本乡镇职责")


def test_side_paths_return_extend_supervise_redo_reopen():
    i = Issue()
    i.ev("accept")
    i.ev("assign", {"unit": "u1", "deadline": "2026-11-30"})
    i.ev("return", {"reason": "不是我单位的事"})
    s = i.fold()
    assert (s.state, s.unit, s.deadline, s.reason) == ("accepted", None, None, "不是我单位的事")
    i.ev("assign", {"unit": "u2", "deadline": "2026-12-05"})
    i.ev("extend", {"deadline": "2026-12-20", "reason": "需采购材料"})
    i.ev("supervise", {"level": 2, "note": "请加快"})
    s = i.fold()
    assert (s.state, s.unit, s.deadline, s.supervised) == ("assigned", "u2", "2026-12-20", 2)
    i.ev("resolve", {"reply": "已处理"})
    i.ev("recheck", {"solved": False, "satisfied": False, "reason": "还是不亮"}, role=WORKER)
    s = i.fold()
    assert (s.state, s.redo_count, s.solved, s.resolved_at) == ("assigned", 1, False, None)
    i.ev("resolve", {"reply": "换了线路"})
    i.ev("recheck", {"solved": True, "satisfied": False}, role=WORKER)
    i.ev("close", {"outcome": "已解决，群众不满意"})
    i.ev("reopen", {"reason": "群众再次反映"})
    s = i.fold()
    assert (s.state, s.closed_at, s.redo_count) == ("assigned", None, 1)
    assert not s.flagged


def test_publish_and_unpublish():
    i = Issue()
    i.ev("unpublish")
    i.ev("publish", {"public_title": "东村路灯修好了", "public_text": "三天内修复"})
    s = i.fold()
    assert s.published and s.public_title == "东村路灯修好了"
    assert [(e.valid, e.reason) for e in s.timeline] == [(False, "state"), (True, None)]
    i.ev("unpublish")
    assert i.fold().published is False


def test_wish_path():
    i = Issue("wish")
    s = i.fold()
    assert s.state == "collected"
    i.ev("claim", {"by": "党员张强"}, role=WORKER)
    i.ev("fulfil", {"note": "送去了书包", "photos": ["d" * 64]}, role=WORKER)
    i.ev("feedback", {"text": "谢谢", "satisfied": True}, role=WORKER)
    s = i.fold()
    assert [e.state for e in s.timeline] == ["claimed", "fulfilled", "closed"]
    assert (s.claimed_by, s.satisfied, s.reply) == ("党员张强", True, "送去了书包")


def test_events_for_the_other_issue_kind_are_flagged():
    wish, problem = Issue("wish"), Issue()
    wish.ev("resolve", {"reply": "x"})  # a wish is fulfilled, not resolved (it may be dispatched: test_wishes)
    problem.ev("claim", {"by": "x"}, role=WORKER)
    assert [(e.valid, e.reason) for e in wish.fold().timeline] == [(False, "problem_only")]
    assert [(e.valid, e.reason) for e in problem.fold().timeline] == [(False, "wish_only")]


def test_two_staff_resolve_at_once_offline_both_kept_one_flagged():
    i = Issue()
    i.ev("accept")
    i.ev("assign", {"unit": "u1", "deadline": "2026-11-30"})
    office = HybridClock("pc-office", wall=lambda: 1_790_000_100.0)
    tablet = HybridClock("tablet", wall=lambda: 1_790_000_100.0)
    r1, _ = new_event(i.issue, "resolve", {"reply": "甲办结"}, office, "s1", STAFF, after=i.events)
    r2, _ = new_event(i.issue, "resolve", {"reply": "乙办结"}, tablet, "s2", STAFF, after=i.events)
    s = fold(i.issue, [r2, *i.events, r1])
    assert s.state == "resolved" and s.flagged
    assert [(e.type, e.valid, e.reason) for e in s.timeline][-2:] == [("resolve", True, None), ("resolve", False, "state")]
    invalid = s.timeline[-1]
    assert invalid.reason_text() == "问题处于“已办结”时不能执行“办结”（可能多人同时操作），已记录待干部核对"


def test_invalid_events_keep_their_reasons():
    i = Issue()
    i.ev("accept", role=WORKER)  # a grid worker may not accept
    i.ev("comment", {"text": "在处理"}, role="operator")
    other = Issue()
    foreign = other.ev("comment", {"text": "别的问题"})
    bad_data = dict(i.ev("accept"), id=new_id())
    bad_data["fields"] = {**bad_data["fields"], "type": "assign", "data": {"unit": "u"}}  # no deadline
    unknown = dict(i.ev("comment", {"text": "x"}), id=new_id())
    unknown["fields"] = {**unknown["fields"], "type": "dance"}
    s = fold(i.issue, i.events[:2] + [foreign, bad_data, unknown, i.events[2]])
    got = [(e.type, e.valid, e.reason) for e in s.timeline]
    assert ("accept", False, "role") in got and ("comment", True, None) in got
    assert ("comment", False, "other_issue") in got and ("assign", False, "data") in got
    assert ("dance", False, "unknown_type") in got and ("accept", True, None) in got
    assert s.state == "accepted" and len(s.timeline) == 6
    role_entry = next(e for e in s.timeline if e.reason == "role")
    assert role_entry.reason_text() == "网格员不能执行“受理”，已记录待干部核对"


def test_any_order_and_duplicates_give_one_state():
    i = Issue()
    i.ev("accept")
    i.ev("assign", {"unit": "u1", "deadline": "2026-11-30"})
    i.ev("resolve", {"reply": "好了"})
    i.ev("resolve", {"reply": "又好了"})
    i.ev("recheck", {"solved": False, "satisfied": False}, role=WORKER)
    i.ev("resolve", {"reply": "真好了"})
    expected = i.fold()
    rng = random.Random(7)
    for _ in range(50):
        events = i.events + rng.sample(i.events, 3)
        rng.shuffle(events)
        assert i.fold(events) == expected
    assert expected.redo_count == 1 and expected.reply == "真好了"


def test_hlc_stamp_orders_before_wall_time():
    # The phone's wall clock is a day behind: its recheck's "at" is before the resolve's,
    # but its stamp (it had pulled the resolve) is after, so the recheck is valid.
    i = Issue()
    i.ev("accept")
    i.ev("assign", {"unit": "u1", "deadline": "2026-11-30"})
    i.ev("resolve", {"reply": "好了"}, at="2026-11-25T10:00:00+08:00")
    phone = HybridClock("phone", wall=lambda: 1_789_900_000.0)
    recheck, _ = new_event(
        i.issue, "recheck", {"solved": True, "satisfied": True}, phone, "w", WORKER,
        at="2026-11-24T10:00:00+08:00", after=i.events,
    )  # fmt: skip
    s = fold(i.issue, [recheck, *i.events])
    assert s.state == "rechecked" and not s.flagged


def test_events_with_one_stamp_order_by_their_time_then_id():
    # Stamps tie only when forged or copied; then ``at`` decides, whatever order they came in
    # (the fold sorts by the stamp alone only when every stamp differs).
    i = Issue()
    i.ev("accept")
    assign = i.ev("assign", {"unit": "u1", "deadline": "2026-11-30"}, at="2026-11-25T10:00:00+08:00")
    resolve = i.ev("resolve", {"reply": "好了"}, at="2026-11-25T11:00:00+08:00")
    tied = {**resolve, "stamps": dict(assign["stamps"])}
    for events in ([i.events[0], assign, tied], [tied, assign, i.events[0]]):
        s = fold(i.issue, events)
        assert s.state == "resolved" and not s.flagged
    early = {**tied, "fields": {**tied["fields"], "at": "2026-11-25T09:00:00+08:00"}}
    assert fold(i.issue, [early, assign, i.events[0]]).flagged  # resolved before it was assigned


def test_a_remembered_valid_payload_does_not_vouch_for_an_equal_one_of_another_type():
    # 1 == True in Python: the fold remembers which payloads are valid, by value and type
    for solved, valid in ((True, True), (1, False), (True, True)):
        i = Issue()
        i.ev("accept")
        i.ev("assign", {"unit": "u1", "deadline": "2026-11-30"})
        i.ev("resolve", {"reply": "好了"})
        ev = i.ev("recheck", {"solved": True, "satisfied": True}, role=WORKER)
        ev["fields"]["data"]["solved"] = solved  # as a device with a bug might send it
        s = i.fold()
        assert (s.state == "rechecked", s.timeline[-1].reason) == ((True, None) if valid else (False, "data"))


def test_duplicate_id_with_differing_content_keeps_one_version():
    i = Issue()
    first = i.ev("comment", {"text": "甲"})
    forged = {**first, "fields": {**first["fields"], "data": {"text": "乙"}}, "stamps": dict.fromkeys(first["stamps"], "9999999999999-0000-x")}
    a, b = fold(i.issue, [first, forged]), fold(i.issue, [forged, first])
    assert a == b and len(a.timeline) == 1 and a.timeline[0].event["fields"]["data"] == {"text": "甲"}


def test_overdue_is_derived_from_deadline_in_china_time():
    i = Issue()
    i.ev("accept")
    i.ev("assign", {"unit": "u1", "deadline": "2026-11-30"})
    s = i.fold()
    assert not is_overdue(s, "2026-11-30T23:59:00+08:00")
    assert is_overdue(s, "2026-11-30T16:30:00+00:00")  # 00:30 on 1 Dec in China
    assert is_overdue(s, datetime(2026, 12, 1, 8, 0))
    assert not is_overdue(s, int(datetime(2026, 11, 29).timestamp() * 1000))
    i.ev("resolve", {"reply": "好了"}, at="2026-12-02T09:00:00+08:00")
    s = i.fold()
    assert not is_overdue(s, "2026-12-05") and resolved_on_time(s) is False
    assert not is_overdue(Issue().fold(), "2030-01-01")


@pytest.mark.parametrize("role", ROLES)
def test_fold_respects_the_role_table_for_every_event(role):
    for etype in ("comment", "accept", "claim"):
        i = Issue("wish" if etype == "claim" else "problem")
        data = {"comment": {"text": "x"}, "accept": {}, "claim": {"by": "x"}}[etype]
        i.ev(etype, data, role=role)
        entry = i.fold().timeline[0]
        assert entry.valid == may_emit(role, etype)
        assert entry.reason == (None if may_emit(role, etype) else "role")
