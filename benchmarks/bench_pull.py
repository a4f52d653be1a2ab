"""The pull query at size: the first page for a new device, and an idle page, on a records
table of 0 / 100k / 1M changes (SQLite; PostgreSQL with --pg).

The table is filled directly (records spread over a county's grids and townships in feed
order, the way years of syncing leave them), then ``feed.pull_raw`` is timed for a grid
worker (its grid, its township's reference records, the shared ones) and township staff.
Each SQLite database is built once and kept in --cache so a re-run only times; PostgreSQL\nruns on a throwaway cluster, built anew.

    .venv/bin/python benchmarks/bench_pull.py [--sizes 0,100000,1000000] [--pg] [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import insert, update

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sync.server import auth, db, feed  # noqa: E402

TOWNSHIPS = 21
GRIDS_PER_TOWNSHIP = 17  # ~350 grids: the county in the seeds


def grid_id(t: int, g: int) -> str:
    return f"00000000-0000-7000-8000-{t:04d}{g:08d}"


def town_id(t: int) -> str:
    return f"00000000-0000-7000-9000-{t:012d}"


def fill(url: str, n: int) -> None:
    engine = db.make_engine(url)
    db.migrate(engine)
    rows = []
    with engine.begin() as conn:
        for seq in range(1, n + 1):
            r = seq % 1000
            if r == 0:  # reference data of a township (users, villages, grids)
                t, g = seq // 1000 % TOWNSHIPS, None
            elif r == 1:  # shared reference data (categories, units)
                t, g = None, None
            else:
                t = seq % TOWNSHIPS
                g = grid_id(t, seq // TOWNSHIPS % GRIDS_PER_TOWNSHIP)
            rid = f"{seq:036d}"
            doc = json.dumps({"id": rid, "kind": "visit", "grid": g, "fields": {"note": "x" * 80}, "seq": seq})
            rows.append({"id": rid, "kind": "visit", "grid": g, "township": town_id(t) if t is not None else None,
                         "doc": doc, "seq": seq, "updated_ms": 0, "deleted": False})
            if len(rows) == 20_000:
                conn.execute(insert(db.records), rows)
                rows = []
        if rows:
            conn.execute(insert(db.records), rows)
        conn.execute(update(db.feed).where(db.feed.c.id == 1).values(seq=n))
    engine.dispose()


def time_pull(url: str, principal: auth.Principal, cursor: int, runs: int) -> float:
    engine = db.make_engine(url)
    times = []
    with engine.connect() as conn:
        for _ in range(runs):
            t0 = time.perf_counter()
            feed.pull_raw(conn, principal, cursor, 500)
            times.append(time.perf_counter() - t0)
    engine.dispose()
    return statistics.median(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="0,100000,1000000")
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--cache", default="/tmp/gridwall-bench-pull")
    ap.add_argument("--pg", action="store_true", help="also on a throwaway PostgreSQL cluster")
    args = ap.parse_args()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    worker = auth.Principal("u1", "grid_worker", township=town_id(3), grids=frozenset({grid_id(3, 5)}),
                             townships=frozenset({town_id(3)}))
    staff = auth.Principal("u2", "township_staff", township=town_id(3))
    targets = [("sqlite", lambda n: f"sqlite:///{cache / f'pull-{n}.sqlite3'}")]
    pg = None
    if args.pg:
        from tests.support.server import start_pg_cluster

        pg = start_pg_cluster(fsync=True)  # throwaway: built anew each run
        targets.append(("postgresql", lambda n: pg.new_database()))
    print("# first 500-record page (new device) and an idle page, median ms")
    for name, url_of in targets:
        for n in [int(s) for s in args.sizes.split(",")]:
            url = url_of(n)
            marker = cache / f"{name}-{n}.built"
            if name == "postgresql" or not marker.exists():
                t0 = time.perf_counter()
                fill(url, n)
                print(f"  (built {name} {n:,} changes in {time.perf_counter() - t0:.0f} s)")
                marker.touch()
            db.migrate(db.make_engine(url))  # a cached database gets this code's indexes
            w_first = time_pull(url, worker, 0, args.runs)
            s_first = time_pull(url, staff, 0, args.runs)
            w_idle = time_pull(url, worker, n, args.runs)
            print(f"{name:10s} {n:>9,} changes: grid worker first page {w_first:7.1f} ms, "
                  f"staff first page {s_first:7.1f} ms, idle {w_idle:5.1f} ms")
    if pg is not None:
        pg.stop()


if __name__ == "__main__":
    main()
