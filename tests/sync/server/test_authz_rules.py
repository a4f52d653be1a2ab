"""The rules of sync/server/authz.py that the hostile battery and the property test do not
reach: the schema is fully covered, order inside a batch does not matter, a refused creation
takes what names it down with it, and who may import which bundle."""

from __future__ import annotations

from pathlib import Path

import pytest

from sync import records as model
from sync.changes import new_record
from sync.clock import HybridClock
from sync.ids import new_id
from sync.server import admin, auth, authz, db, feed
from sync.workflow import new_event


def test_every_link_of_the_record_schema_is_authorized() -> None:
    """A new id field in sync/records.py must be added to authz.TARGETS (or it would name
    records of other grids unchecked)."""
    links = {(kind, name) for kind in model.RECORD_KINDS for name, spec in model.FIELDS[kind].items()
             if spec.type in ("id", "ids")}
    assert links == set(authz.TARGETS)
    assert all(target in model.RECORD_KINDS for target in authz.TARGETS.values())
    att = model.FIELDS["photo"]["attached_to"]
    assert {s.name: s.type for s in att.sub} == {"kind": "choice", "id": "id"}  # checked by _named
    for kind, name in authz.AUTHOR_FIELDS.items():
        spec = model.FIELDS[kind][name]
        assert spec.type == "ref" and spec.required


@pytest.fixture
def town(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = db.make_engine(f"sqlite:///{tmp_path / 's.sqlite3'}")
    db.migrate(engine)
    with engine.begin() as conn:
        admin.prepare(conn)
        tw = admin.create_township(conn, "青山镇")
        v = admin.create_village(conn, tw, "东村")
        g = admin.create_grid(conn, tw, "东村一网格", v)
        uid = admin.create_user(conn, "张网格", "grid_worker", grids=[g])
    yield engine, g, v, uid
    engine.dispose()


def _batch(engine, uid, changes):  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        return feed.apply_changes(conn, auth.principal_for_user(conn, uid), changes)


def test_order_inside_a_batch_does_not_matter(town) -> None:  # type: ignore[no-untyped-def]
    engine, g, v, uid = town
    c = HybridClock("dev")
    h, hc = new_record("household", g, {"village": v, "address": "1组1号", "head": "刘大爷"}, c, uid)
    i, ic = new_record("issue", g, {"issue_kind": "problem", "title": "路灯", "reporter": uid, "household": h["id"]}, c, uid)
    _e, ec = new_event(i, "report", {}, c, uid, "grid_worker")
    vid = new_id()
    _p, pc = new_record("photo", g, {"sha256": "ab" * 32, "size": 9, "width": 3, "height": 2,
                                     "attached_to": {"kind": "visit", "id": vid}}, c, uid)
    _v, vc = new_record("visit", g, {"household": h["id"], "visitor": uid, "time": "2026-11-30T09:00:00",
                                     "kind": "routine", "demands": [i["id"]]}, c, uid, record_id=vid)
    # Every dependant before what it names: the photo before its visit, the event before its issue.
    acks = _batch(engine, uid, [pc, vc, ec, ic, hc])
    assert [a["status"] for a in acks] == ["applied"] * 5, acks
    assert [a["change_id"] for a in acks] == [x["change_id"] for x in (pc, vc, ec, ic, hc)]


def test_a_refused_creation_takes_what_names_it_down_for_good(town) -> None:  # type: ignore[no-untyped-def]
    engine, g, _v, uid = town
    c = HybridClock("dev")
    i, ic = new_record("issue", g, {"issue_kind": "problem", "title": "路灯", "reporter": uid}, c, uid)
    _e, ec = new_event(i, "comment", {"text": "x"}, c, uid, "grid_worker")
    bad = {**ic, "fields": {**ic["fields"], "title": "x" * 500}}
    acks = _batch(engine, uid, [ec, bad])
    assert [a["code"] for a in acks] == ["invalid", "invalid"]
    assert "retry" not in acks[0]  # the issue will not come: no point keeping the event waiting


def test_who_may_import_which_bundle() -> None:
    P = auth.Principal
    worker = P("w", "grid_worker", township="t1", grids=frozenset({"g1"}), townships=frozenset({"t1"}))
    staff2 = P("s", "township_staff", township="t2")
    assert authz.may_import_bundle(P("o", "operator", township="t1"), worker)
    assert not authz.may_import_bundle(P("o", "operator", township="t1"), staff2)
    assert not authz.may_import_bundle(P("a", "admin", township="t1"), staff2)
    assert authz.may_import_bundle(P("a", "admin"), staff2)  # an admin of no township: all
    assert authz.may_import_bundle(P("o", "operator"), worker)
    assert not authz.may_import_bundle(P("s", "township_staff", township="t1"), worker)
    # A grid worker whose grids span two townships belongs to neither operator alone.
    both = P("w", "grid_worker", township="t1", grids=frozenset({"g1", "g2"}), townships=frozenset({"t1", "t2"}))
    assert not authz.may_import_bundle(P("o", "operator", township="t1"), both)
