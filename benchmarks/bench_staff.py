"""Staff board on a township-scale device: 5,000 issues and 25,000 events.

Prints medians / p95 of: the first board load (every issue folded), a reload with nothing
changed (folds cached), filter changes, a column sort, one new event then reload (one issue
re-folded), the acting screen's issue, and the ledger export of the year. The board is asked
for the rows its screen draws (``--limit``, 200); ``--limit 0`` asks for every row.

    .venv/bin/python benchmarks/bench_staff.py [--issues 5000] [--events-per-issue 5] [--runs 7] [--limit 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.device import open_device  # noqa: E402
from app.services import Services  # noqa: E402
from app.services.staff import StaffServices  # noqa: E402
from sync import workflow as wf  # noqa: E402
from sync.changes import new_record  # noqa: E402
from sync.clock import HybridClock  # noqa: E402

FLOWS = [[], ["accept"], ["accept", "assign"], ["accept", "assign", "progress"],
         ["accept", "assign", "progress", "resolve"], ["assign", "supervise", "extend", "resolve"]]
DATA = {"accept": {}, "assign": {"unit": "unit-1", "deadline": "2026-06-30"},
        "progress": {"note": "在办"}, "resolve": {"reply": "已办结"}, "supervise": {"level": 2},
        "extend": {"deadline": "2026-07-30", "reason": "等材料"}, "comment": {"text": "跟进"}}


def seed(svc: Services, n_issues: int, per_issue: int, rnd: random.Random) -> None:
    clock = HybridClock("bench")
    grids = []
    recs = []
    for v in range(10):
        village, _ = new_record("village", "township", {"name": f"村{v}"}, clock, "server")
        recs.append(village)
        for g in range(3):
            grid, _ = new_record("grid", "township", {"name": f"网格{v}-{g}", "village": village["id"]},
                                         clock, "server")
            recs.append(grid)
            grids.append(grid["id"])
    cats = ["infra.road", "infra.water", "env.garbage", "safety.fire", "livelihood.elderly"]
    for i in range(n_issues):
        issue, _ = new_record("issue", rnd.choice(grids), {
            "issue_kind": "problem", "title": f"问题{i} {rnd.choice(['路灯', '道路', '垃圾', '供水'])}",
            "category": rnd.choice(cats), "urgency": rnd.choice(["normal", "urgent", "critical"]),
            "appeal_type": rnd.choice(["help", "complaint", "consult"]), "reporter": "w",
            "reporter_visibility": "named"}, clock, "w")
        recs.append(issue)
        flow = ["report", *rnd.choice(FLOWS)]
        flow += ["comment"] * max(0, per_issue - len(flow))
        evs: list[dict] = []
        for etype in flow[:max(per_issue, 1)]:
            role = "grid_worker" if etype in ("report", "comment") else "township_staff"
            ev, _ = wf.new_event(issue, etype, DATA.get(etype, {}), clock, "u", role, after=evs[-1:])
            evs.append(ev)
        recs.extend(evs)
    for k in range(0, len(recs), 5000):
        svc.store.apply_remote(recs[k:k + 5000], None)


def timed(fn, runs: int) -> tuple[float, float]:
    xs = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        xs.append((time.perf_counter() - t0) * 1000)
    xs.sort()
    return statistics.median(xs), xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--issues", type=int, default=5000)
    ap.add_argument("--events-per-issue", type=int, default=5)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--limit", type=int, default=200,
                    help="rows the board returns, as the screen asks (0: all, as before the desk)")
    a = ap.parse_args()
    rnd = random.Random(7)
    with tempfile.TemporaryDirectory() as d:
        device = open_device(Path(d) / "data", background=False)
        base = device.services
        t0 = time.perf_counter()
        seed(base, a.issues, a.events_per_issue, rnd)
        print(f"seeded {len(base.store.all('issue'))} issues, {len(base.store.all('issue_event'))} events "
              f"in {time.perf_counter() - t0:.1f} s")
        svc = device.staff

        def board(f=None, **kw):
            # what the board screen asks for: the rows it draws (the whole list with --limit 0)
            return svc.board(f, limit=a.limit or None, **kw)
        cold = []
        for _ in range(max(3, a.runs // 2)):
            svc.index.path.unlink(missing_ok=True)  # no kept folds: every issue folded
            svc = device.staff = StaffServices(base)
            t0 = time.perf_counter()
            board()
            cold.append((time.perf_counter() - t0) * 1000)
        print(f"board, first load (fold all):   median {statistics.median(cold):7.1f} ms")
        print("board, reload (cached folds):   median {:7.1f} ms  p95 {:7.1f} ms".format(*timed(board, a.runs)))
        village = svc.villages()[0][0]
        for name, f in [("status=assigned", {"status": "assigned"}), ("village", {"village": village}),
                        ("category+urgency", {"category": "infra", "urgency": "critical"}),
                        ("overdue", {"overdue": True}), ("search '路灯'", {"q": "路灯"})]:
            print("filter {:<24s} median {:7.1f} ms  p95 {:7.1f} ms".format(name, *timed(lambda f=f: board(f), a.runs)))
        if a.limit:
            print("sort by deadline:               median {:7.1f} ms  p95 {:7.1f} ms".format(
                *timed(lambda: board(sort="deadline"), a.runs)))
        some = svc.board({"status": "submitted"})["rows"]
        it = iter(some)

        def act_and_reload() -> None:
            svc.act(next(it)["id"], "accept", {})
            board()
        print("accept one + reload board:      median {:7.1f} ms  p95 {:7.1f} ms".format(*timed(act_and_reload, a.runs)))
        iid = some[-1]["id"]
        print("act screen (staff_issue):       median {:7.1f} ms  p95 {:7.1f} ms".format(
            *timed(lambda: svc.staff_issue(iid), a.runs)))
        year = svc.reports.period_text("year")
        print("ledger export (year, xlsx):     median {:7.1f} ms  p95 {:7.1f} ms".format(
            *timed(lambda: svc.reports.export_ledger(year), 3)))
        device.close()


if __name__ == "__main__":
    main()
