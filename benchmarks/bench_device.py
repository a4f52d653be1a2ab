"""The field app at grid size, each figure from a fresh process (issue 13, item 1).

A device store is filled with ``seed_grid``'s realistic mix (households visited about monthly,
problems accepted, dispatched, resolved, re-checked and closed by staff; ~37 records per
household over two years) at 1k, 5k, 10k, 20k and 50k records, pulled in the way a device gets
them (``apply_remote`` pages). Then, each in a new Python process started the way a user starts
the app (``python -m``, every import paid):

- first screen: process start -> 首页's controls built (open the device as ``gridwall app``
  does, render the home screen in the pure-Python Flet harness) and the peak RSS;
- search: the household search (name, pinyin initials, phone, address) in the services;
- save of a visit (``Services.save_visit``);
- a pull of 500 changes (events on existing issues and new visits: ``apply_remote``) and the
  home screen's figures after it (``Services.today()``: the issues re-folded).

    .venv/bin/python benchmarks/bench_device.py [--sizes 1000,5000,10000,20000,50000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests" / "app" / "ui"))  # the harness's layout rules

QUERIES = ["王", "wjg", "138", "3组", "李桂兰", "zxy"]
PER_HOUSEHOLD = 37.15  # records per household in seed_grid's two years (18,576 / 500)
DAY_MS = 86_400_000


def seed(data: Path, n: int) -> dict:
    """A device store of about ``n`` records of one grid, as pulled from the server."""
    from seed_grid import grid_work

    from app.services import Services
    from sync.ids import new_id

    households = max(10, round(n / PER_HOUSEHOLD))
    svc = Services.open(data)
    p = svc.profile
    grid, village, worker, staff = p["grid_id"], p["village_id"], p["user_id"], new_id()
    svc.set_profile(user_id=worker, user_name="王建国", grid_id=grid, grid_name="三组网格",
                    village_id=village, village="幸福村")
    work = grid_work(grid, village, worker, staff, households=households,
                     issues=round(households * 2.4), end_ms=int(time.time() * 1000) - DAY_MS)
    keep = ("id", "kind", "grid", "fields", "stamps", "bases")
    # A device makes each id when the record is made (UUIDv7: its time); the seeder made them
    # all today. Ids at the record's time put them in the month partitions a real device has.
    rng = random.Random(n)
    ids = {ch["id"]: _id_at(ms, rng) for ms, _, ch in work}
    records = []
    for _, _, ch in work:
        rec = {k: ch[k] for k in keep}
        rec["id"] = ids[ch["id"]]
        rec["fields"] = {k: ids.get(v, v) if k in ("household", "issue") else v
                         for k, v in rec["fields"].items()}
        records.append(rec)
    records.sort(key=lambda r: r["id"])  # the server's feed order follows creation
    for i in range(0, len(records), 5000):
        svc.store.apply_remote(records[i:i + 5000], str(i))
    counts = svc.store.stats()["counts"]
    svc.close()
    return counts


def _id_at(ms: int, rng: random.Random) -> str:
    """A UUIDv7 of time ``ms`` (``sync.ids.new_id`` never goes back in time within a process)."""
    h = f"{ms:012x}7{rng.getrandbits(12):03x}{0x8 | rng.getrandbits(2):x}{rng.getrandbits(60):015x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def rss_peak_mb() -> float:
    """Peak RSS of this process image (VmHWM; ``ru_maxrss`` would carry the parent's peak
    over ``fork`` + ``exec``)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------- child processes


