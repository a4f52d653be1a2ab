"""The county layer in the shared model (docs/model.md "County"): county 督办 with its own
deadline and level, 转办, deadline flags, problems from other channels and their private
contact, the default sources and appeal types."""

from __future__ import annotations

from datetime import date

import pytest

from sync import reference
from sync.i18n import LANGS, catalog
from sync.records import PRIVATE_FIELDS, ROLES, ValidationError, validate_record
from sync.workdays import WorkCalendar
from sync.workflow import DUE_SOON_WORKDAYS, deadline_flags, fold, may_emit
from tests.sync.test_model_workflow import Issue

COUNTY, TOWN = "county_staff", "township_staff"


def _dispatched(deadline: str = "2026-12-10") -> Issue:
    it = Issue()
    it.ev("report", role="grid_worker")
    it.ev("accept")
    it.ev("assign", {"unit": "town-power", "deadline": deadline})
    return it


def test_county_staff_is_a_role_that_may_do_what_a_township_does_and_county_supervise():
    assert "county_staff" in ROLES
    assert may_emit(COUNTY, "county_supervise") and may_emit("admin", "county_supervise")
    assert not may_emit(TOWN, "county_supervise") and not may_emit("grid_worker", "county_supervise")
    assert may_emit(TOWN, "transfer") and may_emit(COUNTY, "transfer") and not may_emit("grid_worker", "transfer")
    assert may_emit(COUNTY, "assign") and may_emit(COUNTY, "resolve")


def test_county_supervise_sets_its_own_level_deadline_and_card_and_is_a_flag_not_a_state():
    it = _dispatched()
    it.ev("county_supervise", {"level": 2, "deadline": "2026-12-05", "card_no": "县督〔2026〕12号", "note": "限期办结"},
          role=COUNTY)
    st = it.fold()
    assert st.state == "assigned" and not st.flagged
    assert (st.county_level, st.county_deadline, st.county_card, st.county_note) == (2, "2026-12-05", "县督〔2026〕12号", "限期办结")
    assert st.deadline == "2026-12-10"  # the unit's own deadline is untouched
    assert st.supervised == 0  # the township's 督办 is another thing


def test_a_township_cannot_supervise_at_county_level_the_event_is_kept_and_flagged():
    it = _dispatched()
    it.ev("county_supervise", {"level": 1, "deadline": "2026-12-05"}, role=TOWN)
    st = it.fold()
    assert st.county_level == 0 and st.flagged
    assert st.timeline[-1].reason == "role"


def test_county_supervise_needs_a_deadline_and_an_open_problem():
    it = _dispatched()
    with pytest.raises(ValidationError):  # a card without a deadline is not built at all
        it.ev("county_supervise", {"level": 1}, role=COUNTY)
    it = _dispatched()
    it.ev("resolve", {"reply": "修好了"})
    it.ev("county_supervise", {"level": 1, "deadline": "2026-12-05"}, role=COUNTY)
    assert it.fold().timeline[-1].reason == "state"


def test_transfer_hands_the_problem_to_another_unit_with_a_new_deadline_and_counts():
    it = _dispatched()
    it.ev("progress", {"note": "查看现场"})
    it.ev("transfer", {"unit": "county-water", "deadline": "2026-12-20", "reason": "属水务局职责"})
    st = it.fold()
    assert (st.state, st.unit, st.deadline, st.transfer_count) == ("assigned", "county-water", "2026-12-20", 1)
    assert st.reason == "属水务局职责"
    it.ev("return", {"reason": "不属本单位"})  # 退回: back to the dispatcher
    st = it.fold()
    assert (st.state, st.unit, st.deadline) == ("accepted", None, None)


def test_transfer_is_only_for_a_problem_with_a_unit():
    it = Issue()
    it.ev("report", role="grid_worker")
    it.ev("transfer", {"unit": "county-water", "deadline": "2026-12-20", "reason": "x"})
    st = it.fold()
    assert st.state == "submitted" and st.timeline[-1].reason == "state"


