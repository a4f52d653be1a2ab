"""Server apply rate at size: 100-change batches through ``feed.apply_changes`` on a database
that already holds 0 / 100k / 1M changes, on SQLite and PostgreSQL in the same run.

A database of N changes is filled directly, the way years of syncing a county leave it: the
organisation (21 townships, ~350 grids, a grid worker each), N rows of ``applied_changes``
(one per change, time-ordered UUIDv7 ids), the records they made (households, visits,
issues, issue events, photos; every fifth change an edit of the record before), the photos'
``blob_refs`` and a conflict log. Each figure is then taken in a fresh process (as a server
starts): it opens the database, and applies ``--batches`` batches of 100 new visits by one
grid worker, one transaction per batch. SQLite databases are built once into --cache and
copied for each run; PostgreSQL (a throwaway cluster, fsync on) builds each size once as a
template and clones it for each run.

    .venv/bin/python benchmarks/bench_apply.py [--sizes 0,100000,1000000] [--runs 3] [--no-pg]
    .venv/bin/python benchmarks/bench_apply.py --compare /tmp/old-checkout   # before -> after
    .venv/bin/python benchmarks/bench_apply.py --profile sqlite:///path.sqlite3   # cProfile
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, update

ROOT = Path(__file__).resolve().parents[1]
# --compare: the measuring process imports the code under test from another checkout
CODE = Path(os.environ.get("GW_BENCH_CODE", ROOT))
sys.path.insert(0, str(CODE))
sys.path.insert(1, str(ROOT))  # tests.support (CODE's sync still wins)

from sync.clock import HybridClock, make_stamp  # noqa: E402
from sync.ids import new_id  # noqa: E402
from sync.server import admin, auth, db, feed  # noqa: E402

TOWNSHIPS = 21
GRIDS_PER_TOWNSHIP = 17
BENCH_TOWN, BENCH_GRID = 3, 5  # the grid worker who applies
DAY_MS = 86_400_000
START_MS = 1_704_067_200_000  # 2024-01-01: two years of work before the run


def grid_id(t: int, g: int) -> str:
    return f"00000000-0000-7000-8000-{t:04d}{g:08d}"


def town_id(t: int) -> str:
    return f"00000000-0000-7000-9000-{t:012d}"


def village_id(t: int) -> str:
    return f"00000000-0000-7000-a000-{t:012d}"


def user_id(t: int, g: int) -> str:
    return f"00000000-0000-7000-b000-{t:04d}{g:08d}"


def _org_rows() -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {"townships": [], "villages": [], "grids": [], "users": [], "user_grids": []}
    for t in range(TOWNSHIPS):
        rows["townships"].append({"id": town_id(t), "name": f"基准镇{t}"})
        rows["villages"].append({"id": village_id(t), "township": town_id(t), "name": f"基准村{t}"})
        for g in range(GRIDS_PER_TOWNSHIP):
            rows["grids"].append({"id": grid_id(t, g), "township": town_id(t), "village": village_id(t),
                                  "name": f"网格{t}-{g}"})
            rows["users"].append({"id": user_id(t, g), "name": f"网格员{t}-{g}", "role": "grid_worker",
                                  "township": town_id(t), "phone": None})
            rows["user_grids"].append({"user_id": user_id(t, g), "grid": grid_id(t, g)})
    return rows


_KINDS = ("household",) * 2 + ("visit",) * 13 + ("issue",) * 2 + ("issue_event",) * 2 + ("photo",)


def _history(n: int):  # type: ignore[no-untyped-def]
    """(table, row) of a county's n changes, in feed order."""
    from bench_server import visit_changes

    rng = random.Random(7)
    template = visit_changes(1, grid_id(0, 0), user_id(0, 0), HybridClock("fill"), seed=3)[0]
    step = (2 * 365 * DAY_MS) // max(n, 1)
    prev: tuple[str, dict] | None = None
    for seq in range(1, n + 1):
        ms = START_MS + seq * step
        t, g = seq % TOWNSHIPS, seq // TOWNSHIPS % GRIDS_PER_TOWNSHIP
        grid, town, actor = grid_id(t, g), town_id(t), user_id(t, g)
        stamp = make_stamp(ms, 0, "fill")
        if seq % 5 == 0 and prev is not None:  # an edit of the record before
            rid, doc = prev
            doc["fields"]["note"] = f"修改{seq}"
            doc["stamps"]["note"] = stamp
        else:
            rid = new_id(ms)
            kind = _KINDS[rng.randrange(len(_KINDS))]
            fields = dict(template["fields"], visitor=actor, household=new_id(ms))
            doc = {"id": rid, "kind": kind, "grid": grid, "fields": fields,
                   "stamps": dict.fromkeys(fields, stamp)}
            if kind == "photo":
                sha = f"{seq:064x}"
                yield "blob_refs", {"sha256": sha, "record_id": rid, "grid": grid, "township": town}
        doc["seq"] = seq
        prev = (rid, doc)
        if seq % 5 != 4:  # the edit that follows rewrites the row: write the final one
            yield "records", {"id": rid, "kind": doc["kind"], "grid": grid, "township": town,
                              "doc": db.dumps(doc), "seq": seq, "updated_ms": ms, "deleted": False}
        yield "applied_changes", {"change_id": new_id(ms), "record_id": rid, "device": actor,
                                  "user_id": actor, "seq": seq, "applied_ms": ms, "clamped": False}
        if seq % 100 == 0:
            yield "conflicts", {"record_id": rid, "field": "note", "reason": "older", "kept_value": '"a"',
                                "kept_stamp": stamp, "lost_value": '"b"', "lost_stamp": stamp,
                                "change_id": new_id(ms), "device": actor, "created_ms": ms}


