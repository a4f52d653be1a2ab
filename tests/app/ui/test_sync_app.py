"""同步 in the app against the REAL server (uvicorn + SQLite on 127.0.0.1): enrol from the
screen, 立即同步, truthful status, server down, refused changes, conflicts, bundles."""

from __future__ import annotations

import pytest
from harness import Harness
from realsync import FAST
from ui_photos import make_jpeg

from app.services import fmt_time
from sync.client.cli import ENROLLMENT_KEY
from sync.client.history import read_history
from sync.server import admin as server_admin
from tests.support.server import RealServer


@pytest.fixture
def sync_options() -> dict:
    return {"background": False, **FAST}  # no runner thread: these tests sync when they mean to


def code_for(server: RealServer, who: str = "w1") -> str:
    _, code = server.run(server_admin.create_enrollment, server.org.users[who])
    return code


async def enroll_on_screen(h: Harness, url: str, code: str) -> None:
    await h.nav(4)
    await h.tap("sync-enroll-open")
    assert h.route == "/sync/enroll"
    await h.type("enroll-url", url)
    await h.type("enroll-code", code)
    await h.tap("enroll-submit")


def status(h: Harness) -> str:
    return h.by_key("sync-status").value


def test_enroll_from_screen_record_visit_sync_now(run_app, services, sync_svc, server):
    code = code_for(server)

    async def scenario(h: Harness) -> None:
        await enroll_on_screen(h, server.url, "WRONG-CODE")
        assert "注册码无效" in h.by_key("enroll-error").value and h.route == "/sync/enroll"
        assert services.store.meta_get(ENROLLMENT_KEY) is None
        await h.type("enroll-code", code)
        await h.tap("enroll-submit")
        assert h.route == "/sync", h.screen_text()[:300]
        en = services.store.meta_get(ENROLLMENT_KEY)  # the key `gridwall sync now` reads
        assert en["server_url"] == server.url and en["token"]
        assert services.profile["user_id"] == server.org.users["w1"]
        assert services.profile["grid_id"] == server.org.grid
        assert status(h) == "还没有同步过"
        await h.tap("sync-now")  # first sync pulls the reference records: names of grid and village
        assert status(h) == "全部已同步"
        assert services.profile["grid_name"] == "东村一网格" and services.profile["village"] == "东村"
        await h.nav(0)
        assert "从未" not in h.by_key("home-last-sync").value and "还没有" not in h.by_key("home-last-sync").value
        assert "东村一网格" in h.screen_text()  # 首页 greets with the enrolled grid's name
        await h.nav(4)
        assert services.profile["village_id"] == server.org.village

        hid, _ = services.save_household({"head": "王建国", "address": "东村3组1号"})
        vid, errors = services.save_visit({"household": hid, "kind": "routine"}, [], [])
        assert not errors
        await h.nav(0)
        await h.nav(4)
        assert status(h).startswith("待同步：2 条记录")  # never "all synced" while the outbox waits
        await h.nav(2)
        assert h.by_key(f"visit:{vid}").subtitle.value.endswith("待上传")
        await h.nav(4)
        assert sync_svc.record_state(vid) == "pending"
        await h.tap("sync-now")
        assert status(h) == "全部已同步"
        assert "上传 2 条" in h.by_key("sync-last-result").value
        state = server.state()
        assert state[hid]["fields"]["head"] == "王建国" and state[vid]["kind"] == "visit"
        assert services.store.outbox_size() == 0 and sync_svc.record_state(vid) == "synced"
        await h.nav(2)
        assert "待上传" not in h.by_key(f"visit:{vid}").subtitle.value
        await h.nav(4)
        # Enrolled again (say the token was revoked): the new token is the one used from now on.
        assert h.by_key("sync-reenroll").subtitle.value == server.url
        await h.tap("sync-reenroll")
        assert h.route == "/sync/enroll"
        assert "已经以 张网格 的身份连接" in h.by_key("enroll-already").value
        await h.type("enroll-code", code_for(server))
        await h.tap("enroll-submit")
        assert h.route == "/sync"
        assert sync_svc.engine.transport.token == services.store.meta_get(ENROLLMENT_KEY)["token"] != en["token"]
        await h.tap("sync-now")
        assert status(h) == "全部已同步"

    run_app(scenario)


