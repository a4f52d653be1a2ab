"""Where a visit or an issue was made (``location``): optional, checked when present."""

from __future__ import annotations

import pytest

from sync.ids import new_id
from sync.records import validate_record

VISIT = {"household": None, "visitor": "w1", "time": 1_780_000_000_000, "kind": "routine"}
ISSUE = {"issue_kind": "problem", "title": "村口路灯不亮", "reporter": "w1"}
FIX = {"lat": 30.252678, "lon": 120.168742, "accuracy": 12.5, "at": 1_780_000_000_000}


def _visit(**over: object) -> dict:
    return {**VISIT, "household": new_id(), **over}


@pytest.mark.parametrize("make", [_visit, lambda **o: {**ISSUE, **o}], ids=["visit", "issue"])
def test_location_is_never_required_and_a_full_fix_is_valid(make) -> None:
    kind = "visit" if "visitor" in make() else "issue"
    assert validate_record(kind, make()) == []
    assert validate_record(kind, make(location=FIX)) == []
    assert validate_record(kind, make(location={"lat": 30.25, "lon": 120.17})) == []  # accuracy, time optional
    assert validate_record(kind, make(location={**FIX, "at": "2026-12-01T10:20:30+08:00"})) == []


@pytest.mark.parametrize("bad", [
    {"lat": 91, "lon": 120},
    {"lat": 30, "lon": -181},
    {"lat": 30},
    {"lat": "30", "lon": 120},
    {"lat": float("nan"), "lon": 120},
    {"lat": 30, "lon": 120, "accuracy": -1},
    {"lat": 30, "lon": 120, "accuracy": True},
    {"lat": 30, "lon": 120, "at": "yesterday"},
    {"lat": 30, "lon": 120, "at": -5},
    {"lat": 30, "lon": 120, "altitude": 5},
    [30, 120],
])
def test_a_wrong_location_is_refused_with_its_message(bad: object) -> None:
    errors = validate_record("visit", _visit(location=bad))
    assert [(e.field, e.code) for e in errors] == [("location", "bad_location")]
    assert "纬度" in errors[0].message or "lat" in errors[0].message
