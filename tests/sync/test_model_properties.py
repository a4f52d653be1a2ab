"""Property tests (hypothesis) for the merge and the workflow fold.

What is proved here, on the record state (fields + stamps + bases):
- merge_records is commutative, associative and idempotent;
- any permutation or duplication of the same changes converges to one record state
  (plain kinds and immutable kinds);
- fold gives the same workflow state for any delivery order and duplication of events, and
  keeps its invariants (every event in the timeline once; invalid events change nothing;
  only permitted roles' events count; 重办 counted once per failed re-check).

And what the conflict log guarantees (the log is the union of MergeResult.conflicts, a set
keyed by (record id, field, lost_stamp)):
- merge_records(a, b) and merge_records(b, a) report the same keys;
- two edits of a field made from the same base by authors who had not seen each other:
  the lower-stamped one is logged, whichever arrives first, with any duplication and any
  unrelated edits interleaved; nothing else is logged;
- in any history of devices editing one field and syncing with each other, every value that
  no other author took into account (the head of its line of edits) and that does not end up
  in the field is logged, whatever the order in which the changes reach the server (except
  a value that lost to a newer one equal to it: nothing was lost at that moment);
- an edit stamped after a delete is logged (reason "deleted") in every order; one stamped
  before the delete is not;
- applying a change a second time right away logs nothing new;
- a value logged as lost to a concurrent edit is never the value the field ends up with.
"""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.changes import edit_change, new_record
from sync.clock import HybridClock, make_stamp
from sync.ids import new_id
from sync.merge import apply_change, merge_records
from sync.workflow import fold, may_emit

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RID = new_id()
T0 = 1_790_000_000_000
NODES = ("a", "b", "c")
FIELD_VALUES = {
    "head": st.sampled_from(["甲", "乙", "丙"]),
    "phone": st.sampled_from(["13800000001", "13800000002"]),
    "note": st.sampled_from(["", "x", "y"]),
    "members": st.sampled_from([[], [{"name": "甲"}], [{"name": "乙"}]]),
    "_deleted": st.booleans(),
}

stamps = st.builds(make_stamp, st.integers(T0, T0 + 20), st.integers(0, 3), st.sampled_from(NODES))
maybe_stamps = st.none() | stamps


@st.composite
def changes(draw, kind="household"):
    names = draw(st.lists(st.sampled_from(sorted(FIELD_VALUES)), min_size=1, max_size=3, unique=True))
    stamp = draw(stamps)  # one stamp per change, as the builders make them
    fields = {n: draw(FIELD_VALUES[n]) for n in names}
    # A base is a stamp the author had seen, so it sorts before the change's own stamp.
    bases = {n: draw(maybe_stamps) for n in names}
    bases = {n: (b if b is not None and b < stamp else None) for n, b in bases.items()}
    change = {
        "change_id": new_id(), "id": RID, "kind": kind, "grid": "g1", "fields": fields,
        "stamps": dict.fromkeys(names, stamp), "bases": bases, "actor": "u", "node": stamp.rsplit("-", 1)[1],
    }  # fmt: skip
    seen = {n: {s.rsplit("-", 1)[1]: s} for n in names if (s := draw(maybe_stamps)) is not None and s < stamp}
    if seen:
        change["seen"] = seen
    return change


def build(chs):
    record = None
    for ch in chs:
        record = apply_change(record, ch).record
    return record


states = st.lists(changes(), min_size=1, max_size=5).map(build)


@st.composite
def photo_changes(draw):
    stamp = draw(stamps)
    fields = {"sha256": "e" * 64, "size": draw(st.integers(1, 3)), "width": 1, "height": 1,
              "attached_to": {"kind": "issue", "id": RID}}  # fmt: skip
    return {
        "change_id": new_id(), "id": RID, "kind": "photo", "grid": "g1", "fields": fields,
        "stamps": dict.fromkeys(fields, stamp), "actor": "u", "node": "n",
    }  # fmt: skip


