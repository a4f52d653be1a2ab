"""A starter pack holds exactly what the pull gives the same device, nothing outside its scope:
real HTTP against SQLite and PostgreSQL, the organisation of two townships."""

from __future__ import annotations

import requests
from sqlalchemy import select

from sync.client import starter
from sync.server import admin, auth, authz, db
from tests.support.server import Org, RunningServer, enroll_device, event, household, issue


def _fill(server: RunningServer, org: Org) -> None:
    """Households, issues and events in every grid, by each grid's own worker."""
    for who, grid, village in (("张网格", org.grid_a, org.village_a), ("李网格", org.grid_b, org.village_b)):
        dev = enroll_device(server, who)
        changes = []
        for i in range(5):
            changes.append(household(dev, grid, village, head=f"户主{i}")[1])
            rec, ch = issue(dev, grid, title=f"路灯坏了{i}")
            changes += [ch, event(dev, rec, "comment", {"text": "已看过"})[1]]
        r = dev.sync(changes)
        assert r.status_code == 200 and all(a["status"] == "applied" for a in r.json()["acks"]), r.text
    grid_c = org.users["grid_c"]
    dev = enroll_device(server, "王网格")
    village_c = server.run(lambda conn: admin.resolve(conn, "village", "南村"))
    r = dev.sync([household(dev, grid_c, village_c, head=f"南户{i}")[1] for i in range(5)])
    assert r.status_code == 200, r.text


def test_pack_is_the_pull_and_nothing_outside_scope(server: RunningServer, org: Org) -> None:
    _fill(server, org)
    towns = dict(server.run(lambda conn: {
        rid: town for rid, town in conn.execute(select(db.records.c.id, db.records.c.township))}))
    for who in ("张网格", "李网格", "王网格", "赵干部", "钱操作员"):
        dev = enroll_device(server, who)
        r = requests.get(f"{server.api}/snapshot", headers=dev.headers(), timeout=60)
        assert r.status_code == 200, r.text
        manifest, recs = starter.read_pack(r.content, dev.device_id, server.run(auth.device_secret, dev.device_id))
        pulled = dev.pull_all()
        assert {x["id"]: x for x in recs} == {x["id"]: x for x in pulled}, who
        assert manifest["cursor"] == dev.cursor  # the pull goes on from where the pack stops
        p = server.run(auth.principal_for_device, dev.device_id)
        for rec in recs:
            assert authz.scope_of(p).sees_grid(rec["grid"], towns[rec["id"]]) if rec["grid"] else (
                towns[rec["id"]] in (None, p.township) or towns[rec["id"]] in p.townships), (who, rec)
    # the grid workers of other grids see none of grid a's households
    dev_b = enroll_device(server, "李网格")
    r = requests.get(f"{server.api}/snapshot", headers=dev_b.headers(), timeout=60)
    _, recs = starter.read_pack(r.content, dev_b.device_id, server.run(auth.device_secret, dev_b.device_id))
    assert recs and not [x for x in recs if x["grid"] == org.grid_a]


def test_pack_needs_a_device_token(server: RunningServer, org: Org) -> None:
    r = requests.get(f"{server.api}/snapshot", timeout=30)
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
