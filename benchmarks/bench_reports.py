"""Reports on a township-year: 5,000 issues and 25,000 issue events (20 villages, 60 grids).

Measures the ledger export (fold + rows + XLSX / CSV), the figures, the echo-wall page and
its PDF. Prints medians and p95 over --runs runs (target: ledger export < 5 s).

    .venv/bin/python benchmarks/bench_reports.py [--issues 5000] [--runs 5]
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

from sync.reports.dates import parse_period  # noqa: E402
from sync.reports.echo_wall import build_echo_wall, render_html  # noqa: E402
from sync.reports.ledger import build_ledger, write_ledger_csv, write_xlsx  # noqa: E402
from sync.reports.metrics import compute_metrics  # noqa: E402
from sync.reports.model import Dataset, all_facts  # noqa: E402
from sync.reports.pdf import write_echo_wall_pdf  # noqa: E402
from tests.support.reports_factory import big_town  # noqa: E402


def measure(fn, runs: int) -> tuple[float, float, float]:
    """Wall-clock median and p95, and the median CPU time of this process (the machine is
    shared: CPU time shows the cost without the waits for other people's jobs)."""
    times, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95, statistics.median(cpu)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--issues", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    t0 = time.perf_counter()
    records = big_town(args.issues, events_per_issue=5)
    n_events = sum(r["kind"] == "issue_event" for r in records)
    print(f"generated {args.issues} issues, {n_events} events in {time.perf_counter() - t0:.1f} s")
    year = parse_period("2026")
    as_of = date(2026, 12, 31)

    def ledger_xlsx() -> None:
        ds = Dataset.from_records(records)
        write_xlsx(build_ledger(ds, year, as_of=as_of), io.BytesIO())

    def ledger_csv() -> None:
        ds = Dataset.from_records(records)
        write_ledger_csv(build_ledger(ds, year, as_of=as_of), io.BytesIO())

    ds = Dataset.from_records(records)
    facts = all_facts(ds, as_of)

    rows = [
        ("fold all issues (Dataset + all_facts)", lambda: all_facts(Dataset.from_records(records), as_of)),
        ("ledger export, year, XLSX (end to end)", ledger_xlsx),
        ("ledger export, year, CSV (end to end)", ledger_csv),
        ("figures per village, year (end to end)", lambda: compute_metrics(Dataset.from_records(records), year, "village", as_of=as_of)),
        ("figures per grid, year (facts given)", lambda: compute_metrics(ds, year, "grid", as_of=as_of, facts=facts)),
        ("figures per category, month (facts given)", lambda: compute_metrics(ds, parse_period("2026-06"), "category", as_of=as_of, facts=facts)),
        ("echo-wall page, one village (facts given)", lambda: render_html(build_echo_wall(ds, "v1", as_of=as_of, facts=facts))),
    ]
    print(f"{'what':48} {'median s':>9} {'p95 s':>8} {'cpu s':>8}")
    for name, fn in rows:
        med, p95, cpu = measure(fn, args.runs)
        print(f"{name:48} {med:9.3f} {p95:8.3f} {cpu:8.3f}")

    # the noticeboard PDF: 60 published items (several pages)
    from tests.support.reports_factory import Town, cst

    town = Town()
    for k in range(60):
        iss = town.issue("g1", f"私有{k}", cst(2026, 3, 2, 8 + k % 10, k % 60))
        town.event(iss, "publish", cst(2026, 3, 20), public_title=f"第{k}号：村道修缮完成",
                   public_text="镇村建办已完成修缮，欢迎村民监督。" * 2)  # fmt: skip
    wall = build_echo_wall(Dataset.from_records(town.records), "v1", as_of=date(2026, 3, 31))
    pages: list[int] = []
    med, p95, cpu = measure(lambda: pages.append(write_echo_wall_pdf(wall, io.BytesIO())), args.runs)
    print(f"{f'echo-wall PDF, 60 items ({pages[-1]} pages)':48} {med:9.3f} {p95:8.3f} {cpu:8.3f}")

    from sync.reports import pdf

    def cold() -> None:
        pdf._registered.clear()  # as in a fresh `gridwall report echo-wall`: subset the font again
        write_echo_wall_pdf(wall, io.BytesIO())

    med, p95, cpu = measure(cold, args.runs)
    print(f"{'echo-wall PDF, 60 items, font subset included':48} {med:9.3f} {p95:8.3f} {cpu:8.3f}")


if __name__ == "__main__":
    main()