def child_screen(data: Path) -> dict:
    """Started as ``python -m benchmarks.bench_device screen DIR``: what ``gridwall app`` does
    up to the first screen (imports, open the device, render 首页)."""
    import asyncio

    t_imp = time.perf_counter()
    import flet  # noqa: F401

    from app.device import open_device
    from app.ui.app import make_main
    from tests.app.ui.harness import Harness

    t_open = time.perf_counter()
    device = open_device(data)
    t_render = time.perf_counter()
    w_render = time.time()

    async def render() -> None:
        h = await Harness.start(make_main(device))
        text = h.screen_text()
        assert "今日工作" in text or "Today" in text, text[:200]
        global _CONTROLS
        from tests.app.ui.harness import iter_controls

        _CONTROLS = sum(1 for _ in iter_controls(h.top))
        ready = time.time()
        global _READY, _RSS_READY
        _READY, _RSS_READY = ready, rss_peak_mb()
        for tab, name in ((3, "issues"), (1, "households")):  # after the first screen: the lists
            t0 = time.perf_counter()
            await h.nav(tab)
            _TABS[name] = (time.perf_counter() - t0, sum(1 for _ in iter_controls(h.top)))
            await h.nav(0)
        await h.close()

    asyncio.run(render())
    out = {"ready_at": _READY, "imports_s": t_open - t_imp, "open_s": t_render - t_open,
           "render_s": _READY - w_render, "rss_mb": _RSS_READY, "rss_tabs_mb": rss_peak_mb(),
           "controls": _CONTROLS,
           **{f"{k}_tab_s": v[0] for k, v in _TABS.items()},
           **{f"{k}_tab_controls": v[1] for k, v in _TABS.items()}}
    device.close()
    return out


_READY = 0.0
_RSS_READY = 0.0
_CONTROLS = 0
_TABS: dict[str, tuple[float, int]] = {}


def child_typing(data: Path, runs: int = 3) -> dict:
    """Search as you type on 住户: keystroke -> the new list patched (harness), 6 queries x runs."""
    import asyncio

    from app.device import open_device
    from app.ui.app import make_main
    from tests.app.ui.harness import Harness

    device = open_device(data)
    times: list[float] = []

    async def go() -> None:
        h = await Harness.start(make_main(device))
        await h.nav(1)
        for _ in range(runs):
            for q in QUERIES:
                t0 = time.perf_counter()
                await h.type("household-query", q)
                times.append(time.perf_counter() - t0)
            await h.type("household-query", "")
        await h.close()

    asyncio.run(go())
    device.close()
    return {"typing_s": statistics.median(times), "typing_max_s": max(times)}


def child_ops(data: Path, runs: int) -> dict:
    """Search, a visit's save and a pull of 500 changes, in one fresh process."""
    from app.device import open_device
    from sync.clock import HybridClock
    from sync.workflow import new_event

    t0 = time.perf_counter()
    device = open_device(data)
    svc = device.services
    open_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    svc.households(query=QUERIES[0])
    first_search = time.perf_counter() - t0
    search = []
    for _ in range(runs):
        for q in QUERIES:
            t0 = time.perf_counter()
            svc.households(query=q)
            search.append(time.perf_counter() - t0)
    rng = random.Random(5)
    homes = [h["id"] for h in svc.households()]
    saves = []
    for i in range(runs * 4):
        values = {"household": rng.choice(homes), "kind": "routine", "people_met": "户主",
                  "seen": f"院子干净整洁 {i}", "said": "暂无诉求"}
        t0 = time.perf_counter()
        vid, errors = svc.save_visit(values, [], [])
        saves.append(time.perf_counter() - t0)
        assert vid and not errors, errors
    svc.today()
    # a pull of 500 changes: staff comments and progress on 250 issues, 250 visits of a colleague
    issues = svc.store.all("issue")
    staff = HybridClock("dstaff000001", wall=lambda: time.time() + 5)
    page = []
    for iss in rng.sample(issues, min(250, len(issues))):
        page.append(new_event(iss, "comment", {"text": "已电话回访"}, staff, "s1", "township_staff")[0])
    from sync.changes import new_record

    other = HybridClock("dother000001", wall=lambda: time.time() + 5)
    while len(page) < 500:
        page.append(new_record("visit", svc.grid_id, {
            "household": rng.choice(homes), "visitor": "w2", "time": int(time.time() * 1000),
            "kind": "care", "seen": "老人独自在家"}, other, "w2")[0])
    t0 = time.perf_counter()
    svc.store.apply_remote(page, "bench-pull")
    apply_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    svc.today()
    today_s = time.perf_counter() - t0
    device.close()
    return {"open_s": open_s, "first_search_s": first_search, "search_s": statistics.median(search),
            "search_p95_s": sorted(search)[int(0.95 * (len(search) - 1))],
            "save_visit_s": statistics.median(saves), "pull_apply_s": apply_s,
            "pull_today_s": today_s, "pull_total_s": apply_s + today_s, "rss_mb": rss_peak_mb()}


