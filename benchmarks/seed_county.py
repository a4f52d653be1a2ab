"""A county's year of problems, as a county staff PC holds it after pulling (issue 14 scale).

21 townships, 238 villages, 350 grids with a grid worker each (the issue's county), the county's
reference data (county, townships, villages with their township, grids, township offices and
县直部门, workers as users) and a year of problems spread over the months, categories, channels
and units: each is reported (by its grid worker, or registered by county staff from 12345 /
信访 / ...), accepted, dispatched with a deadline; ~6 % are 转办 to another unit, ~8 % get a
county 督办卡, most are resolved, re-checked and closed; the rest are still open, many of them
overdue. Titles, names and replies come from ``seed_grid``'s pools. Records are made with the
model's own constructors (``new_record`` / ``new_event``), their ids at the time they were made
(``bench_device._id_at``: the store's month partitions are a real device's), and written
straight into a device store with ``apply_remote`` pages, the way a pull writes them.

    from seed_county import county_records, seed_store
    counts = seed_store(data_dir, townships=21)          # a staff device data folder
"""

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench_device import _id_at
from seed_grid import DAY_MS, SAID, SURNAMES, TITLES, _Wall

from sync import reference
from sync.changes import new_record
from sync.clock import HybridClock
from sync.workflow import new_event

# The issue's county; smaller counties keep its proportions (villages and grids per township).
TOWNSHIPS, VILLAGES, GRIDS = 21, 238, 350
COUNTY_UNITS = (("county-housing", "县住建局"), ("county-water", "县水利局"), ("county-env", "县生态环境分局"),
                ("county-transport", "县交通运输局"), ("county-civil", "县民政局"), ("county-market", "县市场监管局"))
# Channels besides the grid workers' own reports, with their weight among the county-registered.
_CHANNELS = ("hotline",) * 6 + ("petition", "spot_check", "superior", "inspection", "walk_in", "other")
_GIVEN = "明华强芳英秀军国建平玉兰桂"


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


