"""A new device's first sync of a grid of 500 households and two years of work (~18,700
records), page by page (before) and from a starter pack (after), docs/starter-pack.md.

The real server (uvicorn, SQLite) on 127.0.0.1 is filled by ``seed_grid`` (every change through
``store.apply_changes``); a fresh process-local device (MemoryReplica) enrolls and syncs through
the link emulator with no limits (loopback), so the wire bytes and requests are counted. The 2G
and EDGE times are computed from those (bytes / bandwidth + one round trip per request and per
connection, ``bench_sync.floor_s``) unless ``--real LINK`` runs them through the emulator
(EDGE before takes ~1.5 minutes, 2G-rural before ~15).

    .venv/bin/python benchmarks/bench_starter.py [--runs 3] [--real edge] [--real-after 2g-rural] [--phone]

``--phone`` adds the phone's browser path (the engine on asyncio over a fetch that reads whole
answers: the pack in 64 KB ranges) for loopback and every ``--real-after`` link.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_sync import floor_s  # noqa: E402
from seed_grid import seed_grid  # noqa: E402

from sync import snapshot as fmt  # noqa: E402
from sync.client.engine import SyncEngine  # noqa: E402
from sync.client.starter import APPLY_CHUNK  # noqa: E402
from sync.server import admin, auth, db, snapshot  # noqa: E402
from tests.support.linkemu import LINKS, FaultProxy  # noqa: E402
from tests.support.server import RealServer  # noqa: E402


def formats(real: RealServer) -> dict:
    """Bytes per record of the scope in each encoding, and the time to build each."""
    with db.read_tx(real.engine) as conn:
        p = auth.principal_for_user(conn, real.org.users["w2"])
        t0 = time.perf_counter()
        records, _ = snapshot.scope_records(conn, p)
        read_s = time.perf_counter() - t0
    n = len(records)
    ndjson = "".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n" for r in records).encode()
    out = {"records": n, "read_s": read_s, "json": len(ndjson) / n, "json_gzip6": len(gzip.compress(ndjson, 6)) / n}
    raw = fmt.encode(records)
    out["columnar"] = len(raw) / n
    for codec in ("zlib", "lzma"):
        t0 = time.perf_counter()
        blob = fmt.pack(records, codec)
        out[codec] = len(blob) / n
        out[f"{codec}_pack_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        assert fmt.unpack(blob) == records
        out[f"{codec}_unpack_s"] = time.perf_counter() - t0
    return out


def store_apply(real: RealServer) -> dict:
    """Applying the scope into the device's TinyDB store: in pull pages vs the pack's batches."""
    from app.store import Store
    from sync.client import starter

    with db.read_tx(real.engine) as conn:
        p = auth.principal_for_user(conn, real.org.users["w2"])
        records, cursor = snapshot.scope_records(conn, p)
    out = {}
    with tempfile.TemporaryDirectory() as d:
        st = Store.open(Path(d) / "pages")
        t0 = time.perf_counter()
        for i in range(0, len(records), 1000):  # the pull's largest page
            st.apply_remote(records[i : i + 1000], str(records[min(i + 999, len(records) - 1)]["seq"]))
        out["pages_s"] = time.perf_counter() - t0
        st.close()
        st = Store.open(Path(d) / "pack")
        t0 = time.perf_counter()
        starter.apply_pack(st, {"cursor": cursor}, records)
        out["pack_s"] = time.perf_counter() - t0
        st.close()
    return out


def first_sync(real: RealServer, who: str, pack: bool, link_name: str | None, phone: bool = False) -> dict:
    """One new device's first sync; ``phone``: the engine on asyncio over a fetch that reads
    whole answers, as in the phone's browser (the pack in ranges: ``starter.download_steps``)."""
    rep, en = real.device(who)
    link = LINKS[link_name] if link_name else None
    with FaultProxy(("127.0.0.1", real.port), link=link) as p:
        kw = {"device_id": en.device_id, "secret": en.secret} if pack else {}
        t0 = time.perf_counter()
        if phone:
            from sync.client.aio import AsyncTransport
            from tests.support.asyncfetch import HttpxFetch

            async def run() -> tuple[SyncEngine, object]:
                t = AsyncTransport(p.url, en.token, fetch=HttpxFetch(), deadline_s=600, read_timeout=300)
                e = SyncEngine(rep, p.url, en.token, transport=t, **kw)
                try:
                    return e, await e.sync_once_async()
                finally:
                    await t.fetch.client.aclose()

            eng, r = asyncio.run(run())
        else:
            eng = SyncEngine(rep, p.url, en.token, deadline_s=600, read_timeout=300, **kw)
            r = eng.sync_once()
        dt = time.perf_counter() - t0
        assert r.ok, r.error
        assert ("/api/v1/snapshot" in eng.transport.stats.by_path) == pack
        return {"s": dt, "records": len(rep.records), "requests": r.requests, "up": p.stats.bytes_up,
                "down": p.stats.bytes_down, "connections": p.stats.connections, "handshake": p.handshake_rtts}


