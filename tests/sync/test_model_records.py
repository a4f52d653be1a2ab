"""Validation messages, field specs and the record/change builders of sync.records."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync import i18n
from sync.changes import delete_change, edit_change, new_record
from sync.clock import HybridClock, Stamp
from sync.ids import is_id, new_id
from sync.records import (
    CARE_TAGS,
    FIELDS,
    KINDS,
    RECORD_KINDS,
    REFERENCE_KINDS,
    ValidationError,
    check_record,
    event_data_errors,
    validate_change,
    validate_record,
)

SHA = "a" * 64


def household(**over):
    fields = {"village": "v-1", "address": "东村3组12号", "head": "王秀兰", "phone": "13812345678"}
    fields.update(over)
    return fields


def codes(errors):
    return {(e.field, e.code) for e in errors}


def clock(node="devA", wall=1_800_000_000.0):
    return HybridClock(node, wall=lambda: wall)


def test_kind_constants():
    assert RECORD_KINDS == ("household", "visit", "issue", "issue_event", "photo", "voice", "member", "pairing",
                            "meeting", "claimant")  # the people of the grid: docs/people.md
    assert set(REFERENCE_KINDS) == {"village", "grid", "category", "unit", "user", "holiday",
                                    "county", "township", "source", "appeal"}
    assert KINDS == RECORD_KINDS + REFERENCE_KINDS
    assert set(FIELDS) == set(KINDS)


def test_a_holiday_record_needs_a_real_date():
    assert validate_record("holiday", {"date": "2026-11-20", "working": False, "name": "县庆"}) == []
    assert [e.field for e in validate_record("holiday", {"name": "县庆"})] == ["date"]
    assert [e.field for e in validate_record("holiday", {"date": "2026-02-30"})] == ["date"]
    assert len(CARE_TAGS) == 12 and "其他" in CARE_TAGS


def test_valid_household_has_no_errors():
    full = household(
        member_count=3,
        members=[{"name": "王秀兰", "relation": "户主", "birth_year": 1948}, {"name": "李明"}],
        care_tags=["独居老人", "党员户"],
        location={"lat": 30.1, "lon": 120.2},
        note="腿脚不便",
    )
    assert validate_record("household", full) == []


def test_required_message_says_what_to_fill_in():
    errors = validate_record("household", household(head="  "))
    assert [(e.field, e.code, e.message) for e in errors] == [("head", "required", "请填写户主姓名")]


@pytest.mark.parametrize("phone", ["13812345678", "+86 138 1234 5678", "0571-88886666", "010-12345678", "(0571)88886666"])
def test_phone_accepts_mobile_and_landline(phone):
    assert validate_record("household", household(phone=phone)) == []


@pytest.mark.parametrize("phone", ["12345", "23812345678", "1381234567", "电话", "571-88886666"])
def test_phone_rejected_with_clear_message(phone):
    (err,) = validate_record("household", household(phone=phone))
    assert err.code == "bad_phone"
    assert err.message.startswith("电话号码应为11位手机号或带区号的座机号")


def test_unknown_field_and_kind():
    (err,) = validate_record("household", household(colour="red"))
    assert (err.field, err.code) == ("colour", "unknown_field")
    assert "colour" in err.message and "户主姓名" in err.message
    (err,) = validate_record("tractor", {})
    assert err.code == "unknown_kind" and "tractor" in err.message and "住户" in err.message
    (err,) = validate_record("household", ["not", "a", "dict"])
    assert err.code == "fields_not_object"


def test_too_long_says_the_limit():
    (err,) = validate_record("household", household(address="号" * 101))
    assert err.code == "too_long"
    assert "100" in err.message and "101" in err.message and "门牌地址" in err.message


@pytest.mark.parametrize(
    "over, field, code",
    [
        ({"member_count": "3"}, "member_count", "not_int"),
        ({"member_count": True}, "member_count", "not_int"),
        ({"member_count": 120}, "member_count", "out_of_range"),
        ({"head": 12}, "head", "not_text"),
        ({"members": "王秀兰"}, "members", "not_list"),
        ({"care_tags": ["富户"]}, "care_tags", "bad_choice"),
        ({"care_tags": ["党员户", "党员户"]}, "care_tags", "duplicate_item"),
        ({"location": {"lat": 95, "lon": 10}}, "location", "bad_location"),
        ({"location": {"lat": 30}}, "location", "bad_location"),
        ({"village": "村 1"}, "village", "bad_ref"),
        ({"_deleted": "yes"}, "_deleted", "not_bool"),
    ],
)
def test_each_wrong_value_has_its_own_code(over, field, code):
    errors = validate_record("household", household(**over))
    assert codes(errors) == {(field, code)}
    assert all(not e.message.startswith("model.") for e in errors)


def test_nested_member_errors_name_the_item():
    errors = validate_record("household", household(members=[{"name": "甲"}, {"birth_year": 1800, "x": 1}]))
    assert codes(errors) == {
        ("members[1].x", "unknown_field"),
        ("members[1].name", "required"),
        ("members[1].birth_year", "out_of_range"),
    }
    messages = {e.field: e.message for e in errors}
    assert messages["members[1].name"] == "家庭成员第2项：请填写姓名"
    assert messages["members[1].birth_year"] == "家庭成员第2项：出生年份应在1900到2100之间"


def test_visit_ids_times_and_photos():
    good = {
        "household": new_id(), "visitor": "u-7", "time": "2026-11-24T09:30:00+08:00", "kind": "care",
        "photos": [SHA], "demands": [new_id()], "next_due": "2026-12-24",
    }  # fmt: skip
    assert validate_record("visit", good) == []
    assert validate_record("visit", {**good, "time": 1_790_000_000_000}) == []
    bad = {**good, "household": "abc", "time": "昨天", "photos": ["xyz"], "kind": "party", "next_due": "12/24"}
    assert codes(validate_record("visit", bad)) == {
        ("household", "bad_id"), ("time", "bad_time"), ("photos", "bad_sha256"),
        ("kind", "bad_choice"), ("next_due", "bad_date"),
    }  # fmt: skip
    (err,) = validate_record("visit", {**good, "kind": "party"})
    assert "例行走访" in err.message and "回头看" in err.message
    # an upper-case or version-4 UUID is not one of our ids
    assert codes(validate_record("visit", {**good, "household": good["household"].upper()})) == {("household", "bad_id")}
    assert codes(validate_record("visit", {**good, "household": "123e4567-e89b-42d3-a456-426614174000"})) == {
        ("household", "bad_id")
    }


def test_partial_checks_only_given_fields():
    assert validate_record("household", {"phone": "13900000000"}, partial=True) == []
    assert codes(validate_record("household", {"head": ""}, partial=True)) == {("head", "required")}
    assert codes(validate_record("household", {"phone": "1"}, partial=True)) == {("phone", "bad_phone")}


def test_issue_event_payload_checked_per_type():
    base = {"issue": new_id(), "type": "assign", "actor": "u1", "role": "township_staff", "at": "2026-11-24T10:00:00"}
    assert validate_record("issue_event", {**base, "data": {"unit": "water", "deadline": "2026-12-01"}}) == []
    errors = validate_record("issue_event", {**base, "data": {"unit": "water"}})
    assert [(e.field, e.message) for e in errors] == [("data.deadline", "请填写办理期限")]
    errors = validate_record("issue_event", {**base, "type": "recheck", "data": {"solved": "yes", "satisfied": True}})
    assert codes(errors) == {("data.solved", "not_bool")}
    assert codes(validate_record("issue_event", {**base, "type": "dance", "data": {}})) == {("type", "bad_choice")}


@pytest.mark.parametrize(("data", "code"), [
    ({"text": "跟" * 1000}, None),  # 3,000 bytes: small payloads skip serializing, still valid
    ({"text": "跟" * 3000}, "data_too_big"),  # 9,000 bytes of UTF-8 (the bound counts characters)
    ({"text": "\x01" * 1500}, "data_too_big"),  # escaped, 6 bytes a character
    ({"text": "\ud800"}, "not_object"),  # a lone surrogate is not JSON text
    ({"text": "ok", "n": 10**5000}, "not_object"),  # past Python's int digit limit
    ({"text": "ok", "more": ["跟" * 3000]}, "data_too_big"),  # nested: serialized to measure
])
def test_event_payload_size_checked_without_serializing_small_ones(data, code):
    errs = event_data_errors("comment", data)
    assert {e.code for e in errs if e.field == "data"} == ({code} if code else set())


def test_photo_record():
    good = {"sha256": SHA, "size": 1000, "width": 1600, "height": 1200, "attached_to": {"kind": "visit", "id": new_id()}}
    assert validate_record("photo", good) == []
    bad = {**good, "sha256": SHA.upper(), "attached_to": {"kind": "tree", "id": "x"}}
    assert codes(validate_record("photo", bad)) == {
        ("sha256", "bad_sha256"), ("attached_to.kind", "bad_choice"), ("attached_to.id", "bad_id")
    }


def test_reference_kinds_validated_lightly():
    assert validate_record("user", {"name": "李干部", "role": "township_staff"}) == []
    assert codes(validate_record("user", {"name": "李干部", "role": "boss"})) == {("role", "bad_choice")}
    assert codes(validate_record("unit", {})) == {("name", "required")}


def test_messages_in_english_when_asked():
    i18n.set_language("en")
    try:
        (err,) = validate_record("household", household(head=""))
        assert err.message == "Please fill in head of household"
        (err,) = validate_record("issue", {"issue_kind": "idea", "title": "t", "reporter": "u"})
        assert err.message == 'issue kind cannot be "idea"; choose one of: problem, small wish'
    finally:
        i18n.set_language("zh")


def test_check_record_raises_with_every_error():
    with pytest.raises(ValidationError) as info:
        check_record("household", {"village": "v1"})
    assert {e.field for e in info.value.errors} == {"address", "head"}
    assert "请填写门牌地址" in str(info.value)


def test_new_record_shapes():
    c = clock()
    record, change = new_record("household", "grid-1", household(note=None), c, "user-1")
    assert is_id(record["id"]) and record["kind"] == "household" and record["grid"] == "grid-1"
    assert "note" not in record["fields"]  # None means not filled in
    stamps = set(record["stamps"].values())
    assert len(stamps) == 1 and Stamp.parse(stamps.pop()).node == "devA"
    assert record["bases"] == dict.fromkeys(record["fields"])
    assert set(change) == {"change_id", "id", "kind", "grid", "fields", "stamps", "bases", "actor", "node"}
    assert is_id(change["change_id"]) and change["id"] == record["id"]
    assert (change["fields"], change["stamps"], change["bases"]) == (record["fields"], record["stamps"], record["bases"])
    assert (change["actor"], change["node"]) == ("user-1", "devA")
    assert validate_change(change) == []


def test_new_record_refuses_bad_input_before_using_the_clock():
    c = clock()
    with pytest.raises(ValidationError) as info:
        new_record("household", "grid 1", household(head=""), c, "u1")
    assert codes(info.value.errors) == {("head", "required"), ("grid", "bad_ref")}
    assert c.last.startswith("0000000000000")  # no stamp was spent


def test_edit_change_sends_only_differences_with_bases():
    c = clock()
    record, _ = new_record("household", "g1", household(), c, "u1")
    change = edit_change(record, {"phone": "13900000000", "head": "王秀兰"}, c, "u2")
    assert change["fields"] == {"phone": "13900000000"}
    assert change["bases"] == {"phone": record["stamps"]["phone"]}
    assert change["stamps"]["phone"] > record["stamps"]["phone"]
    with pytest.raises(ValidationError) as info:
        edit_change(record, {"head": "王秀兰"}, c, "u2")
    assert info.value.errors[0].code == "no_change" and info.value.errors[0].message == "没有修改任何内容"
    with pytest.raises(ValidationError) as info:
        edit_change(record, {"phone": "abc"}, c, "u2")
    assert info.value.errors[0].code == "bad_phone"


def test_edit_change_refuses_fields_that_are_not_an_object_with_a_message():
    c = clock()
    record, _ = new_record("household", "g1", household(), c, "u1")
    for bad in (None, ["phone"], "phone"):
        with pytest.raises(ValidationError) as info:
            edit_change(record, bad, c, "u2")
        assert codes(info.value.errors) == {("fields", "fields_not_object")}


def test_edit_from_a_device_whose_clock_is_behind_still_sorts_after_its_base():
    ahead = clock("server", wall=2_000_000_000.0)
    behind = clock("phone", wall=100.0)  # a phone that thinks it is 1970
    record, _ = new_record("household", "g1", household(), ahead, "u1")
    change = edit_change(record, {"note": "x", "phone": "13900000000"}, behind, "u2")
    assert change["stamps"]["phone"] > record["stamps"]["phone"]


def test_write_once_and_immutable_and_deleted_are_refused():
    c = clock()
    visit, _ = new_record(
        "visit", "g1", {"household": new_id(), "visitor": "u1", "time": "2026-11-24T09:00:00", "kind": "routine"}, c, "u1"
    )
    with pytest.raises(ValidationError) as info:
        edit_change(visit, {"kind": "care", "next_due": "2026-12-01"}, c, "u1")
    assert codes(info.value.errors) == {("kind", "write_once")}
    assert "走访类型在保存后不能修改" in info.value.errors[0].message
    # a write-once field that is still empty may be filled in once
    assert edit_change(visit, {"seen": "屋顶漏雨", "next_due": "2026-12-01"}, c, "u1")["fields"]["seen"] == "屋顶漏雨"

    event, _ = new_record(
        "issue_event", "g1",
        {"issue": new_id(), "type": "comment", "actor": "u1", "role": "grid_worker", "at": 1_790_000_000_000, "data": {"text": "hi"}},
        c, "u1",
    )  # fmt: skip
    with pytest.raises(ValidationError) as info:
        edit_change(event, {"at": 1_790_000_000_001}, c, "u1")
    assert info.value.errors[0].code == "immutable" and "流转记录" in info.value.errors[0].message

    house, _ = new_record("household", "g1", household(), c, "u1")
    gone = dict(house, fields={**house["fields"], "_deleted": True})
    with pytest.raises(ValidationError) as info:
        edit_change(gone, {"note": "x"}, c, "u1")
    assert info.value.errors[0].code == "edit_deleted"
    assert delete_change(house, c, "u1")["fields"] == {"_deleted": True}


def test_validate_change_as_received():
    c = clock()
    record, change = new_record("household", "g1", household(), c, "u1")
    assert codes(validate_change({**change, "stamps": {}})) == {
        (f"stamps.{k}", "bad_stamp") for k in change["fields"]
    }
    assert codes(validate_change({**change, "change_id": "1"})) == {("change_id", "bad_id")}
    assert codes(validate_change({**change, "kind": "boat"})) == {("kind", "unknown_kind")}
    good_seen = {"head": {"dev9": "1790000000000-0000-dev9"}}
    assert validate_change({**change, "seen": good_seen}) == []
    for bad in ({"head": {"dev9": "yesterday"}}, {"colour": {}}, {"head": ["x"]}, "x"):
        assert codes(validate_change({**change, "seen": bad})) == {("seen", "bad_stamp")}
    assert validate_change("junk")[0].code == "not_object"
    edit = edit_change(record, {"note": "x"}, c, "u1")
    assert validate_change(edit, record) == []
    # an edit (it has a base) arriving before its record's creation is checked as an edit
    assert validate_change(edit_change(record, {"phone": "13900000000"}, c, "u1")) == []
    creation_missing_fields = {**change, "fields": {"note": "x"}, "stamps": {"note": c.now()}, "bases": {"note": None}}
    assert codes(validate_change(creation_missing_fields)) == {
        ("address", "required"), ("head", "required"), ("village", "required")
    }
    assert codes(validate_change({**edit, "grid": "g2"}, record)) == {("kind", "kind_mismatch")}

    visit, _ = new_record(
        "visit", "g1", {"household": new_id(), "visitor": "u1", "time": "2026-11-24T09:00:00", "kind": "routine"}, c, "u1"
    )
    sneaky = {**edit, "id": visit["id"], "kind": "visit", "fields": {"kind": "care"}, "stamps": {"kind": c.now()}, "bases": {}}
    assert codes(validate_change(sneaky, visit)) == {("kind", "write_once")}

    event, event_change = new_record(
        "issue_event", "g1",
        {"issue": new_id(), "type": "comment", "actor": "u1", "role": "grid_worker", "at": 1_790_000_000_000, "data": {"text": "hi"}},
        c, "u1",
    )  # fmt: skip
    assert validate_change(event_change, event) == []  # an identical re-send is fine
    altered = {**event_change, "fields": {**event_change["fields"], "data": {"text": "改过"}}}
    assert codes(validate_change(altered, event)) == {("*", "immutable")}


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda c: st.lists(c, max_size=5) | st.dictionaries(st.text(), c, max_size=5), max_leaves=20)


@settings(max_examples=500)
@given(_JSON)
def test_the_payload_size_bound_is_never_below_the_encoded_size(value):
    """The fold skips encoding an event's payload when this bound is under the limit."""
    import json

    from sync.records import _json_size_bound

    bound = _json_size_bound(value)
    if bound is not None:
        assert bound >= len(json.dumps(value, ensure_ascii=False).encode())


def test_an_oversized_or_strange_payload_is_still_refused():
    from sync.records import MAX_DATA_BYTES, event_data_errors

    assert event_data_errors("comment", {"text": "好" * 900}) == []
    big = {"text": "x" * 900, "more": ["好" * 1000] * 3}
    assert MAX_DATA_BYTES < len(str(big).encode())
    assert [e.code for e in event_data_errors("comment", big)] == ["data_too_big"]
    assert [e.code for e in event_data_errors("comment", {"text": "x", "s": {1, 2}})] == ["not_object"]
    # the payload's label is looked up only for a message, in the language of that moment
    from sync.records import field_label

    label = field_label("issue_event", "data")
    assert label != "data" and label in event_data_errors("comment", "不是对象")[0].message
    i18n.set_language("en")
    try:
        en = field_label("issue_event", "data")
        assert en != label and en in event_data_errors("comment", big)[0].message
    finally:
        i18n.set_language("zh")
