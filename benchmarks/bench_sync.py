"""Sync on emulated links: 50 visits, idle sync, bytes per record, a 300 KB photo, bundle import.

Runs the real server (uvicorn, SQLite) and the real engine through the user-space link
emulator (tests/support/linkemu.py) on 127.0.0.1. Every time is shown with its ratio to the
physical floor of the link (bytes on the wire / bandwidth + round trips × RTT, where the round
trips are one per request plus each new connection's TCP handshake).

    .venv/bin/python benchmarks/bench_sync.py [--runs 3] [--quick]

``--quick`` skips the 2G photo (about 2.5 minutes of real time at 18 kbit/s).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sync.client.bundles import export_bundle  # noqa: E402
from sync.client.engine import SyncEngine  # noqa: E402
from sync.server.bundles import import_bundle  # noqa: E402
from tests.support.linkemu import LINKS, FaultProxy  # noqa: E402
from tests.support.server import RealServer, photo_blob  # noqa: E402

SEEN = "老人独居，身体尚可，血压偏高，家里卫生一般，冬季取暖用电暖器，电线老化需要检查。"
SAID = "希望村里帮忙联系卫生院上门量血压，另外门口路灯坏了两个月了，晚上出门不方便。"


def floor_s(up_bytes: int, down_bytes: int, requests: int, link, connections: int = 1,  # type: ignore[no-untyped-def]
            handshake_rtts: int = 1) -> float:
    t = (requests + connections * handshake_rtts) * 2 * link.latency_s
    if link.up_bps:
        t += up_bytes * 8 / link.up_bps
    if link.down_bps:
        t += down_bytes * 8 / link.down_bps
    return t


def setup(root: Path) -> tuple[RealServer, object, object, list[str]]:
    real = RealServer(root)
    rep, en = real.device("w1")
    homes = [real.household(rep, head=f"户主{i}")["id"] for i in range(50)]
    # Households reach the server over the LAN first: the figure below is for the visits.
    assert SyncEngine(rep, real.url, en.token).sync_once().ok
    return real, rep, en, homes


def add_visits(real: RealServer, rep, homes: list[str], n: int = 50) -> list[dict]:  # type: ignore[no-untyped-def]
    """The visits the figures are for; returned so bench_couch sends the same payloads."""
    now = int(time.time() * 1000)
    return [rep.create("visit", real.org.grid, {
        "household": homes[i % len(homes)], "visitor": rep.actor, "time": now - i * 60_000,
        "kind": "routine", "people_met": "户主本人", "seen": SEEN, "said": SAID,
    }) for i in range(n)]


def bench_visits(link_name: str, runs: int) -> dict:
    link = LINKS[link_name]
    times, reqs, up, down, ratios, idle_reqs, idle_t, conns = [], [], [], [], [], [], [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as d:
            real, rep, en, homes = setup(Path(d))
            try:
                with FaultProxy(("127.0.0.1", real.port), link=link) as p:
                    add_visits(real, rep, homes)
                    eng = SyncEngine(rep, p.url, en.token, deadline_s=300, read_timeout=120)
                    t0 = time.perf_counter()
                    r = eng.sync_once()
                    dt = time.perf_counter() - t0
                    assert r.ok and r.applied == 50, r.error
                    times.append(dt)
                    reqs.append(r.requests)
                    up.append(p.stats.bytes_up)
                    down.append(p.stats.bytes_down)
                    # one round trip per request, and one per connection opened (the handshake)
                    ratios.append(dt / floor_s(p.stats.bytes_up, p.stats.bytes_down, r.requests, link,
                                               p.stats.connections, p.handshake_rtts))
                    conns.append(p.stats.connections)
                    t0 = time.perf_counter()
                    idle = eng.sync_once()
                    idle_t.append(time.perf_counter() - t0)
                    idle_reqs.append(idle.requests)
            finally:
                real.stop()
    return {
        "link": link_name, "median_s": statistics.median(times), "max_s": max(times),
        "requests": statistics.median(reqs), "up": statistics.median(up), "down": statistics.median(down),
        "ratio": statistics.median(ratios), "idle_requests": max(idle_reqs), "idle_s": statistics.median(idle_t),
        "idle_floor_s": 2 * link.latency_s, "connections": max(conns),
    }


def bench_photo(link_name: str) -> dict:
    link = LINKS[link_name]
    with tempfile.TemporaryDirectory() as d:
        real, rep, en, homes = setup(Path(d))
        try:
            data = photo_blob(300 * 1024)  # a stored JPEG (the server takes photos only), incompressible
            sha = rep.add_photo(data)
            with FaultProxy(("127.0.0.1", real.port), link=link) as p:
                eng = SyncEngine(rep, p.url, en.token, deadline_s=600, read_timeout=300)
                t0 = time.perf_counter()
                r = eng.sync_once()
                dt = time.perf_counter() - t0
                assert r.ok and r.photos_uploaded == 1 and real.blobs.has(sha), r.error
                phys = len(data) * 8 / link.up_bps  # size / bandwidth, as the issue asks
                return {"link": link_name, "s": dt, "floor_s": phys, "ratio": dt / phys, "requests": r.requests,
                        "up": p.stats.bytes_up}
        finally:
            real.stop()


def bench_import(n_changes: int, runs: int) -> dict:
    rates = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as d:
            real = RealServer(Path(d) / "srv")
            try:
                rep, en = real.device("w1")
                homes = [real.household(rep, head=f"户主{i}")["id"] for i in range(n_changes // 5)]
                add_visits(real, rep, homes, n_changes - len(homes))
                path = Path(d) / "b.gwb"
                export_bundle(rep, path, device_id=en.device_id, user=en.user["id"], secret=bytes.fromhex(en.secret))
                data = path.read_bytes()
                t0 = time.perf_counter()
                res = import_bundle(real.engine, real.blobs, data)
                dt = time.perf_counter() - t0
                assert res.receipt["accepted"] == n_changes, res.receipt
                rates.append(n_changes / dt)
            finally:
                real.stop()
    return {"changes": n_changes, "median_rate": statistics.median(rates), "min_rate": min(rates),
            "bundle_kb": len(data) / 1024}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    print("# 50 visits, push + pull, through the link emulator")
    for name in ("2g-rural", "edge"):
        r = bench_visits(name, args.runs)
        print(f"{name:9s} median {r['median_s']:.2f} s (max {r['max_s']:.2f}) = {r['ratio']:.2f}x floor; "
              f"{r['requests']} requests on {r['connections']} connection(s); {r['up']} B up / {r['down']} B down "
              f"= {(r['up'] + r['down']) / 50:.0f} B per visit on the wire; "
              f"idle: {r['idle_requests']} request, {r['idle_s']:.2f} s (RTT {r['idle_floor_s']:.2f} s)")
    print("# 300 KB photo upload")
    for name in ("edge",) if args.quick else ("edge", "2g-rural"):
        r = bench_photo(name)
        print(f"{name:9s} {r['s']:.1f} s vs floor {r['floor_s']:.1f} s = {r['ratio']:.2f}x; {r['requests']} requests; "
              f"{r['up']} B up")
    print("# bundle import (server, SQLite)")
    r = bench_import(5000, args.runs)
    print(f"{r['changes']} changes ({r['bundle_kb']:.0f} KB bundle): median {r['median_rate']:.0f} changes/s "
          f"(min {r['min_rate']:.0f})")


if __name__ == "__main__":
    main()
