"""Enrollment, push/pull, idempotence, scope, role, clocks, cursor pages, conflicts: real HTTP
against SQLite and PostgreSQL."""

from __future__ import annotations

import time

import requests

from sync.clock import HybridClock, stamp_wall_ms
from sync.ids import new_id
from sync.server import admin, auth
from tests.support.server import Org, RunningServer, edit, enroll_device, event, household, issue


def test_enroll_once_and_token_works(server: RunningServer, org: Org) -> None:
    _, code = server.run(admin.create_enrollment, "张网格")
    r = requests.post(f"{server.api}/enroll", json={"code": code.lower().replace("-", " ")}, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["role"] == "grid_worker"
    assert body["scope"]["grids"] == [org.grid_a]
    assert len(bytes.fromhex(body["secret"])) == 32
    # the secret is the derived bundle secret, the same the bundle code will check
    assert server.run(auth.device_secret, body["device_id"]).hex() == body["secret"]
    me = requests.get(f"{server.api}/me", headers={"Authorization": f"Bearer {body['token']}"}, timeout=30)
    assert me.status_code == 200 and me.json()["device_id"] == body["device_id"]
    # the code works once
    again = requests.post(f"{server.api}/enroll", json={"code": code}, timeout=30)
    assert again.status_code == 403
    assert again.headers["content-type"].startswith("application/problem+json")
    assert again.json()["code"] == "enroll_code_invalid"
    # the token is stored hashed, never in clear
    devices = server.run(admin.list_devices)
    assert all(body["token"] not in str(d) for d in devices)


def test_enroll_code_expires(server: RunningServer, org: Org) -> None:
    device_id, code = server.run(admin.create_enrollment, "张网格", 0.0001)  # 0.36 s
    time.sleep(0.5)
    r = requests.post(f"{server.api}/enroll", json={"code": code}, timeout=30)
    assert r.status_code == 403 and r.json()["code"] == "enroll_code_expired"
    assert "过期" in r.json()["detail"]


def test_revoked_device_gets_401_at_once(server: RunningServer, org: Org) -> None:
    dev = enroll_device(server, "张网格")
    assert dev.sync().status_code == 200
    server.run(admin.revoke_device, dev.device_id)
    r = dev.sync()
    assert r.status_code == 401 and r.json()["code"] == "revoked"
    # a revoked device's pending code does not work either
    device_id, code = server.run(admin.create_enrollment, "张网格")
    server.run(admin.revoke_device, device_id)
    assert requests.post(f"{server.api}/enroll", json={"code": code}, timeout=30).status_code == 403


def test_unknown_or_missing_token_is_401(server: RunningServer, org: Org) -> None:
    r = requests.post(f"{server.api}/sync", json={}, timeout=30)
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    r = requests.post(f"{server.api}/sync", json={}, headers={"Authorization": "Bearer nope"}, timeout=30)
    assert r.status_code == 401


def test_push_pull_round_trip(server: RunningServer, org: Org) -> None:
    a = enroll_device(server, "张网格")
    a2 = enroll_device(server, "张网格")
    rec, ch = household(a, org.grid_a, org.village_a)
    r = a.sync([ch])
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["acks"] == [{"change_id": ch["change_id"], "status": "applied"}]
    mine = [x for x in body["records"] if x["id"] == rec["id"]]
    assert mine and mine[0]["fields"] == rec["fields"] and mine[0]["seq"] > 0
    # the second device of the same user pulls it, with the reference data of its township
    pulled = a2.pull_all()
    kinds = {x["kind"] for x in pulled}
    assert {"household", "village", "grid", "category", "unit", "user"} <= kinds
    assert any(x["id"] == rec["id"] and x["fields"]["head"] == "刘大爷" for x in pulled)
    # an idle sync is one request, nothing new
    r = a2.sync()
    assert r.json()["records"] == [] and r.json()["more"] is False


def test_same_change_twice_is_a_duplicate(server: RunningServer, org: Org) -> None:
    a = enroll_device(server, "张网格")
    rec, ch = household(a, org.grid_a, org.village_a)
    assert a.sync([ch]).json()["acks"][0]["status"] == "applied"
    before = (server.count("records"), server.count("applied_changes"))
    # the response was lost: the device retries the same batch (twice within it, too)
    acks = a.sync([ch, ch]).json()["acks"]
    assert [x["status"] for x in acks] == ["duplicate", "duplicate"]
    assert (server.count("records"), server.count("applied_changes")) == before
    # another device re-sending it (a bundle imported twice) changes nothing either
    b = enroll_device(server, "张网格")
    assert b.sync([ch]).json()["acks"][0]["status"] == "duplicate"


def test_edit_merges_and_conflict_is_logged(server: RunningServer, org: Org) -> None:
    a = enroll_device(server, "张网格")
    staff = enroll_device(server, "赵干部")
    rec, ch = household(a, org.grid_a, org.village_a)
    a.sync([ch])
    # both edit the note from the same base, without seeing each other
    e1 = edit(a, rec, note="腿脚不便")
    e2 = edit(staff, rec, note="需要轮椅")
    assert staff.sync([e2]).json()["acks"][0]["status"] == "applied"
    assert a.sync([e1]).json()["acks"][0]["status"] == "applied"
    assert server.count("conflicts") == 1
    final = [x for x in staff.pull_all() if x["id"] == rec["id"]][-1]
    winner, loser = sorted([e1, e2], key=lambda c: c["stamps"]["note"], reverse=True)
    assert final["fields"]["note"] == winner["fields"]["note"]
    # the losing value is kept and can be read back by those who see the record
    log = requests.get(f"{server.api}/records/{rec['id']}/conflicts", headers=staff.headers(), timeout=30)
    assert log.status_code == 200
    [c] = log.json()["conflicts"]
    assert (c["field"], c["lost_value"], c["kept_value"]) == ("note", loser["fields"]["note"], winner["fields"]["note"])
    other = enroll_device(server, "李网格")  # another grid: not visible
    r = requests.get(f"{server.api}/records/{rec['id']}/conflicts", headers=other.headers(), timeout=30)
    assert r.status_code == 404


def test_scope_write_outside_grid_refused_and_pull_filtered(server: RunningServer, org: Org) -> None:
    a = enroll_device(server, "张网格")
    b = enroll_device(server, "李网格")
    staff = enroll_device(server, "赵干部")
    c = enroll_device(server, "王网格")
    ra, ca = household(a, org.grid_a, org.village_a)
    rb, cb = household(b, org.grid_b, org.village_b, head="陈奶奶")
    rx, cx = household(a, org.grid_b, org.village_b, head="越界户")  # a writes into b's grid
    acks = a.sync([ca, cx]).json()["acks"]
    assert acks[0]["status"] == "applied"
    assert acks[1]["status"] == "refused" and acks[1]["code"] == "scope" and acks[1]["reason"]
    b.sync([cb])
    ids_a = {x["id"] for x in a.pull_all()}
    ids_b = {x["id"] for x in b.pull_all()}
    ids_staff = {x["id"] for x in staff.pull_all()}
    ids_c = {x["id"] for x in c.pull_all()}
    assert ra["id"] in ids_a and rb["id"] not in ids_a and rx["id"] not in ids_a
    assert rb["id"] in ids_b and ra["id"] not in ids_b
    assert {ra["id"], rb["id"]} <= ids_staff  # staff see the township
    assert not ({ra["id"], rb["id"]} & ids_c)  # another township sees neither
    assert org.township not in str([x for x in c.pull_all()])


def test_role_grid_worker_may_not_assign(server: RunningServer, org: Org) -> None:
    a = enroll_device(server, "张网格")
    staff = enroll_device(server, "赵干部")
    irec, ich = issue(a, org.grid_a)
    _, report = event(a, irec, "report")
    _, assign = event(a, irec, "assign", {"unit": "u1", "deadline": "2026-12-01"})
    _, comment = event(a, irec, "comment", {"text": "居民催问"})
    acks = a.sync([ich, report, assign, comment]).json()["acks"]
    assert [x["status"] for x in acks] == ["applied", "applied", "refused", "applied"]
    assert acks[2]["code"] == "role" and "assign" in acks[2]["reason"]
    # staff may assign
    _, assign2 = event(staff, irec, "assign", {"unit": "u1", "deadline": "2026-12-01"})
    assert staff.sync([assign2]).json()["acks"][0]["status"] == "applied"
    # a grid worker claiming to be staff in the event is refused too
    forged = dict(assign, change_id=new_id(), id=new_id())
    forged["fields"] = dict(assign["fields"], role="township_staff")
    ack = a.sync([forged]).json()["acks"][0]
    assert ack["status"] == "refused" and ack["code"] == "role"


def test_actor_must_be_the_devices_user(server: RunningServer, org: Org) -> None:
    a = enroll_device(server, "张网格")
    b = enroll_device(server, "李网格")
    _, ch = household(b, org.grid_a, org.village_a)  # b's user id as actor, sent by a
    ack = a.sync([ch]).json()["acks"][0]
    assert ack["status"] == "refused" and ack["code"] == "actor"


def test_clock_far_ahead_is_clamped_and_offset_told(server: RunningServer, org: Org) -> None:
    a = enroll_device(server, "张网格")
    day = 86_400_000
    a.clock = HybridClock(a.device_id, wall=lambda: time.time() + 86400)  # a day ahead
    rec, ch = household(a, org.grid_a, org.village_a)
    r = a.sync([ch], device_time_ms=int(time.time() * 1000) + day)
    body = r.json()
    assert body["acks"][0] == {"change_id": ch["change_id"], "status": "applied", "clamped": True}
    assert -day - 60_000 < body["clock_offset_ms"] < -day + 60_000
    stored = [x for x in body["records"] if x["id"] == rec["id"]][0]
    assert all(stamp_wall_ms(s) <= body["server_time_ms"] for s in stored["stamps"].values())
    # a correct clock then wins against the clamped value
    b = enroll_device(server, "张网格")
    time.sleep(0.01)
    e = edit(b, stored, note="时间正确的修改")
    b.sync([e])
    final = [x for x in b.pull_all() if x["id"] == rec["id"]][-1]
    assert final["fields"]["note"] == "时间正确的修改"


def test_cursor_pagination_sees_everything_once(server: RunningServer, org: Org) -> None:
    a = enroll_device(server, "张网格")
    changes = [household(a, org.grid_a, org.village_a, head=f"户主{i}")[1] for i in range(120)]
    assert all(x["status"] == "applied" for x in a.sync(changes).json()["acks"])
    b = enroll_device(server, "张网格")
    seen: list[str] = []
    pages = 0
    while True:
        r = b.sync(pull_limit=25).json()
        pages += 1
        seen.extend(x["id"] for x in r["records"])
        assert [x["seq"] for x in r["records"]] == sorted(x["seq"] for x in r["records"])
        b.cursor = r["cursor"]
        if not r["more"]:
            break
    assert pages >= 5
    assert len(seen) == len(set(seen))
    assert {c["id"] for c in changes} <= set(seen)


def test_invalid_changes_refused_per_change(server: RunningServer, org: Org) -> None:
    a = enroll_device(server, "张网格")
    good_rec, good = household(a, org.grid_a, org.village_a)
    _, bad_type = household(a, org.grid_a, org.village_a, head="孙")
    bad_type["fields"]["member_count"] = "很多"
    bad_type["stamps"]["member_count"] = bad_type["stamps"]["head"]
    _, unknown_kind = household(a, org.grid_a, org.village_a)
    unknown_kind["kind"] = "spaceship"
    _, bad_id = household(a, org.grid_a, org.village_a)
    bad_id["id"] = "not-an-id"
    _, ref_kind = household(a, org.grid_a, org.village_a)
    ref_kind.update(kind="unit", fields={"name": "假单位"}, stamps={"name": ref_kind["stamps"]["head"]}, bases={})
    _, surrogate = household(a, org.grid_a, org.village_a, head="\ud800")  # cannot be stored as UTF-8
    before = server.count("records")
    acks = a.sync([bad_type, good, unknown_kind, "not an object", bad_id, ref_kind, surrogate]).json()["acks"]
    assert [x["status"] for x in acks] == ["refused", "applied", "refused", "refused", "refused", "refused", "refused"]
    assert all(x["reason"] for x in acks if x["status"] == "refused")
    assert acks[5]["code"] == "role"
    assert server.count("records") == before + 1


def test_operator_writes_no_field_records_but_may_comment(server: RunningServer, org: Org) -> None:
    a = enroll_device(server, "张网格")
    op = enroll_device(server, "钱操作员")
    irec, ich = issue(a, org.grid_a)
    a.sync([ich])
    _, hh = household(op, org.grid_a, org.village_a)
    _, comment = event(op, irec, "comment", {"text": "已收到离线设备的数据包"})
    _, close = event(op, irec, "close", {"outcome": "越权"})
    acks = op.sync([hh, comment, close]).json()["acks"]
    assert [x["status"] for x in acks] == ["refused", "applied", "refused"]
    assert acks[0]["code"] == "role" and acks[2]["code"] == "role"
    # the operator reads the township (to watch sync health)
    assert irec["id"] in {x["id"] for x in op.pull_all()}


def test_staff_and_device_edit_one_record_at_once_both_survive(server: RunningServer, org: Org) -> None:
    a = enroll_device(server, "张网格")
    staff = enroll_device(server, "赵干部")
    irec, ich = issue(a, org.grid_a)
    a.sync([ich])
    from_device = edit(a, irec, description="路灯在村口第三根电杆")
    from_staff = edit(staff, irec, urgency="urgent")
    assert staff.sync([from_staff]).json()["acks"][0]["status"] == "applied"
    assert a.sync([from_device]).json()["acks"][0]["status"] == "applied"
    final = [x for x in staff.pull_all() if x["id"] == irec["id"]][-1]
    assert final["fields"]["description"] == "路灯在村口第三根电杆"
    assert final["fields"]["urgency"] == "urgent"
    assert server.count("conflicts") == 0  # different fields: nothing lost, nothing to log


def test_device_offline_for_400_days_pushes_without_reset(server: RunningServer, org: Org) -> None:
    a = enroll_device(server, "张网格")
    a.clock = HybridClock(a.device_id, wall=lambda: time.time() - 400 * 86400)
    rec, ch = household(a, org.grid_a, org.village_a)  # made 400 days ago, never synced
    r = a.sync([ch], device_time_ms=int(time.time() * 1000))
    assert r.json()["acks"][0]["status"] == "applied"
    assert any(x["id"] == rec["id"] for x in r.json()["records"])
