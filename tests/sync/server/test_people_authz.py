"""联户 records on the server: a member's village, and every pairing and companion link, are
checked against the caller's scope by sync/server/authz.py, never taken from the device."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync.changes import new_record
from sync.clock import HybridClock
from sync.server import admin, auth, db, feed


@pytest.fixture
def town(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{tmp_path / 's.sqlite3'}")
    db.migrate(engine)
    with engine.begin() as conn:
        admin.prepare(conn)
        tw = admin.create_township(conn, "青山镇")
        other_tw = admin.create_township(conn, "白水镇")
        v = admin.create_village(conn, tw, "东村")
        far_v = admin.create_village(conn, other_tw, "白水村")
        g = admin.create_grid(conn, tw, "东村一网格", v)
        g2 = admin.create_grid(conn, tw, "东村二网格", v)
        uid = admin.create_user(conn, "张网格", "grid_worker", grids=[g])
        uid2 = admin.create_user(conn, "李网格", "grid_worker", grids=[g2])
    yield engine, {"g": g, "g2": g2, "v": v, "far_v": far_v, "uid": uid, "uid2": uid2}
    engine.dispose()


def _batch(engine, uid, changes):  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        return feed.apply_changes(conn, auth.principal_for_user(conn, uid), changes)


def _codes(acks):  # type: ignore[no-untyped-def]
    return [a.get("code") or a["status"] for a in acks]


def test_member_pairing_and_companion_are_applied_in_scope(town) -> None:  # type: ignore[no-untyped-def]
    engine, o = town
    c = HybridClock("dev")
    h, hc = new_record("household", o["g"], {"village": o["v"], "address": "1组1号", "head": "刘大爷"}, c, o["uid"])
    m, mc = new_record("member", o["g"], {"name": "李党员", "village": o["v"], "duty": "party_member",
                                          "uses_app": False}, c, o["uid"])
    _p, pc = new_record("pairing", o["g"], {"member": m["id"], "household": h["id"]}, c, o["uid"])
    _v, vc = new_record("visit", o["g"], {"household": h["id"], "visitor": o["uid"], "kind": "routine",
                                          "time": "2026-11-30T09:00:00", "companion": m["id"]}, c, o["uid"])
    assert _codes(_batch(engine, o["uid"], [vc, pc, mc, hc])) == ["applied"] * 4
    # the other grid's worker cannot link their household to this grid's member, nor name them
    c2 = HybridClock("dev2")
    h2, hc2 = new_record("household", o["g2"], {"village": o["v"], "address": "2组", "head": "赵"}, c2, o["uid2"])
    _p2, pc2 = new_record("pairing", o["g2"], {"member": m["id"], "household": h2["id"]}, c2, o["uid2"])
    _v2, vc2 = new_record("visit", o["g2"], {"household": h2["id"], "visitor": o["uid2"], "kind": "routine",
                                             "time": "2026-11-30T10:00:00", "companion": m["id"]}, c2, o["uid2"])
    assert _codes(_batch(engine, o["uid2"], [hc2, pc2, vc2])) == ["applied", "scope", "scope"]
    # nor write into a grid that is not theirs, whatever the change says
    _m3, mc3 = new_record("member", o["g"], {"name": "冒名", "village": o["v"], "duty": "household_lead"}, c2, o["uid2"])
    assert _codes(_batch(engine, o["uid2"], [mc3])) == ["scope"]


def test_a_member_of_another_townships_village_is_refused(town) -> None:  # type: ignore[no-untyped-def]
    engine, o = town
    c = HybridClock("dev")
    _m, mc = new_record("member", o["g"], {"name": "外镇人", "village": o["far_v"], "duty": "party_member"}, c, o["uid"])
    [ack] = _batch(engine, o["uid"], [mc])
    assert ack["code"] == "scope"
    with engine.begin() as conn:
        assert conn.execute(db.records.select().where(db.records.c.kind == "member")).first() is None


def test_pairing_with_something_that_is_not_a_member_is_refused(town) -> None:  # type: ignore[no-untyped-def]
    engine, o = town
    c = HybridClock("dev")
    h, hc = new_record("household", o["g"], {"village": o["v"], "address": "1组", "head": "刘"}, c, o["uid"])
    _p, pc = new_record("pairing", o["g"], {"member": h["id"], "household": h["id"]}, c, o["uid"])
    assert _codes(_batch(engine, o["uid"], [hc, pc])) == ["applied", "invalid"]


def test_a_meeting_names_its_recorder_and_links_only_in_its_grid(town) -> None:  # type: ignore[no-untyped-def]
    engine, o = town
    c = HybridClock("dev")
    m, mc = new_record("member", o["g"], {"name": "李党员", "village": o["v"], "duty": "party_member"}, c, o["uid"])
    i, ic = new_record("issue", o["g"], {"issue_kind": "problem", "title": "排水沟堵塞", "reporter": o["uid"]}, c, o["uid"])
    base = {"meeting_kind": "yard", "time": "2026-11-30T19:30:00", "place": "晒坝", "topic": "排水沟",
            "village": o["v"], "recorder": o["uid"], "members": [m["id"]], "raised": [i["id"]]}
    _mt, mtc = new_record("meeting", o["g"], base, c, o["uid"])
    assert _codes(_batch(engine, o["uid"], [mtc, ic, mc])) == ["applied"] * 3
    # a meeting written in someone else's name, or naming another grid's member: refused
    c2 = HybridClock("dev2")
    _a, forged = new_record("meeting", o["g2"], {**base, "members": [], "raised": []}, c2, o["uid2"])
    _b, cross = new_record("meeting", o["g2"], {**base, "recorder": o["uid2"], "raised": []}, c2, o["uid2"])
    _c, far = new_record("meeting", o["g2"], {**base, "recorder": o["uid2"], "members": [], "raised": [],
                                              "village": o["far_v"]}, c2, o["uid2"])
    assert _codes(_batch(engine, o["uid2"], [forged, cross, far])) == ["actor", "scope", "scope"]


def test_every_id_in_event_data_is_authorized() -> None:
    """An id field in an event's data (a claim's claimant) names a record: it is checked like a
    record's links (sync/server/authz.py EVENT_TARGETS)."""
    from sync import records as model
    from sync.server import authz

    links = {(etype, s.name) for etype, specs in model.EVENT_DATA.items() for s in specs if s.type in ("id", "ids")}
    assert links == set(authz.EVENT_TARGETS) == {("claim", "claimant")}


def test_a_claim_names_a_claimant_of_the_wish_grid_only(town) -> None:  # type: ignore[no-untyped-def]
    from sync.workflow import new_event

    engine, o = town
    c, c2 = HybridClock("dev"), HybridClock("dev2")
    w, wc = new_record("issue", o["g"], {"issue_kind": "wish", "title": "收音机", "reporter": o["uid"]}, c, o["uid"])
    mine, mc = new_record("claimant", o["g"], {"name": "志愿者小李", "claimant_kind": "volunteer"}, c, o["uid"])
    theirs, tc = new_record("claimant", o["g2"], {"name": "西边志愿队", "claimant_kind": "volunteer"}, c2, o["uid2"])
    assert _codes(_batch(engine, o["uid2"], [tc])) == ["applied"]
    _e1, bad = new_event(w, "claim", {"claimant": theirs["id"], "by": "西边志愿队"}, c, o["uid"], "grid_worker")
    _e2, good = new_event(w, "claim", {"claimant": mine["id"], "by": "志愿者小李"}, c, o["uid"], "grid_worker")
    acks = _batch(engine, o["uid"], [wc, mc, bad, good])
    assert _codes(acks) == ["applied", "applied", "scope", "applied"]
    assert "认领人" in acks[2]["reason"]
