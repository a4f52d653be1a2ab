"""Server benchmark: apply rate, sync latency under 50 concurrent devices, bytes per visit.

    .venv/bin/python benchmarks/bench_server.py [--quick]

1. Sustained apply rate of 100-change batches (new visit records), in process through
   ``feed.apply_changes`` (one transaction per batch), on SQLite (WAL, synchronous=NORMAL) and
   on PostgreSQL (a throwaway local cluster, fsync on).
2. N devices each send one 100-change sync at the same instant (N = 10, 50: --at-once); then
   p50/p95 latency of a sync request carrying 100 changes while 50 simulated devices (threads,
   real HTTP on 127.0.0.1) sync at once, on both databases. The server is `gridwall server`
   in its own process (one uvicorn worker), so the simulated devices do not share its GIL.
   Each device is a grid worker with a grid of its own, as in the field.
3. Bytes on the wire per visit record: a gzip batch of 50 visit changes as the device sends it.
Prints medians over repeated runs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, for tests.support
from seed_grid import SAID, SEEN, SURNAMES  # noqa: E402 - the visit-note pools, one copy

from sync.changes import new_record  # noqa: E402
from sync.clock import HybridClock  # noqa: E402
from sync.ids import new_id  # noqa: E402
from sync.server import admin, auth, db, feed  # noqa: E402
from tests.support.net import free_port  # noqa: E402
from tests.support.server import Device, start_pg_cluster  # noqa: E402


def visit_changes(n: int, grid: str, actor: str, clock: HybridClock, seed: int = 1,
                  household: str | None = None) -> list[dict]:
    """Visits to ``household``; the server refuses visits to a household it does not have
    (sync/server/authz.py), so whatever is sent to a server names one made by ``household_on``."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        fields = {
            "household": household or new_id(),
            "visitor": actor,
            "time": f"2026-11-{rng.randint(1, 28):02d}T{rng.randint(8, 17):02d}:{rng.randint(0, 59):02d}:00+08:00",
            "kind": rng.choice(("routine", "routine", "care", "follow_up")),
            "people_met": f"户主{rng.choice(SURNAMES)}{rng.choice('明华强芳英秀军')}及家人{rng.randint(1, 4)}人",
            "seen": "，".join(rng.sample(SEEN, rng.randint(1, 3))) + "。",
            "said": "；".join(rng.sample(SAID, rng.randint(1, 2))) + "。",
            "next_due": f"2026-12-{rng.randint(1, 28):02d}",
        }
        out.append(new_record("visit", grid, fields, clock, actor)[1])
    return out


def household_change(grid: str, village: str, actor: str, clock: HybridClock) -> dict:
    fields = {"village": village, "address": "基准村1组1号", "head": "王基准"}
    return new_record("household", grid, fields, clock, actor)[1]


def household_on(d: Device, village: str) -> str:
    """A household of the device's grid, on the server (what its visits name)."""
    ch = household_change(d.grids[0], village, d.user_id, d.clock)
    r = d.sync([ch])
    assert r.status_code == 200 and r.json()["acks"][0]["status"] == "applied", r.text
    return ch["id"]


def bytes_per_visit() -> tuple[float, float]:
    clock = HybridClock(new_id())
    batch = visit_changes(50, new_id(), new_id(), clock, seed=42)
    body = json.dumps({"cursor": "123456", "changes": batch, "device_time_ms": 1764000000000}, ensure_ascii=False).encode()
    return len(body) / 50, len(gzip.compress(body, 6)) / 50


def _stop_on_sigterm() -> None:
    # A killed benchmark still stops its PostgreSQL cluster (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


