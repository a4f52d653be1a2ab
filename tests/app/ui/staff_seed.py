"""Seed data for the staff screen tests: villages, grids, units, issues and events written
with sync.changes.new_record / workflow.new_event into the test's device store."""

from __future__ import annotations

from typing import Any

from app.services import Services
from sync import workflow as wf
from sync.changes import new_record
from sync.clock import HybridClock

CLOCK = HybridClock("seed-node")


def make_staff(services: Services, *, enrolled: bool = False) -> None:
    """Make the device a township staff one: through the enrollment record (its user's role)
    or, for app sessions that must not start syncing, the profile's role."""
    if enrolled:
        services.store.meta_set("sync.enrollment", {"user": {"id": services.user_id,
                                                             "role": "township_staff", "name": "镇干部"}})
    else:
        services.store.meta_set("profile", {**services.profile, "role": "township_staff"})


def ref(services: Services, kind: str, fields: dict[str, Any], grid: str = "township") -> str:
    rec, _ = new_record(kind, grid, fields, CLOCK, "server")
    services.store.apply_remote([rec], None)
    return rec["id"]


def issue(services: Services, grid: str, title: str, **fields: Any) -> str:
    f = {"issue_kind": "problem", "title": title, "reporter": "worker-1", "urgency": "normal",
         "reporter_visibility": "named", **fields}
    rec, _ = new_record("issue", grid, f, CLOCK, "worker-1")
    services.store.apply_remote([rec], None)
    event(services, rec["id"], "report", {}, role="grid_worker", actor="worker-1")
    return rec["id"]


def event(services: Services, iid: str, etype: str, data: dict[str, Any], *,
          role: str = "township_staff", actor: str = "staff-9") -> None:
    rec = services.store.get("issue", iid)
    evs = [e for e in services.store.all("issue_event") if e["fields"]["issue"] == iid]
    ev, _ = wf.new_event(rec, etype, data, CLOCK, actor, role, after=evs)
    services.store.apply_remote([ev], None)


def township(services: Services) -> dict[str, str]:
    """Two villages with a grid each, two units, and issues in several states."""
    ids = {"v-east": ref(services, "village", {"name": "东风村", "township": "红旗镇"}),
           "v-west": ref(services, "village", {"name": "西湖村", "township": "红旗镇"}),
           "u-water": ref(services, "unit", {"name": "镇水务站"}),
           "u-power": ref(services, "unit", {"name": "供电所"})}
    ids["g-east"] = ref(services, "grid", {"name": "东风一组", "village": ids["v-east"]})
    ids["g-west"] = ref(services, "grid", {"name": "西湖一组", "village": ids["v-west"]})
    ids.update({
        "lamp": issue(services, ids["g-east"], "路灯不亮", category="infra.lighting"),
        "road": issue(services, ids["g-east"], "道路塌陷", category="infra.road", urgency="critical",
                      appeal_type="help"),
        "water": issue(services, ids["g-west"], "自来水浑浊", category="infra.water", appeal_type="complaint"),
        "trash": issue(services, ids["g-west"], "垃圾没人清", category="env.garbage"),
    })
    event(services, ids["road"], "accept", {})
    event(services, ids["road"], "assign", {"unit": ids["u-power"], "deadline": "2020-01-10"})  # long overdue
    event(services, ids["road"], "supervise", {"level": 2, "note": "尽快"})
    event(services, ids["water"], "assign", {"unit": ids["u-water"], "deadline": "2099-12-31"})
    event(services, ids["water"], "resolve", {"reply": "已清洗水箱"})
    return ids


def seeded_township(data: Any, issues: int, villages: int, households: int) -> Any:
    """A township seeded by ``benchmarks/seed_township.py`` (every state, wishes, 重办, 督办,
    overdue; six months up to today) written in the store's layout at ``data``, plus one event
    that lands invalid (a wish's claim on a problem: the issue is flagged)."""
    from app.store import Store
    from benchmarks import seed_township

    records = seed_township.build(issues=issues, months=6, villages=villages, grids_per_village=2,
                                  households=households)
    seed_township.write_store(data, records)
    store = Store.open(data)
    issue = next(r for r in store.all("issue") if r["fields"]["issue_kind"] == "problem")
    _r, change = wf.new_event(issue, "claim", {"by": "某人"}, store.clock, "worker", "grid_worker")
    store.save(change)
    store.close()
    return data
