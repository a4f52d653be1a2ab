"""A batch applied at once leaves the server exactly as its changes applied one at a time, in
the same order: the same acks, records, idempotence rows, conflict log, photo references and
feed head (issue 13: apply_changes batches its reads and writes per request, on PostgreSQL in
one pipeline each: sync/server/bulk.py).

Each run happens in a transaction that is rolled back, so both ways start from the same
database (same ids, same sequence numbers).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, insert, text
from sqlalchemy.exc import IntegrityError

from sync.changes import edit_change, new_record
from sync.clock import HybridClock
from sync.ids import new_id
from sync.server import admin, auth, bulk, db, feed


@dataclass
class Setup:
    engine: Engine
    principal: auth.Principal
    grid: str
    village: str
    home: dict[str, Any]  # a household on the server
    other_home: dict[str, Any]
    issue: dict[str, Any]
    # "now" for both runs of a test (the same applied_ms); taken when the test starts, since a
    # device stamp further ahead of it than a few minutes would be clamped (a module-level value
    # went stale when the whole suite ran longer than that)
    now: int


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Setup]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_cluster").new_database()
    engine = db.make_engine(url)
    db.migrate(engine)
    clock = HybridClock("seed")
    with engine.begin() as conn:
        admin.prepare(conn)
        tw = admin.create_township(conn, "青山镇")
        v = admin.create_village(conn, tw, "东村")
        g = admin.create_grid(conn, tw, "东村一网格", v)
        uid = admin.create_user(conn, "张网格", "grid_worker", grids=[g])
        p = auth.principal_for_user(conn, uid)
        home, hc = new_record("household", g, {"village": v, "address": "1组1号", "head": "刘大爷"}, clock, uid)
        other, oc = new_record("household", g, {"village": v, "address": "2组2号", "head": "陈奶奶"}, clock, uid)
        iss, ic = new_record("issue", g, {"issue_kind": "problem", "title": "路灯坏了", "reporter": uid,
                                          "household": home["id"]}, clock, uid)
        assert [a["status"] for a in feed.apply_changes(conn, p, [hc, oc, ic])] == ["applied"] * 3
    yield Setup(engine, p, g, v, home, other, iss, db.now_ms())
    engine.dispose()


def _snapshot(conn: Connection) -> dict[str, Any]:
    def rows(sql: str) -> list[tuple]:
        return [tuple(r) for r in conn.execute(text(sql)).all()]

    return {
        "records": rows("SELECT id, kind, grid, township, doc, seq, updated_ms, deleted FROM records ORDER BY id"),
        "applied": rows("SELECT change_id, record_id, device, user_id, seq, applied_ms, clamped "
                        "FROM applied_changes ORDER BY change_id"),
        "conflicts": rows("SELECT record_id, field, reason, kept_value, kept_stamp, lost_value, lost_stamp, "
                          "change_id, created_ms FROM conflicts ORDER BY id"),
        "blob_refs": rows("SELECT sha256, record_id, grid, township FROM blob_refs ORDER BY sha256, record_id"),
        "feed": rows("SELECT seq FROM feed"),
    }


def _run(s: Setup, batches: list[list[Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    with s.engine.connect() as conn:
        tx = conn.begin()
        acks: list[dict[str, Any]] = []
        for batch in batches:
            acks += feed.apply_changes(conn, s.principal, batch, now=s.now)
        snap = _snapshot(conn)
        tx.rollback()
    return acks, snap


def _same_as_one_at_a_time(s: Setup, changes: list[Any]) -> list[dict[str, Any]]:
    together, snap_together = _run(s, [changes])
    alone, snap_alone = _run(s, [[c] for c in changes])
    assert together == alone
    assert snap_together == snap_alone
    return together


def test_duplicates_of_one_change_id_in_a_batch(setup: Setup) -> None:
    s, clock = setup, HybridClock("phone-1")
    _v, vc = new_record("visit", s.grid, {"household": s.home["id"], "visitor": s.principal.user_id,
                                          "time": "2026-11-20T09:00:00+08:00", "kind": "routine"}, clock, s.principal.user_id)
    acks = _same_as_one_at_a_time(s, [vc, dict(vc), vc])
    assert [a["status"] for a in acks] == ["applied", "duplicate", "duplicate"]


def test_two_changes_to_one_record_and_concurrent_edits_in_a_batch(setup: Setup) -> None:
    s = setup
    uid = s.principal.user_id
    a, b = HybridClock("phone-a"), HybridClock("phone-b")
    new, created = new_record("household", s.grid, {"village": s.village, "address": "3组3号", "head": "王伯"}, a, uid)
    changes = [
        created,
        edit_change(new, {"head": "王大伯"}, a, uid),  # the record made earlier in the batch
        edit_change(s.home, {"head": "刘老伯"}, a, uid),  # two devices edit one field of a stored
        edit_change(s.home, {"head": "刘爷爷"}, b, uid),  # record from the same base: a conflict
        edit_change(s.other_home, {"address": "2组5号", "phone": "13800000000"}, b, uid),
        edit_change(s.issue, {"title": "路灯还是坏的"}, b, uid),
    ]
    acks = _same_as_one_at_a_time(s, changes)
    assert [x["status"] for x in acks] == ["applied"] * 6
    _, snap = _run(s, [changes])
    assert [c[:2] for c in snap["conflicts"]] == [(s.home["id"], "head")], snap["conflicts"]
    docs = {r[0]: r[4] for r in snap["records"]}
    assert "王大伯" in docs[new["id"]] and "2组5号" in docs[s.other_home["id"]] and "路灯还是坏的" in docs[s.issue["id"]]


def test_a_refused_change_among_accepted_ones(setup: Setup) -> None:
    s = setup
    uid = s.principal.user_id
    clock = HybridClock("phone-1")
    visit = {"household": s.home["id"], "visitor": uid, "time": "2026-11-20T09:00:00+08:00", "kind": "routine"}
    _v1, ok1 = new_record("visit", s.grid, visit, clock, uid)
    _v2, forged = new_record("visit", s.grid, {**visit, "visitor": s.home["id"]}, clock, uid)  # not the caller
    _v3, bad = new_record("visit", s.grid, visit, clock, uid)
    bad["fields"]["time"] = "yesterday"
    sha = os.urandom(32).hex()
    _p, photo = new_record("photo", s.grid, {"sha256": sha, "size": 100, "width": 4, "height": 3,
                                             "attached_to": {"kind": "issue", "id": s.issue["id"]}}, clock, uid)
    edit = edit_change(s.home, {"head": "刘老伯"}, clock, uid)
    acks = _same_as_one_at_a_time(s, [ok1, forged, "not a change", bad, photo, edit])
    assert [a["status"] for a in acks] == ["applied", "refused", "refused", "refused", "applied", "applied"]
    _, snap = _run(s, [[ok1, forged, bad, photo, edit]])
    assert [r[:2] for r in snap["blob_refs"]] == [(sha, photo["id"])]


def test_a_failing_write_raises_the_database_error_as_through_sqlalchemy(setup: Setup) -> None:
    """The pipelined writes (sync.server.bulk) fail like any other statement: the API's
    handlers and the transaction's rollback see a SQLAlchemy error, and nothing is kept."""
    row = {"change_id": new_id(), "record_id": setup.home["id"], "device": None, "user_id": None, "seq": None,
           "applied_ms": setup.now, "clamped": False}
    with setup.engine.connect() as conn:
        tx = conn.begin()
        before = _snapshot(conn)
        with pytest.raises(IntegrityError):
            bulk.run_writes(conn, [(insert(db.applied_changes), [row]), (insert(db.applied_changes), [row])])
        tx.rollback()
    with setup.engine.connect() as conn:
        assert _snapshot(conn) == before
