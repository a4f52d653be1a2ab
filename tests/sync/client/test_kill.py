"""Kill a syncing process (SIGKILL) at random points, many times: the next sync completes and
nothing is lost or doubled. Uses the real TinyDB device store and the real server."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text

from app.store import Store
from sync.changes import new_record
from sync.client.engine import SyncEngine
from sync.records import RECORD_KINDS
from tests.support.linkemu import FaultProxy, Link
from tests.support.server import RealServer, photo_blob

ROOT = Path(__file__).resolve().parents[3]
WORKER = Path(__file__).with_name("kill_sync_worker.py")


def _add(store: Store, real: RealServer, user: str, n: int, made: list[str], rng: random.Random) -> None:
    for _ in range(n):
        fields = {"village": real.org.village, "address": f"{rng.randint(1, 99)}号", "head": f"户主{rng.randint(0, 999)}"}
        rec, change = new_record("household", real.org.grid, fields, store.clock, user)
        store.save(change)
        made.append(change["change_id"])
        if rng.random() < 0.2:
            data = photo_blob(rng.randint(5_000, 30_000))
            import hashlib

            sha = hashlib.sha256(data).hexdigest()
            store.put_photo(sha, data)
            _, pc = new_record("photo", real.org.grid, {"sha256": sha, "size": len(data), "width": 4, "height": 3,
                                                        "attached_to": {"kind": "household", "id": rec["id"]}},
                               store.clock, user)
            store.save(pc)
            made.append(pc["change_id"])


def test_sigkill_during_sync_then_next_sync_completes(real, tmp_path):
    en = real.enroll("w1")
    data = tmp_path / "device"
    rng = random.Random(2026)
    made: list[str] = []
    st = Store.open(data, node=en.device_id)
    _add(st, real, en.user["id"], 25, made, rng)
    st.close()
    # A slow link so a kill lands in the middle of requests, pages and chunks.
    proxy = FaultProxy(("127.0.0.1", real.port), link=Link(up_bps=400_000, down_bps=400_000, latency_s=0.02))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    kills = 0
    progress: list[int] = []
    try:
        for round_ in range(8):
            proc = subprocess.Popen([sys.executable, str(WORKER), str(data), proxy.url, en.token],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=ROOT)
            assert proc.stdout.readline().strip() == b"ready", proc.stderr.read().decode()
            time.sleep(rng.uniform(0.02, 0.5))
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            kills += 1
            progress.append(real.count("applied_changes"))
            if round_ % 2 == 0:  # the worker keeps writing between kills
                st = Store.open(data)
                _add(st, real, en.user["id"], 5, made, rng)
                st.close()
        print("applied after each kill:", progress, "of", len(made))
        assert progress[-1] > 0  # the killed workers did get work done before dying
        st = Store.open(data)
        try:
            eng = SyncEngine(st, proxy.url, en.token)
            rep = eng.sync_once()
            assert rep.ok, rep.error
            assert st.outbox_size() == 0 and st.refused_changes() == []
            with real.engine.connect() as conn:
                applied = [r[0] for r in conn.execute(text("SELECT change_id FROM applied_changes"))]
            assert sorted(applied) == sorted(made)  # every change once: nothing lost, nothing doubled
            server = {k: v for k, v in real.state().items() if v["kind"] in RECORD_KINDS}
            local = {}
            for kind in RECORD_KINDS:
                for r in st.all(kind, include_deleted=True):
                    local[r["id"]] = {"kind": r["kind"], "grid": r["grid"], "fields": r["fields"]}
            assert local == server
            for r in st.all("photo"):
                assert real.blobs.has(r["fields"]["sha256"])
            assert eng.sync_once().requests == 1  # idle afterwards
            assert eng.status().state == "synced"
        finally:
            st.close()
    finally:
        proxy.close()
    assert kills == 8