def test_server_down_plain_error_and_outbox_kept(run_app, services, sync_svc, server):
    code = code_for(server)

    async def scenario(h: Harness) -> None:
        await enroll_on_screen(h, server.url, code)
        await h.tap("sync-now")
        ok_line = h.by_key("sync-last-at").value
        assert not h.has_key("sync-last-failure")
        hid, _ = services.save_household({"head": "李桂兰", "address": "东村2组"})
        server.stop()
        await h.tap("sync-now")
        assert status(h) == "上次同步没有完成"
        # The failure is its own line, with its time and reason; the last success stays as it was.
        failed_at = fmt_time(read_history(services.store).failure.at_ms)
        assert h.by_key("sync-last-failure").value.startswith(f"上次失败：{failed_at}，连不上服务器")
        assert h.by_key("sync-last-at").value == ok_line
        assert "不会丢失" in h.by_key("sync-error-help").value
        assert services.store.outbox_size() == 1 and sync_svc.record_state(hid) == "pending"
        assert h.by_key("sync-waiting").value.startswith("1 ")
        await h.nav(0)
        assert h.by_key("home-last-sync").value == ok_line  # 首页: the same last success, one source

    run_app(scenario)


def test_unreachable_server_on_enroll_says_what_to_do(run_app, services, sync_svc, server):
    code = code_for(server)
    url = server.url
    server.stop()

    async def scenario(h: Harness) -> None:
        await enroll_on_screen(h, url, code)
        assert "连不上服务器" in h.by_key("enroll-error").value
        await h.type("enroll-url", "192.168.1.10:8000")
        await h.tap("enroll-submit")
        assert "http://" in h.by_key("enroll-error").value
        assert services.store.meta_get(ENROLLMENT_KEY) is None

    run_app(scenario)


def test_refused_change_stays_visible_with_reason(run_app, services, sync_svc, server):
    # Recorded before enrollment: for the device's own local grid, which the server refuses.
    hid, _ = services.save_household({"head": "赵四", "address": "本机网格"})
    code = code_for(server)

    async def scenario(h: Harness) -> None:
        await enroll_on_screen(h, server.url, code)
        await h.tap("sync-now")
        refused = services.store.refused_changes()
        assert [r["change"]["id"] for r in refused] == [hid]
        tile = h.by_key(f"sync-refused:{refused[0]['change']['change_id']}")
        assert tile.subtitle.value == refused[0]["reason"] and refused[0]["reason"]
        assert status(h) != "全部已同步" and "拒绝" in status(h)
        assert sync_svc.record_state(hid) == "refused"
        assert services.store.get("household", hid) is not None  # never deleted

    run_app(scenario)


def test_change_the_server_cannot_take_yet_waits_with_its_reason(run_app, services, sync_svc, server):
    """A comment on an issue the server does not have (yet): refused for now, kept in the
    outbox, the reason shown, and not "all synced"."""
    from sync.changes import new_record
    from sync.clock import HybridClock

    code = code_for(server)

    async def scenario(h: Harness) -> None:
        await enroll_on_screen(h, server.url, code)
        await h.tap("sync-now")
        issue, _ = new_record("issue", server.org.grid, {"issue_kind": "problem", "title": "路灯坏了",
                                                         "reporter": server.org.users["w2"]},
                              HybridClock("other-phone"), server.org.users["w2"])
        services.store.apply_remote([issue], None)  # as if pulled from a server that lost it since
        services.comment(issue["id"], "我也看到了")
        await h.tap("sync-now")
        [waiting] = sync_svc.status()["last_report"].waiting
        text = h.by_key(f"sync-waiting:{waiting['change_id']}").value
        assert text.startswith("暂未接受") and "下次同步时重试" in text
        assert services.store.outbox_size() == 1 and services.store.refused_changes() == []
        assert status(h) != "全部已同步"

    run_app(scenario)


