"""The staff desk (issue 9, findings 5-7 and Build 3): the board's triage order, column sorts,
counts that add up, filters; units by name in the timeline; the worker's photos and the
visit on the issue page; the echo wall's compact, distinguishable rows and whole errors."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import flet as ft
from harness import Harness
from staff_seed import CLOCK, event, make_staff, ref, township
from ui_photos import make_jpeg

from app.device import Device
from app.services import Services, fmt_date
from app.services.staff import BOARD_COLUMNS
from app.ui.app import make_main
from sync import workflow as wf
from sync.changes import new_record
from sync.chinatime import CHINA_TZ
from sync.reports.dates import add_working_days, working_days_between

CHINA = CHINA_TZ


def run_staff(device: Device, scenario, *, width: int = 1366, height: int = 768, route: str = "/") -> None:
    make_staff(device.services)

    async def go() -> None:
        h = await Harness.start(make_main(device), route=route, width=width, height=height)
        try:
            await scenario(h)
        finally:
            await h.close()

    asyncio.run(go())


def reported(services: Services, grid: str, title: str, day: str, **fields) -> str:
    """An issue reported at noon (China time) on ``day`` (YYYY-MM-DD)."""
    f = {"issue_kind": "problem", "title": title, "reporter": "worker-1", "urgency": "normal",
         "reporter_visibility": "named", **fields}
    rec, _ = new_record("issue", grid, f, CLOCK, "worker-1")
    services.store.apply_remote([rec], None)
    ev, _ = wf.new_event(rec, "report", {}, CLOCK, "worker-1", "grid_worker", at=f"{day}T12:00:00+08:00")
    services.store.apply_remote([ev], None)
    return rec["id"]


def china_today() -> dt.date:
    return dt.datetime.now(CHINA).date()


# ---------------------------------------------------------------- services


def test_new_issues_come_first_then_the_newest_report(device, services):
    staff = device.staff
    ids = township(services)
    g = ids["g-east"]
    old_new = reported(services, g, "旧的新上报", "2026-01-05")
    new_new = reported(services, g, "刚上报", "2026-03-01")
    handled = reported(services, g, "早已派单", "2026-02-20")
    event(services, handled, "assign", {"unit": ids["u-water"], "deadline": "2099-01-01"})
    rows = staff.board()["rows"]
    order = [r["id"] for r in rows]
    new = [r for r in rows if r["status"] == "submitted"]
    # every 已上报 above every other row, newest report first among each group
    assert order[:len(new)] == [r["id"] for r in new]
    assert order.index(new_new) < order.index(old_new) < order.index(handled)
    assert all(a["reported_at"] >= b["reported_at"] for a, b in zip(new, new[1:], strict=False))


def test_every_column_sorts_both_ways_with_blanks_last(device, services):
    staff = device.staff
    township(services)
    for col in BOARD_COLUMNS:
        for desc in (False, True):
            rows = staff.board(sort=col, descending=desc)["rows"]
            assert len(rows) == 4, col
    by_deadline = staff.board(sort="deadline")["rows"]
    assert [r["deadline"] for r in by_deadline] == ["2020-01-10", "2099-12-31", "", ""]
    by_deadline_desc = staff.board(sort="deadline", descending=True)["rows"]
    assert [r["deadline"] for r in by_deadline_desc] == ["2099-12-31", "2020-01-10", "", ""]
    titles = [r["title"] for r in staff.board(sort="title")["rows"]]
    assert titles == sorted(titles)
    places = [r["place"] for r in staff.board(sort="place")["rows"]]
    assert places == sorted(places) and places[0] == "东风村 / 东风一组"
    levels = [r["supervised"] for r in staff.board(sort="supervised", descending=True)["rows"]]
    assert levels == [2, 0, 0, 0]
    states = [r["status"] for r in staff.board(sort="status")["rows"]]
    assert states == sorted(states, key=wf.STATES.index)


def test_a_limit_returns_the_first_rows_finished_and_counts_the_rest(device, services):
    staff = device.staff
    township(services)
    full = staff.board(sort="deadline")
    some = staff.board(sort="deadline", limit=2)
    assert some["matched"] == full["matched"] == 4 and some["counts"] == full["counts"]
    assert some["rows"] == full["rows"][:2]  # the same rows, with every column filled in
    assert {"reported_text", "due_text", "status_label", "grid"} <= set(some["rows"][0])
    assert not any(k.startswith("_") for r in full["rows"] for k in r)


def test_rows_carry_village_reported_date_unit_and_working_days_left(device, services):
    staff = device.staff
    ids = township(services)
    soon = add_working_days(china_today(), 3).isoformat()
    event(services, ids["lamp"], "assign", {"unit": ids["u-power"], "deadline": soon})
    rows = {r["id"]: r for r in staff.board()["rows"]}
    lamp = rows[ids["lamp"]]
    assert lamp["place"] == "东风村 / 东风一组" and lamp["village_name"] == "东风村"
    assert lamp["unit_name"] == "供电所"
    # reported just now, and shown as the screens show dates
    assert abs(lamp["reported_at"] - Services.now_ms()) < 60_000
    assert lamp["reported_text"] == fmt_date(lamp["reported_at"])
    assert (lamp["days_left"], lamp["due_text"]) == (3, "剩3个工作日")
    road = rows[ids["road"]]  # deadline 2020-01-10, long passed
    over = working_days_between(dt.date(2020, 1, 10), china_today())
    assert road["overdue"] and road["days_left"] == -over and road["due_text"] == f"超期{over}个工作日"
    water = rows[ids["water"]]  # resolved: its deadline no longer counts down
    assert water["deadline"] == "2099-12-31" and water["days_left"] is None and water["due_text"] == ""


def test_all_is_the_sum_of_the_chips_and_wishes_have_chips(device, services):
    staff = device.staff
    ids = township(services)
    wish = reported(services, ids["g-west"], "想要一台轮椅", "2026-02-02", issue_kind="wish")
    reported(services, ids["g-west"], "想学智能手机", "2026-02-03", issue_kind="wish")
    event(services, wish, "claim", {"by": "镇团委"})
    for kind in (None, "problem", "wish"):
        b = staff.board({"kind": kind})
        assert b["total"] == sum(b["counts"].get(s, 0) for s in b["states"]), kind
        assert set(b["counts"]) <= set(b["states"]), kind  # nothing counted without a chip
    every = staff.board()
    assert every["total"] == 6 and {"collected", "claimed", "fulfilled"} <= set(every["states"])
    wishes = staff.board({"kind": "wish"})
    assert wishes["states"] == list(wf.WISH_STATES) and wishes["counts"] == {"collected": 1, "claimed": 1}
    assert staff.board({"kind": "problem"})["total"] == 4
    # new wishes are new too: on top with the new problems
    top = [r["status"] for r in every["rows"][:3]]
    assert set(top) <= {"submitted", "collected"}


def test_the_timeline_names_the_unit_for_staff_and_worker_alike(device, services):
    ids = township(services)
    lamp = ids["lamp"]
    event(services, lamp, "assign", {"unit": "village-committee", "deadline": "2099-01-01"})
    unit = ids["u-water"]
    event(services, lamp, "return", {"reason": "退回"})
    event(services, lamp, "assign", {"unit": unit, "deadline": "2099-02-01"})
    # the field app's services (a grid worker's phone) and the staff's read the same text
    for svc in (services, device.staff.services):
        details = [e["detail"] for e in svc.issue(lamp)["timeline"] if e["type"] == "assign"]
        assert "村委会" in details[0] and "village-committee" not in details[0]
        assert "镇水务站" in details[1] and unit not in details[1]


# ---------------------------------------------------------------- screens


def _photo(services: Services, path: Path, color: tuple[int, int, int]) -> str:
    return services.add_photo(make_jpeg(path, color).read_bytes()).sha256


def test_issue_page_shows_the_workers_photos_the_visit_and_event_photos(device, services, tmp_path):
    ids = township(services)
    g = ids["g-east"]
    before = _photo(services, tmp_path / "a.jpg", (200, 40, 40))
    seen = _photo(services, tmp_path / "b.jpg", (40, 200, 40))
    after = _photo(services, tmp_path / "c.jpg", (40, 40, 200))
    iid = reported(services, g, "桥栏杆松动", "2026-03-02", photos=[before], category="infra.road",
                   description="桥东头两根栏杆晃动")
    hh = ref(services, "household", {"village": ids["v-east"], "address": "东风村3组12号", "head": "王建国",
                                     "member_count": 3})
    visit, _ = new_record("visit", g, {
        "household": hh, "visitor": "worker-1", "time": "2026-03-02T10:00:00+08:00", "kind": "routine",
        "seen": "栏杆底座锈断", "said": "孩子上学要过桥", "demands": [iid], "photos": [seen]}, CLOCK, "worker-1")
    services.store.apply_remote([visit], None)
    event(services, iid, "assign", {"unit": "village-committee", "deadline": "2099-01-01"})
    event(services, iid, "resolve", {"reply": "已焊接加固", "photos": [after]})

    async def scenario(h: Harness) -> None:
        await h.tap(f"board:{iid}")
        assert h.route == f"/board/{iid}"
        assert h.keys("issue-photo:") == ["issue-photo:0"]
        img = h.all(ft.Image, root=h.by_key("issue-photo:0"))[0]
        assert img.src == services.thumb(before)
        assert "东风村 / 东风一组" in h.by_key("issue-place").value
        assert "栏杆底座锈断" in h.by_key("visit-seen").value
        assert h.keys("visit-photo:") == ["visit-photo:0"]
        assert "村委会" in h.by_key("issue-unit").value
        # every event's photos, and no raw unit id anywhere on the page
        resolve = [k for k in h.keys("event:") if "办结" in h.by_key(k).title.value][0]
        assert h.has_key(f"event-photo:{resolve.split(':')[1]}:0")
        assert "village-committee" not in h.screen_text()
        # tap a thumbnail: the full photo
        await h.tap("issue-photo:0")
        full = [d for d in h.page._dialogs.controls if getattr(d, "open", False)]
        assert full and isinstance(full[0].content, ft.Image)
        assert full[0].content.src == services.photo(before)

    run_staff(device, scenario)


def _shown(h: Harness) -> list[str]:
    return [k.split(":", 1)[1] for k in h.keys("board:")]


def test_desk_board_is_a_table_sorted_by_clicking_headers(device, services):
    ids = township(services)

    async def scenario(h: Harness) -> None:
        assert h.keys("sort:") == [f"sort:{c}" for c in BOARD_COLUMNS]
        row = h.by_key(f"board:{ids['road']}")
        assert isinstance(row, ft.TextButton)  # Tab reaches it, Enter opens it
        cells = " ".join(c.value for c in h.all(ft.Text, root=row) if isinstance(c.value, str))
        for fact in ("道路塌陷", "东风村 / 东风一组", "基础设施 / 道路", "供电所", "超期", "已派单", "督办2级"):
            assert fact in cells, fact
        assert _shown(h)[:2] == [ids["trash"], ids["lamp"]]  # new first
        await h.tap("sort:deadline")
        assert _shown(h)[:2] == [ids["road"], ids["water"]]
        assert h.all(ft.Icon, root=h.by_key("sort:deadline"))[0].icon == ft.Icons.ARROW_UPWARD
        await h.tap("sort:deadline")  # again: the other way, blanks still last
        assert _shown(h)[:2] == [ids["water"], ids["road"]]
        await h.tap("sort:triage")
        assert _shown(h)[:2] == [ids["trash"], ids["lamp"]] and not h.has_key("sort:triage")
        # the filters sit in one bar above the status line
        bar = h.by_key("board-bar")
        assert isinstance(bar, ft.Row) and not bar.wrap
        assert {"board-search", "filter-kind", "filter-village", "filter-category"} <= {
            str(getattr(c, "key", None)) for c in h.all(root=bar)}

    run_staff(device, scenario)


def test_board_chips_add_up_and_follow_the_kind(device, services):
    ids = township(services)
    reported(services, ids["g-west"], "想要一台轮椅", "2026-02-02", issue_kind="wish")

    def chip_counts(h: Harness) -> dict[str, int]:
        return {k.split(":")[1]: int(h.by_key(k).label.value.rsplit(" ", 1)[1]) for k in h.keys("bstatus:")}

    async def scenario(h: Harness) -> None:
        counts = chip_counts(h)
        assert counts.pop("all") == sum(counts.values()) == 5
        assert counts["collected"] == 1
        await h.select("filter-kind", "wish")
        counts = chip_counts(h)
        assert set(counts) == {"all", "collected", "assigned", "claimed", "fulfilled", "closed"}
        assert counts["all"] == 1 and len(_shown(h)) == 1
        await h.tap("bstatus:collected")
        assert len(_shown(h)) == 1
        await h.select("filter-kind", "problem")  # the wish status is dropped with the kind
        counts = chip_counts(h)
        assert counts.pop("all") == sum(counts.values()) == 4 and len(_shown(h)) == 4

    run_staff(device, scenario)


def test_phone_keeps_cards_with_the_facts_and_folds_the_filters(device, services):
    ids = township(services)

    async def scenario(h: Harness) -> None:
        assert not h.has_key("sort:title")
        tile = h.by_key(f"board:{ids['road']}")
        assert isinstance(tile, ft.ListTile)
        sub = tile.subtitle.value
        assert "东风村 / 东风一组" in sub and "供电所" in sub and "超期" in sub and "上报" in sub
        assert not h.has_key("filter-village")  # folded
        await h.tap("board-filters")
        await h.select("filter-village", ids["v-west"])
        assert set(_shown(h)) == {ids["water"], ids["trash"]}
        assert h.by_key("board-filters").content == "筛选（1）"

    run_staff(device, scenario, width=390, height=844)


def test_echo_wall_rows_tell_look_alikes_apart_and_show_the_whole_error(device, services):
    ids = township(services)
    twins = []
    for g, day, desc in ((ids["g-east"], "2026-02-01", "村东头桥下"), (ids["g-west"], "2026-03-05", "学校门口")):
        iid = reported(services, g, "路灯不亮", day, category="infra.lighting", description=desc)
        event(services, iid, "assign", {"unit": ids["u-power"], "deadline": "2099-01-01"})
        event(services, iid, "resolve", {"reply": "已修好"})
        twins.append(iid)
    staff = device.staff
    long_error = "公开内容含有居民个人信息（" + "、".join(f"敏感词{i}" for i in range(30)) + "），请删去后再公开。"
    staff.publish = lambda iid, title, text: {"public_text": long_error}  # the guard's answer, whatever its rules

    async def scenario(h: Harness) -> None:
        await h.go("/wall")
        metas = [h.by_key(f"wall-meta:{i}").value for i in twins]
        assert metas[0] != metas[1]
        assert "东风村" in metas[0] and "2026-02-01" in metas[0] and "基础设施 / 路灯" in metas[0]
        assert "西湖村" in metas[1] and "2026-03-05" in metas[1]
        assert h.by_key(f"wall-excerpt:{twins[1]}").value == "学校门口"
        assert isinstance(h.by_key(f"wall:{twins[0]}"), ft.ListTile)
        assert not h.keys("wall-title:")  # compact: no editors until a row is opened
        await h.tap(f"wall:{twins[1]}")
        await h.tap(f"wall-publish:{twins[1]}")
        field = h.by_key(f"wall-text:{twins[1]}")
        assert field.error == long_error and field.error_max_lines >= 4
        assert field.width is None  # the editor uses the screen's width
        editor = h.by_key(f"wall-editor:{twins[1]}")
        assert editor.content.horizontal_alignment == ft.CrossAxisAlignment.STRETCH

    run_staff(device, scenario)


def test_echo_wall_on_a_phone_stacks_the_row_facts(device, services):
    ids = township(services)
    iid = ids["water"]

    async def scenario(h: Harness) -> None:
        await h.go("/wall")
        tile = h.by_key(f"wall:{iid}")
        assert isinstance(tile.subtitle, ft.Column)  # no Row that could overflow 390 px
        assert "西湖村" in h.by_key(f"wall-meta:{iid}").value
        await h.tap(f"wall:{iid}")
        assert h.by_key(f"wall-text:{iid}").value == "已清洗水箱"

    run_staff(device, scenario, width=390, height=844)


def test_the_board_draws_a_page_and_shows_more_on_request(device, services):
    from app.ui.screens.staff.board import PAGE

    ids = township(services)
    for i in range(PAGE):
        reported(services, ids["g-east"], f"积水{i}", "2026-01-02")

    async def scenario(h: Harness) -> None:
        assert len(h.keys("board:")) == PAGE
        assert "共 104 条" in h.by_key("board-more").value
        await h.tap("board-more-button")
        assert len(h.keys("board:")) == PAGE + 4 and not h.has_key("board-more-button")

    run_staff(device, scenario)


def test_phone_status_chips_leave_out_the_empty_ones(device, services):
    township(services)

    async def scenario(h: Harness) -> None:
        assert h.keys("bstatus:") == ["bstatus:all", "bstatus:submitted", "bstatus:assigned", "bstatus:resolved"]
        assert h.by_key("bstatus:all").label.value == "全部 4"

    run_staff(device, scenario, width=390, height=844)


def test_the_workers_photo_and_the_unit_name_cross_the_real_server(server, tmp_path):
    """Through uvicorn + SQLite on 127.0.0.1: the photo a worker reports with reaches the staff
    desk (bytes and thumbnail), and the worker's timeline names the unit staff dispatched to."""
    from test_staff_sync import device

    wdev = device(server, tmp_path / "worker", "w1")
    sdev = device(server, tmp_path / "staff", "staff")
    worker, wsync, ssync, staff = wdev.services, wdev.sync, sdev.sync, sdev.staff
    try:
        pic = worker.add_photo(make_jpeg(tmp_path / "p.jpg", (30, 160, 60)).read_bytes())
        iid, errors = worker.save_issue({"title": "桥栏杆松动", "category": "infra.road"}, [pic])
        assert not errors
        wsync.sync_now()
        ssync.sync_now()
        it = staff.staff_issue(iid)
        assert it["photos"] == [pic.sha256]
        assert sdev.services.photo(pic.sha256) and sdev.services.thumb(pic.sha256)
        unit_id, unit_name = staff.units()[0]
        assert staff.act(iid, "assign", {"unit": unit_id, "deadline": "2099-01-05"}) == {}
        ssync.sync_now()
        wsync.sync_now()
        [assign] = [e for e in worker.issue(iid)["timeline"] if e["type"] == "assign"]
        assert unit_name in assign["detail"] and unit_id not in assign["detail"]
    finally:
        wdev.close()
        sdev.close()
