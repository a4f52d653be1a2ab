"""The staff board's index (app/services/staff_index.py), made from the store's kept folds,
gives the board a plain fold of every issue would give: every filter, the counts, the order;
across a restart (no event read) and after changes made while the app was not looking."""

from __future__ import annotations

from pathlib import Path

import pytest
from staff_seed import seeded_township

from app.device import open_device
from app.services.common import china_today, now_ms, reported_at
from app.services.staff import NEW_STATES, WORKING
from app.services.staff_index import OLD_FILE
from app.store import Store
from sync import workflow as wf

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def plain_board(device, f: dict) -> tuple[list[str], dict[str, int]]:
    """The board as a plain fold of every issue decides it (the rules of the board's docs)."""
    places = device.staff.places()
    events: dict[str, list[dict]] = {}
    for e in device.store.all("issue_event"):
        events.setdefault(e["fields"]["issue"], []).append(e)
    q = f.get("q", "").lower()
    calendar = device.staff.work_calendar()
    labels = device.services.category_labels()
    rows, counts = [], {}
    for rec in device.store.all("issue"):
        st = wf.fold(rec, events.get(rec["id"], []))
        fl = rec["fields"]
        cat = fl.get("category") or ""
        checks = [
            not f.get("kind") or st.issue_kind == f["kind"],
            not f.get("grid") or rec["grid"] == f["grid"],
            not f.get("village") or places.get(rec["grid"], ("",))[0] == f["village"],
            not f.get("category") or cat == f["category"] or cat.startswith(f["category"] + "."),
            not f.get("appeal_type") or fl.get("appeal_type") == f["appeal_type"],
            not f.get("urgency") or (fl.get("urgency") or "normal") == f["urgency"],
            not f.get("overdue") or (st.state in WORKING and wf.is_overdue(st, now_ms())),
            not f.get("supervised") or st.supervised > 0,
            not f.get("source") or (fl.get("source") or "grid") == f["source"],
            not f.get("county_supervised") or st.county_level > 0,
            not f.get("due_soon") or bool(wf.deadline_flags(st, china_today(), calendar)),
            not f.get("flagged") or st.flagged,
            not q or q in (fl.get("title") or "").lower(),
        ]
        if not all(checks):
            continue
        counts[st.state] = counts.get(st.state, 0) + 1
        if f.get("status") and st.state != f["status"]:
            continue
        rows.append((reported_at(rec, st), rec["id"], st.state, fl.get("urgency") or "normal",
                     labels.get(cat, cat) or "~"))
    rows.sort(reverse=True)
    if f.get("kind") == "wish":  # wishes: open ones first, the most urgent, then by kind, newest
        urgency = {"critical": 0, "urgent": 1, "normal": 2}
        rows.sort(key=lambda r: (r[2] not in wf.OPEN_WISH_STATES, urgency[r[3]], r[4]))
    else:
        rows.sort(key=lambda r: r[2] not in NEW_STATES)
    return [r[1] for r in rows], counts


@pytest.fixture
def town(tmp_path: Path):
    """400 issues of a seeded township (every state, wishes, redo, supervised, overdue) written
    in the store's layout, plus one event that lands invalid (flagged)."""
    return seeded_township(tmp_path / "data", issues=400, villages=6, households=200)


def filter_sets(device) -> list[dict]:
    village, grid = device.staff.villages()[1][0], device.staff.grids()[3][0]
    return [
        {}, {"kind": "wish"}, {"kind": "problem", "status": "assigned"}, {"status": "submitted"},
        {"village": village}, {"grid": grid}, {"category": "infra"}, {"category": "infra.road"},
        {"appeal_type": "complaint"}, {"urgency": "critical"}, {"overdue": True}, {"supervised": True},
        {"flagged": True}, {"q": "路灯"}, {"q": "路灯", "village": village, "status": "closed"},
        {"category": "env", "urgency": "urgent", "kind": "problem"}, {"q": "没有这个标题"},
        {"kind": "wish", "status": "collected"}, {"source": "grid"}, {"source": "hotline"},
        {"county_supervised": True}, {"due_soon": True},
    ]


def check_all(device) -> None:
    for f in filter_sets(device):
        b = device.staff.board(f)
        ids, counts = plain_board(device, f)
        assert [r["id"] for r in b["rows"]] == ids, f
        assert b["counts"] == counts and b["matched"] == len(ids), f
        assert b["rows"][:5] == device.staff.board(f, limit=5)["rows"], f  # a page is the same rows


def test_every_filter_matches_a_plain_fold(town: Path) -> None:
    device = open_device(town, background=False)
    try:
        assert device.staff.board({"flagged": True})["matched"] == 1
        assert device.staff.board({"overdue": True})["matched"] > 0  # the seed has some
        assert device.staff.board({"supervised": True})["matched"] > 0
        check_all(device)
    finally:
        device.close()


