"""The store's views (issue folds, visits per household, the search index) kept incrementally
must equal a full derivation from the records on disk after any sequence of local saves, pulls
(with concurrent edits and conflicts), acks, refusals, server restores, clean restarts and
kills (the process gone without ``close``: the views on disk are then older than the data,
and the journal and the outbox must name everything newer).
"""

from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path

import pytest

from app.store import Store
from app.store.views import Views, search_text
from sync import inbox, merge, workdays
from sync import workflow as wf
from sync.changes import delete_change, edit_change, new_record
from sync.clock import HybridClock
from sync.ids import new_id
from sync.records import ValidationError

GRID = new_id()
WORKER, STAFF = new_id(), new_id()
TYPES = [("accept", {}, "township_staff"), ("assign", {"unit": "u1", "deadline": "2026-12-30"}, "township_staff"),
         ("resolve", {"reply": "修好了"}, "township_staff"), ("recheck", {"solved": True, "satisfied": True}, "grid_worker"),
         ("recheck", {"solved": False, "satisfied": False, "reason": "没修好"}, "grid_worker"),
         ("close", {"outcome": "已办结"}, "township_staff"), ("comment", {"text": "看过"}, "grid_worker"),
         ("supervise", {"level": 2}, "township_staff"), ("claim", {"by": "志愿者"}, "grid_worker"),
         ("report", {}, "grid_worker"), ("reject", {"reason": "不属于受理范围"}, "township_staff"),
         ("return", {"reason": "不属于本单位职责"}, "township_staff")]
# days around the assign's deadline (2026-12-30): quiet, due soon, overdue
DAYS = (date(2026, 12, 1), date(2026, 12, 29), date(2027, 1, 6))


def disk_records(data: Path) -> list[dict]:
    out = []
    for p in sorted((data / "records").glob("*.json")):
        out.extend(json.loads(p.read_bytes())["records"].values())
    return out


def check(store: Store, data: Path) -> set[str]:
    """What the store says from its views == a derivation from every record on disk; returns
    the kinds of notification the inbox gave (so a history can show it exercised them)."""
    recs = disk_records(data)
    ref = Views()
    ref.rebuild(recs)
    issues = [r for r in recs if r["kind"] == "issue"]
    seen: set[str] = set()
    events: dict[str, list[dict]] = {}
    for r in recs:
        if r["kind"] == "issue_event" and not r["fields"].get("_deleted"):
            events.setdefault(r["fields"]["issue"], []).append(r)
    for rec in issues:
        st = wf.fold(rec, events.get(rec["id"], []))
        got = store.issue_state(rec["id"])
        assert got is not None, rec["id"]
        assert (got.state, got.issue_kind, got.flagged, got.redo_count, got.supervised, got.deadline,
                got.claimed_by) == (st.state, st.issue_kind, st.flagged, st.redo_count, st.supervised,
                                    st.deadline, st.claimed_by)
        assert got.reported_at == ref.fold_of(rec["id"]).reported_at
        assert {e["id"] for e in store.issue_events(rec["id"])} == {e["id"] for e in events.get(rec["id"], [])}
        seen |= check_inbox(store, rec, events.get(rec["id"], []))
    assert store.last_visits() == ref.last_visits()
    live = [r for r in recs if r["kind"] == "household" and not r["fields"].get("_deleted")]
    assert store.search_texts() == {r["id"]: search_text(r) for r in live}
    for hid in {r["fields"].get("household") for r in recs if r["kind"] == "visit"}:
        want = {r["id"] for r in recs if r["kind"] == "visit" and r["fields"].get("household") == hid
                and not r["fields"].get("_deleted")}
        assert {r["id"] for r in store.visits_of(hid)} == want
    return seen


def check_inbox(store: Store, rec: dict, events: list[dict]) -> set[str]:
    """The inbox from the kept fold and causes == the inbox from the issue's events folded,
    for the reporter and the staff member, on days that make the deadline quiet, near, past."""
    kept = store.issue_folds()[rec["id"]]
    if rec["fields"].get("_deleted"):
        assert kept.get("deleted")
        return set()
    title, cal = rec["fields"].get("title") or "", workdays.official()
    seen: set[str] = set()
    for user, role in ((WORKER, "grid_worker"), (STAFF, "township_staff"), (STAFF, "county_staff")):
        for day in DAYS:
            want = inbox.newest_first(inbox.issue_notifications(rec, events, user, role, day, cal))
            got = inbox.newest_first(inbox.from_causes(rec["id"], title, kept["st"], kept["ib"], user, role, day, cal))
            assert got == want, (rec["id"], user, role, day)
            seen |= {n.kind for n in got}
    return seen