photo_states = st.lists(photo_changes(), min_size=1, max_size=3).map(build)


def keys(result):
    return {c.key for c in result.conflicts}


@SETTINGS
@given(states, states)
def test_merge_is_commutative(a, b):
    ab, ba = merge_records(a, b), merge_records(b, a)
    assert ab.record == ba.record
    assert keys(ab) == keys(ba)


@SETTINGS
@given(states, states, states)
def test_merge_is_associative(a, b, c):
    left = merge_records(merge_records(a, b).record, c).record
    right = merge_records(a, merge_records(b, c).record).record
    assert left == right


@settings(SETTINGS, max_examples=100)
@given(photo_states, photo_states, photo_states)
def test_immutable_merge_is_commutative_associative_idempotent(a, b, c):
    assert merge_records(a, b).record == merge_records(b, a).record
    assert keys(merge_records(a, b)) == keys(merge_records(b, a))
    left = merge_records(merge_records(a, b).record, c).record
    assert left == merge_records(a, merge_records(b, c).record).record
    assert merge_records(a, a).record == a and merge_records(a, a).conflicts == []


@SETTINGS
@given(states, states)
def test_merge_is_idempotent(a, b):
    same = merge_records(a, a)
    assert same.record == a and same.conflicts == [] and same.changed == set()
    ab = merge_records(a, b).record
    again = merge_records(ab, b)
    assert again.record == ab and again.changed == set()


@st.composite
def deliveries(draw, items):
    """A permutation of items with some of them delivered again."""
    order = draw(st.permutations(items))
    extra = draw(st.lists(st.sampled_from(items), max_size=4)) if items else []
    out = list(order)
    for item in extra:
        out.insert(draw(st.integers(0, len(out))), item)
    return out


@SETTINGS
@given(st.data())
def test_any_order_and_duplication_of_changes_converges(data):
    chs = data.draw(st.lists(changes(), min_size=1, max_size=8))
    expected = build(chs)
    assert build(data.draw(deliveries(chs))) == expected
    for ch in chs:  # a re-applied change logs nothing new
        first = apply_change(expected, ch)
        assert keys(apply_change(first.record, ch)) <= keys(first)


@SETTINGS
@given(st.data())
def test_immutable_versions_converge_to_the_earliest(data):
    versions = []
    for _ in range(data.draw(st.integers(1, 4))):
        stamp = data.draw(stamps)
        size = data.draw(st.integers(1, 3))
        fields = {"sha256": "e" * 64, "size": size, "width": 1, "height": 1, "attached_to": {"kind": "issue", "id": RID}}
        versions.append({
            "change_id": new_id(), "id": RID, "kind": "photo", "grid": "g1", "fields": fields,
            "stamps": dict.fromkeys(fields, stamp), "actor": "u", "node": "n",
        })  # fmt: skip
    result = build(data.draw(deliveries(versions)))
    assert result == build(versions)
    earliest = min(v["stamps"]["size"] for v in versions)
    assert result["stamps"]["size"] == earliest


@SETTINGS
@given(st.data())
def test_logged_losers_are_never_the_final_value(data):
    chs = data.draw(st.lists(changes(), min_size=1, max_size=8))
    record, log = None, {}
    for ch in data.draw(deliveries(chs)):
        result = apply_change(record, ch)
        record = result.record
        log.update({c.key: c for c in result.conflicts})
    for c in log.values():
        if c.reason == "concurrent":
            assert c.lost_stamp < record["stamps"][c.field] or (
                c.lost_stamp == record["stamps"][c.field] and c.lost_value != record["fields"][c.field]
            )


walls = st.floats(1_700_000_000, 1_900_000_000, allow_nan=False)  # phones years apart


