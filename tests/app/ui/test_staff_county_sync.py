"""The county through the REAL server (uvicorn + SQLite on 127.0.0.1): county staff register a
12345 problem on their device, it reaches the grid worker's phone with the caller's contact
(and no other grid's), the county 督办卡 reaches the township; the admin edits reference data
on the 基础数据 screen and every device gets it; a township's staff may not."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from harness import Harness
from realsync import FAST

from app.device import Device, open_device
from app.services import ServiceError
from app.services.staff import is_staff
from app.ui.app import make_main
from sync.server import admin as server_admin
from sync.server import refdata
from tests.support.server import RealServer


def device(server: RealServer, path: Path, user_id: str) -> Device:
    dev = open_device(path, background=False, **FAST)
    _, code = server.run(server_admin.create_enrollment, user_id)
    dev.sync.enroll(server.url, code, "测试设备")
    return dev


def test_a_hotline_problem_from_the_county_desk_reaches_the_grid_worker(server: RealServer, tmp_path: Path) -> None:
    org = server.org
    county_user = server.run(server_admin.create_user, "县热线员", "county_staff", county=server_admin.DEFAULT_COUNTY)
    cdev = device(server, tmp_path / "county", county_user)
    wdev = device(server, tmp_path / "worker", org.users["w1"])
    bdev = device(server, tmp_path / "worker-b", org.users["worker_b"])
    tdev = device(server, tmp_path / "town", org.users["staff"])
    devs = (cdev, wdev, bdev, tdev)
    try:
        cdev.sync.sync_now()
        assert is_staff(cdev.services) and cdev.staff.role == "county_staff"
        iid, errors = cdev.staff.intake.register({
            "source": "hotline", "external_no": "QS-1", "title": "夜间施工噪音", "village": org.village_a,
            "contact_name": "王先生", "contact_phone": "13812345678"})
        assert errors == {}
        assert cdev.staff.act(iid, "county_supervise", {"level": "2", "deadline": "2030-01-10",
                                                        "card_no": "县督1号"}) == {}
        report = cdev.sync.sync_now()
        assert report.ok and cdev.services.store.outbox_size() == 0  # the server took all of it
        for d in (wdev, bdev, tdev):
            d.sync.sync_now()
        row = wdev.services.issue(iid)
        assert row is not None and row["source_name"] == "12345热线"
        assert row["contact"] == "王先生 13812345678"  # whom to call for the 回头看
        assert bdev.services.issue(iid) is None  # another grid's worker never gets it
        card = tdev.staff.staff_issue(iid)["county_card"]
        assert card == {"level": 2, "deadline": "2030-01-10", "card_no": "县督1号", "note": ""}
        assert "county_supervise" not in tdev.staff.staff_actions(iid)  # the township cannot
    finally:
        for d in devs:
            d.close()


def test_the_admin_edits_reference_data_on_the_screen_and_devices_follow(server: RealServer, tmp_path: Path) -> None:
    org = server.org
    admin_user = server.run(server_admin.create_user, "管理员", "admin")
    adev = device(server, tmp_path / "admin", admin_user)
    wdev = device(server, tmp_path / "worker", org.users["w1"])
    tdev = device(server, tmp_path / "town", org.users["staff"])
    try:
        adev.sync.sync_now()

        async def screen() -> None:
            h = await Harness.start(make_main(adev), route="/board", width=1280, height=800)
            try:
                await h.tap("board-reference")
                assert h.route == "/reference" and "供电所" in h.screen_text()
                await h.type("ref-f:id", "county-water")
                await h.type("ref-f:name", "县水利局")
                await h.type("ref-f:order", "20")
                await h.tap("ref-save")
                assert h.has_key("ref:county-water") and not h.has_key("ref-error")
                await h.type("ref-f:id", "Bad Id")
                await h.type("ref-f:name", "x")
                await h.tap("ref-save")
                assert "小写字母" in h.by_key("ref-error").value  # the server's reason, on the screen
                await h.tap("refkind:category")
                await h.tap("ref-edit:infra")
                assert h.by_key("ref-f:deadline_days").value == "10"
                await h.type("ref-f:deadline_days", "12")
                await h.tap("ref-save")
                await h.tap("refkind:source")
                await h.tap("ref-retire:spot_check")
                assert "已停用" in h.screen_text()
            finally:
                await h.close()

        asyncio.run(screen())
        assert any(e["id"] == "county-water" for e in server.run(refdata.list_reference, "unit"))
        wdev.sync.sync_now()
        store = wdev.services.store
        assert store.get("unit", "county-water")["fields"]["name"] == "县水利局"
        assert store.get("category", "infra")["fields"]["deadline_days"] == 12
        assert store.get("source", "spot_check")["fields"]["retired"] is True
        # a township's staff member is refused by the server, whatever the screen offers
        tdev.sync.sync_now()
        with pytest.raises(ServiceError) as exc:
            tdev.staff.refdata.save("unit", "town-fake", {"name": "假单位"})
        assert "只有管理员" in str(exc.value)
        assert not any(e["id"] == "town-fake" for e in server.run(refdata.list_reference, "unit"))
    finally:
        for d in (adev, wdev, tdev):
            d.close()