def issue_fields(rng: random.Random, hid: str) -> dict:
    return {"issue_kind": rng.choice(["problem", "problem", "wish"]), "appeal_type": "help",
            "category": "infra", "title": rng.choice(["路灯坏了", "排水沟堵塞"]), "urgency": "normal",
            "household": hid, "reporter": WORKER, "reporter_visibility": "named"}


@pytest.mark.parametrize("seed", range(10))
def test_views_equal_a_full_derivation_after_random_histories(tmp_path, seed):
    rng = random.Random(seed)
    data = tmp_path / "d"
    store = Store.open(data, node="dev1")
    srv = HybridClock("server", offset_ms=rng.choice([-60_000, 0, 60_000]))
    server: dict[str, dict] = {}  # what the server holds (records), fed by acked changes and staff
    sent: list[dict] = []
    hh: list[str] = []
    seen: set[str] = set()
    try:
        for step in range(70):
            op = rng.random()
            clock = store.clock
            if op < 0.45 or not hh:  # a local save
                what = rng.random()
                issues = [r for r in (store.get("issue", i) for i in server if server[i]["kind"] == "issue") if r]
                issues += [store.get("issue", c["id"]) for c in sent if c["kind"] == "issue" and store.get("issue", c["id"])]
                if what < 0.2 or not hh:
                    rec, ch = new_record("household", GRID, {"village": "v1", "address": f"{step}号",
                                                             "head": rng.choice(["王建国", "李桂兰"])}, clock, WORKER)
                    hh.append(rec["id"])
                elif what < 0.35:
                    cur = store.get("household", rng.choice(hh))
                    if cur is None:
                        continue
                    try:
                        ch = edit_change(cur, {"head": rng.choice(["张三", "赵六", "周明华"]),
                                               "members": [{"name": rng.choice(["孙秀英", "马兰"])}]}, clock, WORKER)
                    except ValidationError:  # nothing differs
                        continue
                elif what < 0.55:
                    ch = new_record("visit", GRID, {"household": rng.choice(hh), "visitor": WORKER,
                                                    "kind": "routine", "time": 1_700_000_000_000 + rng.randrange(10**9)},
                                    clock, WORKER)[1]
                elif what < 0.6:
                    vs = store.visits_of(rng.choice(hh))
                    if not vs:
                        continue
                    ch = delete_change(rng.choice(vs), clock, WORKER)
                elif what < 0.65 and issues:  # the field staff edit too: conflicts when both did
                    try:
                        ch = edit_change(rng.choice(issues), {"title": f"改{step}"}, clock, WORKER)
                    except ValidationError:
                        continue
                elif what < 0.75 or not issues:
                    ch = new_record("issue", GRID, issue_fields(rng, rng.choice(hh)), clock, WORKER)[1]
                else:
                    etype, payload, _ = rng.choice(TYPES)
                    ch = wf.new_event(rng.choice(issues), etype, payload, clock, WORKER, "grid_worker",
                                      after=store.issue_events(rng.choice(issues)["id"]))[1]
                store.save(ch)
                sent.append(ch)
            elif op < 0.6:  # staff on the server: events (some invalid where they land), edits
                iids = [i for i, r in server.items() if r["kind"] == "issue"]
                if iids and rng.random() < 0.7:
                    etype, payload, role = rng.choice(TYPES)
                    rec = wf.new_event(server[rng.choice(iids)], etype, payload, srv, STAFF, role)[0]
                    server[rec["id"]] = rec
                elif iids:  # a concurrent edit: the device may have edited the same field
                    iid = rng.choice(iids)
                    try:
                        ch = edit_change(server[iid], {"title": f"站里改{step}"}, srv, STAFF)
                    except ValidationError:  # deleted there
                        continue
                    server[iid] = merge.apply_change(server[iid], ch).record
            elif op < 0.75 and server:  # a pulled page
                page = rng.sample(list(server.values()), min(len(server), rng.randint(1, 8)))
                store.apply_remote(json.loads(json.dumps(page)), f"c{step}")
            elif op < 0.85:  # the server acknowledges (or refuses) some sent changes
                pend = store.pending_changes(1000)
                for ch in pend[: rng.randint(0, len(pend))]:
                    if rng.random() < 0.1:
                        store.mark_refused(ch["change_id"], "no")
                        continue
                    server[ch["id"]] = merge.apply_change(server.get(ch["id"]), ch).record
                    store.mark_acked([ch["change_id"]])
            elif op < 0.88:
                store.server_restored(f"e{step}")
            elif op < 0.94:  # a clean restart
                store.close()
                store = Store.open(data, node="dev1")
            else:  # killed: no close, the lock goes with the process
                store._dir_lock.release()
                store = Store.open(data, node="dev1")
            seen |= check(store, data)
    finally:
        store.close()
    assert seen, "no history gave a notification: the inbox was not compared"


