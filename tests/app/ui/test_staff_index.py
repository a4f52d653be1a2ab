"""The staff board's kept folds (app/services/staff_index.py) give the board a plain fold of
every issue would give: every filter, the counts, the order; across a restart (the folds read
from staff-board.json) and after changes made while the file was not looking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.device import open_device
from app.services.common import china_today, now_ms, reported_at
from app.services.staff import NEW_STATES, WORKING
from app.services.staff_index import FILE, FORMAT
from app.store import Store
from benchmarks import seed_township
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
    data = tmp_path / "data"
    records = seed_township.build(issues=400, months=6, villages=6, grids_per_village=2, households=200)
    seed_township.write_store(data, records)
    store = Store.open(data)
    issue = next(r for r in store.all("issue") if r["fields"]["issue_kind"] == "problem")
    _r, change = wf.new_event(issue, "claim", {"by": "某人"}, store.clock, "worker", "grid_worker")  # a wish's
    store.save(change)
    store.close()
    return data


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


def test_a_restart_reads_the_kept_folds_and_refolds_only_what_changed(town: Path) -> None:
    device = open_device(town, background=False)
    device.staff.board(None)
    assert device.staff.index.refolded == 400  # no file yet: every issue folded
    device.close()  # writes the kept folds
    assert (town / FILE).exists()

    device = open_device(town, background=False)
    device.staff.board(None)
    assert device.staff.index.refolded == 0  # every fold read from the file
    check_all(device)
    iid = device.staff.board({"status": "submitted"})["rows"][0]["id"]
    assert device.staff.act(iid, "accept", {}) == {}
    row = next(r for r in device.staff.board(None)["rows"] if r["id"] == iid)
    assert row["status"] == "accepted" and device.staff.index.refolded == 1
    device.close()

    # an event saved while the file was not looking (another tool on the folder): refolded
    store = Store.open(town)
    issue = store.get("issue", iid)
    evs = [e for e in store.all("issue_event") if e["fields"]["issue"] == iid]
    _r, change = wf.new_event(issue, "assign", {"unit": "town-water", "deadline": china_today().isoformat()},
                              store.clock, "staff", "township_staff", after=evs)
    store.save(change)
    store.close()
    device = open_device(town, background=False)
    try:
        row = next(r for r in device.staff.board(None)["rows"] if r["id"] == iid)
        assert row["status"] == "assigned" and device.staff.index.refolded == 1
        check_all(device)
    finally:
        device.close()


@pytest.mark.parametrize("content", [b"{not json", b'{"format": 999, "issues": {}}', b'{"format": FORMAT, "issues": []}'.replace(b"FORMAT", str(FORMAT).encode())])
def test_an_unreadable_or_foreign_file_only_costs_a_fold(town: Path, content: bytes) -> None:
    device = open_device(town, background=False)
    device.staff.board(None)
    device.close()
    (town / FILE).write_bytes(content)
    device = open_device(town, background=False)
    try:
        device.staff.board(None)
        assert device.staff.index.refolded == 400
        check_all(device)
    finally:
        device.close()
    assert json.loads((town / FILE).read_bytes())["format"] == FORMAT  # written again at close


def test_a_deleted_issue_leaves_the_board_and_an_act_keeps_the_order(town: Path) -> None:
    from sync.changes import delete_change

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
