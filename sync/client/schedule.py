"""When the device syncs next: the rules, with no threads and no clock of their own.

``SyncRunner`` (runner.py) owns one ``Schedule`` and hands it the time; tests drive it with a
fake clock. The rules:

- **A save** syncs ``debounce_s`` after the last save (a burst of saves is one sync), but no
  later than ``debounce_max_s`` after the first unsynced save — only while a connection is
  believed to exist (the last attempt worked, or none was made yet). Offline, the probe below
  finds the link; a busy server is not hurried.
- **Link trouble** (offline, timeout, a bad answer such as a captive portal's page, a 502/504
  from a proxy whose server is down): a cheap probe, jittered, from ``probe_min_s`` doubling to
  at most ``probe_max_s`` (30 s), so a link or a server that comes back is found within
  ``probe_max_s`` without a tap. The idle sync is one small request, so the probe is cheap.
- **Server overload** (429, 503): jittered exponential backoff from ``busy_min_s`` to
  ``busy_max_s``; a ``Retry-After`` is honoured (capped at ``busy_max_s``), jittered above
  so a crowd told the same number does not come back at once.
- **A person must act** (revoked device, ...): the next try is ``busy_max_s`` away.
- **立即同步** (``tapped``) tries at once and starts the waits from the bottom again; other
  triggers (a new tab, resume, the platform says the network is back) try at once too, except
  while an overloaded server asked us to wait.
- After a sync that worked: the idle poll ``interval_s`` (it pulls what others sent); a sync
  cut short with more to pull goes on at once.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# What the last attempt says about the link (``Schedule.link``).
UNKNOWN, ONLINE, OFFLINE, BUSY, STUCK = "unknown", "online", "offline", "busy", "stuck"
OVERLOAD_STATUS = {429, 503}


@dataclass(frozen=True)
class Timing:
    interval_s: float = 300.0
    debounce_s: float = 2.5
    debounce_max_s: float = 15.0
    probe_min_s: float = 5.0
    probe_max_s: float = 30.0
    busy_min_s: float = 15.0
    busy_max_s: float = 900.0


def outcome_of(report: object) -> tuple[str, float | None]:
    """(link state, Retry-After) of a ``SyncReport``: ONLINE, OFFLINE, BUSY or STUCK."""
    err = getattr(report, "error", None)
    if err is None:
        return ONLINE, None
    if not err.retryable:
        return STUCK, None
    if err.code == "busy" and err.status in OVERLOAD_STATUS:
        return BUSY, getattr(err, "retry_after", None)
    return OFFLINE, None


class Schedule:
    """The next sync time (``next_due``, on the caller's clock) and what the link is believed to be."""

    def __init__(self, timing: Timing | None = None, rng: random.Random | None = None) -> None:
        self.timing = timing or Timing()
        self.rng = rng or random.Random()
        self.link = UNKNOWN
        self.failures = 0  # attempts failed in a row (reset by a success or by 立即同步)
        self.timer_due = 0.0  # from the last outcome (0: at once, the first sync on start)
        self.save_due: float | None = None  # a debounced save
        self._first_save: float | None = None  # the first save not yet carried by a sync

    @property
    def next_due(self) -> float:
        return self.timer_due if self.save_due is None else min(self.timer_due, self.save_due)

    @property
    def believes_online(self) -> bool:
        return self.link in (UNKNOWN, ONLINE)

    @property
    def probing(self) -> bool:
        """The next attempt is a probe: one request, no retries inside it (this schedule retries)."""
        return self.link == OFFLINE

    def saved(self, now: float) -> None:
        """A change was queued for upload."""
        if not self.believes_online:
            return
        if self._first_save is None:
            self._first_save = now
        self.save_due = min(now + self.timing.debounce_s, self._first_save + self.timing.debounce_max_s)

    def tapped(self, now: float) -> None:
        """立即同步: try at once, and start the waits from the bottom."""
        self.failures = 0
        self.timer_due = now

    def triggered(self, now: float) -> None:
        """New tab, resume, network back: try at once unless an overloaded server asked to wait."""
        if self.link != BUSY:
            self.timer_due = min(self.timer_due, now)

    def started(self) -> None:
        """A sync starts: it carries every save made so far."""
        self.save_due = None
        self._first_save = None

    def finished(self, now: float, link: str, retry_after: float | None = None, more: bool = False) -> float:
        """Record an attempt's outcome; returns the wait until the next timed sync."""
        t = self.timing
        self.link = link
        if link == ONLINE:
            self.failures = 0
            wait = 0.0 if more else t.interval_s
        else:
            self.failures += 1
            # Saves made during a failed attempt wait for the probe (or the backoff) too.
            self.save_due = None
            self._first_save = None
            if link == OFFLINE:
                wait = self._jitter(t.probe_min_s, t.probe_max_s)
            elif link == BUSY:
                if retry_after is not None:
                    ra = min(retry_after, t.busy_max_s)
                    wait = ra + self.rng.uniform(0, max(1.0, 0.2 * ra))
                else:
                    wait = self._jitter(t.busy_min_s, t.busy_max_s)
            else:
                wait = t.busy_max_s
        self.timer_due = now + wait
        return wait

    def _jitter(self, low: float, high: float) -> float:
        ceiling = min(high, low * 2 ** (self.failures - 1))
        return self.rng.uniform(ceiling / 2, ceiling)