def fill(url: str, n: int) -> None:
    """A migrated database holding the organisation and a county's n changes."""
    engine = db.make_engine(url)
    db.migrate(engine)
    with engine.begin() as conn:
        admin.prepare(conn)
        for table, rows in _org_rows().items():
            conn.execute(insert(db.metadata.tables[table]), rows)
    pg = engine.dialect.name == "postgresql"
    raw = engine.raw_connection()
    try:
        if pg:
            _fill_pg(raw.driver_connection, n)
        else:
            _fill_sqlite(engine, n)
    finally:
        raw.close()
    with engine.begin() as conn:
        base = int(conn.execute(db.feed.select()).first().seq)
        if n:  # the reference records made above come first in the feed: shift the history
            conn.execute(update(db.feed).where(db.feed.c.id == 1).values(seq=base + n + 1))
    engine.dispose()


def _fill_sqlite(engine, n: int) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        base = int(conn.execute(db.feed.select()).first().seq)
        buf: dict[str, list[dict]] = {}
        for table, row in _history(n):
            if "seq" in row and row["seq"] is not None:
                row["seq"] += base
            buf.setdefault(table, []).append(row)
            if len(buf[table]) >= 20_000:
                conn.execute(insert(db.metadata.tables[table]), buf.pop(table))
        for table, rows in buf.items():
            conn.execute(insert(db.metadata.tables[table]), rows)


def _fill_pg(conn, n: int) -> None:  # type: ignore[no-untyped-def]
    """COPY, one stream per table (several times faster than INSERT for a million rows)."""
    base = int(conn.execute("SELECT seq FROM feed WHERE id = 1").fetchone()[0])
    files: dict[str, tuple[list[str], list[list]]] = {}
    for table, row in _history(n):
        if "seq" in row and row["seq"] is not None:
            row["seq"] += base
        cols, rows = files.setdefault(table, (list(row), []))
        rows.append([row[c] for c in cols])
    with conn.transaction():
        for table, (cols, rows) in files.items():
            with conn.cursor().copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as cp:
                for r in rows:
                    cp.write_row(r)
    conn.execute("ANALYZE")
    conn.commit()


def measure(url: str, batches: int, profile: bool = False) -> float:
    """Changes per second applying ``batches`` batches of 100 new visits (this process)."""
    from bench_server import household_change, visit_changes

    engine = db.make_engine(url)
    with engine.begin() as conn:
        principal = auth.principal_for_user(conn, user_id(BENCH_TOWN, BENCH_GRID))
        clock = HybridClock("bench-apply")
        home = household_change(grid_id(BENCH_TOWN, BENCH_GRID), village_id(BENCH_TOWN), principal.user_id, clock)
        assert feed.apply_changes(conn, principal, [home])[0]["status"] == "applied"
    work = [visit_changes(100, grid_id(BENCH_TOWN, BENCH_GRID), principal.user_id, clock, seed=b,
                          household=home["id"]) for b in range(batches)]
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    t0 = time.perf_counter()
    for batch in work:
        with db.write_tx(engine) as conn:
            acks = feed.apply_changes(conn, principal, batch)
        assert all(a["status"] == "applied" for a in acks), acks[:3]
    rate = batches * 100 / (time.perf_counter() - t0)
    if prof is not None:
        import pstats

        prof.disable()
        pstats.Stats(prof, stream=sys.stderr).sort_stats(os.environ.get("GW_SORT", "cumulative")).print_stats(45)
    engine.dispose()
    return rate


