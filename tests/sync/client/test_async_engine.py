"""The engine on asyncio (the phone's browser has no threads): the same phases, driven through
``sync.client.aio.AsyncTransport`` instead of the blocking transport, against the real server
on 127.0.0.1 with the link emulator's faults.

The threaded engine's tests are collected here again with ``engine_for`` building an engine
that syncs through the async transport (one event loop per test), so both I/O edges must meet
the same expectations: timeouts, 503/429 with Retry-After, a connection cut mid-request, a
lost answer, the overall deadline, resumable photo uploads. The runner on asyncio
(``AsyncRunner``) gets the threaded runner's scenarios below.
"""

from __future__ import annotations

import asyncio
import inspect
import random
import time

import pytest

from sync.client.aio import AsyncRunner, AsyncTransport, enroll_async
from sync.client.engine import SyncEngine
from sync.client.schedule import BUSY, Timing
from sync.client.transport import HttpRules, SyncError
from sync.server import admin as server_admin
from tests.support.asyncfetch import HttpxFetch
from tests.support.linkemu import Fault

# The threaded engine's tests, run here on the async transport (fixtures below).
from tests.sync.client.test_engine import (  # noqa: F401 - collected by pytest
    test_idle_sync_is_exactly_one_request,
    test_interrupted_pull_refetches_at_most_one_page_per_cut,
    test_offline_keeps_everything_and_reports_in_plain_words,
    test_photo_upload_resumes_after_cuts_at_random_offsets,
    test_photos_download_for_pulled_records,
    test_push_then_other_device_pulls_every_page,
    test_response_cut_inside_the_headers_is_retried,
    test_retry_after_is_honoured,
    test_server_fails_then_recovers_outbox_drains_without_new_writes,
    test_stalled_response_gives_up_within_deadline_then_retries,
    test_trickling_response_hits_the_overall_deadline,
    test_unauthorized_is_not_retried_and_says_what_to_do,
)
from tests.sync.client.test_real_server import (  # noqa: F401 - collected by pytest
    test_enroll_push_pull_idle,
    test_lost_answers_to_the_gets_resume_offset_and_download,
    test_lost_response_after_commit_for_every_request_kind,
)

RULES = set(inspect.signature(HttpRules.__init__).parameters) - {"self", "base_url", "token"}


class LoopEngine(SyncEngine):
    """A ``SyncEngine`` whose ``sync_once`` runs the async cycle on the test's loop."""

    loop: asyncio.AbstractEventLoop

    def sync_once(self, probe: bool = False):  # type: ignore[override]
        return self.loop.run_until_complete(self.sync_once_async(probe))


@pytest.fixture
def loop():
    lp = asyncio.new_event_loop()
    yield lp
    lp.run_until_complete(asyncio.sleep(0))
    lp.close()


def async_transport(url: str, token: str | None, slept: list[float], **rules) -> AsyncTransport:
    async def sleep(s: float) -> None:  # never really waits between retries
        slept.append(s)

    rules.setdefault("rng", random.Random(1))
    return AsyncTransport(url, token, fetch=HttpxFetch(), sleep=sleep, **rules)


@pytest.fixture
def engine_for(loop):
    """engine_for(replica, url, **kw) as in conftest, syncing through the async transport."""
    made: list[LoopEngine] = []

    def make(replica, url, token="tok", **kw) -> LoopEngine:
        slept: list[float] = []
        kw.setdefault("read_timeout", 5.0)
        kw.setdefault("deadline_s", 10.0)
        kw.pop("sleep", None)
        assert "session" not in kw, "requests sessions are the blocking transport's"
        rules = {k: kw.pop(k) for k in list(kw) if k in RULES}
        e = LoopEngine(replica, url, token, transport=async_transport(url, token, slept, **rules), **kw)
        e.loop = loop
        e.slept = slept  # type: ignore[attr-defined]
        made.append(e)
        return e

    yield make
    for e in made:
        loop.run_until_complete(e.transport.fetch.client.aclose())


def test_the_async_edge_makes_the_same_requests_as_the_blocking_one(real, engine_for, conftest_engine_for):
    """One engine logic: the same store state gives the same requests, whatever the I/O edge."""
    seen = {}
    for name, factory in (("async", engine_for), ("blocking", conftest_engine_for)):
        rep, en = real.device("w1" if name == "async" else "w2")
        for i in range(7):
            real.household(rep, head=f"户主{i}")
        e = factory(rep, real.url, token=en.token, batch_size=3, adaptive=False)
        r = e.sync_once()
        assert r.ok, r.error
        seen[name] = (r.applied, r.pages, dict(e.transport.stats.by_path))
    assert seen["async"] == seen["blocking"]


@pytest.fixture
def conftest_engine_for():
    """The blocking engine (as tests/sync/client/conftest.py builds it)."""
    made = []

    def make(replica, url, token="tok", **kw):
        kw.setdefault("sleep", lambda s: None)
        e = SyncEngine(replica, url, token, **kw)
        made.append(e)
        return e

    yield make
    for e in made:
        e.transport.close()


def test_enroll_on_asyncio(real, loop):
    _, code = real.run(server_admin.create_enrollment, real.org.users["w1"])
    tr = async_transport(real.url, None, [])
    en = loop.run_until_complete(enroll_async(tr, f" {code.lower()} ", "手机浏览器"))
    assert en.user["id"] == real.org.users["w1"] and en.token and len(en.secret) == 64
    with pytest.raises(SyncError) as ei:
        loop.run_until_complete(enroll_async(tr, code, "x"))  # used once already
    assert ei.value.code == "bad_code" and "注册码" in ei.value.message
    loop.run_until_complete(tr.fetch.client.aclose())