def test_conflict_shows_both_values_and_the_lost_one_can_be_reapplied(run_app, services, sync_svc, server):
    code = code_for(server)
    other, other_en = server.device("w2")

    async def scenario(h: Harness) -> None:
        await enroll_on_screen(h, server.url, code)
        await h.tap("sync-now")
        hid, _ = services.save_household({"head": "刘大爷", "address": "东村3组12号"})
        await h.tap("sync-now")
        from sync.client.engine import SyncEngine

        b = SyncEngine(other, server.url, other_en.token, **FAST)
        assert b.sync_once().ok
        # This device edits first, the other phone later: the later edit wins everywhere.
        services.save_household({"head": "刘大爷", "address": "东村3组12号", "phone": "13800000001"}, hid)
        other.update(hid, {"phone": "13900000002"})
        assert b.sync_once().ok
        await h.tap("sync-now")
        assert services.store.get("household", hid)["fields"]["phone"] == "13900000002"
        [c] = sync_svc.conflicts()
        assert h.by_key(f"conflict-title:{c['key']}").value == "住户：电话号码"
        assert h.by_key(f"conflict-kept:{c['key']}").value.endswith("13900000002")
        assert h.by_key(f"conflict-lost:{c['key']}").value.endswith("13800000001")
        await h.tap(f"conflict-reapply:{c['key']}")
        assert services.store.get("household", hid)["fields"]["phone"] == "13800000001"
        assert not h.has_key(f"conflict:{c['key']}") and sync_svc.conflicts() == []
        await h.tap("sync-now")
        assert server.state()[hid]["fields"]["phone"] == "13800000001"
        assert status(h) == "全部已同步"

    run_app(scenario)


def test_not_all_synced_while_a_photo_waits(run_app, services, sync_svc, server, tmp_path):
    code = code_for(server)

    async def scenario(h: Harness) -> None:
        await enroll_on_screen(h, server.url, code)
        await h.tap("sync-now")
        assert status(h) == "全部已同步"
        ref = services.add_photo(make_jpeg(tmp_path / "a.jpg").read_bytes())  # taken, not uploaded
        await h.nav(0)
        await h.nav(4)
        assert services.store.outbox_size() == 0
        assert status(h) == "待同步：0 条记录，1 张照片"
        await h.tap("sync-now")
        assert status(h) == "全部已同步" and server.blobs.has(ref.sha256)

    run_app(scenario)


def test_export_bundle_into_the_data_folder(run_app, services, sync_svc, server):
    code = code_for(server)

    async def scenario(h: Harness) -> None:
        await enroll_on_screen(h, server.url, code)
        hid, _ = services.save_household({"head": "孙五", "address": "东村"})
        await h.tap("sync-export")
        msg = h.by_key("sync-message").value
        files = list((services.store.data_dir / "exports").glob("*.gwb"))
        assert len(files) == 1 and str(files[0]) in msg and "1 条修改" in msg
        assert services.store.outbox_size() == 1  # export deletes nothing
        # Save a copy elsewhere (browser download / phone "save to"): the bundle's own bytes.
        got: list = []
        h.conn.answers["save_file"] = lambda args: got.append(args) or "/sdcard/Download/" + args["file_name"]
        await h.tap("sync-save:0")
        assert got[0]["file_name"] == files[0].name and got[0]["src_bytes"] == files[0].read_bytes()
        assert h.by_key("sync-message").value == f"已保存 {files[0].name}"

    run_app(scenario)


@pytest.mark.parametrize("sync_options", [{"server_hint": "http://10.0.0.5:8000", "background": False}],
                         ids=["server-option"])
