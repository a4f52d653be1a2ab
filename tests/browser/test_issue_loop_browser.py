"""The whole loop in chromium, through a real server: a grid worker's issue reaches the
township; staff (desktop viewport) accept it, dispatch it with a deadline and resolve it; after
sync the worker's phone lists it for 回头看 and records the resident's verdict; after the next
sync the server holds the re-check."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.demo import FIELD_USER, STAFF, prepare, sync_device
from app.services import Services
from sync import workflow as wf
from sync.server import auth as server_auth
from sync.server import db
from sync.server import feed as server_feed
from tests.support.browser import AppServer, Phone
from tests.support.net import free_port

pytestmark = pytest.mark.browser

DESK = {"width": 1280, "height": 800}
TITLE = "二组水井抽水泵坏了"


def _server_state(root: Path, issue_id: str) -> wf.IssueState:
    engine = db.make_engine(f"sqlite:///{(root / 'server' / 'server.sqlite3').resolve()}")
    try:
        with engine.begin() as conn:
            records, _cursor, _more = server_feed.pull(conn, server_auth.system_principal(), 0, 100_000)
    finally:
        engine.dispose()
    issue = next(r for r in records if r["id"] == issue_id)
    events = [r for r in records if r["kind"] == "issue_event" and r["fields"]["issue"] == issue_id]
    return wf.fold(issue, events)


def _report_issue(device: Path) -> str:
    svc = Services.open(device)
    try:
        home = svc.households()[0]
        iid, errors = svc.save_issue({"issue_kind": "problem", "title": TITLE, "category": "infra.water",
                                      "appeal_type": "help", "urgency": "urgent",
                                      "household": home["id"], "reporter_visibility": "named",
                                      "description": "全组十几户吃水困难"}, [])
        assert iid and not errors, errors
        return iid
    finally:
        svc.close()


def test_report_dispatch_resolve_then_recheck_on_the_phone(browser, assets, tmp_path):
    root = tmp_path / "demo"
    info, server = prepare(root, free_port(), households=5)
    try:
        field, staff = Path(info.devices[FIELD_USER]), Path(info.devices[STAFF])
        iid = _report_issue(field)
        assert sync_device(field, _url(server), info, FIELD_USER).ok
        assert sync_device(staff, _url(server), info, STAFF).ok

        # Staff, at a desk: find it on the board, accept, dispatch with a deadline, resolve.
        app = AppServer(staff, assets).start()
        try:
            desk = Phone(browser).open(app.url, viewport=DESK, ready=("heading", "工单台"))
            page = desk.page
            desk.wait_for("button", TITLE)
            desk.tap("button", TITLE)
            page.get_by_role("heading", name="办理工单").wait_for(timeout=30_000)
            desk.tap("button", "受理", exact=True)
            desk.tap("button", "确认受理")
            desk.wait_for("button", "派单")
            desk.tap("button", "派单", exact=True)
            box = page.locator('[flt-semantics-identifier="act-f:unit"]').bounding_box()
            page.mouse.click(box["x"] + 40, box["y"] + box["height"] / 2)
            desk.wait_for("button", "水务站", timeout_s=20)
            desk.tap("button", "水务站", exact=True)
            desk.type_into("办结时限（年-月-日）", "2099-03-02")
            desk.tap("button", "确认派单")
            desk.wait_for("button", "办结")
            desk.tap("button", "办结", exact=True)
            desk.type_into("办理答复", "已更换抽水泵，恢复供水")
            desk.tap("button", "确认办结")
            desk.wait_for("button", "留言")
            desk.close()
        finally:
            app.stop()
        assert sync_device(staff, _url(server), info, STAFF).ok
        st = _server_state(root, iid)
        assert (st.state, st.unit, st.deadline) == ("resolved", "town-water", "2099-03-02")

        # The grid worker's phone, after sync: 首页 lists it for 回头看; record the verdict.
        assert sync_device(field, _url(server), info, FIELD_USER).ok
        app = AppServer(field, assets).start()
        try:
            phone = Phone(browser).open(app.url)
            phone.wait_for("button", TITLE)
            phone.tap("button", TITLE)
            phone.wait_for("button", "记录回访结果")
            # Two yes/no chip rows: 问题解决了吗？ then 群众满意吗？
            yes = phone.page.get_by_role("checkbox", name="是", exact=True)
            yes.nth(0).click()
            phone.page.wait_for_timeout(500)
            yes.nth(1).click()
            phone.page.wait_for_timeout(500)
            phone.tap("button", "记录回访结果")
            # Saved: re-check is no longer offered on this issue.
            phone.page.get_by_role("button", name="记录回访结果").wait_for(state="detached", timeout=30_000)
            phone.close()
        finally:
            app.stop()
        assert sync_device(field, _url(server), info, FIELD_USER).ok
        st = _server_state(root, iid)
        assert st.state == "rechecked" and (st.solved, st.satisfied) == (True, True)
        assert [e.event["fields"]["type"] for e in st.timeline if e.valid][-1] == "recheck"
    finally:
        server.terminate()
        server.wait(10)


def _url(server) -> str:
    # prepare() started the server with --port N; read it back from its command line.
    return f"http://127.0.0.1:{server.args[server.args.index('--port') + 1]}"
