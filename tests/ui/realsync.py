"""For the UI tests that sync through the REAL server (uvicorn + SQLite on 127.0.0.1): the
sync suite's server helper, and short timeouts with no real sleeping between retries, so a
dead server answers quickly."""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sync"))
from realserver import RealServer  # noqa: E402,F401 - the sync suite's real server helper

FAST = {"read_timeout": 5.0, "connect_timeout": 2.0, "deadline_s": 10.0, "max_attempts": 2,
        "sleep": lambda _s: None, "rng": random.Random(3)}
