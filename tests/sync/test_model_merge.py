"""Per-field merge, conflict detection, sticky delete and immutable kinds (sync.merge)."""

import pytest

from sync.changes import edit_change, new_record
from sync.clock import HybridClock
from sync.ids import new_id
from sync.merge import (
    Conflict,
    MergeError,
    apply_change,
    conflict_label,
    knowledge,
    merge_records,
    record_from_change,
)


def clk(node, wall=1_800_000_000.0):
    return HybridClock(node, wall=lambda: wall)


def household(c, **over):
    fields = {"village": "v-1", "address": "东村3组12号", "head": "王秀兰", "phone": "13812345678", **over}
    return new_record("household", "g1", fields, c, "u1")


def keys(conflicts):
    return {c.key for c in conflicts}


def test_new_record_from_its_change():
    record, change = household(clk("a"))
    result = apply_change(None, change)
    assert result.record == record
    assert result.changed == set(record["fields"]) and result.conflicts == []


def test_highest_stamp_wins_in_either_order_and_bases_are_kept():
    a, b = clk("a"), clk("b", wall=1_800_000_100.0)
    record, _ = household(a)
    early = edit_change(record, {"phone": "13900000001"}, a, "u1")
    late = edit_change(record, {"phone": "13900000002"}, b, "u2")
    one = apply_change(apply_change(record, early).record, late)
    two = apply_change(apply_change(record, late).record, early)
    assert one.record == two.record
    assert one.record["fields"]["phone"] == "13900000002"
    assert one.record["bases"]["phone"] == record["stamps"]["phone"]
    assert one.changed == {"phone"} and two.changed == set()


def test_concurrent_edits_log_the_loser_whichever_arrives_first():
    a, b = clk("a"), clk("b", wall=1_800_000_100.0)
    record, _ = household(a)
    ea = edit_change(record, {"phone": "13900000001"}, a, "u1")
    eb = edit_change(record, {"phone": "13900000002"}, b, "u2")
    first = apply_change(apply_change(record, ea).record, eb).conflicts
    second = apply_change(apply_change(record, eb).record, ea).conflicts
    assert keys(first) == keys(second) == {(record["id"], "phone", ea["stamps"]["phone"])}
    (c,) = first
    assert (c.kept_value, c.lost_value, c.lost_node, c.reason) == ("13900000002", "13900000001", "a", "concurrent")
    assert c.kept_stamp == eb["stamps"]["phone"]
    assert conflict_label(c) == "多人同时修改，保留了较新的值"
    assert Conflict.from_dict(c.to_dict()) == c


def test_an_edit_that_saw_the_other_is_no_conflict():
    a, b = clk("a"), clk("b")
    record, _ = household(a)
    first = apply_change(record, edit_change(record, {"phone": "13900000001"}, a, "u1")).record
    second = edit_change(first, {"phone": "13900000002"}, b, "u2")  # b pulled first's edit
    assert apply_change(first, second).conflicts == []


def test_same_value_and_other_fields_are_not_conflicts():
    a, b = clk("a"), clk("b")
    record, _ = household(a)
    ea = edit_change(record, {"phone": "13900000001", "note": "甲"}, a, "u1")
    eb = edit_change(record, {"phone": "13900000001", "head": "王二"}, b, "u2")
    result = apply_change(apply_change(record, ea).record, eb)
    assert result.conflicts == []
    assert result.record["fields"] == {**record["fields"], "phone": "13900000001", "note": "甲", "head": "王二"}


def test_concurrent_creates_without_bases_conflict():
    rid = new_id()
    _, ca = new_record("household", "g1", {"village": "v", "address": "1号", "head": "甲"}, clk("a"), "u1", record_id=rid)
    _, cb = new_record("household", "g1", {"village": "v", "address": "1号", "head": "乙"}, clk("b"), "u2", record_id=rid)
    ca.pop("bases")  # "a record built from a change without bases" treats base as ""
    x = apply_change(apply_change(None, ca).record, cb)
    y = apply_change(apply_change(None, cb).record, ca)
    assert x.record == y.record and x.record["fields"]["head"] == "乙"
    assert keys(x.conflicts) == keys(y.conflicts) == {(rid, "head", ca["stamps"]["head"])}


def test_delete_is_sticky_and_later_edits_are_logged():
    a, b = clk("a"), clk("b", wall=1_800_000_500.0)
    record, _ = household(a)
    delete = edit_change(record, {"_deleted": True}, a, "u1")
    edit = edit_change(record, {"phone": "13900000009"}, b, "u2")  # made later, offline, unaware
    one = apply_change(apply_change(record, delete).record, edit)
    two = apply_change(apply_change(record, edit).record, delete)
    assert one.record == two.record and one.record["fields"]["_deleted"] is True
    expected = {(record["id"], "phone", edit["stamps"]["phone"])}
    assert keys(one.conflicts) == keys(two.conflicts) == expected
    assert one.conflicts[0].reason == "deleted" and one.conflicts[0].kept_stamp == delete["stamps"]["_deleted"]
    # re-merging does not report the same edit again
    assert apply_change(one.record, edit).conflicts == []
    # an explicit undelete never resurrects; it is logged
    undelete = {**edit, "change_id": new_id(), "fields": {"_deleted": False}, "stamps": {"_deleted": b.now()}, "bases": {"_deleted": None}}
    back = apply_change(one.record, undelete)
    assert back.record["fields"]["_deleted"] is True
    assert [(c.field, c.reason, c.lost_value) for c in back.conflicts] == [("_deleted", "deleted", False)]


