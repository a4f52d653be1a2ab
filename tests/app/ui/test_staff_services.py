"""StaffServices without the UI: board filters and counts, staff actions and the state they
lead to, default deadlines in working days, echo wall, flags, figures and the ledger file."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from staff_seed import event, make_staff, ref, township

from app.services import ServiceError
from app.services.staff import StaffServices, is_staff, role_of
from sync import workflow as wf
from sync.reports.dates import add_working_days


@pytest.fixture
def staff(device) -> StaffServices:
    make_staff(device.services, enrolled=True)
    return device.staff


def _state(svc: StaffServices, iid: str) -> wf.IssueState:
    return wf.fold(svc.store.get("issue", iid),
                   [e for e in svc.store.all("issue_event") if e["fields"]["issue"] == iid])


def test_role_comes_from_enrollment_then_profile(services):
    assert role_of(services) == "grid_worker" and not is_staff(services)
    p = services.profile
    services.store.meta_set("profile", {**p, "role": "admin"})
    assert is_staff(services)
    services.store.meta_set("sync.enrollment", {"user": {"role": "grid_worker"}})
    assert not is_staff(services)  # the enrolled account wins over the profile


def test_board_filters_counts_search_and_deadline_order(staff):
    ids = township(staff.services)
    b = staff.board()
    assert b["total"] == 4
    assert b["counts"] == {"submitted": 2, "assigned": 1, "resolved": 1}
    # by deadline: earliest first, issues without a deadline last
    assert [r["id"] for r in staff.board(sort="deadline")["rows"]][:2] == [ids["road"], ids["water"]]
    assert {r["id"] for r in staff.board({"village": ids["v-west"]})["rows"]} == {ids["water"], ids["trash"]}
    assert [r["id"] for r in staff.board({"grid": ids["g-east"], "status": "submitted"})["rows"]] == [ids["lamp"]]
    # a top category matches its children
    assert {r["id"] for r in staff.board({"category": "infra"})["rows"]} == {ids["lamp"], ids["road"], ids["water"]}
    assert [r["id"] for r in staff.board({"appeal_type": "complaint"})["rows"]] == [ids["water"]]
    assert [r["id"] for r in staff.board({"urgency": "critical"})["rows"]] == [ids["road"]]
    assert [r["id"] for r in staff.board({"overdue": True})["rows"]] == [ids["road"]]
    assert [r["id"] for r in staff.board({"supervised": True})["rows"]] == [ids["road"]]
    assert [r["id"] for r in staff.board({"q": "垃圾"})["rows"]] == [ids["trash"]]
    # counts follow every filter except status itself
    east = staff.board({"village": ids["v-east"], "status": "assigned"})
    assert east["counts"] == {"submitted": 1, "assigned": 1} and len(east["rows"]) == 1


def test_board_sees_new_events_after_caching(staff):
    ids = township(staff.services)
    assert staff.board({"status": "accepted"})["rows"] == []
    event(staff.services, ids["lamp"], "accept", {})
    assert [r["id"] for r in staff.board({"status": "accepted"})["rows"]] == [ids["lamp"]]


def test_every_staff_action_gives_the_right_state(staff):
    ids = township(staff.services)
    iid = ids["lamp"]
    assert staff.staff_actions(iid) == ["accept", "reject", "assign", "supervise", "comment"]
    steps = [
        ("accept", {}, "accepted"),
        ("assign", {"unit": ids["u-power"], "deadline": "2099-01-05"}, "assigned"),
        ("return", {"reason": "不属于本单位"}, "accepted"),
        ("assign", {"unit": ids["u-water"], "deadline": "2099-01-05"}, "assigned"),
        ("extend", {"deadline": "2099-02-01", "reason": "等材料"}, "assigned"),
        ("supervise", {"level": "3", "note": "挂牌"}, "assigned"),
        ("progress", {"note": "已派人查看"}, "in_progress"),
        ("resolve", {"reply": "已更换灯泡"}, "resolved"),
    ]
    for etype, data, after in steps:
        assert etype in staff.staff_actions(iid)
        assert staff.act(iid, etype, data) == {}, etype
        assert _state(staff, iid).state == after, etype
    st = _state(staff, iid)
    assert st.unit == ids["u-water"] and st.deadline == "2099-02-01" and st.supervised == 3
    assert st.reply == "已更换灯泡"
    # the re-check is the resident's (grid worker): staff cannot close before it
    assert "close" not in staff.staff_actions(iid)
    assert staff.act(iid, "close", {})["type"]
    event(staff.services, iid, "recheck", {"solved": True, "satisfied": True}, role="grid_worker", actor="w")
    assert staff.act(iid, "close", {"outcome": "已解决"}) == {}
    assert _state(staff, iid).state == "closed" and _state(staff, iid).outcome == "已解决"
    assert staff.staff_actions(iid) == ["reopen", "comment"]
    assert staff.act(iid, "reopen", {"reason": "又坏了"}) == {}
    assert _state(staff, iid).state == "assigned"
    # every event is staff's, with who and when, and none landed flagged
    evs = [e["fields"] for e in staff.store.all("issue_event") if e["fields"]["issue"] == iid]
    mine = [f for f in evs if f["actor"] == staff.services.user_id]
    assert len(mine) == 10 and all(f["role"] == "township_staff" and f["at"] for f in mine)
    assert not _state(staff, iid).flagged


def test_reject_needs_a_reason_and_bad_input_is_explained(staff):
    ids = township(staff.services)
    iid = ids["trash"]
    errs = staff.act(iid, "reject", {"reason": "  "})
    assert set(errs) == {"reason"}
    errs = staff.act(iid, "assign", {"unit": ids["u-water"], "deadline": "明天"})
    assert set(errs) == {"deadline"}
    assert set(staff.act(iid, "supervise", {"level": "x"})) == {"level"}
    assert _state(staff, iid).state == "submitted"  # nothing saved
    assert staff.act(iid, "reject", {"reason": "重复上报"}) == {}
    st = _state(staff, iid)
    assert st.state == "closed" and st.outcome == "rejected" and st.reason == "重复上报"


def test_default_deadline_counts_working_days(staff):
    monday = dt.date(2026, 3, 2)
    assert staff.deadline_days("safety.fire") == 3
    assert staff.default_deadline("safety.fire", monday) == "2026-03-05"
    # a Friday start skips the weekend
    assert staff.default_deadline("env.garbage", dt.date(2026, 3, 6)) == \
        add_working_days(dt.date(2026, 3, 6), 7).isoformat() == "2026-03-17"
    top = ref(staff.services, "category", {"name": "治安"})
    kid = ref(staff.services, "category", {"name": "纠纷", "parent": top})
    assert staff.deadline_days(kid) == 10  # no rule on either record: the fallback


def test_echo_wall_publish_with_public_wording_and_unpublish(staff):
    ids = township(staff.services)
    items = staff.wall_items()
    assert [i["id"] for i in items] == [ids["water"]]
    assert items[0]["public_text"] == "已清洗水箱" and not items[0]["published"]
    assert set(staff.publish(ids["water"], "", "x")) == {"public_title"}
    assert staff.publish(ids["water"], "西湖村自来水已恢复", "水务站清洗了水箱。") == {}
    st = _state(staff, ids["water"])
    assert st.published and st.public_title == "西湖村自来水已恢复" and st.public_text == "水务站清洗了水箱。"
    assert staff.wall_items()[0]["published"]
    assert staff.unpublish(ids["water"]) == {}
    assert not _state(staff, ids["water"]).published
    assert staff.unpublish(ids["water"])["type"]  # not published: nothing to take down


def test_flagged_events_and_conflicts_are_listed(staff):
    ids = township(staff.services)
    # two staff resolved it offline: the second resolve lands flagged
    event(staff.services, ids["water"], "resolve", {"reply": "第二次答复"}, actor="staff-2")
    flagged = staff.flagged_events()
    assert len(flagged) == 1 and flagged[0]["issue"] == ids["water"] and "第二次答复" in flagged[0]["detail"]
    assert flagged[0]["flag"]
    assert staff.board({"flagged": True})["rows"][0]["id"] == ids["water"]


def test_figures_have_n_and_definitions(staff):
    ids = township(staff.services)
    rep = staff.reports.figures(staff.reports.period_text("year"))
    labels = {g.key for g in rep.groups}
    assert {ids["v-east"], ids["v-west"]} <= labels
    west = next(g for g in rep.groups if g.key == ids["v-west"])
    # the water issue was handled; the rubbish one, reported today, is not due a response yet
    resp = west.figures["response_rate"]
    assert (resp.numerator, resp.denominator, resp.display()) == (1, 1, "100.0%")
    assert all(f.definition for f in rep.total.figures.values())
    with pytest.raises(ServiceError):
        staff.reports.figures("20xx")


def test_ledger_export_writes_an_xlsx(staff):
    ids = township(staff.services)
    path = staff.reports.export_ledger(staff.reports.period_text("year"))
    assert path.parent == (staff.store.data_dir / "exports").resolve() and path.suffix == ".xlsx"
    ws = openpyxl.load_workbook(path).active
    text = " ".join(str(c.value) for row in ws.iter_rows() for c in row if c.value is not None)
    for title in ("路灯不亮", "道路塌陷", "自来水浑浊", "垃圾没人清"):
        assert title in text
    assert "供电所" in text and "序号" in text
    assert ids["lamp"] not in text  # titles, not record ids


def test_wish_claim_fulfil_feedback_by_staff(staff):
    from staff_seed import issue
    ids = township(staff.services)
    wid = issue(staff.services, ids["g-east"], "想要一台轮椅", issue_kind="wish", category="wish.goods")
    assert staff.staff_actions(wid) == ["reject", "assign", "supervise", "claim", "comment"]  # 派单 like a problem
    assert set(staff.act(wid, "claim", {})) == {"claimant"}
    red_cross = ref(staff.services, "claimant", {"name": "镇红十字会", "claimant_kind": "unit"}, ids["g-east"])
    west = ref(staff.services, "claimant", {"name": "西湖志愿队", "claimant_kind": "volunteer"}, ids["g-west"])
    assert set(staff.act(wid, "claim", {"claimant": west})) == {"claimant"}  # another grid's register
    assert staff.act(wid, "claim", {"claimant": red_cross}) == {}
    assert staff.staff_actions(wid) == ["fulfil", "comment"]
    assert staff.act(wid, "fulfil", {"note": "已送到家"}) == {}
    assert staff.act(wid, "feedback", {"satisfied": "yes", "text": "很满意"}) == {}
    st = _state(staff, wid)
    assert (st.state, st.claimed_by, st.satisfied, st.reply) == ("closed", "镇红十字会", True, "已送到家")


def test_fulfilled_wish_can_go_on_the_wall_and_rejected_never_shows(staff):
    from staff_seed import issue
    ids = township(staff.services)
    wid = issue(staff.services, ids["g-east"], "想要一台轮椅", issue_kind="wish", category="wish.goods")
    red_cross = ref(staff.services, "claimant", {"name": "镇红十字会", "claimant_kind": "unit"}, ids["g-east"])
    assert staff.act(wid, "claim", {"claimant": red_cross}) == {}
    staff.act(wid, "fulfil", {"note": "已送到家"})
    staff.act(ids["trash"], "reject", {"reason": "重复"})
    items = {i["id"]: i for i in staff.wall_items()}
    assert set(items) == {ids["water"], wid}
    assert items[wid]["public_text"] == "已送到家" and items[wid]["kind"] == "wish"
    assert staff.publish(wid, "轮椅送到了", "镇红十字会认领并送到。") == {}
    assert _state(staff, wid).published


def test_board_regroups_events_when_one_arrives(staff):
    ids = township(staff.services)
    first = staff.services.events_by_issue()
    assert staff.services.events_by_issue() is first  # nothing new: the grouping is reused
    event(staff.services, ids["trash"], "accept", {})
    again = staff.services.events_by_issue()
    assert again is not first and [e["fields"]["type"] for e in again[ids["trash"]]] == ["report", "accept"]


def test_publish_refuses_the_residents_name_and_address(staff):
    from staff_seed import event, issue
    ids = township(staff.services)
    hid, errs = staff.services.save_household({"head": "李桂兰", "address": "东风村1组2号", "phone": "13812345678"})
    assert not errs
    iid = issue(staff.services, ids["g-east"], "屋顶漏雨", category="infra.other", household=hid)
    event(staff.services, iid, "assign", {"unit": ids["u-water"], "deadline": "2099-01-01"})
    event(staff.services, iid, "resolve", {"reply": "已修好"})
    errs = staff.publish(iid, "屋顶修好了", "李桂兰家（东风村1组2号）的屋顶已修好。")
    assert set(errs) == {"public_text"} and "李桂兰" in errs["public_text"] and "东风村1组2号" in errs["public_text"]
    assert not _state(staff, iid).published
    assert set(staff.publish(iid, "李桂兰家屋顶修好了", "已修好。")) == {"public_title"}
    assert staff.publish(iid, "屋顶修好了", "一户村民家的屋顶已修好。") == {}
    assert _state(staff, iid).published


def test_publish_uses_the_one_guard_care_tags_numbers_and_the_whole_village(staff):
    """The curation screen's guard is sync.public_guard, the same the server applies."""
    from staff_seed import event, issue
    ids = township(staff.services)
    other, errs = staff.services.save_household({"head": "周德顺", "address": "东风村4组7号",  # not linked
                                        "village": ids["v-east"]})
    assert not errs
    iid = issue(staff.services, ids["g-east"], "屋顶漏雨", category="infra.other")
    event(staff.services, iid, "assign", {"unit": ids["u-water"], "deadline": "2099-01-01"})
    event(staff.services, iid, "resolve", {"reply": "已修好"})
    for text in ("周 德 顺家屋顶已修好", "独居老人家屋顶已修好", "低保户屋顶已修好",
                 "联系电话一三八一二三四五六七八", "身份证 110105 19900101 123X", "住在十二号"):
        errs = staff.publish(iid, "屋顶修好了", text)
        assert set(errs) == {"public_text"} and "公开内容含有居民个人信息" in errs["public_text"], text
    assert not _state(staff, iid).published