def _fresh(url: str, batches: int, code: Path = ROOT) -> float:
    """measure() in a new Python process: imports, engine and caches start cold."""
    env = {**os.environ, "PYTHONPATH": str(code), "GW_BENCH_CODE": str(code)}
    out = subprocess.run([sys.executable, __file__, "--measure", url, "--batches", str(batches)],
                         check=True, capture_output=True, text=True, env=env)
    return float(json.loads(out.stdout.strip().splitlines()[-1])["rate"])


def _copy_db(built: Path, tmp: Path) -> str:
    """A copy of a built SQLite database, flushed to disk first (else the first checkpoint of
    the run would pay for writing out the whole copy)."""
    shutil.copy(built, tmp / "db.sqlite3")
    with open(tmp / "db.sqlite3", "rb+") as f:
        os.fsync(f.fileno())
    return f"sqlite:///{tmp / 'db.sqlite3'}"


def _line(name: str, n: int, rates: dict[str, list[float]]) -> str:
    med = {k: statistics.median(v) for k, v in rates.items()}
    runs = "; ".join(f"{k}: {', '.join(f'{r:,.0f}' for r in v)}" for k, v in rates.items())
    if "before" in med:
        return (f"{name:10s} {n:>9,} changes: {med['before']:7,.0f} -> {med['after']:7,.0f} changes/s"
                f"  (runs {runs})")
    return f"{name:10s} {n:>9,} changes: {med['after']:7,.0f} changes/s  (runs {runs})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="0,100000,1000000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--batches", type=int, default=30)
    ap.add_argument("--cache", default="/tmp/gridwall-bench-apply")
    ap.add_argument("--no-pg", action="store_true", help="SQLite only")
    ap.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)
    ap.add_argument("--profile", metavar="URL", help="cProfile one run on this database (it grows)")
    ap.add_argument("--compare", metavar="DIR", help="a checkout of older code: each run measures it "
                    "and this code back to back on copies of the same database (before -> after)")
    args = ap.parse_args()
    codes = {"after": ROOT} if not args.compare else {"before": Path(args.compare).resolve(), "after": ROOT}
    if args.measure:
        print(json.dumps({"rate": measure(args.measure, args.batches)}))
        return
    if args.profile:
        print(f"{measure(args.profile, args.batches, profile=True):,.0f} changes/s")
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    print(f"# {args.batches} batches of 100 new visits, one transaction each; median of {args.runs} "
          f"fresh processes; load: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f}")
    for n in sizes:  # SQLite: build once, copy per run
        built = cache / f"apply-{n}.sqlite3"
        if not built.exists():
            t0 = time.perf_counter()
            part = built.with_suffix(".part")
            part.unlink(missing_ok=True)
            fill(f"sqlite:///{part}", n)
            part.rename(built)
            print(f"  (built sqlite {n:,} changes in {time.perf_counter() - t0:.0f} s)")
        rates: dict[str, list[float]] = {k: [] for k in codes}
        for _ in range(args.runs):
            for which, code in codes.items():
                tmp = Path(tempfile.mkdtemp(prefix="gw-apply-"))
                url = _copy_db(built, tmp)
                db.migrate(db.make_engine(url))  # this code's schema
                rates[which].append(_fresh(url, args.batches, code))
                shutil.rmtree(tmp, ignore_errors=True)
        print(_line("sqlite", n, rates), flush=True)
    if args.no_pg:
        return
    from tests.support.server import start_pg_cluster

    pg = start_pg_cluster(fsync=True)
    try:
        import psycopg

        for n in sizes:
            t0 = time.perf_counter()
            tmpl = pg.new_database()
            fill(tmpl, n)
            print(f"  (built postgresql {n:,} changes in {time.perf_counter() - t0:.0f} s)")
            name = tmpl.rsplit("/", 1)[1]
            rates = {k: [] for k in codes}
            for r in range(args.runs):
                for which, code in codes.items():
                    with psycopg.connect(pg.admin_url(), autocommit=True) as c:
                        c.execute(f'CREATE DATABASE "{name}_{which}{r}" TEMPLATE "{name}"')
                        c.execute("CHECKPOINT")  # the clone's files on disk before timing
                    rates[which].append(_fresh(f"{tmpl}_{which}{r}", args.batches, code))
                    with psycopg.connect(pg.admin_url(), autocommit=True) as c:
                        c.execute(f'DROP DATABASE "{name}_{which}{r}"')
            print(_line("postgresql", n, rates), flush=True)
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
