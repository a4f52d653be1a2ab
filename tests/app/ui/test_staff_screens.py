"""Staff screens in the harness: layout by role and width, board filters and counts, acting
on an issue (only valid actions offered), echo wall publishing, figures with N, ledger export."""

from __future__ import annotations

import asyncio
from pathlib import Path

import flet as ft
import openpyxl
from harness import Harness
from staff_seed import make_staff, township

from app.device import Device
from app.services import Services
from app.ui.app import make_main
from sync import workflow as wf


def run_staff(device: Device, scenario, *, width: int = 1280, route: str = "/", web: bool = False) -> None:
    make_staff(device.services)

    async def go() -> None:
        h = await Harness.start(make_main(device), route=route, width=width, height=800, web=web)
        try:
            await scenario(h)
        finally:
            await h.close()

    asyncio.run(go())


def _state(services: Services, iid: str) -> wf.IssueState:
    return wf.fold(services.store.get("issue", iid),
                   [e for e in services.store.all("issue_event") if e["fields"]["issue"] == iid])


def test_grid_worker_keeps_the_field_app(run_app):
    async def scenario(h: Harness) -> None:
        assert not h.has_key("rail") and "今日工作" in h.screen_text()

    run_app(scenario)


def test_staff_get_a_rail_on_a_pc_and_a_bottom_bar_on_a_phone(device, services):
    township(services)

    async def wide(h: Harness) -> None:
        rail = h.by_key("rail")
        assert isinstance(rail, ft.NavigationRail) and h.top.navigation_bar is None
        assert [d.label for d in rail.destinations] == ["工单", "回音壁", "统计", "异常", "同步"]
        h.session.apply_patch(rail._i, {"selected_index": 1})  # what the client does on a tap
        await h.fire(rail, "change", 1)
        assert h.route == "/wall" and h.top.appbar.title.value == "回音壁"

    run_staff(device, wide)

    async def phone(h: Harness) -> None:
        assert not h.has_key("rail")
        assert [d.label for d in h.top.navigation_bar.destinations] == ["工单", "回音壁", "统计", "异常", "同步"]
        await h.nav(2)
        assert h.route == "/figures"
        # staff devices sync like any device: the sync screen inside the staff frame
        await h.nav(4)
        assert h.route == "/sync" and h.top.appbar.title.value == "同步"
        assert h.top.navigation_bar.selected_index == 4
        assert len(h.top.navigation_bar.destinations) == 5
        assert h.has_key("sync-status") and h.has_key("sync-waiting")
        # the staff frame's message host only, not a second one from the field screen
        assert h.keys("dialog-host") == ["dialog-host"]

    run_staff(device, phone, width=390)


def test_board_filters_counts_and_search(device, services):
    ids = township(services)

    def shown(h: Harness) -> set[str]:
        return {k.split(":", 1)[1] for k in h.keys("board:")}

    async def scenario(h: Harness) -> None:
        assert shown(h) == {ids["lamp"], ids["road"], ids["water"], ids["trash"]}
        assert h.by_key("bstatus:submitted").label.value.endswith(" 2")
        assert h.by_key("bstatus:assigned").label.value.endswith(" 1")
        # new issues first (the later report on top), then the rest
        assert h.keys("board:")[:2] == [f"board:{ids['trash']}", f"board:{ids['lamp']}"]
        await h.select("filter-village", ids["v-west"])
        assert shown(h) == {ids["water"], ids["trash"]}
        assert h.by_key("bstatus:submitted").label.value.endswith(" 1")
        await h.tap("bstatus:resolved")
        assert shown(h) == {ids["water"]}
        await h.tap("bstatus:all")
        await h.select("filter-village", "")
        await h.tap("filter-overdue")
        assert shown(h) == {ids["road"]}
        await h.tap("filter-overdue")
        await h.tap("filter-supervised")
        assert shown(h) == {ids["road"]}
        await h.tap("filter-supervised")
        await h.select("filter-category", "env")
        assert shown(h) == {ids["trash"]}
        await h.select("filter-category", "")
        await h.select("filter-appeal", "complaint")
        assert shown(h) == {ids["water"]}
        await h.select("filter-appeal", "")
        await h.select("filter-urgency", "critical")
        assert shown(h) == {ids["road"]}
        await h.select("filter-urgency", "")
        await h.type("board-search", "路灯")
        assert shown(h) == {ids["lamp"]}

    run_staff(device, scenario)