def test_metrics_and_csv_ledger_exports(staff):
    import csv
    township(staff.services)
    year = staff.reports.period_text("year")
    m = staff.reports.export_metrics(year, "village")
    ws = openpyxl.load_workbook(m).active
    cells = [c.value for row in ws.iter_rows() for c in row if c.value is not None]
    assert "西湖村" in cells and "东风村" in cells
    path = staff.reports.export_ledger(year, "csv")
    with path.open(encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][0] == "序号" and len(rows) >= 5
    assert sum(1 for r in rows[1:] if any("垃圾没人清" in c for c in r)) == 1


def test_default_deadline_follows_official_and_local_holidays(staff):

    # 2026-09-28 + 10 working days crosses the National Day week and its make-up Saturday
    assert staff.default_deadline("infra.road", dt.date(2026, 9, 28)) == "2026-10-16"
    # a local rest day the admin added (a synced ``holiday`` record) moves it one more day
    ref(staff.services, "holiday", {"date": "2026-10-14", "name": "县庆"})
    assert staff.default_deadline("infra.road", dt.date(2026, 9, 28)) == "2026-10-19"
    assert staff.deadline_notice("2026-10-19") is None or "2027" in staff.deadline_notice("2026-10-19")
    assert "2099" in staff.deadline_notice("2099-01-05")
