"""Fixtures for the sync engine tests: a server on 127.0.0.1, fault proxies, engines."""

from __future__ import annotations

import random

import pytest

from sync.client.engine import SyncEngine
from tests.support.linkemu import FaultProxy
from tests.support.server import RealServer


@pytest.fixture
def real(tmp_path):
    """The real server (uvicorn, SQLite) on 127.0.0.1 with an organisation."""
    s = RealServer(tmp_path / "srv")
    yield s
    s.stop()


@pytest.fixture
def proxy_for():
    made: list[FaultProxy] = []

    def make(url_or_port, **kw) -> FaultProxy:
        port = url_or_port if isinstance(url_or_port, int) else int(url_or_port.rsplit(":", 1)[1])
        p = FaultProxy(("127.0.0.1", port), **kw)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


@pytest.fixture
def engine_for():
    """engine_for(replica, url, **kw): an engine that never really sleeps between retries."""
    made: list[SyncEngine] = []

    def make(replica, url, token="tok", **kw) -> SyncEngine:
        slept: list[float] = []
        kw.setdefault("sleep", slept.append)
        kw.setdefault("rng", random.Random(1))
        kw.setdefault("read_timeout", 5.0)
        kw.setdefault("deadline_s", 10.0)
        e = SyncEngine(replica, url, token, **kw)
        e.slept = slept  # type: ignore[attr-defined]
        made.append(e)
        return e

    yield make
    for e in made:
        e.transport.close()
