"""The app's sync as it runs in the phone's browser (no threads): the SyncService on asyncio
(``transport_factory``: the async transport, here over httpx instead of the browser's fetch),
driven from the screens against the REAL server on 127.0.0.1. Enrol from a code the app was
opened with, a save synced without a tap, 立即同步, a server that comes back found by a
trigger (the browser's ``online`` event), the status on 同步 and 首页 true throughout."""

from __future__ import annotations

import random

import pytest
from harness import Harness
from test_sync_app import code_for, status
from test_sync_follows import QUICK, until

from sync.client.aio import AsyncRunner, AsyncTransport
from sync.client.cli import ENROLLMENT_KEY
from tests.support.asyncfetch import HttpxFetch


def httpx_transport(url: str, token: str | None = None, **rules) -> AsyncTransport:
    async def no_wait(_s: float) -> None:
        return None

    rules.pop("sleep", None)
    return AsyncTransport(url, token, fetch=HttpxFetch(), sleep=no_wait, **rules)


FAST_AIO = {"read_timeout": 5.0, "connect_timeout": 2.0, "deadline_s": 10.0, "max_attempts": 2,
            "rng": random.Random(3), "transport_factory": httpx_transport}


@pytest.mark.parametrize("sync_options", [{"timing": QUICK, **FAST_AIO}], ids=["aio"])
def test_enrol_by_link_then_saves_and_taps_sync_on_the_loop(run_app, services, sync_svc, server):
    sync_svc.server_hint = server.url  # in the browser: the page's origin
    sync_svc.code_hint = code_for(server)  # in the browser: read from /app/#enroll=CODE

    async def scenario(h: Harness) -> None:
        await h.go("/sync/enroll")  # app.browser opens it when the URL carried a code
        assert h.by_key("enroll-code").value == sync_svc.code_hint
        assert h.by_key("enroll-url").value == server.url
        await h.tap("enroll-submit")  # the grid worker confirms
        assert h.route == "/sync", h.screen_text()[:300]
        assert services.store.meta_get(ENROLLMENT_KEY)["server_url"] == server.url
        assert isinstance(sync_svc.runner, AsyncRunner) and sync_svc.code_hint is None
        await until(h, lambda: sync_svc.reports >= 1, "the first sync, by itself")
        await until(h, lambda: status(h) == "全部已同步", "the status after the first sync")
        assert services.profile["grid_name"] == "东村一网格"

        hid, _ = services.save_household({"head": "吴大姐", "address": "东村1组"})
        await until(h, lambda: sync_svc.reports >= 2, "the save's sync")
        assert services.store.outbox_size() == 0 and server.state()[hid]["fields"]["head"] == "吴大姐"
        await until(h, lambda: "上传 1 条" in h.by_key("sync-last-result").value, "the screen re-read")

        services.save_household({"head": "郑大爷", "address": "东村3组"})
        await h.tap("sync-now")  # 立即同步 on the loop, not in a thread
        await until(h, lambda: services.store.outbox_size() == 0, "立即同步")
        # the outbox drains when the answer's acks land; the cycle (and its status) ends after
        await until(h, lambda: status(h) == "全部已同步", "the status after 立即同步")
        await h.nav(0)
        assert "还没有" not in h.by_key("home-last-sync").value

    run_app(scenario)


@pytest.mark.parametrize("sync_options", [{"timing": QUICK, **FAST_AIO}], ids=["aio"])
def test_offline_then_the_online_event_syncs(run_app, services, sync_svc, server):
    en = server.enroll("w1")
    services.store.meta_set(ENROLLMENT_KEY, en.document())

    async def scenario(h: Harness) -> None:
        await until(h, lambda: sync_svc.reports >= 1, "the sync on start")
        await h.nav(4)
        server.stop()
        hid, _ = services.save_household({"head": "周老汉", "address": "东村2组"})
        await until(h, lambda: h.has_key("sync-last-failure"), "the failure on the screen")
        assert "连不上服务器" in h.by_key("sync-last-failure").value
        assert services.store.outbox_size() == 1 and status(h) != "全部已同步"
        # The probe would find the server within probe_max_s; make it slow to prove the trigger.
        sync_svc.runner.schedule.timer_due += 3600
        server.start_again()
        before = sync_svc.reports
        sync_svc.trigger()  # what app.browser does on the worker's "online" event
        await until(h, lambda: sync_svc.reports > before and services.store.outbox_size() == 0, "the online sync")
        assert server.state()[hid]["fields"]["head"] == "周老汉"
        await until(h, lambda: status(h) == "全部已同步", "the status after it")
        assert not h.has_key("sync-last-failure")

    run_app(scenario)


@pytest.mark.parametrize("sync_options", [{"timing": QUICK, **FAST_AIO}], ids=["aio"])
def test_back_in_the_foreground_is_one_sync(run_app, services, sync_svc, server):
    en = server.enroll("w1")
    services.store.meta_set(ENROLLMENT_KEY, en.document())

    async def scenario(h: Harness) -> None:
        await until(h, lambda: sync_svc.reports >= 1, "the sync on start")
        before = sync_svc.runner.syncs
        # Flutter reports both for one return to the foreground (seen in the phone build).
        await h.fire(h.page, "app_lifecycle_state_change", {"state": "show"})
        await h.fire(h.page, "app_lifecycle_state_change", {"state": "resume"})
        await until(h, lambda: sync_svc.runner.syncs == before + 1, "the sync on resume")
        for _ in range(20):
            await h.settle()
        assert sync_svc.runner.syncs == before + 1 and not sync_svc.running  # one, not two

    run_app(scenario)
