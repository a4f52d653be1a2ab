"""Property: a change is accepted exactly when everything it names is in the caller's scope and
its author fields are the caller (issue 11, Build 1).

Hypothesis picks a caller (grid workers of three grids in two townships, staff and operators
of both townships), a kind, the grid the change claims, the record it names (in any grid), the
author written into it, the envelope's actor and, for events, the role. The oracle below is
written from the rule, not from the code; the role rules are the workflow's own
(``sync.workflow.may_emit``). A refused change must leave the database as it was; every
example runs in a transaction that is rolled back, so examples do not see each other.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, text

from sync.changes import new_record
from sync.clock import HybridClock
from sync.server import admin, auth, db, feed
from sync.workflow import may_emit

GRIDS = ("a", "b", "c")  # a, b: township 1 (villages a, b); c: township 2
CALLERS = ("worker_a", "worker_b", "worker_c", "staff_1", "staff_2", "operator_1", "operator_2")
EVENTS = {"comment": {"text": "看看"}, "recheck": {"solved": False, "satisfied": False},
          "claim": {"by": "村两委"}, "accept": {}, "close": {"outcome": "销号"}, "fulfil": {}}


@dataclass
class World:
    engine: Engine
    grid: dict[str, str]  # a/b/c -> grid id
    town_of: dict[str, str]  # grid id -> township id
    village: dict[str, str]  # a/b/c -> village id
    users: dict[str, str]  # caller name -> user id
    households: dict[str, str]  # a/b/c -> household id
    issues: dict[str, str]
    shas: dict[str, str]  # a/b/c -> hash of a photo held for that grid


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    path = Path(tmp_path_factory.mktemp("prop")) / "server.sqlite3"
    engine = db.make_engine(f"sqlite:///{path}")
    db.migrate(engine)
    clock = HybridClock("seed")
    with engine.begin() as conn:
        admin.prepare(conn)
        t1, t2 = admin.create_township(conn, "青山镇"), admin.create_township(conn, "绿水镇")
        town = {"a": t1, "b": t1, "c": t2}
        village = {g: admin.create_village(conn, town[g], f"{g}村") for g in GRIDS}
        grid = {g: admin.create_grid(conn, town[g], f"{g}网格", village[g]) for g in GRIDS}
        users = {f"worker_{g}": admin.create_user(conn, f"网格员{g}", "grid_worker", grids=[grid[g]]) for g in GRIDS}
        for n, tw in (("1", t1), ("2", t2)):
            users[f"staff_{n}"] = admin.create_user(conn, f"干部{n}", "township_staff", township=tw)
            users[f"operator_{n}"] = admin.create_user(conn, f"操作员{n}", "operator", township=tw)
        households, issues, shas = {}, {}, {}
        for g in GRIDS:
            uid = users[f"worker_{g}"]
            h, hc = new_record("household", grid[g], {"village": village[g], "address": "1组1号", "head": "刘大爷"},
                               clock, uid)
            i, ic = new_record("issue", grid[g], {"issue_kind": "problem", "title": "路灯", "reporter": uid,
                                                   "household": h["id"]}, clock, uid)
            shas[g] = os.urandom(32).hex()
            _p, pc = new_record("photo", grid[g], _photo_fields(shas[g], "issue", i["id"]), clock, uid)
            acks = feed.apply_changes(conn, auth.principal_for_user(conn, uid), [hc, ic, pc])
            assert [a["status"] for a in acks] == ["applied"] * 3, acks
            households[g], issues[g] = h["id"], i["id"]
    town_of = {grid[g]: town[g] for g in GRIDS}
    return World(engine, grid, town_of, village, users, households, issues, shas)


def _photo_fields(sha: str, kind: str, target: str) -> dict[str, Any]:
    return {"sha256": sha, "size": 100, "width": 4, "height": 3, "attached_to": {"kind": kind, "id": target}}


def _snapshot(conn: Connection) -> dict[str, Any]:
    def rows(sql: str) -> list[tuple]:
        return [tuple(r) for r in conn.execute(text(sql)).all()]

    return {
        "records": rows("SELECT id, seq, doc FROM records ORDER BY id"),
        "applied": rows("SELECT change_id FROM applied_changes ORDER BY change_id"),
        "blob_refs": rows("SELECT sha256, record_id FROM blob_refs ORDER BY sha256, record_id"),
        "conflicts": rows("SELECT id FROM conflicts"),
        "feed": rows("SELECT seq FROM feed"),
    }


OWN_GRID = {"worker_a": "a", "worker_b": "b", "worker_c": "c", "staff_1": "b", "staff_2": "c",
            "operator_1": "a", "operator_2": "c"}
# "own", "same" and "caller" are weighted so that about a third of the attempts are legitimate.
attempts = st.fixed_dictionaries({
    "caller": st.sampled_from(CALLERS),
    "kind": st.sampled_from(("issue_event", "visit", "issue", "photo")),
    "grid": st.sampled_from(GRIDS + ("own",) * 4),  # the grid the change claims
    "target": st.sampled_from(GRIDS + ("same",) * 4),  # the grid of the record it names
    "author": st.sampled_from(CALLERS + ("caller",) * 8),  # written into the author field
    "envelope": st.sampled_from(CALLERS + ("caller",) * 10),  # the change's actor
    "event": st.sampled_from(sorted(EVENTS)),
    "role": st.sampled_from(("grid_worker", "township_staff", "operator") + ("caller",) * 6),
    "photo": st.sampled_from(GRIDS + ("fresh",) * 3),  # whose photo hash a photo record names
})  # fmt: skip


def _resolve(a: dict[str, Any]) -> dict[str, Any]:
    """Replace the weighted placeholders by grid letters and caller names."""
    a = dict(a)
    if a["grid"] == "own":
        a["grid"] = OWN_GRID[a["caller"]]
    if a["target"] == "same":
        a["target"] = a["grid"]
    if a["author"] == "caller":
        a["author"] = a["caller"]
    return a


def _change(w: World, a: dict[str, Any], principal: auth.Principal, clock: HybridClock) -> dict[str, Any]:
    author = w.users[a["author"]]
    envelope = principal.user_id if a["envelope"] == "caller" else w.users[a["envelope"]]
    grid = w.grid[a["grid"]]
    kind = a["kind"]
    if kind == "issue_event":
        role = principal.role if a["role"] == "caller" else a["role"]
        fields = {"issue": w.issues[a["target"]], "type": a["event"], "actor": author, "role": role,
                  "at": "2026-11-30T10:00:00", "data": EVENTS[a["event"]]}
    elif kind == "visit":
        fields = {"household": w.households[a["target"]], "visitor": author, "time": "2026-11-30T10:00:00",
                  "kind": "routine"}
    elif kind == "issue":
        fields = {"issue_kind": "problem", "title": "新问题", "reporter": author,
                  "household": w.households[a["target"]]}
    else:
        sha = os.urandom(32).hex() if a["photo"] == "fresh" else w.shas[a["photo"]]
        fields = _photo_fields(sha, "issue", w.issues[a["target"]])
    return new_record(kind, grid, fields, clock, envelope)[1]


def _sees(principal: auth.Principal, grid: str, town: str) -> bool:
    """The scope rule of docs/security.md, written out apart from the server's own."""
    if principal.role in ("admin", "operator") and principal.township is None and principal.county is None:
        return True
    if principal.role == "grid_worker":
        return grid in principal.grids
    if principal.role == "county_staff":
        return town in principal.county_townships
    return town == principal.township