def test_column_sorts_match_the_plain_order(town: Path) -> None:
    device = open_device(town, background=False)
    try:
        plain = {r["id"]: r for r in device.staff.board(None)["rows"]}
        for col in ("deadline", "status", "unit", "place", "reported"):
            for desc in (False, True):
                rows = device.staff.board(None, sort=col, descending=desc)["rows"]
                assert {r["id"] for r in rows} == set(plain)
                key = {"deadline": "deadline", "status": "status", "unit": "unit_name", "place": "place",
                       "reported": "reported_at"}[col]
                vals = [r[key] for r in rows if r[key] not in ("", None)]
                order = [wf.STATES.index(v) for v in vals] if col == "status" else vals
                assert order == sorted(order, reverse=desc), col
                blanks = [i for i, r in enumerate(rows) if r[key] in ("", None)]
                assert blanks == list(range(len(rows) - len(blanks), len(rows))), col  # empty last
    finally:
        device.close()


def event_partitions_read(device) -> list[str]:
    return [p for p in device.store._loaded if p.startswith("issue_event")]


def test_a_restart_reads_the_stores_kept_folds_and_no_event(town: Path) -> None:
    device = open_device(town, background=False)
    device.staff.board(None)
    check_all(device)
    device.close()

    device = open_device(town, background=False)
    at_open = event_partitions_read(device)  # the open replays the outbox: that event's partition
    device.staff.board({"status": "submitted"})
    assert event_partitions_read(device) == at_open  # the board's start reads no event
    assert device.staff.index.refolded == 0 and device.staff.index.renewed == 400
    device.staff.board({"q": "路灯"})
    assert device.staff.index.renewed == 0  # nothing written: nothing made again
    iid = device.staff.board({"status": "submitted"})["rows"][0]["id"]
    assert device.staff.act(iid, "accept", {}) == {}
    row = next(r for r in device.staff.board(None)["rows"] if r["id"] == iid)
    assert row["status"] == "accepted" and device.staff.index.renewed == 1  # only that issue
    check_all(device)
    device.close()

    # an event saved while the app was not looking (another tool on the folder)
    store = Store.open(town)
    issue = store.get("issue", iid)
    _r, change = wf.new_event(issue, "assign", {"unit": "town-water", "deadline": china_today().isoformat()},
                              store.clock, "staff", "township_staff", after=store.issue_events(iid))
    store.save(change)
    store.close()
    device = open_device(town, background=False)
    try:
        row = next(r for r in device.staff.board(None)["rows"] if r["id"] == iid)
        assert row["status"] == "assigned" and device.staff.index.refolded == 0
        check_all(device)
    finally:
        device.close()


def test_an_edit_of_an_issue_or_an_event_from_a_pull_is_on_the_board(town: Path) -> None:
    from sync.changes import edit_change

    device = open_device(town, background=False)
    try:
        iid = device.staff.board({"status": "submitted"})["rows"][0]["id"]
        rec = device.store.get("issue", iid)
        device.store.save(edit_change(rec, {"title": "新的标题 路灯"}, device.store.clock, "staff"))
        assert iid in {r["id"] for r in device.staff.board({"q": "新的标题"})["rows"]}
        assert device.staff.index.renewed == 1
        # an event as a pull brings it (no save of ours)
        _r, change = wf.new_event(device.store.get("issue", iid), "accept", {}, device.store.clock,
                                  "staff2", "township_staff", after=device.store.issue_events(iid))
        remote = device.store.merger.apply_change(None, change).record
        device.store.apply_remote([remote], None)
        row = next(r for r in device.staff.board(None)["rows"] if r["id"] == iid)
        assert row["status"] == "accepted"
        check_all(device)
    finally:
        device.close()


def test_the_boards_old_file_of_folds_is_removed(town: Path) -> None:
    (town / OLD_FILE).write_bytes(b'{"format": 3, "issues": {}}')  # what earlier versions kept
    device = open_device(town, background=False)
    try:
        device.staff.board(None)
        assert not (town / OLD_FILE).exists()
        check_all(device)
    finally:
        device.close()


@pytest.mark.parametrize("tail", [5000, 0])  # the writes followed one by one, or every issue looked at
def test_a_deleted_issue_leaves_the_board_and_an_act_keeps_the_order(town: Path, tail: int, monkeypatch) -> None:
    from app.services import staff_index
    from sync.changes import delete_change

    monkeypatch.setattr(staff_index, "TAIL_MAX", tail)

    device = open_device(town, background=False)
    try:
        before = device.staff.board(None)["matched"]
        gone = device.staff.board({"status": "closed"})["rows"][0]["id"]
        device.store.save(delete_change(device.store.get("issue", gone), device.store.clock, "staff"))
        b = device.staff.board(None)
        assert b["matched"] == before - 1 and gone not in {r["id"] for r in b["rows"]}
        iid = device.staff.board({"status": "submitted"})["rows"][-1]["id"]
        assert device.staff.act(iid, "accept", {}) == {}
        check_all(device)  # the order, the counts and every filter after the act
    finally:
        device.close()
