"""The pull query at size: the first page for a new device, and an idle page, on a records
table of 0 / 100k / 1M / 10M changes (SQLite; PostgreSQL with --pg).

The table is filled directly (records spread over a county's grids and townships in feed
order, the way years of syncing leave them): one transaction, rows inserted in bulk with the
secondary indexes dropped and built again afterwards (10M changes in minutes, not through
the API). Then ``feed.pull_raw`` is timed for a grid worker (its grid, its township's
reference records, the shared ones) and township staff, each size in a fresh process (as a
server starts): the very first page (cold), then the median and p95 of --runs more.
Each SQLite database is built once and kept in --cache so a re-run only times; PostgreSQL
runs on a throwaway cluster, built anew.

    .venv/bin/python benchmarks/bench_pull.py [--sizes 0,100000,1000000,10000000] [--pg]
        [--pg-sizes 0,100000,1000000] [--runs 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import insert, text, update

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
        if url.startswith("sqlite"):
            conn.exec_driver_sql("PRAGMA cache_size=-1000000")  # the build's sort of the indexes
        # an index built once over sorted keys is much faster than one kept up row by row
        for ix in db.records.indexes:
            conn.execute(text(f"DROP INDEX IF EXISTS {ix.name}"))
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
        for ix in db.records.indexes:
            ix.create(conn)
        conn.execute(text("ANALYZE"))
    engine.dispose()


WORKER = auth.Principal("u1", "grid_worker", township=town_id(3), grids=frozenset({grid_id(3, 5)}),
                        townships=frozenset({town_id(3)}))
STAFF = auth.Principal("u2", "township_staff", township=town_id(3))


def time_pull(url: str, principal: auth.Principal, cursor: int, runs: int) -> tuple[float, float, float]:
    """(first page, median, p95) in ms; the first is the process's very first query."""
    engine = db.make_engine(url)
    times = []
    with engine.connect() as conn:
        for _ in range(runs + 1):
            t0 = time.perf_counter()
            feed.pull_raw(conn, principal, cursor, 500)
            times.append(time.perf_counter() - t0)
    engine.dispose()
    rest = sorted(times[1:])
    return times[0] * 1000, statistics.median(rest) * 1000, rest[round(0.95 * (len(rest) - 1))] * 1000


def measure(url: str, n: int, runs: int) -> None:
    """One size, in this (fresh) process: print one JSON line of timings."""
    out = {"worker_first": time_pull(url, WORKER, 0, runs), "staff_first": time_pull(url, STAFF, 0, runs),
           "idle": time_pull(url, WORKER, n, runs)}
    print(json.dumps(out))


def fresh(url: str, n: int, runs: int) -> dict:
    """``measure`` in a new Python process, as a server starts."""
    res = subprocess.run([sys.executable, __file__, "--measure", url, "--sizes", str(n), "--runs", str(runs)],
                         check=True, capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="0,100000,1000000,10000000")
    ap.add_argument("--pg-sizes", default="0,100000,1000000")
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--cache", default="/tmp/gridwall-bench-pull")
    ap.add_argument("--pg", action="store_true", help="also on a throwaway PostgreSQL cluster")
    ap.add_argument("--measure", help=argparse.SUPPRESS)  # one size, in a fresh process
    args = ap.parse_args()
    if args.measure:
        measure(args.measure, int(args.sizes), args.runs)
        return
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    targets = [("sqlite", lambda n: f"sqlite:///{cache / f'pull-{n}.sqlite3'}")]
    pg = None
    if args.pg:
        from tests.support.server import start_pg_cluster

        pg = start_pg_cluster(fsync=True)  # throwaway: built anew each run
        targets.append(("postgresql", lambda n: pg.new_database()))
    print("# first 500-record page (new device) and an idle page, ms: the fresh process's first "
          f"query / median / p95 of {args.runs} more")
    for name, url_of in targets:
        sizes = args.pg_sizes if name == "postgresql" else args.sizes
        for n in [int(s) for s in sizes.split(",")]:
            url = url_of(n)
            marker = cache / f"{name}-{n}.built"
            if name == "postgresql" or not marker.exists():
                t0 = time.perf_counter()
                fill(url, n)
                print(f"  (built {name} {n:,} changes in {time.perf_counter() - t0:.0f} s)", flush=True)
                marker.touch()
            engine = db.make_engine(url)
            db.migrate(engine)  # a cached database gets this code's indexes
            engine.dispose()
            r = fresh(url, n, args.runs)
            cols = ", ".join(f"{k} " + " / ".join(f"{x:.1f}" for x in r[k]) for k in ("worker_first", "staff_first", "idle"))
            print(f"{name:10s} {n:>10,} changes: {cols}", flush=True)
    if pg is not None:
        pg.stop()


if __name__ == "__main__":
    main()