@SETTINGS
@given(st.data(), walls, walls, walls, st.sampled_from(["13800000001", "13800000002"]), st.sampled_from(["13800000001", "13900000009"]))
def test_concurrent_edits_log_the_loser_in_every_order(data, w0, wa, wb, va, vb):
    base, create = new_record("household", "g1", {"village": "v", "address": "1号", "head": "甲", "phone": "13800000000"}, HybridClock("o", wall=lambda: w0), "u")
    ea = edit_change(base, {"phone": va}, HybridClock("a", wall=lambda: wa), "ua")
    eb = edit_change(base, {"phone": vb, "head": "乙"}, HybridClock("b", wall=lambda: wb), "ub")
    noise = edit_change(base, {"note": "n"}, HybridClock("c", wall=lambda: wb), "uc")
    record, log = None, set()
    for ch in data.draw(deliveries([create, ea, eb, noise])):
        result = apply_change(record, ch)
        record = result.record
        log |= keys(result)
    win, lose = (ea, eb) if ea["stamps"]["phone"] > eb["stamps"]["phone"] else (eb, ea)
    assert record["fields"]["phone"] == win["fields"]["phone"]
    assert log == ({(base["id"], "phone", lose["stamps"]["phone"])} if va != vb else set())


@SETTINGS
@given(st.data(), walls, walls)
def test_edits_after_a_delete_are_logged_in_every_order(data, wa, wb):
    base, create = new_record("household", "g1", {"village": "v", "address": "1号", "head": "甲"}, HybridClock("o", wall=lambda: 1_700_000_000), "u")
    delete = edit_change(base, {"_deleted": True}, HybridClock("a", wall=lambda: wa), "ua")
    edit = edit_change(base, {"note": "还住着人"}, HybridClock("b", wall=lambda: wb), "ub")
    record, log = None, {}
    for ch in data.draw(deliveries([create, delete, edit])):
        result = apply_change(record, ch)
        record = result.record
        log.update({c.key: c for c in result.conflicts})
    assert record["fields"]["_deleted"] is True
    after = edit["stamps"]["note"] > delete["stamps"]["_deleted"]
    assert set(log) == ({(base["id"], "note", edit["stamps"]["note"])} if after else set())
    assert all(c.reason == "deleted" for c in log.values())


# ---- workflow --------------------------------------------------------------------------------

ISSUE = {"id": RID, "kind": "issue", "grid": "g1", "fields": {"issue_kind": "problem", "title": "t", "reporter": "u"}}
WISH = {**ISSUE, "fields": {**ISSUE["fields"], "issue_kind": "wish"}}
EVENT_DATA = {
    "report": {}, "accept": {}, "reject": {"reason": "r"}, "assign": {"unit": "u1", "deadline": "2026-12-01"},
    "return": {"reason": "r"}, "extend": {"deadline": "2026-12-09", "reason": "r"}, "supervise": {"level": 2},
    "progress": {"note": "n"}, "resolve": {"reply": "ok"}, "recheck": {"solved": False, "satisfied": False},
    "close": {"outcome": "o"}, "reopen": {}, "comment": {"text": "c"},
    "publish": {"public_title": "p", "public_text": "q"}, "unpublish": {}, "claim": {"by": "x"},
    "fulfil": {"note": "n"}, "feedback": {"text": "t", "satisfied": True},
}  # fmt: skip


@st.composite
def events(draw):
    etype = draw(st.sampled_from(sorted(EVENT_DATA)))
    data = dict(EVENT_DATA[etype])
    if etype == "recheck":
        data["solved"] = draw(st.booleans())
    stamp = draw(stamps)
    fields = {
        "issue": RID, "type": etype, "actor": "u", "at": draw(st.integers(T0 - 5000, T0 + 5000)),
        "role": draw(st.sampled_from(["township_staff", "township_staff", "grid_worker", "operator"])), "data": data,
    }  # fmt: skip
    return {"id": new_id(), "kind": "issue_event", "grid": "g1", "fields": fields, "stamps": dict.fromkeys(fields, stamp)}


