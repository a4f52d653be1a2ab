"""The sync schedule's rules on a fake clock (no threads, no waiting): a save syncs within
seconds (debounced), link trouble is probed at most 30 s apart, an overloaded server is backed
off from with its Retry-After honoured, and 立即同步 tries at once and resets the waits."""

from __future__ import annotations

import random

from sync.client.engine import SyncReport
from sync.client.runner import SyncRunner
from sync.client.schedule import BUSY, OFFLINE, ONLINE, STUCK, Schedule, Timing, outcome_of
from sync.client.transport import SyncError

T = Timing()  # the defaults the app runs with


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def online(s: Schedule, now: float) -> None:
    s.started()
    s.finished(now, ONLINE)


def test_a_save_syncs_after_the_debounce_and_a_burst_is_one_sync():
    s = Schedule(T, random.Random(1))
    online(s, 0.0)
    assert s.next_due == T.interval_s  # idle: the poll
    s.saved(10.0)
    assert s.next_due == 10.0 + T.debounce_s
    s.saved(11.0)  # another save before it fired: wait for the last one
    assert s.next_due == 11.0 + T.debounce_s
    # A worker who keeps saving is still synced: no later than debounce_max after the first save.
    for k in range(1, 40):
        s.saved(10.0 + k)
    assert s.next_due == 10.0 + T.debounce_max_s
    s.started()  # that sync carries every save so far
    s.finished(30.0, ONLINE)
    assert s.next_due == 30.0 + T.interval_s


def test_a_save_during_a_sync_gets_its_own_sync():
    s = Schedule(T, random.Random(1))
    online(s, 0.0)
    s.saved(5.0)
    s.started()
    s.saved(6.0)  # saved while the sync ran: the running sync may have missed it
    s.finished(7.0, ONLINE)
    assert s.next_due == 6.0 + T.debounce_s


def test_a_save_does_not_hurry_an_offline_link_or_a_busy_server():
    s = Schedule(T, random.Random(1))
    s.started()
    s.finished(0.0, OFFLINE)
    probe = s.next_due
    s.saved(1.0)
    assert s.next_due == probe  # the probe finds the link; a save changes nothing
    s.started()
    s.finished(probe, BUSY, retry_after=120.0)
    s.saved(probe + 1)
    assert s.next_due >= probe + 120.0


def test_link_trouble_is_probed_at_most_probe_max_apart_however_long_it_lasts():
    s = Schedule(T, random.Random(7))
    now, waits = 0.0, []
    for _ in range(200):  # far beyond where the old backoff reached 15 minutes
        assert s.probing or s.failures == 0
        s.started()
        waits.append(s.finished(now, OFFLINE))
        now = s.next_due
    assert max(waits) <= T.probe_max_s
    assert waits[0] <= T.probe_min_s and waits[0] >= T.probe_min_s / 2  # the first retry is soon
    assert len({round(w, 6) for w in waits[-20:]}) > 1  # jittered: a crowd does not probe in step
    assert s.probing


def test_server_overload_backs_off_further_and_honours_retry_after():
    s = Schedule(T, random.Random(3))
    waits = []
    for _ in range(12):
        s.started()
        waits.append(s.finished(0.0, BUSY))
    assert waits[-1] > T.probe_max_s and max(waits) <= T.busy_max_s
    assert not s.probing  # an overloaded server is not probed every 30 s
    s.started()
    w = s.finished(0.0, BUSY, retry_after=600.0)
    assert 600.0 <= w <= 600.0 + 0.2 * 600.0
    s.started()
    assert s.finished(0.0, BUSY, retry_after=10 ** 9) <= T.busy_max_s * 1.2  # a silly Retry-After is capped
    s.triggered(1.0)  # a new tab does not override what the server asked
    assert s.next_due > 1.0


def test_tap_tries_at_once_and_a_failed_tap_restarts_the_waits_from_the_bottom():
    s = Schedule(T, random.Random(5))
    for _ in range(10):
        s.started()
        s.finished(0.0, BUSY)
    assert s.next_due > 100.0
    s.tapped(50.0)
    assert s.next_due == 50.0 and s.failures == 0
    s.started()
    w = s.finished(51.0, OFFLINE)  # the tap failed: the next try is a short probe, not 15 minutes
    assert w <= T.probe_min_s and s.failures == 1


def test_a_person_must_act_waits_long():
    s = Schedule(T, random.Random(1))
    s.started()
    assert s.finished(0.0, STUCK) == T.busy_max_s
    s.saved(1.0)
    assert s.next_due == T.busy_max_s


def test_outcome_of_reports():
    assert outcome_of(SyncReport()) == (ONLINE, None)
    busy = SyncError("busy", "忙", retryable=True, status=503, retry_after=30.0)
    assert outcome_of(SyncReport(error=busy)) == (BUSY, 30.0)
    assert outcome_of(SyncReport(error=SyncError("busy", "x", retryable=True, status=429)))[0] == BUSY
    # a proxy whose server is down (502/504) is link trouble: probe it
    assert outcome_of(SyncReport(error=SyncError("busy", "x", retryable=True, status=502)))[0] == OFFLINE
    assert outcome_of(SyncReport(error=SyncError("offline", "x", retryable=True)))[0] == OFFLINE
    assert outcome_of(SyncReport(error=SyncError("unauthorized", "x", status=401)))[0] == STUCK


class FakeEngine:
    """Answers each sync_once from a script of errors (None = success) and records probes."""

    def __init__(self, script: list[SyncError | None]) -> None:
        self.script = list(script)
        self.probes: list[bool] = []

    def sync_once(self, probe: bool = False) -> SyncReport:
        self.probes.append(probe)
        return SyncReport(error=self.script.pop(0) if self.script else None)


def test_runner_probes_after_link_trouble_and_a_tap_is_a_full_try():
    clock = Clock()
    off = SyncError("offline", "x", retryable=True)
    eng = FakeEngine([off, off, off, None])
    r = SyncRunner(eng, timing=T, rng=random.Random(2), clock=clock)
    r.run_once()
    assert r.next_due - clock.now <= T.probe_min_s
    clock.now = r.next_due
    r.run_once()
    r.run_once(tapped=True)  # 立即同步 while offline
    assert eng.probes == [False, True, False]  # the tap tries with the transport's retries
    assert r.failures == 1 and r.next_due - clock.now <= T.probe_min_s  # not added to the waits
    r.run_once()
    assert eng.probes[-1] is True and r.failures == 0
    assert r.next_due == clock.now + T.interval_s


def test_runner_save_moves_the_next_sync_to_the_debounce():
    clock = Clock()
    r = SyncRunner(FakeEngine([]), timing=T, clock=clock)
    r.run_once()
    assert r.next_due == clock.now + T.interval_s
    clock.now += 60
    r.saved()
    assert r.next_due == clock.now + T.debounce_s
