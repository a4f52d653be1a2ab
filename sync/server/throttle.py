"""Throttling of failed attempts (enrollment codes): per client address and per code.

Each key (``ip:<address>``, ``code:<normalized code>``) may fail ``max_failures`` times within
``window_s`` seconds; after that every attempt under that key gets 429 with Retry-After (the
seconds until its oldest counted failure leaves the window), even with a right code, so
guessing cannot go on in the background. Held in memory, per server process: a restart forgets
(documented in docs/security.md); behind a reverse proxy every client has the proxy's address.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable


class Throttle:
    def __init__(self, max_failures: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.clock = clock
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._fails.get(key)
        if q is None:
            return deque()
        while q and q[0] <= now - self.window_s:
            q.popleft()
        if not q:
            del self._fails[key]
        return q

    def retry_after(self, keys: Iterable[str]) -> int | None:
        """Seconds to wait when any key is over its limit, else None."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in keys:
                q = self._recent(key, now)
                if len(q) >= self.max_failures:
                    wait = max(wait, q[0] + self.window_s - now)
        return max(1, math.ceil(wait)) if wait > 0 else None

    def failed(self, keys: Iterable[str]) -> None:
        now = self.clock()
        with self._lock:
            if len(self._fails) > 100_000:  # many addresses: forget the quiet ones first
                for key in list(self._fails):
                    self._recent(key, now)
            for key in keys:
                self._fails.setdefault(key, deque()).append(now)
