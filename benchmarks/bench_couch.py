"""Side by side: gridwall's sync against CouchDB-protocol replication on the same emulated links.

Optional, not part of CI (needs Node.js and ``cd benchmarks/couch && npm install``). For each
link profile, in the same run: gridwall's 50 visits and idle sync (``bench_sync.bench_visits``,
the real server and engine), and the same 50 visit payloads replicated by a PouchDB client to
express-pouchdb (``benchmarks/couch/``), one-shot ``sync`` (push + pull, as gridwall's
``sync_once``), through the same ``tests/support/linkemu.py`` proxy, twice: with keep-alive
connections (as a browser's fetch) and as PouchDB in Node ships (``Connection: close``). Both sides had their 50
households synced before, at LAN speed. Floor = ``bench_sync.floor_s``.

    .venv/bin/python benchmarks/bench_couch.py [--runs 3] [--links 2g-rural,edge] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_sync import add_visits, bench_visits, floor_s, setup  # noqa: E402

from tests.support.linkemu import LINKS, FaultProxy, ProxyStats  # noqa: E402

COUCH = Path(__file__).resolve().parent / "couch"
N = 50


def check_node() -> None:
    """Exit 2 with one line when Node.js or the npm packages are missing."""
    if shutil.which("node") is None:
        missing = "Node.js not found (install node >= 18), then"
    elif not (COUCH / "node_modules" / "express-pouchdb").is_dir():
        missing = "PouchDB packages missing;"
    else:
        return
    print(f"bench_couch: {missing} run: cd benchmarks/couch && npm install", file=sys.stderr)
    sys.exit(2)


def payloads(tmp: Path) -> Path:
    """bench_sync's households and 50 visits, written as the documents a CouchDB app would keep."""
    real, rep, _en, homes = setup(tmp / "srv")
    try:
        visits = add_visits(real, rep, homes, N)
    finally:
        real.stop()

    def doc(rec: dict) -> dict:
        return {"_id": rec["id"], "kind": rec["kind"], "grid": rec["grid"], **rec["fields"]}

    path = tmp / "docs.json"
    path.write_text(json.dumps({"households": [doc(rep.records[h]) for h in homes],
                                "visits": [doc(v) for v in visits]}, ensure_ascii=False))
    return path


class Couch:
    """express-pouchdb in one node process, the PouchDB client in another, the emulator between."""

    def __init__(self, docs: Path, link_name: str, conn: str) -> None:
        self.link = LINKS[link_name]
        self.server = subprocess.Popen(["node", "server.js"], cwd=COUCH, stdout=subprocess.PIPE, text=True)
        port = json.loads(self.server.stdout.readline())["port"]  # type: ignore[union-attr]
        self.proxy = FaultProxy(("127.0.0.1", port), link=self.link)
        self.client = subprocess.Popen(["node", "client.js", f"{self.proxy.url}/visits",
                                        f"http://127.0.0.1:{port}/visits", str(docs), conn],
                                       cwd=COUCH,
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def run(self, cmd: str) -> dict:
        self.proxy.stats = ProxyStats()
        assert self.client.stdin and self.client.stdout
        self.client.stdin.write(cmd + "\n")
        self.client.stdin.flush()
        r = json.loads(self.client.stdout.readline())
        if "error" in r:
            raise RuntimeError(f"PouchDB {cmd}: {r['error']}")
        r.update(up=self.proxy.stats.bytes_up, down=self.proxy.stats.bytes_down,
                 connections=self.proxy.stats.connections)
        return r

    def close(self) -> None:
        self.proxy.close()
        for p in (self.client, self.server):
            p.kill()
            p.wait()


def bench_pouch(docs: Path, link_name: str, runs: int, conn: str) -> dict:
    link = LINKS[link_name]
    rows = []
    for _ in range(runs):
        c = Couch(docs, link_name, conn)
        try:
            c.run("setup")
            v = c.run("visits")
            assert v["docs_written"] == N, v
            idle = c.run("idle")
            assert idle["docs_written"] == 0, idle
        finally:
            c.close()
        # Push and pull run at once on several connections, so their round trips overlap: the
        # floor is its bytes plus one exchange on one connection, the least those bytes can take.
        v["ratio"] = v["s"] / floor_s(v["up"], v["down"], 1, link, 1, 1)
        rows.append((v, idle))
    med = statistics.median
    vs = [v for v, _ in rows]
    return {"link": link_name, "median_s": med(v["s"] for v in vs), "max_s": max(v["s"] for v in vs),
            "ratio": med(v["ratio"] for v in vs), "requests": med(v["requests"] for v in vs),
            "connections": max(v["connections"] for v in vs), "up": med(v["up"] for v in vs),
            "down": med(v["down"] for v in vs), "idle_requests": max(i["requests"] for _, i in rows),
            "idle_s": med(i["s"] for _, i in rows), "idle_up": med(i["up"] for _, i in rows),
            "idle_down": med(i["down"] for _, i in rows)}


# How the PouchDB client reaches the server (client.js): reused connections as a browser's
# fetch would, and PouchDB in Node as shipped (node-fetch sends "Connection: close").
CONNS = {"keepalive": "PouchDB, keep-alive", "close": "PouchDB, Node default (Connection: close)"}


def table(rows: list[tuple[dict, dict[str, dict]]], runs: int) -> str:
    lines = [f"50 visits and an idle sync, median of {runs}; the ratio rows are gridwall / PouchDB", "",
             "| link | system | 50 visits: time | ratio to floor | requests / connections | bytes up / down "
             "| wire bytes per visit | idle sync: requests | idle: time |",
             "|---|---|---|---|---|---|---|---|---|"]
    for g, pouch in rows:
        for name, r in (("gridwall", g), *((CONNS[c], p) for c, p in pouch.items())):
            lines.append(f"| {r['link']} | {name} | {r['median_s']:.2f} s | {r['ratio']:.2f}x | "
                         f"{r['requests']:g} / {r['connections']} | {r['up']:,.0f} / {r['down']:,.0f} | "
                         f"{(r['up'] + r['down']) / N:,.0f} B | {r['idle_requests']} | {r['idle_s']:.2f} s |")
        for c, p in pouch.items():
            bpv = (g["up"] + g["down"]) / (p["up"] + p["down"])
            lines.append(f"| {g['link']} | gridwall / {CONNS[c]} | **{g['median_s'] / p['median_s']:.2f}** | "
                         f"| {g['requests'] / p['requests']:.2f} | | **{bpv:.2f}** | "
                         f"**{g['idle_requests'] / p['idle_requests']:.2f}** | {g['idle_s'] / p['idle_s']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--links", default="2g-rural,edge")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "bench_couch.md")
    args = ap.parse_args()
    links = [s.strip() for s in args.links.split(",") if s.strip()]
    unknown = [s for s in links if s not in LINKS]
    if unknown:
        sys.exit(f"bench_couch: unknown link {', '.join(unknown)}; choose from {', '.join(LINKS)}")
    check_node()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        docs = payloads(Path(d))
        for name in links:
            g = bench_visits(name, args.runs)
            pouch = {c: bench_pouch(docs, name, args.runs, c) for c in CONNS}
            rows.append((g, pouch))
            print(f"{name}: gridwall {g['median_s']:.2f} s; "
                  + "; ".join(f"{CONNS[c]} {p['median_s']:.2f} s" for c, p in pouch.items()), flush=True)
    out = table(rows, args.runs)
    print(out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(out + "\n", encoding="utf-8")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
