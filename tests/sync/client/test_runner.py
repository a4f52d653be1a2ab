"""The background sync runner: triggers, retry with backoff until the link is back, no lost
trigger while a sync runs."""

from __future__ import annotations

import queue
import random
import threading
import time

from sync.client.runner import SyncRunner
from sync.client.schedule import Timing
from sync.server import admin as server_admin
from tests.support.linkemu import Fault


def _runner(engine, **kw):
    reports: queue.Queue = queue.Queue()
    r = SyncRunner(engine, timing=Timing(**kw), on_report=reports.put, rng=random.Random(1))
    return r, reports


def test_trigger_syncs_and_then_waits_for_the_timer(real, engine_for):
    replica, en = real.device("w1")
    real.household(replica)
    r, reports = _runner(engine_for(replica, real.url, token=en.token), interval_s=3600)
    r.start()
    try:
        rep = reports.get(timeout=30)
        assert rep.ok and replica.outbox_size() == 0
        real.household(replica)
        r.trigger()  # 立即同步
        assert reports.get(timeout=30).ok and replica.outbox_size() == 0
        assert r.syncs == 2 and r.failures == 0
    finally:
        r.stop()


def test_offline_retries_with_backoff_until_the_link_is_back(real, engine_for, proxy_for):
    rep_, en = real.device("w1")
    real.household(rep_)
    p = proxy_for(real.port)
    p.add(*[Fault.refuse() for _ in range(4)])  # no signal for four attempts
    eng = engine_for(rep_, p.url, token=en.token, max_attempts=1)
    r, reports = _runner(eng, interval_s=3600, probe_min_s=0.01, probe_max_s=0.05)
    r.start()
    try:
        outcomes = []
        while True:
            rep = reports.get(timeout=30)
            outcomes.append(rep.ok)
            if rep.ok:
                break
        assert outcomes == [False] * 4 + [True]  # no new write needed to get it going again
        assert rep_.outbox_size() == 0 and real.count("applied_changes") == 1 and r.failures == 0
    finally:
        r.stop()


def test_a_trigger_during_a_sync_is_not_lost(real, engine_for):
    replica, en = real.device("w1")
    gate = threading.Event()
    entered = threading.Event()
    eng = engine_for(replica, real.url, token=en.token)
    real_sync = eng.sync_once

    def slow_sync():
        entered.set()
        gate.wait(30)
        return real_sync()

    eng.sync_once = slow_sync
    r, reports = _runner(eng, interval_s=3600)
    r.start()
    try:
        assert entered.wait(30)
        real.household(replica)  # saved while the first sync runs
        r.trigger()
        gate.set()
        reports.get(timeout=30)
        assert reports.get(timeout=30).ok  # a second sync followed by itself
        assert replica.outbox_size() == 0
    finally:
        r.stop()


def test_revoked_device_is_not_hammered(real, engine_for):
    replica, en = real.device("w1")
    real.run(server_admin.revoke_device, en.device_id)
    r, reports = _runner(engine_for(replica, real.url, token=en.token), interval_s=3600, probe_min_s=0.01)
    r.start()
    try:
        rep = reports.get(timeout=30)
        assert rep.error.code == "unauthorized"
        assert reports.empty() and r.syncs == 1
        assert r.next_due - time.monotonic() > 60  # waits for a person, not seconds
    finally:
        r.stop()
