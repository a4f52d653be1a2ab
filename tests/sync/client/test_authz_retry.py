"""A change that names a record the server does not have yet is refused for now (``not_yet``,
``retry``): the device keeps it in its outbox and it goes through once the record arrives,
online and through bundles (sync/server/authz.py, docs/protocol.md)."""

from __future__ import annotations

import copy

from sync.client.bundles import apply_return, export_bundle
from sync.client.engine import sync_status
from sync.server.bundles import import_bundle
from sync.workflow import new_event


def _issue_and_a_comment_elsewhere(real):  # type: ignore[no-untyped-def]
    """w1 records an issue and has not synced; w2 holds it (as if pulled from a server that
    lost it in a restore) and comments on it."""
    a, en_a = real.device("w1")
    b, en_b = real.device("w2")
    a.create("issue", real.org.grid, {"issue_kind": "problem", "title": "路灯坏了", "reporter": en_a.user["id"]})
    issue = next(r for r in a.records.values() if r["kind"] == "issue")
    b.apply_remote([copy.deepcopy(issue)], None)
    _rec, ev = new_event(issue, "comment", {"text": "我也看到了"}, b.clock, en_b.user["id"], "grid_worker")
    b.save_change(ev)
    return (a, en_a), (b, en_b), ev


def test_event_waits_in_the_outbox_until_its_issue_arrives(real, engine_for) -> None:  # type: ignore[no-untyped-def]
    (a, en_a), (b, en_b), ev = _issue_and_a_comment_elsewhere(real)
    rep = engine_for(b, real.url, en_b.token).sync_once()
    assert rep.ok and rep.applied == 0 and not rep.refused
    assert [w["code"] for w in rep.waiting] == ["not_yet"] and "下次同步时重试" in rep.waiting[0]["reason"]
    assert b.outbox_size() == 1 and b.refused_changes() == []
    assert sync_status(b).state == "pending"  # not "all synced": something is still waiting
    assert ev["id"] not in real.state()
    assert engine_for(a, real.url, en_a.token).sync_once().applied == 1  # the issue arrives
    rep = engine_for(b, real.url, en_b.token).sync_once()
    assert rep.applied == 1 and not rep.waiting and b.outbox_size() == 0
    assert real.state()[ev["id"]]["fields"]["issue"] == ev["fields"]["issue"]


def test_bundle_keeps_the_waiting_change_for_the_next_bundle(real, engine_for, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (a, en_a), (b, en_b), ev = _issue_and_a_comment_elsewhere(real)
    secret = bytes.fromhex(en_b.secret)
    path = tmp_path / "b.gwb"
    export_bundle(b, path, device_id=en_b.device_id, user=en_b.user["id"], secret=secret)
    res = import_bundle(real.engine, real.blobs, path.read_bytes())
    assert [r["code"] for r in res.receipt["refused"]] == ["not_yet"]
    summary = apply_return(b, res.return_bundle, device_id=en_b.device_id, secret=secret)
    assert summary.refused == [] and b.outbox_size() == 1 and b.refused_changes() == []
    assert engine_for(a, real.url, en_a.token).sync_once().applied == 1  # the issue arrives
    export_bundle(b, path, device_id=en_b.device_id, user=en_b.user["id"], secret=secret)
    res = import_bundle(real.engine, real.blobs, path.read_bytes())
    assert res.receipt["accepted"] == 1 and res.receipt["refused"] == []
    apply_return(b, res.return_bundle, device_id=en_b.device_id, secret=secret)
    assert b.outbox_size() == 0

