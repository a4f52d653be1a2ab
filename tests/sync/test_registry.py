"""The registry walk: every event type and record kind has what the screens, the timeline and
the reports need (a label in both languages, a widget for each field a form shows, a role
rule, a timeline text), and the derived tables say what the screens showed before."""

from __future__ import annotations

from pathlib import Path

import pytest

import app
from app.ui.screens.staff.act import WIDGETS as ACT_WIDGETS
from sync import records, registry, workflow
from sync.i18n import LANGS, add_catalog_dir, catalog


def _in_both(key: str) -> bool:
    entry = catalog().get(key) or {}
    return all(entry.get(lang) for lang in LANGS)


def _field_label_keys(kind: str, name: str) -> tuple[str, str]:
    return (f"model.field.{kind}.{name}", f"model.field.{name}")


@pytest.fixture(autouse=True)
def _app_catalog():
    add_catalog_dir(Path(app.__file__).parent / "locale")  # the act screen's words


@pytest.mark.parametrize("name", records.EVENT_TYPES)
def test_every_event_type_has_label_role_rule_timeline_text_and_widgets(name):
    e = registry.event_type(name)
    assert _in_both(e.label_key), e.label_key  # the timeline's and the buttons' text
    # a role rule: some role may emit it, on some kind of issue in some state
    assert any(workflow.may_emit(role, name) for role in records.ROLES), name
    assert any(ev == name for _kind, ev in workflow.TRANSITIONS), name
    for spec in e.data:
        assert registry.widget(spec)  # every field has a widget (or is filled by the device)
        assert any(_in_both(k) for k in _field_label_keys("issue_event", spec.name)), spec.name
    for name_ in e.detail:  # the timeline's detail line names only fields of the type
        assert name_ in {s.name for s in e.data}
    if e.progress:  # the ledger's progress cell names the step
        assert _in_both(f"reports.event.{name}"), name


@pytest.mark.parametrize("name", records.STAFF_ACTIONS)
def test_every_staff_action_can_be_drawn_and_taken_by_staff(name):
    e = registry.event_type(name)
    assert e.staff_action and name in records.EVENT_TYPES
    assert any(workflow.may_emit(role, name) for role in workflow.STAFF_ROLES)
    for f in e.inputs:
        assert f.widget in ACT_WIDGETS, (name, f.name, f.widget)
        # the form's own wording, else the schema's label
        assert _in_both(f"ui.staff.field.{f.name}") or _in_both(f"model.field.{f.name}"), f.name
        if f.widget == "level":
            for n in range(f.spec.min or 1, (f.spec.max or 1) + 1):
                assert _in_both(f"ui.staff.level.{n}")
    # a required field the form does not ask for could never be saved from the screen, unless
    # its spec says the device fills it (widget "auto": a claim's name, from the claimant picked;
    # tests/app/ui/test_staff_services.py::test_wish_claim_fulfil_feedback_by_staff saves one)
    asked = {f.name for f in e.inputs} | ({"photos"} if e.photos else set())
    filled = {s.name for s in e.data if s.widget == "auto"}
    assert {s.name for s in e.data if s.required} <= asked | filled


@pytest.mark.parametrize("kind", records.KINDS)
def test_every_record_kind_has_a_label_and_a_widget_per_field(kind):
    assert _in_both(f"model.kind.{kind}")
    for name, spec in registry.fields(kind).items():
        assert registry.widget(spec), (kind, name)
        assert any(_in_both(k) for k in _field_label_keys(kind, name)), (kind, name)
        for value in spec.choices if spec.type in ("choice", "tags") and name not in ("type", "role") else ():
            assert records.choice_label(name, value) != value or spec.type == "tags", (kind, name, value)


def test_the_schema_tables_name_only_event_types_it_has():
    assert set(records.EVENT_DATA) == set(records.EVENT_TYPES)
    assert set(records.STAFF_ACTIONS) <= set(records.EVENT_TYPES)
    assert len(set(records.STAFF_ACTIONS)) == len(records.STAFF_ACTIONS)
    assert records.PROGRESS_EVENTS <= set(records.EVENT_TYPES)


def test_the_derived_tables_are_what_the_screens_showed():
    # the act screen's former ACTION_FIELDS and PHOTO_ACTIONS, now derived from the schema
    shown = {a: tuple((f.name, f.widget) for f in registry.event_type(a).inputs) for a in registry.staff_actions()}
    assert shown == {
        "accept": (("note", "text"),),
        "reject": (("reason", "long"),),
        "assign": (("unit", "unit"), ("deadline", "date"), ("note", "text")),
        "transfer": (("unit", "unit"), ("deadline", "date"), ("reason", "long")),
        "return": (("reason", "long"),),
        "extend": (("deadline", "date"), ("reason", "long")),
        "supervise": (("level", "level"), ("note", "long")),
        "county_supervise": (("level", "level"), ("deadline", "date"), ("card_no", "text"), ("note", "long")),
        "progress": (("note", "long"),),
        "resolve": (("reply", "long"),),
        "close": (("outcome", "long"),),
        "reopen": (("reason", "long"),),
        "comment": (("text", "long"),),
        "claim": (("claimant", "claimant"),),  # from the register (the name is filled from it)
        "fulfil": (("note", "long"),),
        "feedback": (("satisfied", "yesno"), ("text", "long")),
    }
    assert registry.photo_events() == {"resolve", "fulfil"}
    defaults = {(a, f.name): f.default for a in registry.staff_actions()
                for f in registry.event_type(a).inputs if f.default}
    assert defaults == {("assign", "deadline"): "default_deadline", ("extend", "deadline"): "deadline",
                        ("supervise", "level"): "supervised", ("transfer", "deadline"): "deadline",
                        ("county_supervise", "level"): "county_level",
                        ("county_supervise", "deadline"): "county_deadline"}
    # a unit shows by name after the words; the echo-wall wording stays off the timeline
    assert registry.timeline_detail("assign") == ("note", "unit", "deadline")
    assert registry.timeline_detail("publish") == ()
    assert registry.notes("claim") == ()  # a claimer's name is not a note
    # a field the household form emptied is cleared; the place (set by the device) is not
    assert registry.clearable("household") == ("phone", "member_count", "members", "care_tags", "note")
    assert registry.choices("issue", "urgency") == records.URGENCIES


def test_a_type_the_schema_lacks_is_refused_by_name():
    with pytest.raises(KeyError):
        registry.event_type("teleport")
    # an event from a newer app still gets a detail line from the fields some type shows
    assert "note" in registry.timeline_detail("teleport")


def test_default_category_names_live_once_in_the_catalog():
    from sync import reference
    from sync.i18n import set_language

    names = dict(reference.category_records())
    assert names["infra"]["name"] == "基础设施" and names["infra.road"]["name"] == "道路桥梁"
    assert all(_in_both(f"reference.cat.{cid}") for cid in names)  # every default, both languages
    assert not [k for k in catalog() if k.startswith("ui.cat.")]  # no second copy for the app
    set_language("en")
    try:  # the server publishes Chinese whatever the language; the app's fallback follows it
        assert dict(reference.category_records())["env"]["name"] == "环境卫生"
        assert reference.category_name("env") == "Environment"
    finally:
        set_language("zh")
