"""Background sync for the app: one sync at a time, in its own thread, when the schedule says.

The rules of *when* are in ``schedule.py`` (a save syncs within seconds, link trouble is
probed at most 30 s apart, an overloaded server is backed off from, 立即同步 tries at once
and resets the waits); this module runs them: ``saved()`` after a local save, ``trigger()``
on start, resume and when the platform says the network is back, ``run_once(tapped=True)``
for 立即同步. A trigger or a save that arrives while a sync runs is not lost: it is due after
that sync. ``on_report`` is called (from the runner's thread) after each sync.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

from sync.client.engine import SyncEngine, SyncReport
from sync.client.schedule import Schedule, Timing, outcome_of


class RunnerCore:
    """What every runner does around one sync, whatever runs it (this thread, or asyncio in
    the browser: ``sync.client.aio.AsyncRunner``): feed the schedule, remember the report."""

    def __init__(
        self,
        engine: SyncEngine,
        timing: Timing | None = None,
        on_report: Callable[[SyncReport], None] | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.schedule = Schedule(timing, rng)
        self.on_report = on_report
        self.clock = clock
        self.syncs = 0
        self.last_report: SyncReport | None = None
        self._requested = False  # a trigger that arrived while a sync was running

    @property
    def failures(self) -> int:
        return self.schedule.failures

    @property
    def next_due(self) -> float:
        """Time (on ``clock``) of the next sync."""
        return self.schedule.next_due

    def _triggered(self) -> None:
        self._requested = True
        self.schedule.triggered(self.clock())

    def _begin(self, tapped: bool) -> bool:
        """A sync starts; whether it is a probe (one request, no retries inside)."""
        self._requested = False
        probe = self.schedule.probing and not tapped
        self.schedule.started()
        return probe

    def _end(self, rep: SyncReport) -> None:
        link, retry_after = outcome_of(rep)
        self.schedule.finished(self.clock(), link, retry_after, more=rep.ok and rep.more)
        if self._requested and self.schedule.believes_online:
            self.schedule.timer_due = self.clock()  # asked during the sync: their changes may be newer
        self.syncs += 1
        self.last_report = rep


class SyncRunner(RunnerCore):
    def __init__(self, engine: SyncEngine, timing: Timing | None = None,
                 on_report: Callable[[SyncReport], None] | None = None, rng: random.Random | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(engine, timing, on_report, rng, clock)
        self._lock = threading.Lock()  # guards the schedule (saves come from other threads)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._busy = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """A sync is in progress right now."""
        return self._busy.locked()

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="gridwall-sync", daemon=True)
            self._thread.start()

    def trigger(self) -> None:
        """Sync as soon as the schedule allows (a sync already running is not interrupted or doubled)."""
        with self._lock:
            self._triggered()
        self._wake.set()

    def saved(self) -> None:
        """A change was queued for upload: sync in a few seconds if the link is believed up."""
        with self._lock:
            self.schedule.saved(self.clock())
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def run_once(self, tapped: bool = False) -> SyncReport:
        """One sync now, in the caller's thread (waits for a running one to finish first).
        ``tapped``: a person asked (立即同步): a full try, and the waits start from the bottom."""
        if tapped:
            with self._lock:
                self.schedule.tapped(self.clock())
        with self._busy:
            with self._lock:
                probe = self._begin(tapped)
            rep = self.engine.sync_once(probe=True) if probe else self.engine.sync_once()
            with self._lock:
                self._end(rep)
        if self.on_report:
            self.on_report(rep)
        return rep

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                wait = self.schedule.next_due - self.clock()
            if wait > 0:
                self._wake.wait(wait)
                self._wake.clear()
                if self._stop.is_set():
                    return
                continue  # the schedule may have moved while we waited: look again
            self.run_once()