def test_earliest_of_two_deletes_is_kept():
    a, b = clk("a"), clk("b", wall=1_800_000_500.0)
    record, _ = household(a)
    d1 = edit_change(record, {"_deleted": True}, a, "u1")
    d2 = edit_change(record, {"_deleted": True}, b, "u2")
    one = apply_change(apply_change(record, d2).record, d1)
    two = apply_change(apply_change(record, d1).record, d2)
    assert one.record == two.record and one.record["stamps"]["_deleted"] == d1["stamps"]["_deleted"]
    assert one.conflicts == two.conflicts == []


def _photo(c, rid=None, size=1000):
    fields = {"sha256": "b" * 64, "size": size, "width": 10, "height": 10, "attached_to": {"kind": "issue", "id": new_id()}}
    return new_record("photo", "g1", fields, c, "u1", record_id=rid)


def test_immutable_identical_resend_is_a_noop():
    record, change = _photo(clk("a"))
    again = apply_change(record, change)
    assert again.record == record and again.conflicts == [] and again.changed == set()


def test_immutable_differing_resend_keeps_the_first_and_reports():
    rid = new_id()
    first, c1 = _photo(clk("a"), rid, size=1000)
    _, c2 = _photo(clk("a", wall=1_800_000_900.0), rid, size=2000)
    c2["fields"]["attached_to"] = c1["fields"]["attached_to"]
    one = apply_change(first, c2)
    two = apply_change(apply_change(None, c2).record, c1)
    assert one.record == two.record == first
    assert [(c.field, c.kept_value, c.lost_value, c.reason) for c in one.conflicts] == [("size", 1000, 2000, "immutable")]
    assert keys(one.conflicts) == keys(two.conflicts)
    assert one.changed == set() and two.changed == {"size"}


def test_mismatched_records_and_unstamped_fields_are_refused():
    a = clk("a")
    r1, _ = household(a)
    r2, _ = household(a)
    with pytest.raises(MergeError):
        merge_records(r1, r2)
    with pytest.raises(MergeError):
        merge_records(r1, {**r1, "grid": "g2"})
    bad = edit_change(r1, {"note": "x"}, a, "u1")
    bad["stamps"] = {}
    with pytest.raises(MergeError):
        record_from_change(bad)
    with pytest.raises(MergeError):
        merge_records(None, None)


def test_merge_with_missing_side_and_idempotence():
    record, _ = household(clk("a"))
    assert merge_records(record, None).record == record and merge_records(record, None).changed == set()
    assert merge_records(None, record).changed == set(record["fields"])
    same = merge_records(record, record)
    assert same.record == record and same.conflicts == [] and same.changed == set()


def test_result_does_not_alias_inputs():
    a = clk("a")
    record, _ = household(a, members=[{"name": "甲"}])
    change = edit_change(record, {"note": "x"}, a, "u1")
    result = apply_change(record, change)
    result.record["fields"]["members"].append({"name": "乙"})
    assert record["fields"]["members"] == [{"name": "甲"}]


def test_a_late_edit_is_logged_even_after_the_winner_was_edited_again():
    # Hub topology: the phone edits offline; the staff PC edits the same field twice while
    # online; the phone syncs last. The phone's edit lost to values whose authors never saw
    # it, so it must be logged, although the PC's second edit has a base newer than it.
    o = clk("server", wall=1_800_000_000.0)
    phone, pc = clk("phone", wall=1_800_000_100.0), clk("pc", wall=1_800_000_200.0)
    record, _ = household(o)
    late = edit_change(record, {"phone": "13900000001"}, phone, "u1")
    first = edit_change(record, {"phone": "13900000002"}, pc, "u2")
    after_first = apply_change(record, first).record
    second = edit_change(after_first, {"phone": "13900000003"}, pc, "u2")
    server = apply_change(after_first, second)
    assert server.conflicts == []
    result = apply_change(server.record, late)
    assert keys(result.conflicts) == {(record["id"], "phone", late["stamps"]["phone"])}
    assert result.record["fields"]["phone"] == "13900000003"


def test_a_chain_of_devices_that_saw_each_other_is_no_conflict():
    a, b, c = clk("a"), clk("b", wall=1_800_000_100.0), clk("c", wall=1_800_000_200.0)
    record, _ = household(a)
    e1 = edit_change(record, {"phone": "13900000001"}, a, "u1")
    r1 = apply_change(record, e1).record
    e2 = edit_change(r1, {"phone": "13900000002"}, b, "u2")  # b saw a's edit
    r2 = apply_change(r1, e2).record
    e3 = edit_change(r2, {"phone": "13900000003"}, c, "u3")  # c saw b's (and so a's)
    assert e3["seen"] == {"phone": {"a": e1["stamps"]["phone"]}}
    r3 = apply_change(r2, e3).record
    # a's old edit delivered again (say a retried after a lost response) is no conflict
    assert apply_change(r3, e1).conflicts == []
    assert apply_change(r3, e2).conflicts == []
    assert r3["seen"] == {"phone": {"a": e1["stamps"]["phone"]}}


def test_knowledge_keeps_one_stamp_per_other_device():
    record = {
        "stamps": {"f": "0000000000300-0000-b"},
        "bases": {"f": "0000000000200-0000-a"},
        "seen": {"f": {"a": "0000000000100-0000-a", "c": "0000000000150-0000-c", "me": "0000000000050-0000-me"}},
    }
    # base's device a: the newer of seen and base; b (the base of the new change) and the
    # author's own device are covered by the change's own base and stamp.
    assert knowledge(record, "f", "me") == {"a": "0000000000200-0000-a", "c": "0000000000150-0000-c"}
    assert knowledge(record, "g", "me") == {}
