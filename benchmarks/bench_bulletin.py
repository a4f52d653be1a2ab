"""The 工作简报 at county scale: 20 townships (a village each here, 3 grids a village), a year of
problems with 5 events each (report, accept, assign, progress, resolve). Measures the
bulletin of a month (three folds: the month, the month before, the same month a year before),
and its PDF and XLSX. Target (issue 14): bulletin ≤ 10 s.

    .venv/bin/python benchmarks/bench_bulletin.py [--issues 30000] [--runs 3] [--month 2026-12]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sync.reports.bulletin import compute_bulletin  # noqa: E402
from sync.reports.bulletin_export import write_bulletin_pdf, write_bulletin_xlsx  # noqa: E402
from sync.reports.dates import parse_period  # noqa: E402
from sync.reports.model import Dataset  # noqa: E402
from tests.support.reports_factory import big_town  # noqa: E402


def measure(fn, runs: int) -> tuple[float, float]:
    """Wall-clock median and the median CPU time of this process (the machine is shared)."""
    times, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(times), statistics.median(cpu)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--issues", type=int, default=30000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--month", default="2026-12")
    args = ap.parse_args()
    t0 = time.perf_counter()
    records = big_town(args.issues, events_per_issue=5)
    for r in records:  # one township per village: a county of 20 townships
        if r["kind"] == "village":
            r["fields"]["township"] = f"乡镇{r['id']}"
    n_events = sum(r["kind"] == "issue_event" for r in records)
    print(f"generated {args.issues} issues, {n_events} events in {time.perf_counter() - t0:.1f} s")
    period = parse_period(args.month)
    as_of = period.end if period.end < date.today() else date.today()
    built = []

    def bulletin() -> None:
        built.append(compute_bulletin(Dataset.from_records(records), period, county="榆中县", as_of=as_of))

    rows = [("bulletin, end to end (records -> Bulletin)", bulletin)]
    med, cpu = measure(bulletin, args.runs)
    b = built[-1]
    print(f"{'what':48} {'median s':>9} {'cpu s':>8}")
    print(f"{rows[0][0]:48} {med:9.3f} {cpu:8.3f}   ({len(b.townships)} townships, {len(b.units)} units, "
          f"{b.reported} reported, {len(b.overdue)} overdue)")
    for name, fn in (("bulletin PDF", lambda: write_bulletin_pdf(b, io.BytesIO())),
                     ("bulletin XLSX", lambda: write_bulletin_xlsx(b, io.BytesIO()))):
        med, cpu = measure(fn, args.runs)
        print(f"{name:48} {med:9.3f} {cpu:8.3f}")


if __name__ == "__main__":
    main()
