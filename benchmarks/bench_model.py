"""Record model speed: merge of one change, a hot record edited 20,000 times, the workflow fold.

Run: .venv/bin/python benchmarks/bench_model.py   (prints medians and p95; figures go into
docs/performance.md, section "Record model").
"""

from __future__ import annotations

import json
import statistics
import time

from sync.changes import edit_change, new_record
from sync.clock import HybridClock
from sync.merge import apply_change, merge_records
from sync.workflow import fold, new_event


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))]


def show(name: str, seconds: list[float]) -> None:
    us = [s * 1e6 for s in seconds]
    print(f"{name:<44} median {statistics.median(us):8.1f} µs   p95 {pct(us, 0.95):8.1f} µs   (n={len(us)})")


def household(clock: HybridClock) -> tuple[dict, dict]:
    fields = {
        "village": "v-1", "address": "东村3组12号", "head": "王秀兰", "phone": "13812345678",
        "member_count": 3, "members": [{"name": "王秀兰", "relation": "户主", "birth_year": 1948}] * 3,
        "care_tags": ["独居老人", "党员户"], "location": {"lat": 30.1, "lon": 120.2}, "note": "腿脚不便" * 20,
    }  # fmt: skip
    return new_record("household", "g1", fields, clock, "u1")


def main() -> None:
    a, b = HybridClock("dev-a"), HybridClock("dev-b")
    record, create = household(a)

    # 1. validate + build one edit, then merge it into the stored record
    build, apply = [], []
    for i in range(2000):
        t0 = time.perf_counter()
        change = edit_change(record, {"phone": f"139{i:08d}", "note": f"第{i}次走访"}, a, "u1")
        t1 = time.perf_counter()
        record = apply_change(record, change).record
        t2 = time.perf_counter()
        build.append(t1 - t0)
        apply.append(t2 - t1)
    show("edit_change (validate + build)", build)
    show("apply_change (household, 2 fields)", apply)

    # 2. a hot record edited 20,000 times by two devices: time per merge and size stay flat
    record, _ = household(a)
    sizes, per = [], []
    for i in range(20_000):
        clock = a if i % 2 else b
        change = edit_change(record, {"note": f"n{i}"}, clock, "u")
        t0 = time.perf_counter()
        record = apply_change(record, change).record
        per.append(time.perf_counter() - t0)
        if i in (0, 999, 19_999):
            sizes.append((i + 1, len(json.dumps(record, ensure_ascii=False).encode())))
    show("apply_change, hot record, edits 1-1000", per[:1000])
    show("apply_change, hot record, edits 19001-20000", per[-1000:])
    print("record JSON bytes after N edits:", ", ".join(f"N={n}: {s}" for n, s in sizes))

    # 3. whole-record merge (pull apply)
    other = apply_change(record, edit_change(record, {"head": "王二"}, b, "u")).record
    times = []
    for _ in range(2000):
        t0 = time.perf_counter()
        merge_records(record, other)
        times.append(time.perf_counter() - t0)
    show("merge_records (household)", times)

    # 4. fold of an issue with 200 events (a long-running, much-commented problem)
    issue, _ = new_record("issue", "g1", {"issue_kind": "problem", "title": "路灯", "reporter": "u"}, a, "u")
    events: list[dict] = []
    plan = [("accept", {}), ("assign", {"unit": "u1", "deadline": "2026-12-01"})]
    plan += [("comment", {"text": "跟进"})] * 190 + [("resolve", {"reply": "好了"})] * 8
    for etype, data in plan:
        events.append(new_event(issue, etype, data, a, "s", "township_staff", after=events[-1:])[0])
    times = []
    for _ in range(200):
        t0 = time.perf_counter()
        fold(issue, events)
        times.append(time.perf_counter() - t0)
    show("fold (200 events)", times)


if __name__ == "__main__":
    main()
