"""A township staff PC's device store at size: 50,000 issues and ~250,000 events in a minute.

Issues are reported over the months before ``end`` across villages, grids, categories and
appeal types, by each grid's worker; staff accept, dispatch to units with deadlines, supervise,
extend, resolve; residents' re-checks send some back (重办); some are published on the echo
wall; wishes are claimed and fulfilled. The newer an issue, the less of its workflow has
happened, so the board holds every state and some overdue ones. Each record is made by
``sync.changes.new_record`` / ``sync.workflow.new_event`` (validated, stamped by a clock that
walks through the months, ids carrying their time) and the store's files are written straight
in its layout, each partition once (``app.store.partition_name``), instead of through
``apply_remote`` page by page (which rewrites the same growing month partitions every page:
50k issues did not finish in 7 minutes that way).

    .venv/bin/python benchmarks/seed_township.py DIR [--issues 50000] [--months 11]

The visit-note pools are seed_grid's (one copy).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from seed_grid import DAY_MS, GIVEN, SAID, SURNAMES, TAGS, TITLES, _Wall  # noqa: E402

from app.store import Store, partition_name  # noqa: E402
from app.store.storage import AtomicJSONStorage  # noqa: E402
from sync import ids, reference  # noqa: E402
from sync.changes import new_record  # noqa: E402
from sync.chinatime import china_time  # noqa: E402
from sync.clock import HybridClock  # noqa: E402
from sync.records import APPEAL_TYPES  # noqa: E402
from sync.workflow import new_event  # noqa: E402

HOUR_MS = 3_600_000
TOWNSHIP = "青山镇"


def _id_at(ms: int) -> str:
    """A UUIDv7 of the moment ``ms``: new_record makes its change ids at the real time, which
    moves the process's monotonic id counter to now; a seeder's ids carry the past."""
    ids._last_ms = min(ids._last_ms, ms - 1)
    return ids.new_id(ms)


def _day(ms: int) -> str:
    return china_time(ms).date().isoformat()


def _plan(rng: random.Random, t: int, end: int, wish: bool, units: list[str]) -> list[tuple[int, str, str, dict]]:
    """(when, who, event type, data) of one issue reported at ``t``; what has happened by ``end``."""
    steps: list[tuple[int, str, str, dict]] = [(t, "w", "report", {})]
    now = t

    def later(lo_h: float, hi_h: float) -> int:
        nonlocal now
        now += int(rng.uniform(lo_h, hi_h) * HOUR_MS)
        return now

    if wish:
        steps.append((later(4, 72), "w", "claim", {"by": rng.choice(("镇卫生院", "村党支部", "爱心商户", "团委"))}))
        steps.append((later(48, 400), "w", "fulfil", {"note": "心愿已兑现"}))
        if rng.random() < 0.6:
            steps.append((later(24, 200), "w", "feedback", {"satisfied": rng.random() < 0.92, "text": "谢谢"}))
    elif rng.random() < 0.04:
        steps.append((later(2, 48), "s", "reject", {"reason": "不属于受理范围"}))
    else:
        if rng.random() < 0.5:  # else dispatched straight away
            steps.append((later(1, 40), "s", "accept", {}))
        deadline_at = later(1, 24) + rng.randint(3, 20) * DAY_MS
        steps.append((now, "s", "assign", {"unit": rng.choice(units), "deadline": _day(deadline_at),
                                           "note": "请按期整改"}))
        if rng.random() < 0.25:
            steps.append((later(24, 120), "s", "progress", {"note": rng.choice(("已到现场查看", "在办", "材料已报送"))}))
        if rng.random() < 0.12:
            steps.append((later(24, 240), "s", "supervise", {"level": rng.randint(1, 3), "note": "请加快办理"}))
        if rng.random() < 0.08:
            deadline_at += 10 * DAY_MS
            steps.append((later(24, 120), "s", "extend", {"deadline": _day(deadline_at), "reason": "等材料"}))
        rounds = 2 if rng.random() < 0.06 else 1
        for r in range(rounds):
            steps.append((later(24, 400), "s", "resolve", {"reply": "已处理完毕，群众认可"}))
            solved = r == rounds - 1
            steps.append((later(24, 200), "w", "recheck", {"solved": solved, "satisfied": solved and rng.random() < 0.9}
                          | ({} if solved else {"reason": "问题仍然存在"})))
        if rng.random() < 0.7:
            steps.append((later(4, 100), "s", "close", {"outcome": "已解决"}))
        if rng.random() < 0.1:
            steps.append((later(1, 48), "s", "publish", {"public_title": "问题已解决", "public_text": "相关单位已处理完毕，欢迎监督。"}))
    if rng.random() < 0.1:  # a comment somewhere along the way
        k = rng.randrange(1, len(steps) + 1)
        at = steps[k - 1][0] + rng.randint(1, 20) * HOUR_MS
        steps.insert(k, (at, "w", "comment", {"text": "居民再次反映"}))
    # what has happened by the end: steps must stay in order, so cut at the first one after it
    out = []
    for s in steps:
        if s[0] > end:
            break
        out.append(s)
    return out


def build(issues: int = 50_000, months: int = 11, end_ms: int | None = None, seed: int = 13,
          villages: int = 40, grids_per_village: int = 3, households: int = 6_000) -> list[dict]:
    """Every record of the township, in the order they were made."""
    rng = random.Random(seed)
    end = end_ms or int(time.time() * 1000) - HOUR_MS
    start = end - months * 30 * DAY_MS
    wall = _Wall(start - 30 * DAY_MS)
    clock = HybridClock("seedtown", wall=wall)
    out: list[dict] = []

    def ref(kind: str, fields: dict, rid: str | None = None) -> str:
        rid = rid or _id_at(wall.ms)
        out.append({"id": rid, "kind": kind, "grid": None, "fields": fields,
                    "stamps": dict.fromkeys(fields, clock.now())})
        return rid

    for cid, fields in reference.category_records():
        ref("category", fields, cid)
    units = [ref("unit", {"name": name}) for _uid, name in reference.UNITS]
    staff = [ref("user", {"name": f"{rng.choice(SURNAMES)}干事{i + 1}", "role": "township_staff"}) for i in range(4)]
    grids: list[tuple[str, str, str]] = []  # (grid, village, worker)
    for v in range(villages):
        vid = ref("village", {"name": f"第{v + 1}村", "township": TOWNSHIP})
        for g in range(grids_per_village):
            gid = ref("grid", {"name": f"第{v + 1}村{g + 1}网格", "village": vid})
            wid = ref("user", {"name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                               "role": "grid_worker", "grid": gid})
            grids.append((gid, vid, wid))
    homes: dict[str, list[str]] = defaultdict(list)
    for i in range(households):
        gid, vid, wid = grids[i % len(grids)]
        fields = {"village": vid, "address": f"{i // 40 + 1}组{i % 40 + 1}号",
                  "head": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                  "phone": f"13{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}",
                  "member_count": rng.randint(1, 6)}
        if rng.random() < 0.4:
            fields["care_tags"] = rng.sample(TAGS, rng.randint(1, 2))
        rec, _ = new_record("household", gid, fields, clock, wid, record_id=_id_at(wall.ms))
        out.append(rec)
        homes[gid].append(rec["id"])
    cats = [cid for cid, f in reference.category_records() if f.get("parent")]
    # every step of every issue, made in time order (ids and stamps follow the wall clock)
    work: list[tuple[int, int, int, tuple]] = []
    issue_args = []
    for k in range(issues):
        t = start + rng.randrange(0, end - start)
        wish = rng.random() < 0.08
        gid, vid, wid = rng.choice(grids)
        issue_args.append((gid, wid, wish))
        for j, step in enumerate(_plan(rng, t, end, wish, units)):
            work.append((step[0], k, j, step))
    work.sort(key=lambda w: (w[0], w[1], w[2]))
    made: dict[int, dict] = {}
    for when, k, _j, (_at, who, etype, data) in work:
        wall.ms = max(wall.ms, when)
        gid, wid, wish = issue_args[k]
        if etype == "report":
            title = rng.choice(("想要一台轮椅", "希望有人陪读", "想要过冬棉衣")) if wish else rng.choice(TITLES)
            hh = rng.choice(homes[gid]) if homes[gid] and rng.random() < 0.7 else None
            fields = {"issue_kind": "wish" if wish else "problem", "title": title,
                      "description": f"{title}，{rng.choice(SAID)}。", "category": rng.choice(cats),
                      "urgency": rng.choices(("normal", "urgent", "critical"), (85, 12, 3))[0],
                      "appeal_type": rng.choice(APPEAL_TYPES),
                      "reporter": wid, "reporter_visibility": "named"}
            if hh:
                fields["household"] = hh
            made[k], _ = new_record("issue", gid, fields, clock, wid, record_id=_id_at(wall.ms))
            out.append(made[k])
        actor, role = (wid, "grid_worker") if who == "w" else (staff[k % len(staff)], "township_staff")
        at = china_time(wall.ms).isoformat(timespec="seconds")
        # its time in its id, as a device makes it at that moment
        # (one clock walks forward through every step: no need to observe the earlier events)
        ev, _ = new_event(made[k], etype, data, clock, actor, role, at=at, record_id=_id_at(wall.ms))
        out.append(ev)
    return out


def write_store(data_dir: Path, records: list[dict], role: str = "township_staff") -> None:
    """Write ``records`` into a new device store at ``data_dir`` in the store's own layout
    (each partition file once), then open it once to set the staff profile."""
    parts: dict[str, dict[str, dict]] = defaultdict(dict)
    for rec in records:
        parts[partition_name(rec["kind"], rec["id"])][rec["id"]] = rec
    folder = data_dir / "records"
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise SystemExit(f"{data_dir} already holds a store: give an empty folder")
    for pname, recs in parts.items():
        AtomicJSONStorage(folder / f"{pname}.json", sync_dir=False).write({"records": recs})
    store = Store.open(data_dir)
    try:
        user = next(r for r in records if r["kind"] == "user" and r["fields"]["role"] == role)
        grid = next(r for r in records if r["kind"] == "grid")
        village = next(r for r in records if r["kind"] == "village")
        store.meta_set("profile", {
            "user_id": user["id"], "user_name": user["fields"]["name"], "grid_id": grid["id"],
            "grid_name": grid["fields"]["name"], "village_id": village["id"],
            "village": village["fields"]["name"], "visit_interval_days": 30, "role": role})
    finally:
        store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data_dir", type=Path)
    ap.add_argument("--issues", type=int, default=50_000)
    ap.add_argument("--months", type=int, default=11)
    ap.add_argument("--seed", type=int, default=13)
    a = ap.parse_args()
    t0, c0 = time.perf_counter(), time.process_time()
    records = build(a.issues, a.months, seed=a.seed)
    t1 = time.perf_counter()
    write_store(a.data_dir, records)
    t2 = time.perf_counter()
    n = defaultdict(int)
    for r in records:
        n[r["kind"]] += 1
    print(f"{n['issue']:,} issues, {n['issue_event']:,} events, {n['household']:,} households, "
          f"{len(records):,} records: made in {t1 - t0:.1f} s, written in {t2 - t1:.1f} s "
          f"(CPU {time.process_time() - c0:.1f} s, load {os.getloadavg()[0]:.1f}) "
          f"({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)")


if __name__ == "__main__":
    main()
