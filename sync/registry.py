"""The registry of event types and record fields: what screens, timelines and reports derive.

Nothing here is new knowledge. The schema (``sync.records``: ``EVENT_DATA``, ``FIELDS``,
``STAFF_ACTIONS``, ``PROGRESS_EVENTS`` and the per-field ``widget`` / ``default`` /
``timeline`` metadata) and the workflow (``sync.workflow``: who may emit what, in which state)
say everything; this module answers the questions the app and the reports ask of them: which
staff actions exist and what each one asks for, which events carry photos, which events are
progress in the ledger, what a timeline line shows, which values a choice field takes, which
fields a form may clear. Everything is read at call time, so a test can register an event type
the way docs/extending.md says and see every screen follow.
"""

from __future__ import annotations

from dataclasses import dataclass

from sync import records, workflow
from sync.records import FieldSpec

# The widget a field type gets when its spec does not name one. "auto": the device fills it
# (a time, a place, an id, a photo's facts); no form asks for it.
_TYPE_WIDGETS = {
    "phone": "phone", "int": "number", "bool": "yesno", "id": "pick", "ref": "ref",
    "choice": "choice", "time": "auto", "date": "date", "sha256": "auto", "location": "auto",
    "object": "auto", "objects": "rows", "tags": "chips", "ids": "pick", "sha256s": "photos",
    "data": "auto",
}  # fmt: skip
LONG_TEXT = 100  # a text field longer than this gets a multi-line box
# Widgets a person fills in on a form (the others are set by the device or by a picker screen).
INPUT_WIDGETS = frozenset({"text", "long", "phone", "number", "yesno", "choice", "date", "chips",
                           "rows", "level", "unit", "claimant"})
# Timeline detail: the words first, then what they point at (a unit by name), then the dates.
_DETAIL_ORDER = {"text": 0, "ref": 1, "date": 2}


def widget(spec: FieldSpec) -> str:
    """How a form asks for this field: the spec's own ``widget``, else its type's."""
    if spec.widget:
        return spec.widget
    if spec.type == "text":
        return "long" if (spec.max_len or 0) > LONG_TEXT else "text"
    return _TYPE_WIDGETS[spec.type]


@dataclass(frozen=True)
class Input:
    """One field a staff action's form asks for."""

    name: str
    widget: str
    required: bool
    default: str  # the issue fact it starts from ("" : empty)
    spec: FieldSpec


@dataclass(frozen=True)
class EventType:
    """An issue event type as the screens and reports see it."""

    name: str
    data: tuple[FieldSpec, ...]  # its payload (sync.records.EVENT_DATA)
    inputs: tuple[Input, ...]  # what its form asks for, in order (photos apart)
    photos: bool  # it carries photos (after-photos on resolve / fulfil)
    staff_action: bool  # a button on the staff act screen
    progress: bool  # a line in the ledger's monthly progress
    detail: tuple[str, ...]  # data fields its timeline line shows, in order

    @property
    def label_key(self) -> str:
        return f"model.event.{self.name}"


def event_type(name: str) -> EventType:
    """The registered event type ``name``; KeyError when the schema has no such type."""
    data = records.EVENT_DATA[name]
    inputs = tuple(Input(s.name, widget(s), s.required, s.default, s) for s in data
                   if widget(s) in INPUT_WIDGETS)
    return EventType(
        name=name,
        data=data,
        inputs=inputs,
        photos=any(s.type == "sha256s" for s in data),
        staff_action=name in records.STAFF_ACTIONS,
        progress=name in records.PROGRESS_EVENTS,
        detail=_detail(data),
    )


def event_types() -> tuple[EventType, ...]:
    """Every event type, in the schema's order."""
    return tuple(event_type(n) for n in records.EVENT_TYPES)


def staff_actions() -> tuple[str, ...]:
    """The staff act screen's actions, in button order."""
    return tuple(records.STAFF_ACTIONS)


def photo_events() -> frozenset[str]:
    """Event types that carry photos."""
    return frozenset(e.name for e in event_types() if e.photos)


def progress_events() -> frozenset[str]:
    """Event types the ledger counts as progress."""
    return frozenset(records.PROGRESS_EVENTS)


def _detail(specs: tuple[FieldSpec, ...]) -> tuple[str, ...]:
    shown = [s for s in specs if s.timeline and s.type in _DETAIL_ORDER]
    return tuple(s.name for s in sorted(shown, key=lambda s: _DETAIL_ORDER[s.type]))


def timeline_detail(event_type_name: str) -> tuple[str, ...]:
    """The data fields a timeline line shows for this type. An unknown type (an event from a
    newer app, flagged; or "") shows any field some type would show."""
    if event_type_name in records.EVENT_DATA:
        return _detail(records.EVENT_DATA[event_type_name])
    seen: dict[str, FieldSpec] = {}
    for specs in records.EVENT_DATA.values():
        for s in specs:
            seen.setdefault(s.name, s)
    return _detail(tuple(seen.values()))


def notes(event_type_name: str) -> tuple[str, ...]:
    """The free-text fields of a type's timeline detail (what someone wrote about the step, not
    a name): the reports quote the first one present."""
    specs = records.EVENT_DATA.get(event_type_name)
    key = (event_type_name, id(specs))
    hit = _NOTES.get(key)
    if hit is None or hit[0] is not specs:  # reports ask once per event: answer from memory
        by_name: dict[str, FieldSpec] = {}
        for s in specs or [s for v in records.EVENT_DATA.values() for s in v]:
            by_name.setdefault(s.name, s)
        names = tuple(n for n in timeline_detail(event_type_name)
                      if by_name[n].type == "text" and (by_name[n].max_len or 0) > LONG_TEXT)
        hit = _NOTES[key] = (specs, names)
    return hit[1]


_NOTES: dict[tuple[str, int], tuple[object, tuple[str, ...]]] = {}


def may_act(role: str, issue_kind: str, state: str, event_type_name: str) -> bool:
    """True when ``role`` may emit the event on an issue of that kind in that state now."""
    rule = workflow.TRANSITIONS.get((issue_kind, event_type_name))
    return bool(rule and state in rule[0] and workflow.may_emit(role, event_type_name))


# ---- record kinds ----------------------------------------------------------------------------


def fields(kind: str) -> dict[str, FieldSpec]:
    """The fields of a record kind (without the deletion marker)."""
    return {n: s for n, s in records.FIELDS[kind].items() if n != records.DELETED}


def choices(kind: str, field: str) -> tuple[str, ...]:
    """The values a choice (or tags) field takes, in the schema's order."""
    return records.FIELDS[kind][field].choices


def clearable(kind: str) -> tuple[str, ...]:
    """Fields a person may empty on the kind's form (optional, changeable, typed in): an edit
    that leaves one out clears it."""
    return tuple(n for n, s in fields(kind).items()
                 if not s.required and not s.write_once and widget(s) in INPUT_WIDGETS)
