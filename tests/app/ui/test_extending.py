"""docs/extending.md, worked example 1, as a test: a new staff action (现场核查, ``inspect``)
registered in the three places the guide names (schema, workflow rule, catalog) and nowhere
else shows up on the act screen with its fields and photo strip, in the timeline and in the
ledger. The entries below are the guide's, word for word."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
from harness import Harness
from staff_seed import make_staff, township
from ui_photos import make_jpeg, picker_answer

from app.device import Device
from app.services import Services
from app.ui.app import make_main
from sync import records, registry, workflow
from sync.i18n import catalog
from sync.reports.dates import parse_period
from sync.reports.ledger import build_ledger

FINDING = "门前路面已回填，待压实"


def register_inspect(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guide's three edits, made for the length of one test."""
    # 1. schema (sync/records.py)
    types = (*records.EVENT_TYPES, "inspect")
    monkeypatch.setattr(records, "EVENT_TYPES", types)
    type_spec = records.FIELDS["issue_event"]["type"]  # the tuple's one use inside the module
    monkeypatch.setitem(records.FIELDS["issue_event"], "type", dataclasses.replace(type_spec, choices=types))
    monkeypatch.setitem(records.EVENT_DATA, "inspect", (
        records.FieldSpec("finding", "text", required=True, max_len=1000),
        records.FieldSpec("photos", "sha256s", max_items=30),
    ))
    staff = records.STAFF_ACTIONS
    monkeypatch.setattr(records, "STAFF_ACTIONS", (*staff[:staff.index("comment")], "inspect", "comment"))
    monkeypatch.setattr(records, "PROGRESS_EVENTS", records.PROGRESS_EVENTS | {"inspect"})
    # 2. workflow rule (sync/workflow.py); the module reads EVENT_TYPES by name and builds the
    # staff and admin permissions from it when it loads, as an edit of the tuple would
    monkeypatch.setattr(workflow, "EVENT_TYPES", types)
    for role in workflow.STAFF_ROLES:
        monkeypatch.setitem(workflow.PERMISSIONS, role, workflow.PERMISSIONS[role] | {"inspect"})
    monkeypatch.setitem(workflow.TRANSITIONS, ("problem", "inspect"),
                        (frozenset({"assigned", "in_progress"}), "in_progress"))
    # 3. catalog (sync/locale/model.json, sync/locale/reports.json)
    make_main  # noqa: B018  (importing the app registered its catalog folder)
    cat = catalog()
    for key, zh, en in (("model.event.inspect", "现场核查", "On-site check"),
                        ("model.field.finding", "核查情况", "finding"),
                        ("reports.event.inspect", "现场核查", "checked on site")):
        monkeypatch.setitem(cat, key, {"zh": zh, "en": en})


def test_a_new_staff_action_registered_in_schema_workflow_and_catalog(device: Device, monkeypatch, tmp_path: Path):
    services = device.services
    register_inspect(monkeypatch)
    # the registry derives the rest
    inspect = registry.event_type("inspect")
    assert [(f.name, f.widget, f.required) for f in inspect.inputs] == [("finding", "long", True)]
    assert inspect.photos and inspect.staff_action and inspect.progress
    assert inspect.detail == ("finding",) and registry.notes("inspect") == ("finding",)

    make_staff(services)
    ids = township(services)
    iid = ids["road"]  # assigned to 供电所
    pic = make_jpeg(tmp_path / "site.jpg", (90, 140, 60))

    async def scenario(h: Harness) -> None:
        h.conn.answers["pick_files"] = picker_answer([pic])
        await h.go(f"/board/{iid}")
        assert h.keys("act:") == ["act:transfer", "act:return", "act:extend", "act:supervise", "act:progress",
                                  "act:resolve", "act:inspect", "act:comment"]
        assert h.by_key("act:inspect").content == "现场核查"
        await h.tap("act:inspect")
        assert h.by_key("act-f:finding").label == "核查情况"
        assert h.by_key("act-f:finding").multiline
        await h.tap("act-save")  # the finding is required: the schema's message, on the field
        assert "核查情况" in (h.by_key("act-f:finding").error or "")
        await h.tap("act-photo-add")
        assert h.has_key("act-photo-thumb:0")
        await h.type("act-f:finding", FINDING)
        await h.tap("act-save")
        # the timeline shows the step, its finding and its photo; the issue is 办理中
        titles = [h.by_key(k).title.value for k in h.keys("event:")]
        assert titles[-1] == "现场核查 → 办理中"
        last = len(titles) - 1
        assert FINDING in h.by_key(f"event:{last}").subtitle.value
        assert h.has_key(f"event-photo:{last}:0")
        assert "act:inspect" in h.keys("act:")  # still allowed while the unit works on it

    async def go() -> None:
        h = await Harness.start(make_main(device), route="/board", width=1280, height=800)
        try:
            await scenario(h)
        finally:
            await h.close()

    asyncio.run(go())

    # the ledger counts it: this month's progress cell quotes the finding
    reports = device.staff.reports
    ledger = build_ledger(reports.dataset(), parse_period(reports.period_text("month")))
    row = next(r for r in ledger.rows if r.issue_id == iid)
    assert any(f"现场核查：{FINDING}" in cell for cell in row.progress.values())


def test_the_action_is_gone_when_the_registration_is(services: Services):
    # the other half of the proof: without the three edits nothing offers it
    assert "inspect" not in registry.staff_actions()
    assert "inspect" not in records.EVENT_DATA