class ServerProcess:
    """`gridwall server` on a free port, organised and seeded through the store directly."""

    def __init__(self, url: str, tmp: Path, devices: int) -> None:
        from sqlalchemy import Engine

        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}/api/v1"
        exe = str(Path(sys.executable).with_name("gridwall"))
        self.proc = subprocess.Popen(
            [exe, "server", "--db", url, "--data", str(tmp), "--port", str(self.port), "--max-inflight", "256"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{self.api}/health", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("gridwall server did not start")
            time.sleep(0.2)
        self.engine: Engine = db.make_engine(url)

        def build(conn):  # type: ignore[no-untyped-def]
            tw = admin.create_township(conn, "基准镇")
            v = admin.create_village(conn, tw, "基准村")
            grids, users = [], []
            for i in range(devices + 1):
                g = admin.create_grid(conn, tw, f"基准网格{i}", v)
                users.append(admin.create_user(conn, f"网格员{i}", "grid_worker", grids=[g]))
                grids.append(g)
            return grids, users, v

        with self.engine.begin() as conn:
            self.grids, self.users, self.village = build(conn)

    def device(self, i: int) -> Device:
        with self.engine.begin() as conn:
            _, code = admin.create_enrollment(conn, self.users[i])
        b = requests.post(f"{self.api}/enroll", json={"code": code}, timeout=30).json()
        return Device(
            self.api, b["device_id"], b["token"], b["user"]["id"], b["user"]["role"], b["scope"]["grids"],
            requests.Session(), HybridClock(b["device_id"]),
        )  # fmt: skip

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        self.engine.dispose()


def burst(srv: ServerProcess, devices: int, rounds: int, first: int = 1) -> tuple[float, float, float]:
    """Every device sends ``rounds`` 100-change syncs back to back, all starting at once.
    Devices are enrolled for users ``first`` .. ``first + devices - 1``."""
    devs = [srv.device(first + i) for i in range(devices)]
    homes = {}
    for d in devs:
        d.pull_all()
        homes[d.device_id] = household_on(d, srv.village)
    work = {d.device_id: [visit_changes(100, d.grids[0], d.user_id, d.clock, seed=n * 100 + r,
                                        household=homes[d.device_id]) for r in range(rounds)]
            for n, d in enumerate(devs)}  # fmt: skip
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(devices)

    def run(d: Device) -> None:
        d.session.close()  # the server drops keep-alive connections idle for 5 s: start fresh
        barrier.wait()
        for batch in work[d.device_id]:
            body = gzip.compress(json.dumps({"cursor": d.cursor, "changes": batch, "device_time_ms": int(time.time() * 1000)}).encode())
            h = {**d.headers(), "Content-Type": "application/json", "Content-Encoding": "gzip"}
            t0 = time.perf_counter()
            while True:
                r = d.session.post(f"{d.api}/sync", data=body, headers=h, timeout=300)
                if r.status_code != 429:
                    break
                time.sleep(float(r.headers.get("Retry-After", "1")))
            ms = (time.perf_counter() - t0) * 1000
            assert r.status_code == 200, r.text
            d.cursor = r.json()["cursor"]
            with lock:
                latencies.append(ms)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=run, args=(d,), daemon=True) for d in devs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    latencies.sort()
    return latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.95) - 1], devices * rounds * 100 / wall


