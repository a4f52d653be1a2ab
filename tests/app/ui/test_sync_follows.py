"""Sync follows the worker, against the REAL server (uvicorn + SQLite on 127.0.0.1): a save is
pushed without a tap, a server that was down and comes back is found without a tap, and the
summary on 同步 and 首页 says what really happened (short schedule timings via options)."""

from __future__ import annotations

import pytest
from harness import Harness
from realsync import FAST
from ui_photos import make_jpeg

from app.services import Services, fmt_time
from sync.client.cli import ENROLLMENT_KEY
from sync.client.engine import SyncEngine
from sync.client.history import read_history
from sync.client.schedule import Timing
from tests.support.server import RealServer

# The rules of the app's defaults, made short; the idle poll is an hour away, so only the
# save debounce and the probe can explain a sync in these tests.
QUICK = Timing(interval_s=3600, debounce_s=0.05, debounce_max_s=0.5, probe_min_s=0.05, probe_max_s=0.2)
# the device's sync: in the background on that schedule, or only when tapped
BACKGROUND = pytest.mark.parametrize("sync_options", [{"background": True, "timing": QUICK, **FAST}], ids=["bg"])
TAPPED = pytest.mark.parametrize("sync_options", [{"background": False, **FAST}], ids=["tap"])


def enrolled(services: Services, server: RealServer) -> None:
    en = server.enroll("w1")
    services.store.meta_set(ENROLLMENT_KEY, en.document())


@pytest.fixture
def bg_svc(device, server: RealServer):
    enrolled(device.services, server)
    return device.sync


async def until(h: Harness, cond, what: str) -> None:
    """A bounded wait for the sync thread (a hang fails the test; nothing here is a speed limit)."""
    for _ in range(3000):
        if cond():
            return
        await h.settle()
    raise AssertionError(f"never happened: {what}")


@BACKGROUND
def test_a_save_is_pushed_without_a_tap(run_app, services, bg_svc, server):
    async def scenario(h: Harness) -> None:
        await until(h, lambda: bg_svc.reports >= 1, "the sync on start")
        await h.nav(4)
        assert h.by_key("sync-status").value == "全部已同步"
        hid, _ = services.save_household({"head": "吴大姐", "address": "东村1组"})
        # No tap, no trigger: the save itself schedules the sync.
        await until(h, lambda: bg_svc.reports >= 2, "the save's sync")
        assert services.store.outbox_size() == 0 and server.state()[hid]["fields"]["head"] == "吴大姐"
        assert bg_svc.reports == 2 and bg_svc.runner.syncs == 2  # one sync: the save's, not a timer
        await until(h, lambda: "上传 1 条" in h.by_key("sync-last-result").value, "the screen re-read")
        assert h.by_key("sync-status").value == "全部已同步"

    run_app(scenario)


@BACKGROUND
def test_a_server_that_comes_back_is_found_without_a_tap(run_app, services, bg_svc, server):
    async def scenario(h: Harness) -> None:
        await until(h, lambda: bg_svc.reports >= 1, "the sync on start")
        await h.nav(4)
        ok_ms = read_history(services.store).ok_ms
        server.stop()
        hid, _ = services.save_household({"head": "周老汉", "address": "东村2组"})
        # The save's sync fails, then the probes fail too: the device keeps looking by itself.
        await until(h, lambda: bg_svc.runner.failures >= 3, "probes while the server is down")
        await until(h, lambda: h.has_key("sync-last-failure"), "the failure on the screen")
        assert "连不上服务器" in h.by_key("sync-last-failure").value
        assert bg_svc.runner.schedule.probing
        assert services.store.outbox_size() == 1
        server.start_again()
        await until(h, lambda: services.store.outbox_size() == 0, "the sync after the server came back")
        assert server.state()[hid]["fields"]["head"] == "周老汉"
        await until(h, lambda: not h.has_key("sync-last-failure"), "the failure line gone")
        assert h.by_key("sync-status").value == "全部已同步"
        assert "上传 1 条" in h.by_key("sync-last-result").value
        assert read_history(services.store).ok_ms > ok_ms
        line = f"上次成功同步：{fmt_time(read_history(services.store).ok_ms)}"
        assert h.by_key("sync-last-at").value == line
        await h.nav(0)
        assert h.by_key("home-last-sync").value == line  # the same time on both screens

    run_app(scenario)


@pytest.fixture
def tap_svc(device, server: RealServer):
    enrolled(device.services, server)
    return device.sync


@TAPPED
def test_after_sync_now_the_summary_counts_what_was_uploaded(run_app, services, tap_svc, server, tmp_path):
    """立即同步 right after a background sync pushed everything: the summary still says what
    moved (the last attempt that moved data), not the idle sync's zero; photo counts agree."""

    async def scenario(h: Harness) -> None:
        await h.nav(4)
        await h.tap("sync-now")  # the reference data
        hid, _ = services.save_household({"head": "王建国", "address": "东村1组"})
        ref = services.add_photo(make_jpeg(tmp_path / "a.jpg").read_bytes())
        services.save_visit({"household": hid, "kind": "routine"}, [], [ref])
        await h.nav(0)
        await h.nav(4)
        waiting = services.store.outbox_size()
        assert waiting == 3 and h.by_key("sync-waiting").value.startswith(f"{waiting} ")
        assert h.by_key("sync-photos").value.startswith("照片文件 1 张")
        before = server.count("applied_changes")
        rep = tap_svc.runner.run_once()  # the runner's thread got there first
        assert rep.ok and server.count("applied_changes") - before == waiting
        await h.tap("sync-now")  # nothing left to move
        text = h.by_key("sync-last-result").value
        assert f"上传 {waiting} 条" in text and "照片上传 1 张" in text, text
        assert h.by_key("sync-waiting").value.startswith("0 ")
        assert h.by_key("sync-photos").value.startswith("照片文件 0 张")
        assert server.blobs.has(ref.sha256)
        moved_at = fmt_time(read_history(services.store).moved.at_ms)
        assert text.startswith(f"上次传输数据（{moved_at}）")

    run_app(scenario)


@TAPPED
def test_home_shows_a_sync_made_before_the_app_started(services, server, run_app):
    """The demo enrols and syncs the device before the app starts: 首页 says when at once."""
    enrolled(services, server)
    en = services.store.meta_get(ENROLLMENT_KEY)
    assert SyncEngine(services.store, en["server_url"], en["token"], **FAST).sync_once().ok
    when = fmt_time(read_history(services.store).ok_ms)

    async def scenario(h: Harness) -> None:
        assert h.by_key("home-last-sync").value == f"上次成功同步：{when}"
        await h.nav(4)
        assert h.by_key("sync-last-at").value == f"上次成功同步：{when}"

    run_app(scenario)