def _oracle(w: World, a: dict[str, Any], principal: auth.Principal, change: dict[str, Any]) -> bool:
    """The rule, from docs/security.md: in scope, naming only its own grid, authored by the caller."""
    grid = w.grid[a["grid"]]
    in_scope = _sees(principal, grid, w.town_of[grid])
    names_own_grid = a["target"] == a["grid"]
    fields = change["fields"]
    author_ok = change["actor"] == principal.user_id
    if a["kind"] == "issue_event":
        author_ok &= fields["actor"] == principal.user_id and fields["role"] == principal.role
        role_ok = may_emit(principal.role, fields["type"])
    else:
        author_field = {"visit": "visitor", "issue": "reporter"}.get(a["kind"])
        author_ok &= author_field is None or fields[author_field] == principal.user_id
        role_ok = principal.role in ("grid_worker", "township_staff", "county_staff", "admin")
    photo_ok = True
    if a["kind"] == "photo" and a["photo"] != "fresh":
        held = w.grid[a["photo"]]
        photo_ok = _sees(principal, held, w.town_of[held])
    return in_scope and names_own_grid and author_ok and role_ok and photo_ok


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(a=attempts)
def test_accepted_iff_in_scope_and_authored_by_caller(world: World, a: dict[str, Any]) -> None:
    a = _resolve(a)
    with world.engine.connect() as conn:
        tx = conn.begin()
        try:
            principal = auth.principal_for_user(conn, world.users[a["caller"]], device_id="dev-prop")
            change = _change(world, a, principal, HybridClock("dev-prop"))
            before = _snapshot(conn)
            [ack] = feed.apply_changes(conn, principal, [change])
            after = _snapshot(conn)
        finally:
            tx.rollback()
    expected = _oracle(world, a, principal, change)
    event(f"accepted={expected}")  # --hypothesis-show-statistics: both sides are exercised
    assert (ack["status"] == "applied") == expected, (a, ack)
    if expected:
        assert change["id"] in {r[0] for r in after["records"]}
    else:
        assert ack["status"] == "refused" and ack["code"] in ("scope", "actor", "role", "invalid"), ack
        assert after == before
