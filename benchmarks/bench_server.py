"""Server benchmark: apply rate, sync latency under 50 concurrent devices, bytes per visit.

    .venv/bin/python benchmarks/bench_server.py [--quick]

1. Sustained apply rate of 100-change batches (new visit records), in process through
   ``store.apply_changes`` (one transaction per batch), on SQLite (WAL, synchronous=NORMAL) and
   on PostgreSQL (a throwaway local cluster, fsync on).
2. p50/p95 latency of a sync request carrying 100 changes while 50 simulated devices (threads,
   real HTTP on 127.0.0.1, uvicorn in process) sync at once, on both databases.
3. Bytes on the wire per visit record: a gzip batch of 50 visit changes as the device sends it.
Prints medians over repeated runs.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "server"))
from server_helpers import RunningServer, enroll_device, make_org, start_pg_cluster  # noqa: E402

from sync.clock import HybridClock  # noqa: E402
from sync.ids import new_id  # noqa: E402
from sync.records import new_record  # noqa: E402
from sync.server import store  # noqa: E402
from sync.server.api import Limits  # noqa: E402

# Visit notes vary like real ones: sentences drawn from a pool, names and numbers differ.
_SEEN = (
    "老人独自在家，屋顶漏雨", "厨房灶台老化，已提醒注意用电安全", "子女在外地打工，每周电话联系一次",
    "院子干净整洁", "慢性病按时服药，血压偏高", "孩子上小学三年级，由奶奶照看", "家里新装了自来水",
    "残疾人补贴已到账", "冬季取暖用煤炉，已讲解防一氧化碳中毒", "低保年审材料已收齐",
)  # fmt: skip
_SAID = (
    "希望村里帮忙修一下屋顶", "想了解高龄补贴怎么申请", "门前路灯坏了两个月", "暂无诉求",
    "反映邻居占道堆放杂物", "询问医保缴费时间", "希望安排人帮忙买药", "对上次维修表示满意",
)  # fmt: skip
_NAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


def visit_changes(n: int, grid: str, actor: str, clock: HybridClock, seed: int = 1) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        fields = {
            "household": new_id(),
            "visitor": actor,
            "time": f"2026-11-{rng.randint(1, 28):02d}T{rng.randint(8, 17):02d}:{rng.randint(0, 59):02d}:00+08:00",
            "kind": rng.choice(("routine", "routine", "care", "follow_up")),
            "people_met": f"户主{rng.choice(_NAMES)}{rng.choice('明华强芳英秀军')}及家人{rng.randint(1, 4)}人",
            "seen": "，".join(rng.sample(_SEEN, rng.randint(1, 3))) + "。",
            "said": "；".join(rng.sample(_SAID, rng.randint(1, 2))) + "。",
            "next_due": f"2026-12-{rng.randint(1, 28):02d}",
        }
        out.append(new_record("visit", grid, fields, clock, actor)[1])
    return out


def apply_rate(srv: RunningServer, grid: str, user: str, batches: int) -> float:
    principal = srv.run(store.principal_for_user, user)
    clock = HybridClock("bench-apply")
    work = [visit_changes(100, grid, user, clock) for _ in range(batches)]
    t0 = time.perf_counter()
    for batch in work:
        with srv.engine.begin() as conn:
            acks = store.apply_changes(conn, principal, batch)
        assert all(a["status"] == "applied" for a in acks)
    return batches * 100 / (time.perf_counter() - t0)


def concurrent_latency(srv: RunningServer, org, devices: int, rounds: int) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    devs = [enroll_device(srv, "张网格") for _ in range(devices)]
    for d in devs:  # first sync done: devices are past the initial reference pull
        d.pull_all()
    work = {d.device_id: [visit_changes(100, org.grid_a, d.user_id, d.clock) for _ in range(rounds)] for d in devs}
    latencies: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(devices)

    def run(d) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        for batch in work[d.device_id]:
            body = gzip.compress(json.dumps({"cursor": d.cursor, "changes": batch, "device_time_ms": int(time.time() * 1000)}).encode())
            h = {**d.headers(), "Content-Type": "application/json", "Content-Encoding": "gzip"}
            t0 = time.perf_counter()
            while True:
                r = d.session.post(f"{d.api}/sync", data=body, headers=h, timeout=120)
                if r.status_code != 429:
                    break
                time.sleep(float(r.headers.get("Retry-After", "1")))
            ms = (time.perf_counter() - t0) * 1000
            assert r.status_code == 200, r.text
            d.cursor = r.json()["cursor"]
            with lock:
                latencies.append(ms)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=run, args=(d,)) for d in devs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    latencies.sort()
    p50 = latencies[len(latencies) // 2]
    p95 = latencies[int(len(latencies) * 0.95) - 1]
    return p50, p95, devices * rounds * 100 / wall


def latency_among_pollers(srv: RunningServer, org, pollers: int, samples: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """p50/p95 of one device's 100-change sync while ``pollers`` devices sync at once (each a
    small sync: 5 changes and a pull, back to back, the steady state of a township)."""
    devs = [enroll_device(srv, "李网格") for _ in range(pollers)]
    for d in devs:
        d.pull_all()
    me = enroll_device(srv, "张网格")
    me.pull_all()
    stop = threading.Event()

    def poll(d) -> None:  # type: ignore[no-untyped-def]
        i = 0
        while not stop.is_set():
            i += 1
            r = d.sync(visit_changes(5, org.grid_b, d.user_id, d.clock, seed=i))
            if r.status_code == 200:
                d.cursor = r.json()["cursor"]
            else:
                time.sleep(float(r.headers.get("Retry-After", "1")))

    threads = [threading.Thread(target=poll, args=(d,)) for d in devs]
    for t in threads:
        t.start()
    time.sleep(1.0)
    lat = []
    for i in range(samples):
        batch = visit_changes(100, org.grid_a, me.user_id, me.clock, seed=1000 + i)
        t0 = time.perf_counter()
        r = me.sync(batch)
        lat.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, r.text
        me.cursor = r.json()["cursor"]
    stop.set()
    for t in threads:
        t.join()
    lat.sort()
    return lat[len(lat) // 2], lat[max(0, int(len(lat) * 0.95) - 1)]


def bytes_per_visit() -> tuple[float, float]:
    clock = HybridClock(new_id())
    batch = visit_changes(50, new_id(), new_id(), clock, seed=42)
    body = json.dumps({"cursor": "123456", "changes": batch, "device_time_ms": 1764000000000}, ensure_ascii=False).encode()
    return len(body) / 50, len(gzip.compress(body, 6)) / 50


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    runs = 1 if args.quick else args.runs
    batches = 5 if args.quick else 30
    devices, rounds = (10, 2) if args.quick else (50, 4)

    raw, gz = bytes_per_visit()
    print(f"bytes per visit record: {raw:.0f} raw JSON, {gz:.0f} gzip (batch of 50)")

    pg = start_pg_cluster(fsync=True)
    try:
        for name in ("sqlite", "postgres"):
            rates, p50s, p95s, thr, q50s, q95s = [], [], [], [], [], []
            for _ in range(runs):
                tmp = Path(tempfile.mkdtemp(prefix="gw-bench-"))
                url = f"sqlite:///{tmp / 'server.sqlite3'}" if name == "sqlite" else pg.new_database()
                srv = RunningServer(url, tmp / "blobs", Limits(max_inflight=256))
                try:
                    org = make_org(srv)
                    rates.append(apply_rate(srv, org.grid_a, org.users["worker_a"], batches))
                    p50, p95, tput = concurrent_latency(srv, org, devices, rounds)
                    p50s.append(p50)
                    p95s.append(p95)
                    thr.append(tput)
                    q50, q95 = latency_among_pollers(srv, org, devices, 10 if args.quick else 30)
                    q50s.append(q50)
                    q95s.append(q95)
                finally:
                    srv.stop()
            print(
                f"{name}: apply {statistics.median(rates):,.0f} changes/s (100-change batches, in process); "
                f"sync with 100 changes, {devices} devices at once: p50 {statistics.median(p50s):.0f} ms, "
                f"p95 {statistics.median(p95s):.0f} ms, {statistics.median(thr):,.0f} changes/s over HTTP "
                f"(median of {runs} runs)"
            )
            print(
                f"{name}: one device's 100-change sync while {devices} devices make small syncs "
                f"(5 changes + pull) back to back: p50 {statistics.median(q50s):.0f} ms, "
                f"p95 {statistics.median(q95s):.0f} ms"
            )
    finally:
        pg.stop()
    _ = requests  # the devices' HTTP client


if __name__ == "__main__":
    main()