@SETTINGS
@given(st.data(), st.sampled_from([ISSUE, WISH]))
def test_fold_is_the_same_for_any_delivery_order(data, issue):
    evs = data.draw(st.lists(events(), min_size=1, max_size=12))
    if data.draw(st.booleans()):  # a differing re-send under an existing id
        twin = dict(evs[0], fields={**evs[0]["fields"], "data": {"text": "other"}, "type": "comment"})
        evs.append(twin)
    expected = fold(issue, evs)
    got = fold(issue, data.draw(deliveries(evs)))
    assert got == expected
    assert len(got.timeline) == len({e["id"] for e in evs})  # nothing dropped, nothing doubled
    # invariants of the fold
    first = "collected" if issue is WISH else "submitted"
    assert got.state == (got.timeline[-1].state if got.timeline else first)
    valid = [e for e in got.timeline if e.valid]
    assert all(may_emit(e.event["fields"]["role"], e.type) for e in valid)
    assert got.redo_count == sum(1 for e in valid if e.type == "recheck" and not e.event["fields"]["data"]["solved"])
    switches = [e.type for e in valid if e.type in ("publish", "unpublish")]
    assert got.published == (bool(switches) and switches[-1] == "publish")
    assert got.flagged == (len(valid) < len(got.timeline))
    before = first
    for entry in got.timeline:  # an invalid event never changes the state
        if not entry.valid:
            assert entry.state == before
        before = entry.state


@st.composite
def histories(draw):
    """Devices edit one field and sync pairwise; returns (create, changes, true heads)."""
    n = draw(st.integers(2, 3))
    walls_ = draw(st.lists(st.integers(0, 50), min_size=n, max_size=n))
    clocks = [HybridClock(f"d{i}", wall=lambda w=w: 1_790_000_000 + w) for i, w in enumerate(walls_)]
    base, create = new_record("household", "g1", {"village": "v", "address": "1号", "head": "甲"}, HybridClock("srv", wall=lambda: 1_700_000_000), "u")
    replicas = [base] * n
    knows = [set() for _ in range(n)]  # change ids each device has taken into account
    made, past = [], {}
    for _ in range(draw(st.integers(1, 8))):
        if draw(st.booleans()):
            i = draw(st.integers(0, n - 1))
            value = draw(st.sampled_from(["乙", "丙", "丁", "戊"]))
            if replicas[i]["fields"]["head"] == value:
                continue
            ch = edit_change(replicas[i], {"head": value}, clocks[i], "u")
            past[ch["change_id"]] = set(knows[i])
            made.append(ch)
            knows[i].add(ch["change_id"])
            replicas[i] = apply_change(replicas[i], ch).record
        else:
            i, j = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
            replicas[j] = merge_records(replicas[j], replicas[i]).record
            knows[j] |= knows[i]
    seen_by_someone = set().union(*past.values()) if past else set()
    heads = [ch for ch in made if ch["change_id"] not in seen_by_someone]
    # A head that a newer change with the same value beat lost nothing at that moment and is
    # not logged then (documented); leave those out.
    heads = [
        h for h in heads
        if not any(x["fields"] == h["fields"] and x["stamps"]["head"] > h["stamps"]["head"] for x in made)
    ]  # fmt: skip
    return create, made, heads


@SETTINGS
@given(st.data())
def test_every_unseen_line_of_edits_that_loses_is_logged(data):
    create, made, heads = data.draw(histories())
    record, log = None, set()
    for ch in data.draw(deliveries([create, *made])):
        result = apply_change(record, ch)
        record = result.record
        log |= keys(result)
    final = record["stamps"]["head"]
    for head in heads:
        stamp = head["stamps"]["head"]
        if stamp != final and head["fields"]["head"] != record["fields"]["head"]:
            assert (create["id"], "head", stamp) in log
