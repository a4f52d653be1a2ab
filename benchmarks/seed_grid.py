"""A grid of 500 households and two years of work, as the server holds it after real syncing.

Each household is visited about monthly for 24 months (12,000 visits); 1,200 problems are
reported, accepted and dispatched by township staff; 70 % of them are resolved, re-checked with
the resident and closed. With the reference data that is ~18,700 records in one grid worker's
scope, the issue's "18,756 records". Every change goes through ``feed.apply_changes`` (the
model's validation, who may write what, the feed) with stamps spread over the two years, so the
documents are what a real grid's are.

    from seed_grid import seed_grid
    counts = seed_grid(real.engine, grid, village, worker_id, staff_id)
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import Engine

from sync import reference
from sync.changes import new_record
from sync.clock import HybridClock
from sync.server import auth, db, feed
from sync.workflow import new_event

DAY_MS = 86_400_000
# Visit notes vary like real ones: sentences drawn from a pool (bench_server.py draws from
# these too), names and numbers differ.
SEEN = (
    "老人独自在家，屋顶漏雨", "厨房灶台老化，已提醒注意用电安全", "子女在外地打工，每周电话联系一次",
    "院子干净整洁", "慢性病按时服药，血压偏高", "孩子上小学三年级，由奶奶照看", "家里新装了自来水",
    "残疾人补贴已到账", "冬季取暖用煤炉，已讲解防一氧化碳中毒", "低保年审材料已收齐",
)  # fmt: skip
SAID = (
    "希望村里帮忙修一下屋顶", "想了解高龄补贴怎么申请", "门前路灯坏了两个月", "暂无诉求",
    "反映邻居占道堆放杂物", "询问医保缴费时间", "希望安排人帮忙买药", "对上次维修表示满意",
)  # fmt: skip
TITLES = ("路灯坏了", "排水沟堵塞", "村道坑洼", "垃圾清运不及时", "自来水停水", "危房需要鉴定",
           "低保申请咨询", "邻里纠纷", "河道漂浮物", "公厕损坏")  # fmt: skip
TAGS = ("独居老人", "空巢老人", "高龄老人", "留守儿童", "残疾人", "低保户", "党员户")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "明华强芳英秀军国建平玉兰桂"


class _Wall:
    """A settable wall clock: the seeder walks it through the two years."""

    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> float:
        return self.ms / 1000


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone().isoformat(timespec="seconds")


def seed_grid(
    engine: Engine, grid: str, village: str, worker: str, staff: str, *, households: int = 500,
    months: int = 24, issues: int = 1200, seed: int = 1, end_ms: int | None = None,
) -> Counter:
    """Fill ``grid`` (of ``village``) with ``months`` of ``worker``'s and ``staff``'s work."""
    with engine.begin() as conn:
        pw, ps = auth.principal_for_user(conn, worker), auth.principal_for_user(conn, staff)
    work = grid_work(grid, village, worker, staff, roles=(pw.role, ps.role), households=households,
                     months=months, issues=issues, seed=seed, end_ms=end_ms or db.now_ms() - DAY_MS)
    counts: Counter = Counter()
    batch: list[tuple[str, dict]] = []

    def flush() -> None:
        with engine.begin() as conn:
            for who in ("w", "s"):
                changes = [c for w, c in batch if w == who]
                if changes:
                    acks = feed.apply_changes(conn, pw if who == "w" else ps, changes)
                    counts.update(a["status"] for a in acks)
        batch.clear()

    for _, who, ch in work:
        batch.append((who, ch))
        if len(batch) >= 500:
            flush()
    flush()
    return counts


def grid_work(
    grid: str, village: str, worker: str, staff: str, *, roles: tuple[str, str] = ("grid_worker", "township_staff"),
    households: int = 500, months: int = 24, issues: int = 1200, seed: int = 1, end_ms: int,
) -> list[tuple[int, str, dict]]:
    """The grid's changes as (when ms, "w" worker / "s" staff, change), in time order (what
    ``seed_grid`` applies on a server; the device benchmark turns them into pulled records)."""
    rng = random.Random(seed)
    end = end_ms
    start = end - months * 30 * DAY_MS
    wall_w, wall_s = _Wall(start), _Wall(start)
    cw, cs = HybridClock(f"dev-{worker[:8]}", wall=wall_w), HybridClock(f"dev-{staff[:8]}", wall=wall_s)
    units = [u for u, _ in reference.UNITS]
    cats = [rid for rid, f in reference.category_records() if f.get("parent")]
    role_w, role_s = roles
    # (when, principal, change) in time order, applied in batches as devices would sync them
    work: list[tuple[int, str, dict]] = []
    homes = []
    for i in range(households):
        wall_w.ms = start + i * 60_000
        fields = {"village": village, "address": f"{village}{i // 40 + 1}组{i % 40 + 1}号",
                  "head": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                  "phone": f"13{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}",
                  "member_count": rng.randint(1, 6)}
        if rng.random() < 0.4:
            fields["care_tags"] = rng.sample(TAGS, rng.randint(1, 2))
        rec, ch = new_record("household", grid, fields, cw, worker)
        homes.append(rec)
        work.append((wall_w.ms, "w", ch))
    for m in range(months):
        for i, h in enumerate(homes):
            wall_w.ms = start + m * 30 * DAY_MS + i * 80_000 + rng.randint(0, 3_600_000)
            fields = {"household": h["id"], "visitor": worker, "time": _iso(wall_w.ms),
                      "kind": rng.choice(("routine", "routine", "routine", "care", "follow_up")),
                      "people_met": f"户主{h['fields']['head']}及家人{rng.randint(0, 3)}人",
                      "seen": "，".join(rng.sample(SEEN, rng.randint(1, 3))) + "。",
                      "said": "；".join(rng.sample(SAID, rng.randint(1, 2))) + "。",
                      "next_due": datetime.fromtimestamp((wall_w.ms + 30 * DAY_MS) / 1000, UTC).date().isoformat()}
            work.append((wall_w.ms, "w", new_record("visit", grid, fields, cw, worker)[1]))
    for k in range(issues):
        t = start + int((k + 0.5) * (months * 30 * DAY_MS) / issues)
        wall_w.ms = t
        h = rng.choice(homes)
        title = rng.choice(TITLES)
        issue, ch = new_record("issue", grid, {
            "issue_kind": "problem", "appeal_type": "help", "category": rng.choice(cats), "title": title,
            "description": f"{h['fields']['address']}{title}，{rng.choice(SAID)}。", "urgency": "normal",
            "household": h["id"], "reporter": worker, "reporter_visibility": "named"}, cw, worker)
        work.append((t, "w", ch))
        steps = [("s", "accept", {}, DAY_MS),
                 ("s", "assign", {"unit": rng.choice(units), "deadline": datetime.fromtimestamp(
                     (t + 15 * DAY_MS) / 1000, UTC).date().isoformat()}, 2 * DAY_MS)]
        if rng.random() < 0.7:
            steps += [("s", "resolve", {"reply": f"已安排维修，{title}问题已处理。"}, 8 * DAY_MS),
                      ("w", "recheck", {"solved": True, "satisfied": rng.random() < 0.9}, 12 * DAY_MS),
                      ("s", "close", {"outcome": "已办结"}, 13 * DAY_MS)]
        for who, etype, data, later in steps:
            wall = wall_s if who == "s" else wall_w
            wall.ms = t + later
            clock, actor, role = (cs, staff, role_s) if who == "s" else (cw, worker, role_w)
            work.append((wall.ms, who, new_event(issue, etype, data, clock, actor, role, at=_iso(wall.ms))[1]))
    work.sort(key=lambda x: x[0])
    return work
