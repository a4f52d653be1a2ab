"""Staff journey in chromium at a desktop viewport (1280x800, no internet): the board with
the navigation rail, accept an issue, assign it to a unit with a deadline, resolve it."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import AppServer, Phone

pytestmark = pytest.mark.browser

DESK = {"width": 1280, "height": 800}


def _seed(data: Path) -> dict[str, str]:
    from app.services import Services
    from sync import records as rec_mod
    from sync import workflow as wf
    from sync.clock import HybridClock

    clock = HybridClock("seed")
    svc = Services.open(data)
    try:
        svc.store.meta_set("profile", {**svc.profile, "role": "township_staff", "user_name": "李干事"})
        village, _ = rec_mod.new_record("village", "township", {"name": "东风村"}, clock, "server")
        grid, _ = rec_mod.new_record("grid", "township", {"name": "东风一组", "village": village["id"]},
                                     clock, "server")
        unit, _ = rec_mod.new_record("unit", "township", {"name": "供电所"}, clock, "server")
        issue, _ = rec_mod.new_record("issue", grid["id"], {
            "issue_kind": "problem", "title": "村口路灯不亮", "category": "infra.lighting", "reporter": "w1",
            "urgency": "normal", "reporter_visibility": "named"}, clock, "w1")
        report, _ = wf.new_event(issue, "report", {}, clock, "w1", "grid_worker")
        svc.store.apply_remote([village, grid, unit, issue, report], None)
        return {"issue": issue["id"], "unit": unit["id"]}
    finally:
        svc.close()


def test_staff_assigns_with_a_deadline_and_resolves(browser, assets, tmp_path):
    data = tmp_path / "data"
    ids = _seed(data)
    server = AppServer(data, assets).start()
    try:
        phone = Phone(browser)
        phone.open(server.url, viewport=DESK, ready=("heading", "工单台"))
        page = phone.page
        phone.shot("staff-board-desktop")
        phone.tap("button", "村口路灯不亮")
        page.get_by_role("heading", name="办理工单").wait_for(timeout=30_000)
        phone.tap("button", "受理", exact=True)
        phone.tap("button", "确认受理")
        phone.wait_for("button", "派单")
        phone.tap("button", "派单", exact=True)
        # the named node spans the row; the menu opens from a click on the field itself
        box = page.locator('[flt-semantics-identifier="act-f:unit"]').bounding_box()
        page.mouse.click(box["x"] + 40, box["y"] + box["height"] / 2)
        phone.wait_for("button", "供电所", timeout_s=20)
        phone.tap("button", "供电所", exact=True)  # the open menu's option
        phone.type_into("办结时限（年-月-日）", "2099-03-02")
        phone.shot("staff-assign-desktop")
        phone.tap("button", "确认派单")
        phone.wait_for("button", "办结")
        phone.tap("button", "办结", exact=True)
        phone.type_into("办理答复", "已更换灯泡，恢复照明")
        phone.tap("button", "确认办结")
        phone.wait_for("button", "留言")
        phone.shot("staff-resolved-desktop")
        phone.close()
    finally:
        server.stop()

    from app.services import Services
    from sync import workflow as wf

    svc = Services.open(data)
    try:
        issue = svc.store.get("issue", ids["issue"])
        evs = [e for e in svc.store.all("issue_event") if e["fields"]["issue"] == ids["issue"]]
        st = wf.fold(issue, evs)
        assert (st.state, st.unit, st.deadline, st.reply) == ("resolved", ids["unit"], "2099-03-02",
                                                              "已更换灯泡，恢复照明")
        staff = [e["fields"] for e in evs if e["fields"]["role"] == "township_staff"]
        assert [f["type"] for f in sorted(staff, key=lambda f: f["at"])][:1] == ["accept"]
        assert {f["type"] for f in staff} == {"accept", "assign", "resolve"}
    finally:
        svc.close()