# 2026-12-07 is a Monday; no public holiday that week or the next.
WEEKDAYS = WorkCalendar()


def test_deadline_flags_near_and_past_in_working_days():
    st = _dispatched("2026-12-10").fold()  # Thursday
    assert deadline_flags(st, date(2026, 12, 7), WEEKDAYS) == []  # 3 working days left
    [near] = deadline_flags(st, date(2026, 12, 8), WEEKDAYS)
    assert (near.which, near.status, near.days_left) == ("unit", "due_soon", DUE_SOON_WORKDAYS)
    [today] = deadline_flags(st, date(2026, 12, 10), WEEKDAYS)
    assert (today.status, today.days_left) == ("due_soon", 0)
    [late] = deadline_flags(st, date(2026, 12, 14), WEEKDAYS)  # the Monday after: 2 working days late
    assert (late.status, late.days_left, late.deadline) == ("overdue", -2, "2026-12-10")


def test_deadline_flags_count_working_days_not_calendar_days():
    st = _dispatched("2026-12-14").fold()  # a Monday
    # Thursday the 10th: Friday and Monday are left (2 working days) though 4 days remain
    assert [f.status for f in deadline_flags(st, date(2026, 12, 10), WEEKDAYS)] == ["due_soon"]
    # a local rest day on Friday leaves only Monday
    local = WEEKDAYS.with_local(holidays=[date(2026, 12, 11)])
    [f] = deadline_flags(st, date(2026, 12, 9), local)
    assert f.days_left == 2
    assert deadline_flags(st, date(2026, 12, 9), WEEKDAYS) == []


def test_the_county_deadline_flags_while_open_and_the_unit_deadline_only_while_with_a_unit():
    it = _dispatched("2026-12-20")
    it.ev("county_supervise", {"level": 3, "deadline": "2026-12-08"}, role=COUNTY)
    flags = deadline_flags(it.fold(), date(2026, 12, 9), WEEKDAYS)
    assert [(f.which, f.status) for f in flags] == [("county", "overdue")]
    it.ev("resolve", {"reply": "已修复"})
    assert deadline_flags(it.fold(), date(2026, 12, 30), WEEKDAYS) == []  # resolved: nothing runs


def test_problems_from_other_channels_carry_source_number_village_and_a_private_contact():
    fields = {"issue_kind": "problem", "title": "噪音扰民", "reporter": "u-county", "source": "hotline",
              "external_no": "12345-20261201-0007", "village": "v-1", "contact_name": "王先生",
              "contact_phone": "13812345678", "reporter_visibility": "hidden"}
    assert validate_record("issue", fields) == []
    bad = validate_record("issue", {**fields, "contact_phone": "12"})
    assert [e.field for e in bad] == ["contact_phone"]
    assert PRIVATE_FIELDS == {"issue": frozenset({"contact_name", "contact_phone"})}
    # an older issue without any of them is still valid
    assert validate_record("issue", {"issue_kind": "problem", "title": "x", "reporter": "u"}) == []


def test_every_default_source_and_appeal_type_is_named_in_both_languages():
    assert reference.SOURCES[0] == reference.GRID_SOURCE
    for kind, ids in (("source", reference.SOURCES), ("appeal", reference.APPEALS)):
        for rid in ids:
            entry = catalog()[f"reference.{kind}.{rid}"]
            assert all(entry.get(lang) for lang in LANGS), rid
        recs = reference.ordered_records(kind)
        assert [r[0] for r in recs] == list(ids)
        assert all(validate_record(kind, f) == [] for _, f in recs)
    assert reference.source_name(None, "zh") == "网格员上报"
    assert reference.source_name("hotline", "zh") == "12345热线"


def test_a_staff_registered_problem_folds_like_any_other():
    it = Issue()
    it.ev("report", {"note": "12345热线转来"}, role=COUNTY)
    it.ev("assign", {"unit": "county-housing", "deadline": "2026-12-20"}, role=COUNTY)
    st = fold(it.issue, it.events)
    assert st.state == "assigned" and not st.flagged
