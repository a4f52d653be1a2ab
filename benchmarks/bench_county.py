"""The county staff PC at county scale (issue 14 "Tests and measures"), each figure from a fresh
process.

A county staff device store is filled by ``seed_county`` (21 townships, 238 villages, 350 grids
and a year of problems at full size; ``--townships`` 1 → 21 keeps the proportions). Then, in a
new Python process per size (every import paid, as ``gridwall app`` starts):

- board, first load: open the device + the county board's first page (every issue folded);
- every board filter (the county staff's chips and pickers), median and p95;
- the month's 工作简报 (the last full month: three folds, ranking) and its PDF and XLSX.

Goals (issue 14): first load ≤ 2 s, filter ≤ 150 ms, bulletin ≤ 10 s.

    .venv/bin/python benchmarks/bench_county.py [--townships 1,5,11,21] [--issues-per-grid 90]
        [--runs 7] [--keep DIR] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def _stats(xs: list[float]) -> tuple[float, float]:
    xs = sorted(xs)
    return statistics.median(xs), xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]


def child(data: Path, runs: int, profile: bool) -> dict:
    """What a county staff's ``gridwall app`` does up to the board, then the filters and the
    bulletin (run as ``python benchmarks/bench_county.py child DIR``)."""
    prof = cProfile.Profile() if profile else None
    t0, c0 = time.perf_counter(), time.process_time()
    if prof:
        prof.enable()
    from app.device import open_device

    device = open_device(data, background=False)
    svc = device.staff
    first = svc.board(None, limit=200)
    out: dict = {"first_load_s": time.perf_counter() - t0, "first_load_cpu_s": time.process_time() - c0,
                 "issues": first["matched"]}
    if prof:
        prof.disable()
    village = svc.villages()[0][0]
    filters = {"status=assigned": {"status": "assigned"}, "village": {"village": village},
               "category": {"category": "infra"}, "urgency": {"urgency": "critical"},
               "appeal_type": {"appeal_type": "complaint"}, "overdue": {"overdue": True},
               "supervised": {"supervised": True}, "county_supervised": {"county_supervised": True},
               "source=hotline": {"source": "hotline"}, "due_soon": {"due_soon": True},
               "search 路灯": {"q": "路灯"}, "sort by deadline": {}}
    out["filters"] = {}
    for name, f in filters.items():
        xs, cpu = [], []
        for _ in range(runs):
            t1, c1 = time.perf_counter(), time.process_time()
            svc.board(f, limit=200, sort="deadline" if name.startswith("sort") else "triage")
            xs.append((time.perf_counter() - t1) * 1000)
            cpu.append((time.process_time() - c1) * 1000)
        out["filters"][name] = _stats(xs)
        out.setdefault("filters_cpu", {})[name] = _stats(cpu)  # the machine is shared: CPU too
    month = (date.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    t1, c1 = time.perf_counter(), time.process_time()
    if prof:
        prof.enable()
    b = svc.reports.bulletin(month)
    if prof:
        prof.disable()
    out["bulletin_s"], out["bulletin_cpu_s"] = time.perf_counter() - t1, time.process_time() - c1
    out["bulletin"] = {"month": month, "townships": len(b.townships), "units": len(b.units),
                       "reported": b.reported, "overdue": len(b.overdue)}
    from sync.reports.bulletin_export import write_bulletin_pdf, write_bulletin_xlsx

    for name, fn in (("pdf", write_bulletin_pdf), ("xlsx", write_bulletin_xlsx)):
        t1 = time.perf_counter()
        fn(b, io.BytesIO())
        out[f"bulletin_{name}_s"] = time.perf_counter() - t1
    device.close()
    if prof:
        s = io.StringIO()
        pstats.Stats(prof, stream=s).sort_stats("cumulative").print_stats(30)
        out["profile"] = s.getvalue()
    return out


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        print(json.dumps(child(Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "1"), ensure_ascii=False))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--townships", default="1,5,11,21")
    ap.add_argument("--issues-per-grid", type=int, default=90)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--keep", type=Path, help="keep the seeded stores here (reused when present)")
    ap.add_argument("--profile", action="store_true", help="print the cProfile of first load + bulletin")
    a = ap.parse_args()
    from seed_county import seed_store

    base = a.keep or Path(tempfile.mkdtemp(prefix="gw-county-"))
    print(f"# {os.uname().nodename}, {os.cpu_count()} cores; load {os.getloadavg()}")
    print(f"{'townships':>9} {'issues':>7} {'first load s':>12} {'cpu s':>6} "
          f"{'worst filter p95 ms':>28} {'bulletin s':>10} {'cpu s':>6} {'pdf s':>6} {'xlsx s':>6}")
    for n in (int(x) for x in a.townships.split(",")):
        data = base / f"county-{n}-{a.issues_per_grid}" / "data"
        if not data.exists():  # seeded aside, then moved: an interrupted seed is not reused
            t0 = time.perf_counter()
            part = data.with_name("data.part")
            shutil.rmtree(part, ignore_errors=True)
            counts = seed_store(part, townships=n, issues_per_grid=a.issues_per_grid)["counts"]
            part.rename(data)
            print(f"# seeded {n} townships {counts} in {time.perf_counter() - t0:.0f} s", flush=True)
        res = subprocess.run([sys.executable, __file__, "child", str(data), str(a.runs), "1" if a.profile else "0"],
                             capture_output=True, text=True, check=True, cwd=ROOT)
        r = json.loads(res.stdout.strip().splitlines()[-1])
        worst = max(r["filters"].items(), key=lambda kv: kv[1][1])
        print(f"{n:>9} {r['issues']:>7} {r['first_load_s']:>12.2f} {r['first_load_cpu_s']:>6.2f} "
              f"{worst[0]:>18} {worst[1][1]:>9.0f} {r['bulletin_s']:>10.2f} {r['bulletin_cpu_s']:>6.2f} "
              f"{r['bulletin_pdf_s']:>6.2f} {r['bulletin_xlsx_s']:>6.2f}", flush=True)
        print("#   filters (median / p95 ms): " + ", ".join(
            f"{k} {m:.0f}/{p:.0f}" for k, (m, p) in r["filters"].items()))
        print("#   filters CPU (median / p95 ms): " + ", ".join(
            f"{k} {m:.0f}/{p:.0f}" for k, (m, p) in r["filters_cpu"].items()))
        print(f"#   bulletin {r['bulletin']}; load {os.getloadavg()}", flush=True)
        if a.profile:
            print(r["profile"])


if __name__ == "__main__":
    main()