def computed(m: dict, link_name: str) -> float:
    return floor_s(m["up"], m["down"], m["requests"], LINKS[link_name], m["connections"], m["handshake"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--real", action="append", default=[], choices=["edge", "2g-rural"],
                    help="also run this link through the emulator (slow before)")
    ap.add_argument("--real-after", action="append", default=[], choices=["edge", "2g-rural"],
                    help="run this link through the emulator for the starter pack only")
    ap.add_argument("--phone", action="store_true",
                    help="also the phone's browser path: the engine on asyncio, the pack in ranges")
    args = ap.parse_args()
    print(f"# machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f} at start")
    with tempfile.TemporaryDirectory() as d:
        real = RealServer(Path(d) / "srv")
        try:
            t0 = time.perf_counter()
            counts = seed_grid(real.engine, real.org.grid, real.org.village, real.org.users["w1"],
                               real.org.users["staff"])
            print(f"# seeded {sum(counts.values())} changes in {time.perf_counter() - t0:.1f} s; "
                  f"{real.count('records')} records on the server")
            f = formats(real)
            print(f"# scope of a grid worker: {f['records']} records (read {f['read_s']:.2f} s)")
            print(f"bytes/record  JSON {f['json']:.0f}  JSON+gzip6 {f['json_gzip6']:.1f}  columnar {f['columnar']:.0f}  "
                  f"columnar+zlib9 {f['zlib']:.1f} (pack {f['zlib_pack_s']:.2f} s, unpack {f['zlib_unpack_s']:.2f} s)  "
                  f"columnar+lzma9 {f['lzma']:.1f} (pack {f['lzma_pack_s']:.2f} s, unpack {f['lzma_unpack_s']:.2f} s)")
            a = store_apply(real)
            print(f"apply into the device's TinyDB store: in pages of 1,000 {a['pages_s']:.1f} s, "
                  f"the pack's batches of {APPLY_CHUNK:,} {a['pack_s']:.1f} s")
            users = iter(["w2", "w3"] + [f"x{i}" for i in range(100)])

            def who() -> str:
                name = next(users)
                if name not in real.org.users:
                    real.org.users[name] = real.run(lambda c: admin.create_user(
                        c, f"网格员{name}", "grid_worker", grids=[real.org.grid]))
                return name

            rows = []
            for pack, phone in ((False, False), (True, False)) + (((True, True),) if args.phone else ()):
                ms = [first_sync(real, who(), pack, None, phone) for _ in range(args.runs)]
                m = {k: statistics.median(x[k] for x in ms) for k in ms[0]}
                m["max_s"] = max(x["s"] for x in ms)
                label = ("after, phone (ranges)" if phone else "after (starter pack)") if pack \
                    else "before (page by page)"
                per = m["down"] / m["records"]
                print(f"{label:22s} loopback median {m['s']:.2f} s (max {m['max_s']:.2f}); {m['requests']:.0f} requests; "
                      f"{m['down'] / 1e6:.3f} MB down, {m['up'] / 1e3:.1f} KB up = {per:.1f} B/record on the wire; "
                      f"computed: EDGE {computed(m, 'edge'):.1f} s, 2G-rural {computed(m, '2g-rural'):.1f} s")
                rows.append((label, m))
                for link_name in args.real + (args.real_after if pack else []):
                    r = first_sync(real, who(), pack, link_name, phone)
                    print(f"{label:22s} {link_name} through the emulator: {r['s']:.1f} s "
                          f"(computed {computed(r, link_name):.1f} s), {r['requests']} requests, {r['down']} B down")
            print(f"# load at end {os.getloadavg()[0]:.2f}")
        finally:
            real.stop()


if __name__ == "__main__":
    main()