def county_records(
    townships: int = TOWNSHIPS, *, issues_per_grid: int = 90, seed: int = 1, end_ms: int | None = None,
) -> tuple[list[dict], dict[str, Any]]:
    """Every record of a county of ``townships`` townships (villages and grids in the issue's
    proportions) with a year of ``issues_per_grid`` problems per grid; and the ids a benchmark
    needs (county staff user, a village, a township)."""
    rng = random.Random(seed)
    end = end_ms or int(time.time() * 1000) - DAY_MS
    start = end - 365 * DAY_MS
    wall = _Wall(start)
    clock = HybridClock("seed-county", wall=wall)
    recs: list[dict] = []

    def ref(kind: str, fields: dict, rid: str | None = None) -> dict:
        rec, _ = new_record(kind, "township", fields, clock, "server", record_id=_id_at(start - DAY_MS, rng))
        rec["id"] = rid or rec["id"]  # default reference ids are slugs (sync/reference.py)
        recs.append(rec)
        return rec

    county = ref("county", {"name": "青山县"})
    county_staff = ref("user", {"name": "吴建华", "role": "county_staff", "login": "wujianhua", "county": county["id"]})
    for rid, name in COUNTY_UNITS:
        ref("unit", {"name": name, "level": "county", "county": county["id"]}, rid)
    n_villages = round(VILLAGES * townships / TOWNSHIPS)
    n_grids = round(GRIDS * townships / TOWNSHIPS)
    towns = [ref("township", {"name": f"{name}镇", "county": county["id"]})
             for name in (f"青{k + 1:02d}" for k in range(townships))]
    villages = [ref("village", {"name": f"第{v // townships + 1}村", "township": t["fields"]["name"],
                                "township_id": t["id"]})
                for v in range(n_villages) for t in [towns[v % townships]]]
    grids = []
    for g in range(n_grids):
        village = villages[g % n_villages]
        grid = ref("grid", {"name": f"网格{g // n_villages + 1}", "village": village["id"]})
        worker = ref("user", {"name": rng.choice(SURNAMES) + rng.choice(_GIVEN) + rng.choice(_GIVEN),
                              "role": "grid_worker", "grid": grid["id"], "login": f"w{g:03d}"})
        grids.append((grid, village, worker))
    town_units = [u for u, _ in reference.UNITS]
    all_units = town_units + [u for u, _ in COUNTY_UNITS]
    cats = [rid for rid, f in reference.category_records() if f.get("parent")]
    hot = cats[:: max(1, len(cats) // 6)]  # a few categories take most problems (热点诉求)
    appeals = list(reference.APPEALS)
    town_staff = "town-staff"
    for k in range(issues_per_grid * n_grids):
        grid, village, worker = grids[rng.randrange(n_grids)]
        t = start + int(rng.random() ** 0.9 * 364 * DAY_MS)  # a little busier later in the year
        wall.ms = t
        title = rng.choice(TITLES)
        channel = rng.choice(_CHANNELS) if rng.random() < 0.3 else None
        fields = {"issue_kind": "problem", "appeal_type": rng.choice(appeals),
                  "category": rng.choice(hot) if rng.random() < 0.6 else rng.choice(cats),
                  "title": title, "description": f"{village['fields']['name']}{title}，{rng.choice(SAID)}",
                  "urgency": rng.choice(("normal",) * 8 + ("urgent", "critical")),
                  "reporter": worker["id"], "reporter_visibility": "named", "village": village["id"]}
        reporter, rrole = worker["id"], "grid_worker"
        if channel:
            reporter, rrole = county_staff["id"], "county_staff"
            fields.update(source=channel, reporter=reporter, external_no=f"QS{k:07d}", reporter_visibility="hidden",
                          contact_name=rng.choice(SURNAMES) + "先生", contact_phone=f"139{rng.randint(10**7, 10**8 - 1)}")
        issue, _ = new_record("issue", grid["id"], fields, clock, reporter, record_id=_id_at(t, rng))
        recs.append(issue)
        unit = rng.choice(all_units if channel else town_units)
        deadline_ms = t + 15 * DAY_MS
        steps: list[tuple[str, dict, int, str, str]] = [("report", {}, 0, reporter, rrole)]
        age = end - t
        if age > DAY_MS:
            steps.append(("accept", {}, DAY_MS // 2, town_staff, "township_staff"))
        if age > 2 * DAY_MS:
            steps.append(("assign", {"unit": unit, "deadline": _day(deadline_ms)}, 2 * DAY_MS, town_staff,
                          "township_staff"))
            if rng.random() < 0.06:
                unit2 = rng.choice([u for u in all_units if u != unit])
                deadline_ms += 10 * DAY_MS
                steps.append(("transfer", {"unit": unit2, "deadline": _day(deadline_ms), "reason": "职责不符，转相关单位"},
                              4 * DAY_MS, town_staff, "township_staff"))
            if rng.random() < (0.3 if channel else 0.05):
                steps.append(("county_supervise", {"level": rng.randint(1, 3), "deadline": _day(deadline_ms - 5 * DAY_MS),
                                                   "card_no": f"青县督〔{_day(t)[:4]}〕{k}号", "note": "限期办结"},
                              5 * DAY_MS, county_staff["id"], "county_staff"))
        # most problems older than their deadline are done; a share stays open (overdue)
        done_in = rng.randint(5, 40) * DAY_MS
        if age > done_in + 6 * DAY_MS and rng.random() < 0.9:
            steps += [("resolve", {"reply": f"已安排处理，{title}问题已解决。"}, done_in, town_staff, "township_staff"),
                      ("recheck", {"solved": True, "satisfied": rng.random() < 0.88}, done_in + 3 * DAY_MS,
                       worker["id"], "grid_worker"),
                      ("close", {"outcome": "已办结"}, done_in + 5 * DAY_MS, town_staff, "township_staff")]
        evs: list[dict] = []
        for etype, data, later, actor, role in sorted(steps, key=lambda s: s[2]):
            wall.ms = t + later
            at = datetime.fromtimestamp(wall.ms / 1000, UTC).astimezone().isoformat(timespec="seconds")
            ev, _ = new_event(issue, etype, data, clock, actor, role, at=at)
            ev["id"] = _id_at(wall.ms, rng)
            evs.append(ev)
        recs.extend(evs)
    recs.sort(key=lambda r: r["id"])  # the server's feed order follows creation
    return recs, {"county": county["id"], "county_staff": county_staff["id"], "township": towns[0]["id"],
                  "village": villages[0]["id"], "grids": n_grids, "villages": n_villages}


def seed_store(data: Path, townships: int = TOWNSHIPS, **kw: Any) -> dict[str, Any]:
    """A county staff device store in ``data`` holding ``county_records``; returns its counts
    and the ids of ``county_records``."""
    from app.services import Services

    recs, ids = county_records(townships, **kw)
    svc = Services.open(data)
    try:
        p = svc.profile
        svc.set_profile(user_id=ids["county_staff"], user_name="吴建华", grid_id=p["grid_id"],
                        grid_name=p["grid_name"], village_id=p["village_id"], village=p["village"])
        svc.store.meta_set("profile", {**svc.profile, "role": "county_staff"})
        for i in range(0, len(recs), 5000):
            svc.store.apply_remote(recs[i:i + 5000], str(i))
        return {**ids, "counts": svc.store.stats()["counts"], "today": date.today().isoformat()}
    finally:
        svc.close()
