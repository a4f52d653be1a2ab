"""Device store benchmark: save one visit, cold open, memory, at grid and township scale.

    .venv/bin/python benchmarks/bench_store.py [--scale grid|township|both] [--saves 200]

Grid scale: 300 households, 4,000 visits, 600 issues, 3,000 issue events (township: 10x),
spread over the last 12 months, made with sync.changes.new_record (validated, realistic
fields) and loaded the way a device gets them: apply_remote pages of 500 in id (time) order. Then: 200 saves of
a new visit (median, p95), 200 edits of a household and of an issue, cold open in a fresh process, memory.
For comparison, the same visits in one plain TinyDB JSON file (TinyDB's default shape).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.store import Store  # noqa: E402
from sync.changes import edit_change, new_record  # noqa: E402
from sync.clock import HybridClock  # noqa: E402
from sync.ids import new_id  # noqa: E402
from sync.records import CARE_TAGS  # noqa: E402

SCALES = {
    "grid": {"household": 300, "visit": 4000, "issue": 600, "issue_event": 3000},
    "township": {"household": 3000, "visit": 40000, "issue": 6000, "issue_event": 30000},
}
DAY_MS = 86_400_000
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "秀英桂兰建国志强春梅玉华国庆德福丽娟海燕永明凤英"
SEEN = ["老人身体尚可，屋内整洁", "家中漏雨，屋顶瓦片破损", "孩子在校表现良好", "低保材料需补交",
        "独居，子女在外务工，每周电话联系", "院墙有裂缝，存在安全隐患"]


def id_at(ms: int, rng: random.Random) -> str:
    h = f"{ms:012x}7{rng.getrandbits(12):03x}{0x8 | rng.getrandbits(2):x}{rng.getrandbits(60):015x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2))


def phone(rng: random.Random) -> str:
    return "1" + rng.choice("3589") + "".join(rng.choice("0123456789") for _ in range(9))


def generate(counts: dict[str, int], seed: int = 1) -> list[dict]:
    """Records as the server would send them (fields, stamps, bases), oldest first."""
    rng = random.Random(seed)
    now = int(time.time() * 1000)
    clock = HybridClock("server", wall=lambda: now / 1000 - 400 * 86400)
    out: list[dict] = []

    def when() -> int:
        return now - rng.randrange(1, 365) * DAY_MS - rng.randrange(DAY_MS)

    households = []
    for i in range(counts["household"]):
        members = [{"name": name(rng), "relation": rng.choice(["户主", "配偶", "子女", "父母", "孙辈"]),
                    "birth_year": rng.randrange(1935, 2020)} for _ in range(rng.randrange(1, 6))]
        rec, _ = new_record("household", "g1", {
            "village": f"v{i % 12}", "address": f"第{i % 12 + 1}村民小组{i}号", "head": members[0]["name"],
            "phone": phone(rng), "member_count": len(members), "members": members,
            "care_tags": rng.sample(CARE_TAGS, rng.randrange(0, 3)),
            "location": {"lat": 30 + rng.random(), "lon": 110 + rng.random()},
            "note": rng.choice(SEEN),
        }, clock, "staff1", record_id=id_at(when(), rng))
        households.append(rec["id"])
        out.append(rec)
    issues = []
    for _ in range(counts["issue"]):
        rec, _ = new_record("issue", "g1", {
            "issue_kind": rng.choice(["problem", "problem", "wish"]),
            "appeal_type": rng.choice(["consult", "help", "complaint", "suggestion"]),
            "category": "infra", "title": rng.choice(SEEN)[:20], "description": rng.choice(SEEN) * 3,
            "urgency": rng.choice(["normal", "urgent"]), "household": rng.choice(households),
            "reporter": "w1", "reporter_visibility": "named",
        }, clock, "w1", record_id=id_at(when(), rng))
        issues.append(rec["id"])
        out.append(rec)
    for _ in range(counts["visit"]):
        at = when()
        rec, _ = new_record("visit", "g1", {
            "household": rng.choice(households), "visitor": "w1", "time": at,
            "kind": rng.choice(["routine", "follow_up", "care", "recheck"]),
            "people_met": name(rng), "seen": rng.choice(SEEN), "said": rng.choice(SEEN),
            "location": {"lat": 30 + rng.random(), "lon": 110 + rng.random()},
            "next_due": time.strftime("%Y-%m-%d", time.gmtime((at + 30 * DAY_MS) / 1000)),
        }, clock, "w1", record_id=id_at(at, rng))
        out.append(rec)
    for _ in range(counts["issue_event"]):
        at = when()
        rec, _ = new_record("issue_event", "g1", {
            "issue": rng.choice(issues), "type": "comment", "actor": "s1", "role": "township_staff",
            "at": at, "data": {"text": rng.choice(SEEN)},
        }, clock, "s1", record_id=id_at(at, rng))
        out.append(rec)
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def bench_saves(store: Store, n: int) -> dict:
    rng = random.Random(7)
    households = store.all("household")
    visit_ms, edit_ms, visit_cpu = [], [], []
    for _ in range(n):
        _, change = new_record("visit", "g1", {
            "household": rng.choice(households)["id"], "visitor": "w1",
            "time": int(time.time() * 1000), "kind": "routine", "people_met": name(rng),
            "seen": rng.choice(SEEN), "said": rng.choice(SEEN),
            "location": {"lat": 30.5, "lon": 110.5},
        }, store.clock, "w1")
        t0, c0 = time.perf_counter(), time.process_time()
        store.save(change)
        visit_ms.append((time.perf_counter() - t0) * 1000)
        visit_cpu.append((time.process_time() - c0) * 1000)
    for i in range(n):
        hh = rng.choice(households)
        hh = store.get("household", hh["id"])
        change = edit_change(hh, {"note": f"第{i}次更新：{rng.choice(SEEN)}"}, store.clock, "w1")
        t0 = time.perf_counter()
        store.save(change)
        edit_ms.append((time.perf_counter() - t0) * 1000)
    issue_ms = []
    issues = store.all("issue")
    for i in range(n):
        issue = store.get("issue", rng.choice(issues)["id"])
        change = edit_change(issue, {"description": f"补充情况{i}：{rng.choice(SEEN)}"}, store.clock, "w1")
        t0 = time.perf_counter()
        store.save(change)
        issue_ms.append((time.perf_counter() - t0) * 1000)
    return {
        "edit_issue_median_ms": statistics.median(issue_ms), "edit_issue_p95_ms": pct(issue_ms, 95),
        "save_visit_median_ms": statistics.median(visit_ms), "save_visit_p95_ms": pct(visit_ms, 95),
        # CPU time of this process only: what the save costs without waiting for the disk
        # or for other processes on a shared machine.
        "save_visit_cpu_median_ms": statistics.median(visit_cpu),
        "edit_household_median_ms": statistics.median(edit_ms),
        "edit_household_p95_ms": pct(edit_ms, 95),
    }


def _child(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def open_in_child(data_dir: Path, runs: int = 3) -> dict:
    """Open in fresh processes (page cache warm): time and peak RSS; tracemalloc separately."""
    head = f"import json,sys,time\nsys.path.insert(0, {str(ROOT)!r})\n" \
        "from app.store import Store\nimport sync.merge\n"
    plain = head + (
        "def rss():\n"
        "    for line in open('/proc/self/status'):\n"
        "        if line.startswith('VmRSS:'):\n"
        "            return int(line.split()[1]) / 1024\n"
        "r0 = rss()\n"
        f"t = time.perf_counter(); s = Store.open({str(data_dir)!r})\n"
        "ms = (time.perf_counter() - t) * 1000\n"
        "r1 = rss()\n"
        "print(json.dumps({'ms': ms, 'rss': r1, 'growth': r1 - r0}))\n"
    )
    traced = head + (
        "import tracemalloc\ntracemalloc.start()\n"
        f"s = Store.open({str(data_dir)!r})\n"
        "cur, peak = tracemalloc.get_traced_memory()\n"
        "print(json.dumps({'peak': peak / 2**20, 'held': cur / 2**20}))\n"
    )
    opens = [_child(plain) for _ in range(runs)]
    tm = _child(traced)
    return {
        "open_median_ms": statistics.median(o["ms"] for o in opens),
        "open_max_ms": max(o["ms"] for o in opens),
        "rss_after_open_mb": statistics.median(o["rss"] for o in opens),
        "rss_growth_open_mb": statistics.median(o["growth"] for o in opens),
        "tracemalloc_peak_mb": tm["peak"], "tracemalloc_held_mb": tm["held"],
    }


def bench_plain_tinydb(records: list[dict], tmp: Path, n: int = 20) -> dict:
    """The same visits in one TinyDB JSON file, the way TinyDB is used out of the box."""
    from tinydb import TinyDB

    db = TinyDB(tmp / "plain.json")
    db.table("visit").insert_multiple([r for r in records if r["kind"] == "visit"])
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        db.table("visit").insert({"id": new_id(), "kind": "visit", "fields": {"seen": f"x{i}"}})
        times.append((time.perf_counter() - t0) * 1000)
    size = (tmp / "plain.json").stat().st_size
    db.close()
    return {"plain_tinydb_insert_median_ms": statistics.median(times),
            "plain_tinydb_file_mb": size / 2**20}


def run(scale: str, saves: int) -> dict:
    counts = SCALES[scale]
    t0 = time.perf_counter()
    records = generate(counts)
    gen_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as d:
        data_dir = Path(d) / "data"
        store = Store.open(data_dir, node="bench1")
        t0 = time.perf_counter()
        # A first full pull: pages of 500 in the server's order, which follows creation time
        # (ids are UUIDv7), so a page touches a few months' partitions.
        feed = sorted(records, key=lambda r: r["id"])
        for i in range(0, len(feed), 500):
            store.apply_remote(feed[i:i + 500], str(i))
        load_s = time.perf_counter() - t0
        res: dict = {"scale": scale, **counts, "generate_s": gen_s, "load_s": load_s}
        res.update(bench_saves(store, saves))
        store.close()
        files = list((data_dir / "records").glob("*.json"))
        sizes = sorted(f.stat().st_size for f in files)
        res.update({
            "record_files": len(files), "data_mb": sum(sizes) / 2**20,
            "largest_file_kb": sizes[-1] / 1024, "median_file_kb": statistics.median(sizes) / 1024,
        })
        res.update(open_in_child(data_dir))
        res.update(bench_plain_tinydb(records, Path(d)))
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", choices=["grid", "township", "both"], default="both")
    ap.add_argument("--saves", type=int, default=200)
    args = ap.parse_args()
    for scale in (["grid", "township"] if args.scale == "both" else [args.scale]):
        load_before = os.getloadavg()[0]
        res = run(scale, args.saves)
        # The machine is shared: the load average says how much the figures are disturbed.
        res["loadavg_1min_before"] = load_before
        res["loadavg_1min_after"] = os.getloadavg()[0]
        print(f"== {scale}: {res['household']} households, {res['visit']} visits, "
              f"{res['issue']} issues, {res['issue_event']} events")
        for k, v in res.items():
            if k not in SCALES["grid"] and k != "scale":
                print(f"  {k:28s} {v:10.2f}" if isinstance(v, float) else f"  {k:28s} {v:>10}")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
