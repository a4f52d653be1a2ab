"""Staff journey in chromium at a desktop viewport (1280x800, no internet): the board with
the navigation rail, accept an issue, assign it to a unit with a deadline, resolve it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.browser import AppServer, Phone

pytestmark = pytest.mark.browser

DESK = {"width": 1280, "height": 800}


def _seed(data: Path) -> dict[str, str]:
    from app.services import Services
    from sync import workflow as wf
    from sync.changes import new_record
    from sync.clock import HybridClock

    clock = HybridClock("seed")
    svc = Services.open(data)
    try:
        svc.store.meta_set("profile", {**svc.profile, "role": "township_staff", "user_name": "李干事"})
        village, _ = new_record("village", "township", {"name": "东风村"}, clock, "server")
        grid, _ = new_record("grid", "township", {"name": "东风一组", "village": village["id"]},
                                     clock, "server")
        unit, _ = new_record("unit", "township", {"name": "供电所"}, clock, "server")
        issue, _ = new_record("issue", grid["id"], {
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


DESK_1366 = {"width": 1366, "height": 768}
PLACES = ("东风村", "西湖村", "南山村")
TITLES = ("路灯不亮", "道路塌陷", "垃圾没人清", "自来水浑浊", "排水沟堵塞", "桥栏杆松动")


def _seed_township(data: Path) -> dict[str, str]:
    """40 issues in three villages: old ones dispatched (one long overdue), resolved, and new
    reports; the newest report carries a photo."""
    import io

    from PIL import Image

    from app.services import Services
    from sync import workflow as wf
    from sync.changes import new_record
    from sync.chinatime import china_today
    from sync.clock import HybridClock
    from sync.reports.dates import add_working_days

    clock = HybridClock("seed")
    today = china_today()
    svc = Services.open(data)
    out: dict[str, str] = {}
    try:
        svc.store.meta_set("profile", {**svc.profile, "role": "township_staff", "user_name": "李干事"})
        recs = []
        unit, _ = new_record("unit", "township", {"name": "供电所"}, clock, "server")
        recs.append(unit)
        grids = []
        for name in PLACES:
            v, _ = new_record("village", "township", {"name": name}, clock, "server")
            g, _ = new_record("grid", "township", {"name": "一组", "village": v["id"]}, clock, "server")
            recs += [v, g]
            grids.append(g["id"])
        house, _ = new_record("household", grids[1], {
            "village": recs[-2]["id"], "address": "南山村一组8号", "head": "王建国", "member_count": 2},
            clock, "w1")
        recs.append(house)
        buf = io.BytesIO()
        Image.new("RGB", (800, 600), (220, 30, 30)).save(buf, "JPEG", quality=90)
        photo = svc.add_photo(buf.getvalue()).sha256
        for i in range(40):
            newest = i == 39
            title = "村口路灯不亮（最新）" if newest else f"{TITLES[i % len(TITLES)]}（{i + 1}号）"
            fields = {"issue_kind": "problem", "title": title, "category": "infra.lighting", "reporter": "w1",
                      "urgency": "normal", "reporter_visibility": "named"}
            if newest:
                fields["photos"] = [photo]
            if i == 10:  # resolved, and about a household the echo wall must not name
                fields["household"] = house["id"]
            issue, _ = new_record("issue", grids[i % 3], fields, clock, "w1")
            day = f"2026-{1 + i // 28:02d}-{1 + i % 28:02d}T09:00:00+08:00"
            evs = [wf.new_event(issue, "report", {}, clock, "w1", "grid_worker", at=day)[0]]
            if i < 30:  # the older ones are with the unit; the first is long overdue
                deadline = "2020-01-10" if i == 0 else add_working_days(today, 5 + i).isoformat()
                evs.append(wf.new_event(issue, "assign", {"unit": unit["id"], "deadline": deadline}, clock,
                                        "s1", "township_staff", after=evs)[0])
            if 10 <= i < 20:
                evs.append(wf.new_event(issue, "resolve", {"reply": "已办结"}, clock, "s1", "township_staff",
                                        after=evs)[0])
            recs += [issue, *evs]
            out[title] = issue["id"]
        svc.store.apply_remote(recs, None)
        return out
    finally:
        svc.close()


def test_staff_desk_at_1366x768(browser, assets, tmp_path):
    """The desk table at an office PC's screen: 15+ rows visible below the one-line filter
    bar, new reports on top, a header click sorts, the keyboard opens a row, and the issue
    page shows the worker's photo."""
    from PIL import Image

    data = tmp_path / "data"
    ids = _seed_township(data)
    server = AppServer(data, assets).start()
    try:
        phone = Phone(browser)
        phone.open(server.url, viewport=DESK_1366, ready=("heading", "工单台"))
        page = phone.page
        shot = phone.shot("staff-desk-1366")

        def rows_in_view() -> list[tuple[float, str]]:
            out = []
            for b in page.get_by_role("button").all():
                name = b.get_attribute("aria-label") or b.inner_text() or ""
                box = b.bounding_box()
                if box and any(t in name for t in TITLES + ("村口路灯不亮",)) and box["y"] + box["height"] <= 768:
                    out.append((box["y"], name))
            return sorted(out)

        rows = rows_in_view()
        assert len(rows) >= 15, rows
        # new reports first: the newest one (with its village / grid and report date) on top
        assert "村口路灯不亮（最新）" in rows[0][1] and "东风村" in rows[0][1] and "2026-02-12" in rows[0][1]
        new = [n for _, n in rows if "已上报" in n]
        assert [n for _, n in rows[:len(new)]] == new and len(new) == 10
        # a header click sorts: by deadline, the long-overdue one first
        phone.tap("button", "时限")
        phone.wait_for("button", "超期")
        rows = rows_in_view()
        assert "（1号）" in rows[0][1] and "超期" in rows[0][1], rows[:3]
        phone.shot("staff-desk-1366-by-deadline")
        # back to the default order, then from the search box walk with Tab (through the
        # filters, the status chips and the column headers) to the top row and open it with Enter
        phone.tap("button", "默认排序")
        phone.type_into("搜索标题", "")
        walked = []
        for _ in range(60):
            page.keyboard.press("Tab")
            page.wait_for_timeout(120)
            walked.append(page.evaluate(
                "document.activeElement && (document.activeElement.getAttribute('aria-label')"
                " || document.activeElement.innerText) || ''"))
            if walked[-1].startswith("村口路灯不亮（最新）"):
                break
        assert walked[-1].startswith("村口路灯不亮（最新）"), walked
        reached = [next((i for i, w in enumerate(walked) if w.startswith(x)), -1) for x in ("全部 40", "标题", "时限")]
        assert -1 not in reached and reached == sorted(reached), walked
        page.keyboard.press("Enter")
        page.get_by_role("heading", name="办理工单").wait_for(timeout=30_000)
        page.wait_for_timeout(1500)
        detail = phone.shot("staff-desk-1366-issue")
        # the echo wall: compact rows; the editor is as wide as the screen and the privacy
        # guard's refusal shows in full
        phone.tap("button", "返回")
        phone.tap("tab", "回音壁") if page.get_by_role("tab", name="回音壁").count() else phone.tap("button", "回音壁")
        phone.wait_for("button", "（11号）")
        phone.shot("staff-wall-1366")
        phone.tap("button", "（11号）")
        phone.type_into("公开说明", "王建国家门口的排水沟已经疏通，雨天不再积水。")
        phone.tap("button", "公开到回音壁")
        phone.wait_for("button", "公开到回音壁")
        page.wait_for_timeout(1000)
        phone.shot("staff-wall-1366-refused")
        phone.close()
    finally:
        server.stop()

    # the worker's photo (solid red) is drawn on the issue page, not on the board
    def red_pixels(path: Path) -> int:
        im = Image.open(path).convert("RGB")
        return sum(1 for r, g, b in im.get_flattened_data() if r > 180 and g < 80 and b < 80)

    assert red_pixels(detail) > 2000
    assert red_pixels(shot) < 2000
    assert ids["村口路灯不亮（最新）"]