def test_a_store_written_before_views_is_migrated_at_open(tmp_path):
    """A store of the previous format (no summary.json): the first open derives the views
    from every record and saves them; the next open reads them."""
    data = tmp_path / "d"
    store = Store.open(data, node="dev1")
    rng = random.Random(3)
    clock = store.clock
    hid = store.save(new_record("household", GRID, {"village": "v1", "address": "1号", "head": "王建国"},
                                clock, WORKER)[1])["id"]
    issue = store.save(new_record("issue", GRID, issue_fields(rng, hid), clock, WORKER)[1])
    store.save(wf.new_event(issue, "report", {}, clock, WORKER, "grid_worker")[1])
    store.save(new_record("visit", GRID, {"household": hid, "visitor": WORKER, "kind": "routine",
                                          "time": 1_700_000_000_000}, clock, WORKER)[1])
    store.mark_acked([c["change_id"] for c in store.pending_changes(100)])
    store.close()
    (data / "summary.json").unlink()  # what the store looked like before this version
    (data / "summary.journal").unlink(missing_ok=True)
    store = Store.open(data, node="dev1")
    assert (data / "summary.json").exists()
    assert store.issue_state(issue["id"]).state == "submitted"
    assert store.last_visits() == {hid: 1_700_000_000_000}
    assert "wjg" in store.search_texts()[hid]
    check(store, data)
    store.close()


def problem_reported_here(store: Store, rng: random.Random) -> dict:
    """A household and a problem of it, saved on this device."""
    hid = store.save(new_record("household", GRID, {"village": "v1", "address": "1号", "head": "王建国"},
                                store.clock, WORKER)[1])["id"]
    return store.save(new_record("issue", GRID, issue_fields(rng, hid) | {"issue_kind": "problem"},
                                 store.clock, WORKER)[1])


def test_events_arriving_out_of_order_are_folded_in_their_order(tmp_path):
    """Staff's accept, assign and resolve pulled newest first (pages in any order): the kept
    state is the fold in the events' own order, not in arrival order."""
    data = tmp_path / "d"
    store = Store.open(data, node="dev1")
    issue = problem_reported_here(store, random.Random(1))
    srv = HybridClock("server")
    evs = [wf.new_event(issue, etype, payload, srv, STAFF, "township_staff")[0]
           for etype, payload in [("accept", {}), ("assign", {"unit": "u1", "deadline": "2026-12-30"}),
                                  ("resolve", {"reply": "修好了"})]]
    # a conflicting merge on the way: both sides retitled the issue (the device's edit unacked)
    store.save(edit_change(issue, {"title": "路灯还是不亮"}, store.clock, WORKER))
    theirs = merge.apply_change(issue, edit_change(issue, {"title": "村口路灯"}, srv, STAFF)).record
    store.apply_remote([theirs], "c-edit")
    store.mark_acked([c["change_id"] for c in store.pending_changes(10)])
    assert store.conflicts()
    check(store, data)
    for i, ev in enumerate(reversed(evs)):
        store.apply_remote([ev], f"c{i}")
        check(store, data)
    assert store.issue_state(issue["id"]).state == "resolved"
    store._dir_lock.release()  # killed: the journal brings the views back
    store = Store.open(data, node="dev1")
    assert store.issue_state(issue["id"]).state == "resolved"
    check(store, data)
    store.close()