def test_server_option_prefills_the_enrol_form(run_app, services):

    async def scenario(h: Harness) -> None:
        await h.go("/sync/enroll")
        assert h.by_key("enroll-url").value == "http://10.0.0.5:8000"

    run_app(scenario)


@pytest.mark.parametrize("sync_options", [{"background": True, "interval_s": 3600, **FAST}], ids=["background"])
def test_enrolled_app_syncs_on_start_in_the_background_and_screens_re_read(run_app, device, services, server):
    """The runner (its own thread) syncs when the app starts and on a trigger (link back);
    its report reaches the UI through page.run_task and the open households list re-reads."""
    en = server.enroll("w1")
    services.store.meta_set(ENROLLMENT_KEY, {
        "server_url": en.server_url, "device_id": en.device_id, "token": en.token,
        "secret": en.secret, "user": en.user, "scope": en.scope})
    services.store.meta_set("profile", {**services.profile, "note": "kept"})  # another part's key
    other, other_en = server.device("w2")
    from sync.client.engine import SyncEngine

    svc = device.sync

    async def until(cond) -> None:  # bounded wait for the background thread (not a speed assertion)
        for _ in range(3000):
            if cond():
                return
            await h_ref[0].settle()
        raise AssertionError("the background sync never finished")

    h_ref: list[Harness] = []

    async def scenario(h: Harness) -> None:
        h_ref.append(h)
        await until(lambda: svc.reports >= 1)  # synced on start
        # enrolled from the shell: the app took the user and grid from the enrollment
        assert services.profile["user_id"] == en.user["id"] and services.profile["grid_name"] == "东村一网格"
        assert services.profile["note"] == "kept"
        mine, _ = services.save_household({"head": "吴大姐", "address": "东村1组"})
        svc.trigger()
        await until(lambda: svc.reports >= 2)
        assert server.state()[mine]["fields"]["head"] == "吴大姐"
        await h.nav(1)
        assert "周老汉" not in h.screen_text()
        hid = server.household(other, head="周老汉")["id"]
        assert SyncEngine(other, server.url, other_en.token, **FAST).sync_once().ok
        # The platform reports the network is back (ft.Connectivity on_change): sync now.
        import flet as ft

        [conn] = [c for c in h.page._services._services if isinstance(c, ft.Connectivity)]
        await h.fire(conn, "change", {"connectivity": ["mobile"]})
        await until(lambda: "周老汉" in h.screen_text())  # the open list re-read by itself
        assert services.store.get("household", hid) is not None
        await h.nav(4)
        assert status(h) == "全部已同步"
        # Back from the background (app resumed): one more sync.
        before = svc.reports
        await h.fire(h.page, "app_lifecycle_state_change", {"state": "resume"})
        await until(lambda: svc.reports > before)

    try:
        run_app(scenario)
    finally:
        svc.stop()


def test_bundle_export_operator_upload_and_return_import_from_the_screen(run_app, services, sync_svc, server,
                                                                          tmp_path):
    from ui_photos import picker_answer

    from sync.client.cli import upload_bundles

    code = code_for(server)

    async def scenario(h: Harness) -> None:
        await enroll_on_screen(h, server.url, code)
        await h.tap("sync-now")  # reference data (grid, village) while the link was up
        hid, _ = services.save_household({"head": "郑六", "address": "东村4组"})
        await h.tap("sync-export")
        [bundle] = list((services.store.data_dir / "exports").glob("*.gwb"))
        op = server.enroll("operator")  # the township operator uploads it from the office
        [(_, receipt)] = upload_bundles([bundle], server.url, op.token)
        assert receipt["status"] == "ok" and server.state()[hid]["fields"]["head"] == "郑六"
        returned = bundle.with_name(bundle.name[:-4] + ".return.gwb")
        bad = tmp_path / "bad.return.gwb"
        bad.write_bytes(b"PK\x03\x04 cut short")
        h.conn.answers["pick_files"] = picker_answer([bad])
        await h.tap("sync-import")
        assert "同步包" in h.by_key("sync-message").value and services.store.outbox_size() == 1
        h.conn.answers["pick_files"] = picker_answer([returned])
        await h.tap("sync-import")
        assert "回执包已导入：确认 1 条" in h.by_key("sync-message").value
        assert services.store.outbox_size() == 0 and sync_svc.record_state(hid) == "synced"

    run_app(scenario)