def test_accept_then_assign_with_default_deadline_then_resolve(device, services):
    ids = township(services)
    iid = ids["lamp"]

    async def scenario(h: Harness) -> None:
        await h.tap(f"board:{iid}")
        assert h.route == f"/board/{iid}"
        assert h.keys("act:") == ["act:accept", "act:reject", "act:assign", "act:supervise", "act:comment"]
        assert not h.has_key("act:resolve") and not h.has_key("act:close")
        await h.tap("act:accept")
        await h.tap("act-save")
        assert _state(services, iid).state == "accepted"
        assert "act:accept" not in h.keys("act:")
        await h.tap("act:assign")
        staff = device.staff
        assert h.by_key("act-f:deadline").value == staff.default_deadline("infra.lighting")
        await h.tap("act-save")  # no unit yet
        assert _state(services, iid).state == "accepted"
        assert "责任单位" in h.screen_text()
        await h.select("act-f:unit", ids["u-power"])
        await h.type("act-f:deadline", "2099-03-02")
        await h.tap("act-save")
        st = _state(services, iid)
        assert (st.state, st.unit, st.deadline) == ("assigned", ids["u-power"], "2099-03-02")
        assert "供电所" in h.by_key("issue-unit").value
        await h.tap("act:resolve")
        await h.type("act-f:reply", "已更换灯泡")
        await h.tap("act-save")
        assert _state(services, iid).state == "resolved"
        # the timeline shows each step with who did it
        titles = [h.by_key(k).title.value for k in h.keys("event:")]
        assert [x.split(" → ")[0] for x in titles] == ["上报", "受理", "派单", "办结"]
        assert services.profile["user_name"] in h.by_key("event:3").subtitle.value
        assert h.keys("act:") == ["act:comment"]  # waiting for the resident's re-check

    run_staff(device, scenario, route="/board")


def test_supervise_extend_return_and_reject_from_the_screen(device, services):
    ids = township(services)

    async def scenario(h: Harness) -> None:
        await h.go(f"/board/{ids['road']}")
        # 转办 too; 县级督办 is not the township's
        assert set(h.keys("act:")) == {"act:return", "act:extend", "act:supervise", "act:progress",
                                       "act:resolve", "act:comment", "act:transfer"}
        await h.tap("act:supervise")
        await h.select("act-f:level", "3")
        await h.type("act-f:note", "挂牌督办")
        await h.tap("act-save")
        assert _state(services, ids["road"]).supervised == 3
        await h.tap("act:extend")
        await h.type("act-f:deadline", "2099-05-01")
        await h.tap("act-save")  # a reason is required
        assert _state(services, ids["road"]).deadline == "2020-01-10"
        await h.type("act-f:reason", "等材料")
        await h.tap("act-save")
        assert _state(services, ids["road"]).deadline == "2099-05-01"
        await h.tap("act:return")
        await h.type("act-f:reason", "不属于供电所")
        await h.tap("act-save")
        st = _state(services, ids["road"])
        assert st.state == "accepted" and st.unit is None
        await h.tap("act:reject")
        await h.type("act-f:reason", "重复上报")
        await h.tap("act-save")
        assert _state(services, ids["road"]).state == "closed"
        assert h.keys("act:") == ["act:reopen", "act:comment"]

    run_staff(device, scenario)


def test_publish_on_the_echo_wall_with_public_wording(device, services):
    ids = township(services)
    iid = ids["water"]

    async def scenario(h: Harness) -> None:
        await h.go("/wall")
        assert h.keys("wall:") == [f"wall:{iid}"]
        assert not h.has_key(f"wall-text:{iid}")  # compact rows: the editor opens on a tap
        await h.tap(f"wall:{iid}")
        assert h.by_key(f"wall-text:{iid}").value == "已清洗水箱"
        await h.type(f"wall-title:{iid}", "西湖村自来水恢复清洁")
        await h.type(f"wall-text:{iid}", "镇水务站清洗了水箱，水质已复检合格。")
        await h.tap(f"wall-publish:{iid}")
        st = _state(services, iid)
        assert st.published and st.public_title == "西湖村自来水恢复清洁"
        assert st.public_text == "镇水务站清洗了水箱，水质已复检合格。"
        assert "已公开 1 / 共 1" in h.by_key("wall-count").value
        await h.tap(f"wall-unpublish:{iid}")
        assert not _state(services, iid).published

    run_staff(device, scenario)


def test_figures_show_n_and_the_ledger_exports(device, services):
    ids = township(services)

    async def scenario(h: Harness) -> None:
        await h.go("/figures")
        assert h.by_key("total-n:response_rate").value.startswith("N=")
        assert h.has_key(f"g-{ids['v-west']}:response_rate")
        assert h.by_key(f"g-{ids['v-west']}-value:response_rate").value == "100.0%"
        assert isinstance(h.by_key("total-bar:response_rate"), ft.ProgressBar)
        await h.tap("period:year")
        assert "年" in h.by_key("period-label").value
        await h.tap("ledger-export")
        for _ in range(50):  # the export runs in a worker thread
            if h.has_key("ledger-path"):
                break
            await h.settle()
        text = h.by_key("ledger-path").value
        path = Path(text.split("：", 1)[1])
        assert path.exists() and path.parent.name == "exports"
        ws = openpyxl.load_workbook(path).active
        cells = [c.value for row in ws.iter_rows() for c in row if c.value is not None]
        assert any("道路塌陷" in str(c) for c in cells) and "供电所" in cells

    run_staff(device, scenario)