def test_an_event_replaced_by_an_earlier_version_is_folded_again(tmp_path):
    """An event is immutable, but a differing re-send with an earlier stamp (an import, two
    copies of one bundle made by different builds) replaces it whole (sync.merge): the kept
    fold, the inbox's causes and the ledger's key must follow the record the store holds."""
    data = tmp_path / "d"
    store = Store.open(data, node="dev1")
    issue = problem_reported_here(store, random.Random(2))
    srv = HybridClock("server", offset_ms=60_000)
    assign = wf.new_event(issue, "assign", {"unit": "u1", "deadline": "2026-12-30"}, srv, STAFF, "township_staff")[0]
    store.apply_remote([assign], "c1")
    assert store.issue_state(issue["id"]).deadline == "2026-12-30"
    earlier = json.loads(json.dumps(assign))
    earlier["fields"]["data"] = {"unit": "u2", "deadline": "2026-12-20"}
    earlier["stamps"] = {k: "0000000000001-0000-old" for k in earlier["stamps"]}
    store.apply_remote([earlier], "c2")
    assert store.get("issue_event", assign["id"])["fields"]["data"]["unit"] == "u2"  # the merge kept it
    assert store.issue_state(issue["id"]).deadline == "2026-12-20"
    check(store, data)
    store.close()


def test_version_and_a_new_state_dict_tell_a_reader_of_the_folds_what_changed(tmp_path):
    """The staff board keeps entries made from ``issue_folds()``: ``version`` grows with every
    write (a save, a pull) and never with a read, and an issue's "st" is a new dict exactly
    when its fold changed (an edit of its title leaves it)."""
    data = tmp_path / "d"
    store = Store.open(data, node="dev1")
    issue = problem_reported_here(store, random.Random(2))
    v, st = store.version, store.issue_folds()[issue["id"]]["st"]
    store.all("issue"), store.issue_events(issue["id"]), store.issue_state(issue["id"])
    assert store.version == v  # reads write nothing
    issue = store.save(edit_change(issue, {"title": "路灯不亮了"}, store.clock, WORKER))
    assert store.version > v and store.issue_folds()[issue["id"]]["st"] is st  # the fold is the same
    v = store.version
    ev = wf.new_event(issue, "accept", {}, HybridClock("server"), STAFF, "township_staff")[0]
    store.apply_remote([ev], "c1")  # a pulled event
    kept = store.issue_folds()[issue["id"]]
    assert store.version > v and kept["st"] is not st and kept["st"]["state"] == "accepted"
    store.close()
    store = Store.open(data, node="dev1")
    assert store.issue_folds()[issue["id"]]["st"]["state"] == "accepted"  # kept across the restart
    store.close()


def test_written_since_names_the_latest_writes_or_says_it_cannot(tmp_path, monkeypatch):
    """What a reader that looked at ``version`` v missed: the records written since, in
    order; None once that is further back than the store keeps (then it reads everything)."""
    from app.store import store as store_mod

    monkeypatch.setattr(store_mod, "WRITTEN_MAX", 4)
    store = Store.open(tmp_path / "d", node="dev1")
    v0 = store.version
    ids = [store.save(new_record("household", GRID, {"village": "v1", "address": f"{n}号", "head": "王"},
                                 store.clock, WORKER)[1])["id"] for n in range(2)]
    assert store.written_since(v0) == [("household", i) for i in ids]
    assert store.written_since(store.version) == []
    v = store.version
    for n in range(5):
        store.save(new_record("household", GRID, {"village": "v1", "address": f"x{n}", "head": "李"},
                              store.clock, WORKER)[1])
    assert store.written_since(v0) is None  # too far back: only the latest few are kept
    assert store.written_since(v + 4) == [("household", store.written_since(v + 4)[0][1])]
    assert store.written_since(store.version + 1) is None  # a version it never had
    store.close()


FIXTURE = Path(__file__).parent / "fixtures" / "store_before_views"


def test_a_store_written_by_the_previous_code_opens_with_its_views(tmp_path):
    """``fixtures/store_before_views`` was written by the store before views existed (commit
    2e24240): three households, four visits (one still in the outbox), an issue reported here
    and accepted, assigned and resolved by staff (pulled). Opened now, it is migrated: the
    views are derived, saved, and say what the records say."""
    import shutil

    data = tmp_path / "d"
    shutil.copytree(FIXTURE, data)
    assert not (data / "summary.json").exists()
    store = Store.open(data)
    assert store.node == "dold000000001" and store.outbox_size() == 1 and store.cursor() == "c3"
    assert (data / "summary.json").exists()
    iid = "01a23064-ad32-7117-91c7-17bcd46dc19c"
    assert store.issue_state(iid).state == "resolved"
    assert store.issues_in_state("resolved") == [iid]
    assert len(store.last_visits()) == 3
    assert "wjg" in store.search_texts()["01a23064-ad02-71cd-b4a0-d3865dbc6742"]  # 王建国
    check(store, data)
    store.close()
    store = Store.open(data)  # the next open reads the saved views
    assert store.issue_state(iid).state == "resolved"
    check(store, data)
    store.close()