def among_pollers(srv: ServerProcess, pollers: int, samples: int) -> tuple[float, float, float]:
    """p50/p95 of one device's 100-change sync while ``pollers`` other devices sync at the same
    time, each a small sync (5 changes + pull) then a random 0.5-1.5 s pause (about ``pollers``
    syncs per second, far more than a township makes). Returns (p50, p95, their syncs/s)."""
    devs = [srv.device(i + 1) for i in range(pollers)]
    homes = {}
    for d in devs:
        d.pull_all()
        homes[d.device_id] = household_on(d, srv.village)
    me = srv.device(0)
    me.pull_all()
    my_home = household_on(me, srv.village)
    stop = threading.Event()
    done = [0]

    def poll(d: Device, seed: int) -> None:
        rng = random.Random(seed)
        i = 0
        while not stop.is_set():
            i += 1
            r = d.sync(visit_changes(5, d.grids[0], d.user_id, d.clock, seed=seed * 1000 + i,
                                     household=homes[d.device_id]))
            if r.status_code == 200:
                d.cursor = r.json()["cursor"]
                done[0] += 1
                stop.wait(rng.uniform(0.5, 1.5))
            else:
                stop.wait(float(r.headers.get("Retry-After", "1")))

    threads = [threading.Thread(target=poll, args=(d, n), daemon=True) for n, d in enumerate(devs)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    me.session.close()  # idle during the warm-up: open a fresh connection
    lat = []
    t0 = time.perf_counter()
    start_done = done[0]
    for i in range(samples):
        batch = visit_changes(100, me.grids[0], me.user_id, me.clock, seed=10_000 + i, household=my_home)
        body = gzip.compress(json.dumps({"cursor": me.cursor, "changes": batch, "device_time_ms": int(time.time() * 1000)}).encode())
        h = {**me.headers(), "Content-Type": "application/json", "Content-Encoding": "gzip"}
        t1 = time.perf_counter()
        r = me.session.post(f"{me.api}/sync", data=body, headers=h, timeout=300)
        lat.append((time.perf_counter() - t1) * 1000)
        assert r.status_code == 200, r.text
        me.cursor = r.json()["cursor"]
        time.sleep(0.2)
    rate = (done[0] - start_done) / (time.perf_counter() - t0)
    stop.set()
    for t in threads:
        t.join()
    lat.sort()
    return lat[len(lat) // 2], lat[max(0, int(len(lat) * 0.95) - 1)], rate


def apply_rate_db(url: str, batches: int) -> float:
    """100-change batches through feed.apply_changes, in process, one transaction each."""
    engine = db.make_engine(url)
    db.migrate(engine)
    with engine.begin() as conn:
        tw = admin.create_township(conn, "速率镇")
        v = admin.create_village(conn, tw, "速率村")
        g = admin.create_grid(conn, tw, "速率网格", v)
        u = admin.create_user(conn, "速率员", "grid_worker", grids=[g])
        principal = auth.principal_for_user(conn, u)
        clock = HybridClock("bench-apply")
        home = household_change(g, v, u, clock)
        assert feed.apply_changes(conn, principal, [home])[0]["status"] == "applied"
    work = [visit_changes(100, g, u, clock, seed=b, household=home["id"]) for b in range(batches)]
    t0 = time.perf_counter()
    for batch in work:
        with db.write_tx(engine) as conn:
            acks = feed.apply_changes(conn, principal, batch)
        assert all(a["status"] == "applied" for a in acks)
    rate = batches * 100 / (time.perf_counter() - t0)
    engine.dispose()
    return rate


def main() -> None:
    _stop_on_sigterm()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--at-once", default="10,50", help="N for 'N devices each send 100 changes at once'")
    args = ap.parse_args()
    runs = 1 if args.quick else args.runs
    batches = 5 if args.quick else 30
    devices, rounds = (10, 2) if args.quick else (50, 4)
    at_once = [int(n) for n in args.at_once.split(",")]
    devices = max(devices, *at_once)

    raw, gz = bytes_per_visit()
    print(f"bytes per visit record: {raw:.0f} raw JSON, {gz:.0f} gzip (batch of 50)")

    pg = start_pg_cluster(fsync=True)
    try:
        for name in ("sqlite", "postgres"):
            rates, p50s, p95s, thr, q50s, q95s, qrate = [], [], [], [], [], [], []
            once: dict[int, list[tuple[float, float, float]]] = {n: [] for n in at_once}
            for _ in range(runs):
                tmp = Path(tempfile.mkdtemp(prefix="gw-bench-"))
                url = f"sqlite:///{tmp / 'apply.sqlite3'}" if name == "sqlite" else pg.new_database()
                rates.append(apply_rate_db(url, batches))
                url = f"sqlite:///{tmp / 'server.sqlite3'}" if name == "sqlite" else pg.new_database()
                srv = ServerProcess(url, tmp, devices)
                try:
                    for n in at_once:  # one 100-change sync per device, all at the same instant
                        once[n].append(burst(srv, n, 1))
                    p50, p95, tput = burst(srv, devices, rounds)
                    p50s.append(p50)
                    p95s.append(p95)
                    thr.append(tput)
                    q50, q95, qr = among_pollers(srv, devices, 10 if args.quick else 40)
                    q50s.append(q50)
                    q95s.append(q95)
                    qrate.append(qr)
                finally:
                    srv.stop()
                shutil.rmtree(tmp, ignore_errors=True)
            med = statistics.median
            print(f"{name}: apply {med(rates):,.0f} changes/s (100-change batches, in process; median of {runs} runs)")
            print(
                f"{name}: one device's 100-change sync while {devices} devices sync at the same time "
                f"(5 changes + pull each, 0.5-1.5 s apart, {med(qrate):.0f} syncs/s): "
                f"p50 {med(q50s):.0f} ms, p95 {med(q95s):.0f} ms"
            )
            for n, got in once.items():
                print(f"{name}: {n} devices each send 100 changes at once: p50 {med([g[0] for g in got]):.0f} ms, "
                      f"p95 {med([g[1] for g in got]):.0f} ms, {med([g[2] for g in got]):,.0f} changes/s over HTTP")
            print(
                f"{name}: burst, {devices} devices each send {rounds} 100-change syncs at the same instant: "
                f"p50 {med(p50s):.0f} ms, p95 {med(p95s):.0f} ms, {med(thr):,.0f} changes/s over HTTP"
            )
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