# -- the runner on asyncio (the threaded runner's scenarios, tests/sync/client/test_runner.py) --


def _runner(engine, reports: list, **kw) -> AsyncRunner:
    return AsyncRunner(engine, timing=Timing(**kw), on_report=reports.append, rng=random.Random(1))


async def _until(cond, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        await asyncio.sleep(0.02)


def test_runner_trigger_syncs_and_then_waits_for_the_timer(real, engine_for, loop):
    replica, en = real.device("w1")
    real.household(replica)
    reports: list = []
    r = _runner(engine_for(replica, real.url, token=en.token), reports, interval_s=3600)

    async def scenario() -> None:
        r.start()
        await _until(lambda: len(reports) == 1)
        assert reports[0].ok and replica.outbox_size() == 0
        real.household(replica)
        r.trigger()  # e.g. the browser's "online" event
        await _until(lambda: len(reports) == 2)
        assert reports[1].ok and replica.outbox_size() == 0
        await asyncio.sleep(0.3)
        assert r.syncs == 2 and r.failures == 0  # then it waits for the timer
        r.stop()

    loop.run_until_complete(scenario())


def test_runner_a_save_syncs_after_the_debounce(real, engine_for, loop):
    replica, en = real.device("w1")
    reports: list = []
    r = _runner(engine_for(replica, real.url, token=en.token), reports, interval_s=3600, debounce_s=0.05)

    async def scenario() -> None:
        r.start()
        await _until(lambda: len(reports) == 1)
        real.household(replica)
        r.saved()
        await _until(lambda: len(reports) == 2)
        assert reports[1].applied == 1 and replica.outbox_size() == 0
        r.stop()

    loop.run_until_complete(scenario())


def test_runner_probes_offline_until_the_link_is_back(real, engine_for, proxy_for, loop):
    rep_, en = real.device("w1")
    real.household(rep_)
    p = proxy_for(real.port)
    p.add(*[Fault.refuse() for _ in range(4)])  # no signal for four attempts
    reports: list = []
    r = _runner(engine_for(rep_, p.url, token=en.token, max_attempts=1), reports,
                interval_s=3600, probe_min_s=0.01, probe_max_s=0.05)

    async def scenario() -> None:
        r.start()
        await _until(lambda: reports and reports[-1].ok)
        r.stop()

    loop.run_until_complete(scenario())
    assert [x.ok for x in reports] == [False] * 4 + [True]  # no new write needed to get going again
    assert rep_.outbox_size() == 0 and real.count("applied_changes") == 1 and r.failures == 0


def test_runner_backs_off_from_a_busy_server_as_it_asks(real, engine_for, proxy_for, loop):
    replica, en = real.device("w1")
    real.household(replica)
    p = proxy_for(real.port)
    p.add(Fault.http_error(503, retry_after=40))
    reports: list = []
    eng = engine_for(replica, p.url, token=en.token, max_attempts=1)
    r = _runner(eng, reports, interval_s=3600)

    async def scenario() -> None:
        r.start()
        await _until(lambda: len(reports) == 1)
        r.trigger()  # a trigger does not hurry a server that asked us to wait
        await asyncio.sleep(0.3)
        r.stop()

    loop.run_until_complete(scenario())
    assert len(reports) == 1 and reports[0].error.code == "busy" and r.schedule.link == BUSY
    assert r.next_due - time.monotonic() >= 39  # Retry-After honoured


def test_runner_a_trigger_during_a_sync_is_not_lost(real, engine_for, loop):
    replica, en = real.device("w1")
    eng = engine_for(replica, real.url, token=en.token)
    gate = asyncio.Event()
    entered = asyncio.Event()
    real_sync = eng.sync_once_async

    async def slow_sync(probe: bool = False):
        entered.set()
        await gate.wait()
        return await real_sync(probe)

    eng.sync_once_async = slow_sync
    reports: list = []
    r = _runner(eng, reports, interval_s=3600)

    async def scenario() -> None:
        r.start()
        await entered.wait()
        real.household(replica)  # saved while the first sync runs
        r.trigger()
        gate.set()
        await _until(lambda: len(reports) == 2)  # a second sync followed by itself
        r.stop()

    loop.run_until_complete(scenario())
    assert reports[1].ok and replica.outbox_size() == 0


def test_runner_tapped_waits_for_a_running_sync_instead_of_doubling_it(real, engine_for, loop):
    replica, en = real.device("w1")
    real.household(replica)
    reports: list = []
    r = _runner(engine_for(replica, real.url, token=en.token), reports, interval_s=3600)

    async def scenario() -> None:
        r.start()
        await asyncio.sleep(0)  # the background sync has started
        rep = await r.run_once(tapped=True)  # 立即同步
        assert rep.ok
        r.stop()

    loop.run_until_complete(scenario())
    assert [x.ok for x in reports] == [True, True] and real.count("applied_changes") == 1


def test_runner_revoked_device_is_not_hammered(real, engine_for, loop):
    replica, en = real.device("w1")
    real.run(server_admin.revoke_device, en.device_id)
    reports: list = []
    r = _runner(engine_for(replica, real.url, token=en.token), reports, interval_s=3600, probe_min_s=0.01)

    async def scenario() -> None:
        r.start()
        await _until(lambda: len(reports) == 1)
        await asyncio.sleep(0.3)
        r.stop()

    loop.run_until_complete(scenario())
    assert reports[0].error.code == "unauthorized" and r.syncs == 1
    assert r.next_due - time.monotonic() > 60  # waits for a person, not seconds
