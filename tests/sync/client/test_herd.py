"""The tower comes back: many devices sync at once against a server that admits few requests
at a time. They get 429 + Retry-After, back off with jitter, and all converge."""

from __future__ import annotations

import random
import threading

from sync.client.engine import SyncEngine
from sync.client.replica import MemoryReplica
from sync.records import RECORD_KINDS
from sync.server.api import Limits
from tests.support.server import RealServer, enroll_user


def test_thundering_herd_backs_off_and_converges(tmp_path):
    real = RealServer(tmp_path / "srv", limits=Limits(max_inflight=3))
    try:
        uid = real.org.users["w1"]
        devices = []
        for i in range(40):
            en = enroll_user(real, uid)
            rep = MemoryReplica(en.device_id, actor=en.user["id"])
            for j in range(3):
                real.household(rep, head=f"户{i}-{j}")
            slept: list[float] = []

            def sleep(s: float, slept=slept) -> None:
                slept.append(s)
                threading.Event().wait(min(s, 0.05))  # honour it, compressed for the test

            eng = SyncEngine(rep, real.url, en.token, sleep=sleep, rng=random.Random(i), max_attempts=40)
            devices.append((rep, eng, slept))
        barrier = threading.Barrier(len(devices))
        reports = [None] * len(devices)

        def run(k: int) -> None:
            barrier.wait()
            reports[k] = devices[k][1].sync_once()

        threads = [threading.Thread(target=run, args=(k,)) for k in range(len(devices))]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=300)
        assert all(r is not None and r.ok for r in reports), [r.error for r in reports if r and r.error]
        busy = [s for _, _, slept in devices for s in slept]
        assert busy, "the server never pushed back: the test did not test anything"
        assert all(s >= 1.0 for s in busy)  # Retry-After (1 s) was honoured on every 429
        assert real.count("applied_changes") == 120
        for _rep, eng, _ in devices:
            assert eng.sync_once().ok
        server = {k: v for k, v in real.state().items() if v["kind"] in RECORD_KINDS}
        assert all({k: v for k, v in rep.state().items() if v["kind"] in RECORD_KINDS} == server
                   for rep, _, _ in devices)
    finally:
        real.stop()
