"""A village meeting on emulated links: one 十有 record (and the same save with a problem raised:
the meeting, the issue and its report event) pushed and pulled back, bytes and time against the
physical floor, as bench_sync.py measures visits (docs/performance.md, "People of the grid").

    .venv/bin/python benchmarks/bench_people.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_sync import floor_s  # noqa: E402

from sync.canon import canonical_json  # noqa: E402
from sync.client.engine import SyncEngine  # noqa: E402
from sync.workflow import new_event  # noqa: E402
from tests.support.linkemu import LINKS, FaultProxy  # noqa: E402
from tests.support.server import RealServer  # noqa: E402

# A real-sized record: what a grid worker types after a 院坝会 (about 480 characters).
MEETING = {
    "meeting_kind": "yard", "place": "3组晒坝", "topic": "村道排水沟清淤与出工安排", "host": "李红军",
    "guests": "王建国、刘秀英、陈德明、赵桂兰、孙志强、周春花、吴国庆、郑凤英", "headcount": 26,
    "agenda": "一、通报3组排水沟淤堵情况；二、商议清淤出工办法；三、其他事项",
    "speeches": ("王建国：雨天水漫进院子，老人出门不便，希望尽快清淤。刘秀英：赞成每户出工，但家里只有老人的"
                 "户怎么办？孙德明：我带3组的党员先出工，老人户由党员代出工。陈德明：机械要村里联系，"
                 "路窄，小挖机才进得去。赵桂兰：清出来的淤泥别堆在路边，拉到村北空地。"),
    "decisions": "每户出工两天，老人户由党员代出工；村里负责材料和小挖机；12月中旬前完成清淤。",
    "follow_ups": "孙德明负责排工表；网格员把积水进屋的问题报镇里；村委联系小挖机。",
}


def setup(root: Path):  # type: ignore[no-untyped-def]
    real = RealServer(root)
    rep, en = real.device("w1")
    members = [rep.create("member", real.org.grid, {"name": f"党员{i}", "village": real.org.village,
                                                     "duty": "party_member"})["id"] for i in range(8)]
    # The register reaches the server over the LAN first: the figure below is for the meeting.
    assert SyncEngine(rep, real.url, en.token).sync_once().ok
    return real, rep, en, members


def add_meeting(real, rep, members: list[str], raise_problem: bool) -> int:  # type: ignore[no-untyped-def]
    """The one save (as Services.save_meeting does it); returns its changes' canonical JSON bytes."""
    now = int(time.time() * 1000)
    changes = []
    raised = []
    if raise_problem:
        issue = rep.create("issue", real.org.grid, {
            "issue_kind": "problem", "title": "3组排水沟堵塞，雨天积水进屋", "urgency": "urgent",
            "description": "院坝会上群众提出：3组排水沟淤堵，雨天积水倒灌进屋。", "reporter": rep.actor,
            "reporter_visibility": "named"})
        _rec, ev = new_event({"id": issue["id"], "kind": "issue", "grid": issue["grid"], "fields": issue["fields"]},
                             "report", {}, rep.clock, rep.actor, "grid_worker")
        rep.save_change(ev)
        changes += [issue, ev]
        raised = [issue["id"]]
    m = rep.create("meeting", real.org.grid, {**MEETING, "time": now, "village": real.org.village,
                                               "recorder": rep.actor, "members": members,
                                               **({"raised": raised} if raised else {})})
    changes.append(m)
    return sum(len(canonical_json(c).encode()) for c in changes)


def bench(link_name: str, runs: int, raise_problem: bool) -> dict:
    link = LINKS[link_name]
    times, ratios, up, down, reqs, raw = [], [], [], [], [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as d:
            real, rep, en, members = setup(Path(d))
            try:
                with FaultProxy(("127.0.0.1", real.port), link=link) as p:
                    raw.append(add_meeting(real, rep, members, raise_problem))
                    eng = SyncEngine(rep, p.url, en.token, deadline_s=300, read_timeout=120)
                    t0 = time.perf_counter()
                    r = eng.sync_once()
                    dt = time.perf_counter() - t0
                    assert r.ok and r.applied == (3 if raise_problem else 1), (r.error, r.refused)
                    times.append(dt)
                    ratios.append(dt / floor_s(p.stats.bytes_up, p.stats.bytes_down, r.requests, link,
                                               p.stats.connections, p.handshake_rtts))
                    up.append(p.stats.bytes_up)
                    down.append(p.stats.bytes_down)
                    reqs.append(r.requests)
            finally:
                real.stop()
    return {"link": link_name, "raise": raise_problem, "median_s": statistics.median(times),
            "ratio": statistics.median(ratios), "up": statistics.median(up), "down": statistics.median(down),
            "requests": statistics.median(reqs), "json": statistics.median(raw)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    for name in ("2g-rural", "edge"):
        for raise_problem in (False, True):
            r = bench(name, args.runs, raise_problem)
            what = "meeting + problem raised" if raise_problem else "meeting"
            print(f"{name:9s} {what:25s} median {r['median_s']:.2f} s = {r['ratio']:.2f}x floor; "
                  f"{r['requests']} requests; wire up/down {r['up']}/{r['down']} B; "
                  f"changes as canonical JSON {r['json']} B")


if __name__ == "__main__":
    main()
