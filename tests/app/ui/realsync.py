"""For the UI tests that sync through the REAL server (tests.support.server.RealServer):
short timeouts with no real sleeping between retries, so a dead server answers quickly."""

from __future__ import annotations

import random

FAST = {"read_timeout": 5.0, "connect_timeout": 2.0, "deadline_s": 10.0, "max_attempts": 2,
        "sleep": lambda _s: None, "rng": random.Random(3)}
