"""Realistic township data for report tests: records made by sync.records / sync.workflow.

Times are China time; the clock's wall follows each event's time so the fold (which orders
by HLC stamp) sees events in the order they happened.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sync.changes import new_record
from sync.chinatime import CHINA_TZ
from sync.clock import HybridClock
from sync.workflow import new_event


def cst(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CHINA_TZ)


def _ref(kind: str, rid: str, **fields: object) -> dict:
    return {"id": rid, "kind": kind, "grid": "", "fields": fields, "stamps": {}}


class Town:
    """A township: 东风村 (grids g1, g2) and 红旗村 (grid g3), categories, units, users."""

    def __init__(self) -> None:
        self._now = cst(2026, 1, 1).timestamp()
        self.clock = HybridClock("testnode", wall=lambda: self._now)
        self.records: list[dict] = [
            _ref("village", "v1", name="东风村", township="青山镇"),
            _ref("village", "v2", name="红旗村", township="青山镇"),
            _ref("grid", "g1", name="东风一网格", village="v1"),
            _ref("grid", "g2", name="东风二网格", village="v1"),
            _ref("grid", "g3", name="红旗一网格", village="v2"),
            _ref("category", "c-env", name="环境卫生"),
            _ref("category", "c-road", name="道路交通"),
            _ref("category", "c-light", name="路灯", parent="c-road"),
            _ref("unit", "u-water", name="镇水务站", phone="0571-8888888"),
            _ref("unit", "u-build", name="镇村建办"),
            _ref("user", "s1", name="王干事", role="township_staff", phone="13900000001"),
            _ref("user", "w1", name="李网格员", role="grid_worker", grid="g1", phone="13900000002"),
        ]

    def at(self, when: datetime) -> str:
        self._now = when.timestamp()
        return when.isoformat(timespec="seconds")

    def _new(self, kind: str, grid: str, fields: dict, when: datetime) -> dict:
        self.at(when)
        rec, _ = new_record(kind, grid, fields, self.clock, "w1")
        self.records.append(rec)
        return rec

    def household(self, grid: str, head: str, address: str, *, phone: str | None = None,
                  members: list[str] = (), care_tags: list[str] = (), village: str = "v1") -> dict:
        fields = {
            "village": village, "address": address, "head": head, "phone": phone,
            "member_count": len(members) + 1,
            "members": [{"name": n, "relation": "家人"} for n in members] or None,
            "care_tags": list(care_tags) or None,
        }  # fmt: skip
        return self._new("household", grid, fields, cst(2026, 1, 2))

    def visit(self, household: dict, when: datetime, demands: list[str] = ()) -> dict:
        fields = {"household": household["id"], "visitor": "w1", "time": self.at(when), "kind": "routine",
                  "said": "身体还好", "demands": list(demands) or None}  # fmt: skip
        return self._new("visit", household["grid"], fields, when)

    def issue(self, grid: str, title: str, when: datetime, *, kind: str = "problem",
              category: str = "c-env", household: dict | None = None, visibility: str = "named",
              description: str = "") -> dict:
        fields = {
            "issue_kind": kind, "title": title, "category": category, "reporter": "w1",
            "household": household["id"] if household else None,
            "reporter_visibility": visibility, "description": description or None,
        }  # fmt: skip
        rec = self._new("issue", grid, fields, when)
        self.event(rec, "report", when, role="grid_worker", actor="w1")
        return rec

    def event(self, issue: dict, etype: str, when: datetime, *, role: str = "township_staff",
              actor: str = "s1", **data: object) -> dict:
        at = self.at(when)
        rec, _ = new_event(issue, etype, data, self.clock, actor, role, at=at)
        self.records.append(rec)
        return rec

    def recheck(self, issue: dict, when: datetime, solved: bool, satisfied: bool, reason: str = "") -> dict:
        data = {"solved": solved, "satisfied": satisfied}
        if reason:
            data["reason"] = reason
        return self.event(issue, "recheck", when, role="grid_worker", actor="w1", **data)


def march_town() -> tuple[Town, dict[str, dict]]:
    """The hand-computed case of tests/sync/reports/test_metrics.py (March 2026; 2 March is a Monday)."""
    town = Town()
    h1 = town.household("g1", "张三丰", "东风村3组18号", phone="13812345678",
                        members=["张小明"], care_tags=["独居老人", "低保户"])  # fmt: skip
    h2 = town.household("g1", "赵大妈", "东风村3组20号")
    town.household("g1", "钱大爷", "东风村4组2号")
    h4 = town.household("g3", "孙二哥", "红旗村1组5号", village="v2")
    town.visit(h1, cst(2026, 3, 3))
    town.visit(h2, cst(2026, 3, 4))
    town.visit(h2, cst(2026, 3, 20))
    town.visit(h4, cst(2026, 2, 20))  # February: outside the period

    a = town.issue("g1", "张三丰家门口路灯坏了", cst(2026, 3, 2), category="c-light", household=h1,
                   visibility="hidden", description="张三丰（13812345678）说晚上看不见路")  # fmt: skip
    town.visit(h1, cst(2026, 3, 2, 10), demands=[a["id"]])
    town.event(a, "accept", cst(2026, 3, 3))
    town.event(a, "assign", cst(2026, 3, 3, 10), unit="u-build", deadline="2026-03-10", note="三天内更换灯具")
    town.event(a, "progress", cst(2026, 3, 5), note="已采购灯具")
    town.event(a, "resolve", cst(2026, 3, 9, 15), reply="已更换路灯两盏", photos=["ab" * 32])
    town.recheck(a, cst(2026, 3, 12), True, True)
    town.event(a, "close", cst(2026, 3, 13), outcome="已解决")
    town.event(a, "publish", cst(2026, 3, 13, 10), public_title="3组路灯已修好",
               public_text="镇村建办已更换路灯两盏，张三丰家门口恢复照明，电话13812345678")  # fmt: skip

    b = town.issue("g2", "村西水渠堵塞", cst(2026, 3, 5), category="c-env")
    town.event(b, "accept", cst(2026, 3, 10))
    town.event(b, "assign", cst(2026, 3, 10, 10), unit="u-water", deadline="2026-03-20")
    town.event(b, "supervise", cst(2026, 3, 21), level=2, note="超期督办")
    town.event(b, "resolve", cst(2026, 3, 25), reply="已清淤")
    town.recheck(b, cst(2026, 3, 26), False, False, reason="上游还堵着")
    town.event(b, "resolve", cst(2026, 3, 28), reply="上游一并清淤")
    town.recheck(b, cst(2026, 3, 30), True, False)
    town.event(b, "publish", cst(2026, 3, 30, 10), public_title="水渠清淤", public_text="已清淤")
    town.event(b, "unpublish", cst(2026, 3, 30, 11))

    c = town.issue("g1", "垃圾桶不够", cst(2026, 3, 27), category="c-env")
    d = town.issue("g2", "广场噪音", cst(2026, 3, 16), category="c-env")
    e = town.issue("g1", "想要一台轮椅", cst(2026, 3, 3), kind="wish", category="c-env", household=h1)
    town.event(e, "claim", cst(2026, 3, 4), role="grid_worker", actor="w1", by="镇卫生院")
    f = town.issue("g3", "桥面破损", cst(2026, 3, 4), category="c-road")
    town.event(f, "accept", cst(2026, 3, 4, 11))
    town.event(f, "assign", cst(2026, 3, 4, 12), unit="u-build", deadline="2026-03-06")
    town.event(f, "extend", cst(2026, 4, 2), deadline="2026-04-20", reason="等材料")  # April: after March
    return town, {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f, "h1": h1}


def big_town(n_issues: int, events_per_issue: int = 5, seed: int = 7, year: int = 2026) -> list[dict]:
    """A township-year of synthetic records for benchmarks (n issues, ~n*events events)."""
    rnd = random.Random(seed)
    town = Town()
    villages = [f"v{i}" for i in range(1, 21)]
    for v in villages[2:]:
        town.records.append(_ref("village", v, name=f"{v}村", township="青山镇"))
    grids = []
    for v in villages:
        for g in range(3):
            gid = f"{v}g{g}"
            grids.append(gid)
            town.records.append(_ref("grid", gid, name=f"{v}第{g + 1}网格", village=v))
    start = cst(year, 1, 1)
    steps = ["accept", "assign", "progress", "resolve", "recheck", "close"]
    for i in range(n_issues):
        t0 = start + timedelta(minutes=rnd.randrange(0, 360 * 24 * 60))
        iss = town.issue(rnd.choice(grids), f"问题{i}号：道路破损需要修补", t0, category=rnd.choice(["c-env", "c-road", "c-light"]))
        t = t0
        for step in steps[: events_per_issue - 1]:
            t += timedelta(hours=rnd.randrange(2, 96))
            if step == "assign":
                town.event(iss, step, t, unit=rnd.choice(["u-water", "u-build"]),
                           deadline=(t + timedelta(days=10)).date().isoformat(), note="限期整改")  # fmt: skip
            elif step == "progress":
                town.event(iss, step, t, note="正在施工")
            elif step == "resolve":
                town.event(iss, step, t, reply="已修补完毕")
            elif step == "recheck":
                town.recheck(iss, t, rnd.random() < 0.9, rnd.random() < 0.85)
            elif step == "close":
                town.event(iss, step, t, outcome="已解决")
            else:
                town.event(iss, step, t)
    return town.records
