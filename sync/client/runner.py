"""Background sync for the app: one sync at a time, on demand, on a timer, retried with backoff.

The app calls ``trigger()`` on start, on resume, when connectivity comes back and on
"立即同步"; the runner also syncs every ``interval_s`` and, after a failure that may pass
(offline, timeout, busy server), retries sooner with jittered exponential backoff, which is
what notices a link coming back when the platform says nothing. A sync cut short with more to
pull runs again at once. ``on_report`` is called (from the runner's thread) after each sync.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

from sync.client.engine import SyncEngine, SyncReport


class SyncRunner:
    def __init__(
        self,
        engine: SyncEngine,
        interval_s: float = 300.0,
        retry_min_s: float = 15.0,
        retry_max_s: float = 900.0,
        on_report: Callable[[SyncReport], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.engine = engine
        self.interval_s = interval_s
        self.retry_min_s = retry_min_s
        self.retry_max_s = retry_max_s
        self.on_report = on_report
        self.rng = rng or random.Random()
        self.failures = 0
        self.syncs = 0
        self.last_report: SyncReport | None = None
        self.next_due: float = 0.0  # monotonic time of the next timed sync
        self._requested = False  # a trigger that arrived while a sync was running
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
        """Sync as soon as possible (a sync already running is not interrupted or doubled)."""
        self._requested = True
        self.next_due = 0.0
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def run_once(self) -> SyncReport:
        """One sync now, in the caller's thread (waits for a running one to finish first)."""
        with self._busy:
            self._requested = False
            rep = self.engine.sync_once()
        self.syncs += 1
        self.last_report = rep
        now = time.monotonic()
        if rep.ok and rep.more:
            self.next_due = now  # cut short with more to pull: go on
        elif rep.ok:
            self.failures = 0
            self.next_due = now + self.interval_s
        elif rep.error is not None and rep.error.retryable:
            self.failures += 1
            ceiling = min(self.retry_max_s, self.retry_min_s * 2 ** (self.failures - 1))
            self.next_due = now + self.rng.uniform(ceiling / 2, ceiling)
        else:
            # A person has to act (revoked device, ...): do not hammer; wait for a trigger.
            self.failures += 1
            self.next_due = now + self.retry_max_s
        if self._requested:
            self.next_due = now  # someone asked during the sync: their changes may be newer
        if self.on_report:
            self.on_report(rep)
        return rep

    def _loop(self) -> None:
        while not self._stop.is_set():
            wait = self.next_due - time.monotonic()
            if wait > 0:
                self._wake.wait(wait)
                self._wake.clear()
                if self._stop.is_set():
                    return
                if self.next_due - time.monotonic() > 0:
                    continue
            self.run_once()
