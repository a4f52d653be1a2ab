"""Township PC at size: the staff board and the ledger on 5k / 20k / 50k issues (~5.5 events
each), every figure from a fresh process as a staff member starts the app.

For each size a store is seeded once (``seed_township.py``, kept in --cache), then:

- the first start of a store without kept views (``summary.json`` removed, as a store written
  by an older version: every record read, every issue folded once), in a fresh process;
- --starts normal starts (the folds kept by the previous run), each a fresh process: opening
  the store (``open_device``), the board's first page (100 rows, as the screen asks) and the
  inbox's unread count (the badge on its app bar);
- in the last of them: each filter and the search --runs times (median / p95), a column sort,
  accepting one issue and reloading, and the ledger export of the year (XLSX, wall and CPU),
  the first ever (every line made: ``app/services/ledger_lines.py``);
- --starts more fresh processes that start and export the ledger of the year (lines kept).

    .venv/bin/python benchmarks/bench_desk.py [--sizes 5000,20000,50000] [--starts 3] [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 100  # rows the board screen draws at first


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[round(q * (len(xs) - 1))]


def start(data: str, runs: int, more: bool, ledger: bool = False) -> dict:
    """One app start in this (fresh) process; with ``more``, the filters and the ledger too;
    with ``ledger``, the ledger right after the start."""
    t0, c0 = time.perf_counter(), time.process_time()
    from app.device import open_device

    t1 = time.perf_counter()
    device = open_device(data, background=False)
    t2 = time.perf_counter()
    svc = device.staff
    svc.board(None, limit=LIMIT)
    t3 = time.perf_counter()
    unread = device.inbox.unread()  # the badge on the board's app bar: part of the first screen
    t4 = time.perf_counter()
    out = {"import_s": t1 - t0, "open_s": t2 - t1, "board_s": t3 - t2, "inbox_s": t4 - t3, "start_s": t4 - t0,
           "unread": unread,
           "start_cpu_s": time.process_time() - c0, "refolded": svc.index.refolded,
           "rss_mb": int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20}
    if more:
        village = svc.villages()[0][0]
        filters = {"status = assigned": {"status": "assigned"}, "village": {"village": village},
                   "category (top) + urgency": {"category": "infra", "urgency": "urgent"},
                   "overdue": {"overdue": True}, "supervised": {"supervised": True},
                   "search title 路灯": {"q": "路灯"}, "search + village + status": {"q": "路灯", "village": village,
                                                                                "status": "closed"},
                   "no filter (reload)": {}}
        def timed(name: str, fn: Any, args: list[Any]) -> None:
            xs, cs = [], []
            for arg in args:
                a, c = time.perf_counter(), time.process_time()
                fn(arg)
                xs.append((time.perf_counter() - a) * 1000)
                cs.append((time.process_time() - c) * 1000)
            out[name] = (statistics.median(xs), pct(xs, 0.95), statistics.median(cs), pct(cs, 0.95))

        for name, f in filters.items():
            timed(f"filter: {name}", lambda f: svc.board(f, limit=LIMIT), [f] * runs)
        timed("sort by deadline", lambda d: svc.board(None, sort="deadline", descending=d, limit=LIMIT),
              [bool(k % 2) for k in range(runs)])

        def accept(row: dict) -> None:
            svc.act(row["id"], "accept", {})
            svc.board(None, limit=LIMIT)
        todo = svc.board({"status": "submitted"}, limit=runs)["rows"]  # earlier runs took some
        if todo:
            timed("accept one + reload", accept, todo)
    if ledger or more:
        a, c = time.perf_counter(), time.process_time()
        path = svc.reports.export_ledger(svc.reports.period_text("year"))
        out["ledger_s"], out["ledger_cpu_s"] = time.perf_counter() - a, time.process_time() - c
        out["ledger_bytes"] = path.stat().st_size
        out["ledger_made"] = svc.reports._ledger_lines.made
        path.unlink()
    device.close()
    return out


def fresh(data: Path, runs: int, more: bool, ledger: bool = False) -> dict:
    res = subprocess.run([sys.executable, __file__, "--start", str(data), "--runs", str(runs)]
                         + (["--more"] if more else []) + (["--ledger"] if ledger else []),
                         check=True, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="5000,20000,50000")
    ap.add_argument("--starts", type=int, default=3)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--cache", default="/tmp/gridwall-bench-desk")
    ap.add_argument("--start", help=argparse.SUPPRESS)
    ap.add_argument("--more", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--ledger", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.start:
        print(json.dumps(start(a.start, a.runs, a.more, a.ledger)))
        return
    print(f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, load {os.getloadavg()}")
    for n in [int(x) for x in a.sizes.split(",")]:
        data = Path(a.cache) / f"town-{n}"
        if not (data / "meta.json").exists():
            t0 = time.perf_counter()
            subprocess.run([sys.executable, str(ROOT / "benchmarks" / "seed_township.py"), str(data), "--issues", str(n)],
                           check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
            print(f"  (seeded {n:,} issues in {time.perf_counter() - t0:.0f} s)")
        (data / "staff-board.json").unlink(missing_ok=True)
        (data / "ledger-lines.json").unlink(missing_ok=True)  # the first export makes every line
        (data / "summary.json").unlink(missing_ok=True)  # the first start derives the views
        (data / "summary.journal").unlink(missing_ok=True)
        first = fresh(data, a.runs, False)
        starts = [fresh(data, a.runs, k == a.starts - 1) for k in range(a.starts)]
        last = starts[-1]
        kept = [fresh(data, a.runs, False, ledger=True) for _ in range(a.starts)]  # lines kept
        print(f"\n## {n:,} issues  (load {os.getloadavg()[0]:.1f})")
        print(f"first start without kept views (every issue folded once): open {first['open_s']:.2f} s, "
              f"board {first['board_s']:.2f} s, whole start {first['start_s']:.2f} s")
        med = {k: statistics.median(s[k] for s in starts)
               for k in ("import_s", "open_s", "board_s", "inbox_s", "start_s", "start_cpu_s")}
        print(f"start (median of {a.starts}): imports {med['import_s']:.2f} s + open store {med['open_s']:.2f} s"
              f" + first board {med['board_s']:.2f} s + inbox badge {med['inbox_s']:.2f} s ({last['unread']:,} unread)"
              f" = {med['start_s']:.2f} s from process start (CPU {med['start_cpu_s']:.2f} s), "
              f"refolded {last['refolded']}, RSS {last['rss_mb']:.0f} MB")
        for k, v in last.items():
            if isinstance(v, list):
                print(f"  {k:32s} median {v[0]:7.1f} ms  p95 {v[1]:7.1f} ms   CPU median {v[2]:6.1f} ms  p95 {v[3]:6.1f} ms")
        print(f"  ledger XLSX, the year, first export ever ({last['ledger_made']:,} lines made): "
              f"{last['ledger_s']:.2f} s wall, {last['ledger_cpu_s']:.2f} s CPU, {last['ledger_bytes'] / 2**20:.1f} MB")
        led = sorted(k["ledger_s"] for k in kept)
        print(f"  ledger XLSX, the year, in a new process after the board (lines kept, "
              f"{max(k['ledger_made'] for k in kept)} made): median {statistics.median(led):.2f} s wall "
              f"(runs {', '.join(f'{x:.2f}' for x in led)}), CPU {statistics.median(k['ledger_cpu_s'] for k in kept):.2f} s")
    print(f"# load at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