def test_record_badge_follows_the_sync(run_app, services, sync_svc, server):
    code = code_for(server)

    async def scenario(h: Harness) -> None:
        await enroll_on_screen(h, server.url, code)
        await h.tap("sync-now")
        hid, _ = services.save_household({"head": "钱七", "address": "东村5组"})
        await h.go(f"/households/{hid}")
        assert h.by_key(f"sync-badge:{hid}").value == "待上传"
        await h.go("/sync")
        await h.tap("sync-now")
        await h.go(f"/households/{hid}")
        assert h.by_key(f"sync-badge:{hid}").value == "已同步"

    run_app(scenario)


@pytest.mark.parametrize("sync_options", [{"background": True, "interval_s": 3600, **FAST}], ids=["background"])
def test_progress_shows_while_a_background_sync_runs(run_app, device, services, server):
    import threading

    en = server.enroll("w1")
    services.store.meta_set(ENROLLMENT_KEY, {
        "server_url": en.server_url, "device_id": en.device_id, "token": en.token,
        "secret": en.secret, "user": en.user, "scope": en.scope})
    svc = device.sync
    held, release = threading.Event(), threading.Event()

    seen: list = []

    def hold(event, payload) -> None:  # runs in the sync thread: keep the sync mid-way
        if event == "progress" and payload.records_sent and not held.is_set():
            seen.append(vars(payload).copy())
            held.set()
            release.wait(30)

    async def scenario(h: Harness) -> None:
        for _ in range(3000):
            if svc.reports >= 1:
                break
            await h.settle()
        for i in range(3):
            services.save_household({"head": f"户主{i}", "address": "东村"})
        await h.nav(4)
        svc.add_listener(hold)
        svc.trigger()
        try:
            for _ in range(3000):
                if held.is_set() and h.has_key("sync-progress") and "上传" in h.by_key("sync-progress").value:
                    break
                await h.settle()
            text = h.by_key("sync-progress").value
            assert seen[0]["records_sent"] == 3, seen
            kb = round((seen[0]["bytes_sent"] + seen[0]["bytes_received"]) / 1024, 1)
            assert text == f"正在同步：上传 3 条，下载 {seen[0]['records_received']} 条，照片 0 张，{kb} KB", text
            assert status(h) == "正在同步…"  # never "all synced" before the pull said so
        finally:
            release.set()
        for _ in range(3000):
            if svc.reports >= 2 and not h.has_key("sync-progress"):
                break
            await h.settle()
        assert status(h) == "全部已同步" and not h.has_key("sync-progress")

    try:
        run_app(scenario)
    finally:
        release.set()
        svc.stop()


def test_export_in_a_browser_is_a_download_not_a_server_path(device, services, sync_svc, server):
    import asyncio

    from app.ui.app import make_main

    code = code_for(server)

    async def scenario() -> None:
        h = await Harness.start(make_main(device), web=True)
        try:
            got: list = []
            h.conn.answers["save_file"] = lambda args: got.append(args)  # the browser answers None
            await enroll_on_screen(h, server.url, code)
            services.save_household({"head": "孙五", "address": "东村"})
            await h.tap("sync-export")
            [bundle] = (services.store.data_dir / "exports").glob("*.gwb")
            assert got[0]["file_name"] == bundle.name and got[0]["src_bytes"] == bundle.read_bytes()
            msg = h.by_key("sync-message").value
            assert bundle.name in msg and "浏览器" in msg and str(bundle.parent) not in msg
        finally:
            await h.close()

    asyncio.run(scenario())