def run_child(*args: str) -> tuple[dict, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    out = subprocess.run([sys.executable, "-m", "benchmarks.bench_device", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    # CPU of the whole child (start to exit): on a shared machine it moves less than wall time
    res["cpu_s"] = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
    return res, t0


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] in ("screen", "ops", "open", "typing"):
        data = Path(sys.argv[2])
        if sys.argv[1] == "typing":  # python -m benchmarks.bench_device typing DIR
            res = child_typing(data)
        elif sys.argv[1] == "open":
            from app.store import Store

            t0 = time.perf_counter()
            Store.open(data).close()
            res = {"open_s": time.perf_counter() - t0}
        else:
            res = child_screen(data) if sys.argv[1] == "screen" else child_ops(data, int(sys.argv[3]))
        print(json.dumps(res))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,5000,10000,20000,50000")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--keep", type=Path, help="keep the seeded stores here (reused when present)")
    ap.add_argument("--migrate-from", type=Path,
                    help="start from copies of stores seeded here (by an earlier version) and time their first open")
    args = ap.parse_args()
    print(f"# {os.cpu_count()} cores, python {sys.version.split()[0]}, load {os.getloadavg()}")
    base = args.keep or Path(tempfile.mkdtemp(prefix="bench-device-"))
    for n in (int(x) for x in args.sizes.split(",")):
        data = base / f"n{n}"
        if not (data / "meta.json").exists() and args.migrate_from:
            shutil.copytree(args.migrate_from / f"n{n}", data)
            res, _ = run_child("open", str(data))
            print(f"# opened a store written by the previous format (migration): {res['open_s']:.2f} s, "
                  f"CPU {res['cpu_s']:.2f} s")
        if not (data / "meta.json").exists():
            t0 = time.perf_counter()
            counts = seed(data, n)
            print(f"# seeded {sum(counts.values())} records {dict(counts)} in {time.perf_counter() - t0:.1f} s")
        shots = []
        for _ in range(args.runs):
            res, t0 = run_child("screen", str(data))
            res["first_screen_s"] = res["ready_at"] - t0
            shots.append(res)
        med = {k: statistics.median(s[k] for s in shots) for k in shots[0]}
        work = base / f"ops-{n}"
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(data, work)
        ops, _ = run_child("ops", str(work), str(args.runs))
        shutil.rmtree(work, ignore_errors=True)
        print(f"{n:>6} records: first screen {med['first_screen_s']:.2f} s, CPU {med['cpu_s']:.2f} s to exit "
              f"(imports {med['imports_s']:.2f}, "
              f"open {med['open_s']:.2f}, render {med['render_s']:.2f}; {med['controls']:.0f} controls), "
              f"peak RSS {med['rss_mb']:.0f} MB ({med['rss_tabs_mb']:.0f} after the tabs) | search {ops['search_s'] * 1000:.1f} ms "
              f"(p95 {ops['search_p95_s'] * 1000:.1f}, first {ops['first_search_s'] * 1000:.0f}) | "
              f"save visit {ops['save_visit_s'] * 1000:.1f} ms | 问题墙 tab {med['issues_tab_s'] * 1000:.0f} ms "
              f"({med['issues_tab_controls']:.0f} controls), 住户 tab {med['households_tab_s'] * 1000:.0f} ms "
              f"({med['households_tab_controls']:.0f} controls) | pull 500: apply {ops['pull_apply_s'] * 1000:.0f} ms "
              f"+ today {ops['pull_today_s'] * 1000:.0f} ms | ops RSS {ops['rss_mb']:.0f} MB", flush=True)
    print(f"# load at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
