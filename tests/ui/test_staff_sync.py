"""Staff and grid worker on two devices through the REAL server (uvicorn + SQLite on
127.0.0.1): the worker reports, staff dispatch and resolve, the worker's phone shows the
re-check after sync and records it, staff close it and publish it on the echo wall."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from harness import Harness
from realsync import FAST, RealServer

from app.services import Services
from app.staff_services import is_staff, staff_services_for
from app.sync_service import SyncService
from app.ui.app import make_main
from sync import workflow as wf
from sync.server import admin as server_admin


def device(server: RealServer, path: Path, who: str) -> tuple[Services, SyncService]:
    svc = Services.open(path)
    sync = SyncService.attach(svc, background=False, **FAST)
    _, code = server.run(server_admin.create_enrollment, server.org.users[who])
    sync.enroll(server.url, code, f"{who} 的设备")
    return svc, sync


def test_report_dispatch_resolve_recheck_close_across_devices(server, tmp_path):
    worker, wsync = device(server, tmp_path / "worker", "w1")
    staff_base, ssync = device(server, tmp_path / "staff", "staff")
    try:
        assert not is_staff(worker) and is_staff(staff_base)  # the role comes from the enrolled account
        staff = staff_services_for(staff_base)
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
            h = await Harness.start(make_main(worker))
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
        wsync.stop()
        ssync.stop()
        worker.close()
        staff_base.close()


def test_a_local_holiday_added_on_the_server_moves_the_device_deadline(server, tmp_path):
    staff_base, ssync = device(server, tmp_path / "staff", "staff")
    try:
        staff = staff_services_for(staff_base)
        ssync.sync_now()
        start = dt.date(2026, 9, 28)
        assert staff.default_deadline("infra.road", start) == "2026-10-16"  # 调休 included
        server.run(server_admin.add_holiday, server.org.township, "2026-10-15", False, "县庆")
        ssync.sync_now()
        assert staff.default_deadline("infra.road", start) == "2026-10-19"  # the synced local day
    finally:
        ssync.stop()
        staff_base.close()