def test_ledger_export_in_a_browser_is_a_download(device, services):
    township(services)

    async def scenario(h: Harness) -> None:
        got: list = []
        h.conn.answers["save_file"] = lambda args: got.append(args)
        await h.go("/figures")
        await h.tap("ledger-export")
        for _ in range(50):  # the export runs in a worker thread
            if got and h.has_key("notice-text"):
                break
            await h.settle()
        [path] = (services.store.data_dir / "exports").glob("ledger-*.xlsx")
        assert got[0]["file_name"] == path.name and got[0]["src_bytes"] == path.read_bytes()
        notice = h.by_key("notice-text").value
        assert path.name in notice and "浏览器" in notice
        assert not h.has_key("ledger-path") and str(path.parent) not in h.screen_text()

    run_staff(device, scenario, web=True)


def test_flags_screen_lists_invalid_events(device, services):
    ids = township(services)
    from staff_seed import event
    event(services, ids["water"], "resolve", {"reply": "第二次答复"}, actor="staff-2")

    async def scenario(h: Harness) -> None:
        await h.go("/flags")
        assert h.keys("flag:") == ["flag:0"]
        assert "第二次答复" in h.by_key("flag:0").subtitle.value
        await h.tap("flag:0")
        assert h.route == f"/board/{ids['water']}"
        assert h.has_key("event-flag:3")

    run_staff(device, scenario)


def test_resolve_with_an_after_photo(device, services, tmp_path):
    from staff_seed import event
    from ui_photos import make_jpeg, picker_answer
    ids = township(services)
    iid = ids["lamp"]
    event(services, iid, "assign", {"unit": ids["u-power"], "deadline": "2099-01-01"})
    pic = make_jpeg(tmp_path / "after.jpg", (30, 120, 200))

    async def scenario(h: Harness) -> None:
        h.conn.answers["pick_files"] = picker_answer([pic])
        await h.go(f"/board/{iid}")
        await h.tap("act:resolve")
        await h.tap("act-photo-add")
        assert h.has_key("act-photo-thumb:0")
        await h.type("act-f:reply", "已更换灯泡")
        await h.tap("act-save")
        st = _state(services, iid)
        assert st.state == "resolved"
        resolve = [e for e in st.timeline if e.type == "resolve"][0]
        shas = resolve.event["fields"]["data"]["photos"]
        assert len(shas) == 1 and services.store.photo_bytes(shas[0])
        photo = [p for p in services.store.all("photo") if p["fields"]["sha256"] == shas[0]][0]
        assert photo["grid"] == ids["g-east"]  # in the issue's grid: the worker's phone gets it
        assert photo["fields"]["attached_to"] == {"kind": "issue", "id": iid}
        assert h.has_key("event-photo:2:0")

    run_staff(device, scenario)


def test_figures_group_by_grid_and_category(device, services):
    ids = township(services)

    async def scenario(h: Harness) -> None:
        await h.go("/figures")
        await h.tap("group:grid")
        assert h.has_key(f"g-{ids['g-west']}:response_rate")
        assert not h.has_key(f"g-{ids['v-west']}:response_rate")
        await h.tap("group:category")
        assert h.has_key("g-env.garbage:response_rate")

    run_staff(device, scenario)


def test_not_solved_recheck_shows_as_redo_on_the_board(device, services):
    from staff_seed import event
    ids = township(services)
    # the resident said "not solved": back to the unit (重办), counted
    event(services, ids["water"], "recheck", {"solved": False, "satisfied": False, "reason": "还是浑"},
          role="grid_worker", actor="w")

    async def scenario(h: Harness) -> None:
        tile = h.by_key(f"board:{ids['water']}")
        assert "重办1次" in " ".join(c.value for c in h.all(ft.Text, root=tile) if isinstance(c.value, str))
        assert h.by_key("bstatus:assigned").label.value.endswith(" 2")

    run_staff(device, scenario)


def test_every_staff_screen_has_its_words_in_english_too(device, services):
    ids = township(services)
    services.set_language("en")

    async def scenario(h: Harness) -> None:
        for route, title in [("/board", "Issue board"), (f"/board/{ids['road']}", "Handle issue"),
                             ("/wall", "Echo wall"), ("/figures", "Figures"), ("/flags", "Conflicts and flags")]:
            await h.go(route)
            assert h.top.appbar.title.value == title
            assert "ui.staff." not in h.screen_text(), route
        await h.go(f"/board/{ids['road']}")
        for action in h.keys("act:"):
            await h.tap(action)
            assert "ui.staff." not in h.screen_text(), action
            await h.tap(action)  # closes the form again

    run_staff(device, scenario)
