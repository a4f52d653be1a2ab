"""Staff and grid worker on two devices through the REAL server (uvicorn + SQLite on
127.0.0.1): the worker reports, staff dispatch and resolve, the worker's phone shows the
re-check after sync and records it, staff close it and publish it on the echo wall."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from harness import Harness
from realsync import FAST

from app.device import Device, open_device
from app.services.staff import is_staff
from app.ui.app import make_main
from sync import workflow as wf
from sync.server import admin as server_admin
from tests.support.server import RealServer


def device(server: RealServer, path: Path, who: str) -> Device:
    """A device enrolled for ``who`` that syncs only when told."""
    dev = open_device(path, background=False, **FAST)
    _, code = server.run(server_admin.create_enrollment, server.org.users[who])
    dev.sync.enroll(server.url, code, f"{who} 的设备")
    return dev


def test_report_dispatch_resolve_recheck_close_across_devices(server, tmp_path):
    wdev = device(server, tmp_path / "worker", "w1")
    sdev = device(server, tmp_path / "staff", "staff")
    worker, wsync, ssync, staff = wdev.services, wdev.sync, sdev.sync, sdev.staff
    try:
        assert not is_staff(worker) and is_staff(sdev.services)  # the role comes from the enrolled account
        iid, errors = worker.save_issue({"title": "村口路灯不亮", "category": "infra.lighting"}, [])
        assert not errors
        wsync.sync_now()
        ssync.sync_now()
        [row] = staff.board({"q": "路灯"})["rows"]
        assert row["id"] == iid and row["status"] == "submitted"
        unit = staff.units()[0][0]
        assert staff.act(iid, "accept", {}) == {}
        assert staff.act(iid, "assign", {"unit": unit, "deadline": staff.default_deadline("infra.lighting")}) == {}
        assert staff.act(iid, "resolve", {"reply": "已更换灯泡"}) == {}
        ssync.sync_now()

        wsync.sync_now()
        assert [r["id"] for r in worker.today()["recheck"]] == [iid]  # 回头看 on the worker's home
        detail = worker.issue(iid)
        assert [e["type"] for e in detail["timeline"]] == ["report", "accept", "assign", "resolve"]
        assert detail["timeline"][3]["actor"] and "已更换灯泡" in detail["timeline"][3]["detail"]

        async def recheck_on_phone() -> None:
            h = await Harness.start(make_main(wdev))
            try:
                assert h.by_key("home-recheck").content.controls[0].value == "1"
                await h.go(f"/issues/{iid}")
                await h.tap("solved:yes")
                await h.tap("satisfied:yes")
                await h.tap("recheck-save")
            finally:
                await h.close()

        asyncio.run(recheck_on_phone())
        wsync.sync_now()
        ssync.sync_now()
        assert staff.staff_actions(iid) == ["close", "reopen", "comment"]
        assert staff.act(iid, "close", {"outcome": "已解决，居民满意"}) == {}
        assert staff.publish(iid, "东村路灯已修好", "供电所更换了灯泡。") == {}
        ssync.sync_now()
        wsync.sync_now()
        issue = worker.store.get("issue", iid)
        st = wf.fold(issue, [e for e in worker.store.all("issue_event") if e["fields"]["issue"] == iid])
        assert st.state == "closed" and st.published and not st.flagged
        assert st.public_title == "东村路灯已修好"
    finally:
        wdev.close()
        sdev.close()


def test_a_local_holiday_added_on_the_server_moves_the_device_deadline(server, tmp_path):
    sdev = device(server, tmp_path / "staff", "staff")
    ssync, staff = sdev.sync, sdev.staff
    try:
        ssync.sync_now()
        start = dt.date(2026, 9, 28)
        assert staff.default_deadline("infra.road", start) == "2026-10-16"  # 调休 included
        server.run(server_admin.add_holiday, server.org.township, "2026-10-15", False, "县庆")
        ssync.sync_now()
        assert staff.default_deadline("infra.road", start) == "2026-10-19"  # the synced local day
    finally:
        sdev.close()
