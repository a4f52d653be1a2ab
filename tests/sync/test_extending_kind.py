"""docs/extending.md, worked example 2, as a test: a record kind (巡查记录, ``patrol``)
registered in the schema and the catalog is labelled, validated with labelled messages, given
widgets by the registry, stored by a device and merged like any other kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.services import Services
from sync import changes, records, registry
from sync.clock import HybridClock
from sync.i18n import catalog
from sync.records import FieldSpec


def register_patrol(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guide's schema and catalog entries, for the length of one test."""
    kinds = (*records.RECORD_KINDS, "patrol")
    monkeypatch.setattr(records, "RECORD_KINDS", kinds)
    monkeypatch.setattr(records, "KINDS", kinds + records.REFERENCE_KINDS)
    monkeypatch.setitem(records.FIELDS, "patrol", {s.name: s for s in (
        FieldSpec("walker", "ref", required=True, write_once=True),
        FieldSpec("time", "time", required=True, write_once=True),
        FieldSpec("route", "text", max_len=100),
        FieldSpec("found", "text", max_len=2000),
        FieldSpec("photos", "sha256s", max_items=30),
        FieldSpec(records.DELETED, "bool"),  # what _kind adds to a deletable kind
    )})
    cat = catalog()
    for key, zh, en in (("model.kind.patrol", "巡查记录", "Patrol"),
                        ("model.field.patrol.walker", "巡查人", "Walked by"),
                        ("model.field.patrol.route", "巡查路线", "Route"),
                        ("model.field.patrol.found", "发现情况", "Found")):
        monkeypatch.setitem(cat, key, {"zh": zh, "en": en})


def test_a_new_record_kind_registered_in_schema_and_catalog(monkeypatch, tmp_path: Path):
    register_patrol(monkeypatch)
    # the registry walk's checks hold for it: a label, and a widget and a label per field
    assert records.kind_label("patrol") == "巡查记录"
    widgets = {n: registry.widget(s) for n, s in registry.fields("patrol").items()}
    assert widgets == {"walker": "ref", "time": "auto", "route": "text", "found": "long", "photos": "photos"}
    assert all(records.field_label("patrol", n) != n for n in widgets)  # time, photos: shared labels
    # validation speaks in the kind's words
    errors = {e.field: e.message for e in records.validate_record("patrol", {"route": "x" * 101})}
    assert set(errors) == {"walker", "time", "route"}
    assert "巡查人" in errors["walker"] and "巡查路线" in errors["route"]
    # a device stores it, and an edit through the generic path clears what the form emptied
    assert registry.clearable("patrol") == ("route", "found")
    svc = Services.open(tmp_path / "data")
    try:
        clock = HybridClock("dev-1")
        rec, change = changes.new_record("patrol", "grid-1", {
            "walker": "worker-1", "time": "2026-12-01T09:30:00", "route": "东风一组—村口", "found": "路灯两盏不亮",
        }, clock, "worker-1")
        svc.store.save(change)
        assert svc.store.get("patrol", rec["id"])["fields"]["found"] == "路灯两盏不亮"
        edit = changes.edit_change(svc.store.get("patrol", rec["id"]), {"found": None}, clock, "worker-1")
        svc.store.save(edit)
        assert svc.store.get("patrol", rec["id"])["fields"].get("found") is None
        refused = records.validate_change(changes.edit_change(
            svc.store.get("patrol", rec["id"]), {"route": "新路线"}, clock, "worker-1"))
        assert refused == []  # route may change; walker may not:
        with pytest.raises(records.ValidationError, match="巡查人"):
            changes.edit_change(svc.store.get("patrol", rec["id"]), {"walker": "worker-2"}, clock, "worker-1")
    finally:
        svc.close()
