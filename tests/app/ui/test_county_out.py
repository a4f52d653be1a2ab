"""Issue 14 in the harness: the 回执 with the public code on the worker's issue page, the
inbox with its unread count on the app bar (read state per user, kept on the device), the
printable 督办卡 / 整改通知单 on the staff issue page, and the bulletin screen."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from harness import Harness
from staff_seed import event, make_staff, township

from app.device import open_device
from app.ui.app import make_main
from sync.public_code import public_code


def _run(device, scenario, *, route="/", width=390, web=False) -> None:
    async def go() -> None:
        h = await Harness.start(make_main(device), route=route, width=width, height=800, web=web)
        try:
            await scenario(h)
        finally:
            await h.close()

    asyncio.run(go())


async def _wait_for(h: Harness, key: str) -> None:
    for _ in range(80):  # exports run in a worker thread
        if h.has_key(key):
            return
        await h.settle()
    raise AssertionError(f"{key} never showed")


def test_worker_issue_page_shows_the_receipt(device, services):
    iid, errors = services.save_issue({"title": "村口路灯坏了", "issue_kind": "problem"}, [])
    assert not errors
    services.store.meta_set("sync.enrollment", {"server_url": "http://10.0.0.5:8000/", "token": "x",
                                                "user": {"id": services.user_id, "role": "grid_worker"}})

    async def scenario(h: Harness) -> None:
        await h.go(f"/issues/{iid}")
        assert h.by_key("receipt-code").value == public_code(iid)
        text = h.screen_text()
        assert "回执" in text and "在本村回音壁网页输入查询码" in text
        vid = services.profile["village_id"]  # the device's own village until enrollment sets one
        assert h.by_key("receipt-url").value == f"回音壁网址：http://10.0.0.5:8000/wall/{vid}"

    _run(device, scenario)


def test_worker_inbox_counts_opens_and_remembers_what_was_read(device, services, tmp_path):
    ids = township(services)
    me = services.user_id
    # a problem the worker reported, rejected by staff; and one of theirs resolved (回头看 due)
    from staff_seed import issue
    mine = issue(services, ids["g-east"], "我报的问题", reporter=me)
    event(services, mine, "reject", {"reason": "不属于受理范围"})

    async def scenario(h: Harness) -> None:
        before = services.store.meta_get(f"inbox.read.{me}")
        assert before is None
        n = device.inbox.unread()
        assert n >= 3  # overdue road (督办 too), rejected, re-check of water, routed ones ...
        button = h.by_key("open-inbox")
        assert button.content == "消息"
        assert button.icon.badge == str(n)
        await h.tap("open-inbox")
        assert h.route == "/inbox"
        assert f"未读 {n} 条" in h.by_key("inbox-count").value
        rows = device.inbox.rows()
        rejected = next(r for r in rows if r["kind"] == "rejected")
        assert rejected["detail"] == "不予受理：不属于受理范围"
        await h.tap(f"inbox:{rejected['id']}")
        assert h.route == f"/issues/{mine}"
        assert device.inbox.unread() == n - 1
        await h.go("/inbox")
        await h.tap("inbox-all-read")
        assert device.inbox.unread() == 0 and "未读 0 条" in h.by_key("inbox-count").value
        await h.go("/")
        assert h.by_key("open-inbox").icon.badge is None

    _run(device, scenario)
    device.close()
    again = open_device(tmp_path / "data")  # the read state is on the device, per user
    try:
        assert again.inbox.unread() == 0
        again.services.store.meta_set("profile", {**again.services.profile, "user_id": "someone-else"})
        assert again.inbox.unread() > 0  # another person on the same device has not read them
    finally:
        again.close()


def test_staff_print_cards_from_the_issue_page(device, services):
    ids = township(services)
    make_staff(services)

    async def scenario(h: Harness) -> None:
        await h.go(f"/board/{ids['road']}")
        assert h.by_key("issue-code").value == f"查询码 {public_code(ids['road'])}"
        assert not h.by_key("print:duban").disabled and not h.by_key("print:zhenggai").disabled
        await h.tap("print:duban")
        await _wait_for(h, "notice-path")
        path = Path(h.by_key("notice-path").value.split("：", 1)[1])
        assert path.suffix == ".pdf" and path.parent.name == "exports"
        text = "".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                                      check=True).stdout.split())
        assert "督办卡" in text and "道路塌陷" in text and "供电所" in text and "乡镇2级督办" in text
        await h.go(f"/board/{ids['lamp']}")  # not dispatched, not supervised: nothing to print yet
        assert h.by_key("print:duban").disabled and h.by_key("print:zhenggai").disabled

    _run(device, scenario, width=1280)


def test_a_county_card_alone_can_be_printed(device, services):
    # found by the county journey in chromium: the 督办卡 button waited for a township 督办
    ids = township(services)
    make_staff(services)
    event(services, ids["lamp"], "county_supervise", {"level": 2, "deadline": "2099-01-05", "card_no": "青县督〔2026〕9号"},
          role="county_staff", actor="county-1")

    async def scenario(h: Harness) -> None:
        await h.go(f"/board/{ids['lamp']}")
        assert not h.by_key("print:duban").disabled
        await h.tap("print:duban")
        await _wait_for(h, "notice-path")
        path = Path(h.by_key("notice-path").value.split("：", 1)[1])
        text = "".join(subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                                      check=True).stdout.split())
        assert "督办卡" in text and "青县督〔2026〕9号" in text and "县级2级督办" in text

    _run(device, scenario, width=1280)


def test_staff_print_in_a_browser_is_a_download(device, services):
    ids = township(services)
    make_staff(services)

    async def scenario(h: Harness) -> None:
        got: list = []
        h.conn.answers["save_file"] = lambda args: got.append(args)
        await h.go(f"/board/{ids['water']}")
        await h.tap("print:zhenggai")
        await _wait_for(h, "notice-text")
        [path] = (services.store.data_dir / "exports").glob("整改通知单-*.pdf")
        assert got[0]["file_name"] == path.name and got[0]["src_bytes"] == path.read_bytes()
        assert not h.has_key("notice-path")

    _run(device, scenario, width=1280, web=True)


def test_staff_inbox_and_bulletin_screen(device, services, monkeypatch):
    ids = township(services)
    make_staff(services)
    computed: list[str] = []
    bulletin = device.staff.reports.bulletin
    monkeypatch.setattr(device.staff.reports, "bulletin", lambda p: computed.append(p) or bulletin(p))

    async def scenario(h: Harness) -> None:
        # new problems wait for acceptance; the overdue road is under 督办
        kinds = {(r["kind"], r["issue"]) for r in device.inbox.rows()}
        assert ("assigned", ids["lamp"]) in kinds and ("overdue", ids["road"]) in kinds
        await h.tap("open-inbox")
        overdue = next(r for r in device.inbox.rows() if r["kind"] == "overdue")
        await h.tap(f"inbox:{overdue['id']}")
        assert h.route == f"/board/{ids['road']}"
        await h.go("/figures")
        await h.tap("open-bulletin")
        assert h.route == "/figures/bulletin"
        assert "工作简报" in h.by_key("bulletin-title").value
        assert h.has_key("town:红旗镇") and h.by_key("town-rank:红旗镇").value == "第1名"
        await h.tap("bulletin-month:last")
        # last month nothing was rated: not ranked, said in words (it read 第—名)
        ranks = [h.by_key(k).value for k in h.keys("town-rank:") + h.keys("unit-rank:")]
        assert ranks and set(ranks) == {"不排名"}, ranks
        await h.tap("bulletin-xlsx")
        await _wait_for(h, "bulletin-path")
        path = Path(h.by_key("bulletin-path").value.split("：", 1)[1])
        assert path.suffix == ".xlsx" and path.exists()
        # a county's month takes seconds: computed for the screen once per month shown (and
        # once by the export), not again when the export's message re-renders the screen
        this, last = computed[0], computed[-1]
        assert computed == [this, last, last], computed

    _run(device, scenario, width=1280)


def test_inbox_follows_new_events_and_edits(device, services):
    ids = township(services)
    make_staff(services)
    box = device.inbox
    before = {n.id for n in box.items()}
    assert box.items() is box.items()  # cached while nothing changes
    event(services, ids["lamp"], "supervise", {"level": 3, "note": "县里要结果"})
    new = [n for n in box.items() if n.id not in before]
    assert [(n.kind, n.issue) for n in new] == [("supervised", ids["lamp"])]
    rec = services.store.get("issue", ids["lamp"])
    from sync.changes import edit_change

    services.store.save(edit_change(rec, {"title": "路灯不亮（改）"}, services.store.clock, services.user_id))
    row = next(r for r in box.rows() if r["issue"] == ids["lamp"])
    assert row["title"] == "路灯不亮（改）"
