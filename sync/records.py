"""Record kinds, their field specs, validation with clear messages, and change builders.

A record is ``{id, kind, grid, fields, stamps, bases}`` (see docs/model.md). Devices write the
``RECORD_KINDS``; the ``REFERENCE_KINDS`` come from the server and are read-only on devices.
Every message a person may see comes from the catalog (``sync/locale/model.json``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sync import voice  # a voice note's limits and formats, kept once
from sync.chinatime import CHINA_TZ
from sync.clock import is_stamp
from sync.hashes import is_sha256
from sync.i18n import catalog, language, t
from sync.ids import is_id
from sync.reference import APPEALS

RECORD_KINDS = (
    "household", "visit", "issue", "issue_event", "photo", "voice", "member", "pairing", "meeting", "claimant",
)
REFERENCE_KINDS = (
    "village", "grid", "category", "unit", "user", "holiday", "county", "township", "source", "appeal",
)  # fmt: skip
KINDS = RECORD_KINDS + REFERENCE_KINDS
# Made once with all their fields, never changed; merging them is set union.
IMMUTABLE_KINDS = ("issue_event", "photo", "voice")
# Files attached to a record by sha256 (``sha256`` + ``attached_to``); their bytes travel
# apart, content addressed (photos, voice notes). See docs/model.md.
ATTACHMENT_KINDS = ("photo", "voice")
DELETED = "_deleted"

CARE_TAGS = (
    "独居老人", "空巢老人", "高龄老人", "留守儿童", "残疾人", "低保户",
    "特困供养", "脱贫监测户", "党员户", "五星级文明户", "双联户", "其他",
)  # fmt: skip
VISIT_KINDS = ("routine", "follow_up", "care", "recheck")
ISSUE_KINDS = ("problem", "wish")
APPEAL_TYPES = APPEALS  # the default ``appeal`` ids (sync.reference)
URGENCIES = ("normal", "urgent", "critical")
REPORTER_VISIBILITY = ("named", "hidden", "anonymous")
ROLES = ("grid_worker", "township_staff", "county_staff", "operator", "admin")
UNIT_LEVELS = ("township", "county")  # county: a county department (县直部门)
# 联户: who looks after households (党员联户, 双联户长); docs/people.md
MEMBER_DUTIES = ("party_member", "household_lead")
# Village meetings recorded to the 十有 standard: 院坝会, 乡村夜话, 村民议事会 (docs/people.md)
MEETING_KINDS = ("yard", "night_talk", "council", "other")
# Who claims residents' small wishes (微心愿认领人)
CLAIMANT_KINDS = ("volunteer", "party_member", "unit")
EVENT_TYPES = (
    "report", "accept", "reject", "assign", "return", "extend", "supervise", "progress",
    "resolve", "recheck", "close", "reopen", "comment", "publish", "unpublish",
    "claim", "fulfil", "feedback", "county_supervise", "transfer",
)  # fmt: skip

_REF_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_MOBILE_RE = re.compile(r"^(?:\+?86)?1[3-9]\d{9}$")
_LANDLINE_RE = re.compile(r"^0\d{2,3}\d{7,8}(?:(?:转|ext|#)\d{1,6})?$")
_MAX_MS = 32503680000000  # year 3000: anything later is a typo, not a time
MAX_DATA_BYTES = 8192


@dataclass(frozen=True)
class FieldSpec:
    """One field of a kind. ``type`` is one of the validators in ``_CHECKS``."""

    name: str
    type: str
    required: bool = False
    choices: tuple[str, ...] = ()
    max_len: int | None = None
    min: int | None = None
    max: int | None = None
    max_items: int | None = None
    write_once: bool = False
    # How a form asks for it when the type alone does not say (sync.registry.widget derives
    # the rest): "text" a one-line box, "long" a multi-line one, "level" a 1..max picker,
    # "unit" the unit list, "claimant" the register of those who claim wishes.
    widget: str = ""
    # The issue fact (sync.registry) a staff action's form starts from, e.g. "deadline".
    default: str = ""
    # False: kept out of the timeline's detail line (the echo-wall wording shows on its own).
    timeline: bool = True
    # True: a resident's personal data (docs/model.md "County"): never on the wall or in an
    # export; the server sends it only to the devices that need it (sync/server/authz.py).
    private: bool = False
    # Nested fields for "object"/"objects" types (members, attached_to, event data).
    sub: tuple[FieldSpec, ...] = ()


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


class ValidationError(ValueError):
    """Raised by ``check_record`` and the change builders; ``errors`` lists every problem."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("；".join(e.message for e in self.errors))


def _f(name: str, type_: str, **kw: Any) -> FieldSpec:
    return FieldSpec(name, type_, **kw)


_LOCATION = _f("location", "location")
_PHOTOS = _f("photos", "sha256s", max_items=30)
_NOTE = _f("note", "text", max_len=2000)

FIELDS: dict[str, dict[str, FieldSpec]] = {}


def _kind(kind: str, *specs: FieldSpec, deletable: bool = True) -> None:
    all_specs = list(specs)
    if deletable:
        all_specs.append(_f(DELETED, "bool"))
    FIELDS[kind] = {s.name: s for s in all_specs}


_kind(
    "household",
    _f("village", "ref", required=True),
    _f("address", "text", required=True, max_len=100),
    _f("head", "text", required=True, max_len=30),
    _f("phone", "phone"),
    _f("member_count", "int", min=0, max=99),
    _f(
        "members",
        "objects",
        max_items=50,
        sub=(
            _f("name", "text", required=True, max_len=30),
            _f("relation", "text", max_len=20),
            _f("birth_year", "int", min=1900, max=2100),
        ),
    ),
    _f("care_tags", "tags", choices=CARE_TAGS, max_items=len(CARE_TAGS)),
    _LOCATION,
    _NOTE,
)
_kind(
    "visit",
    _f("household", "id", required=True, write_once=True),
    _f("visitor", "ref", required=True, write_once=True),
    _f("time", "time", required=True, write_once=True),
    _f("kind", "choice", required=True, choices=VISIT_KINDS, write_once=True),
    _f("people_met", "text", max_len=200, write_once=True),
    _f("seen", "text", max_len=2000, write_once=True),
    _f("said", "text", max_len=2000, write_once=True),
    _f("demands", "ids", max_items=50),
    _PHOTOS,
    _f("location", "location", write_once=True),
    _f("next_due", "date"),
    _f("companion", "id", write_once=True),  # the 联户 member who came along (a member record)
)
_kind(
    "issue",
    _f("issue_kind", "choice", required=True, choices=ISSUE_KINDS, write_once=True),
    # an ``appeal`` reference id (admin-edited; the defaults are APPEAL_TYPES, so every older
    # issue keeps its meaning)
    _f("appeal_type", "ref", widget="choice"),
    _f("category", "ref"),
    _f("title", "text", required=True, max_len=60),
    _f("description", "text", max_len=2000),
    _f("urgency", "choice", choices=URGENCIES),
    _f("household", "id"),
    _LOCATION,
    _PHOTOS,
    _f("reporter_visibility", "choice", choices=REPORTER_VISIBILITY),
    _f("reporter", "ref", required=True, write_once=True),
    _f("public_title", "text", max_len=60),
    _f("public_text", "text", max_len=1000),
    # Problems from other channels (docs/model.md "County"): absent source = a grid worker's.
    _f("source", "ref"),
    _f("external_no", "text", max_len=40),
    _f("village", "ref"),
    _f("contact_name", "text", max_len=30, private=True),
    _f("contact_phone", "phone", private=True),
)
_kind(
    "issue_event",
    _f("issue", "id", required=True),
    _f("type", "choice", required=True, choices=EVENT_TYPES),
    _f("actor", "ref", required=True),
    _f("role", "choice", required=True, choices=ROLES),
    _f("at", "time", required=True),
    _f("data", "data"),
    deletable=False,
)
_ATTACHED_TO = _f(
    "attached_to",
    "object",
    required=True,
    sub=(
        _f("kind", "choice", required=True, choices=("household", "visit", "issue", "issue_event", "meeting")),
        _f("id", "id", required=True),
    ),
)
_kind(
    "photo",
    _f("sha256", "sha256", required=True),
    _f("size", "int", required=True, min=1, max=100_000_000),
    _f("width", "int", required=True, min=1, max=100_000),
    _f("height", "int", required=True, min=1, max=100_000),
    _f("taken_at", "time"),
    _ATTACHED_TO,
    deletable=False,
)
# A short voice note, kept as recorded (limits and formats: sync.voice; the server checks the
# bytes again). ``duration_ms`` is None when the container does not say.
_kind(
    "voice",
    _f("sha256", "sha256", required=True),
    _f("size", "int", required=True, min=1, max=voice.MAX_BYTES),
    _f("media_type", "choice", required=True, choices=voice.MEDIA_TYPES),
    _f("duration_ms", "int", min=0, max=voice.MAX_MS),
    _f("recorded_at", "time"),
    _ATTACHED_TO,
    deletable=False,
)
# 联户: the register of party members and 联户长, and who looks after which household. A link
# is its own record (created, later deleted), so two phones pairing at once both keep theirs.
_kind(
    "member",
    _f("name", "text", required=True, max_len=30),
    _f("village", "ref", required=True),
    _f("duty", "choice", required=True, choices=MEMBER_DUTIES),
    _f("phone", "phone"),
    _f("uses_app", "bool"),
    _f("note", "text", max_len=500),
)
_kind(
    "pairing",
    _f("member", "id", required=True, write_once=True),
    _f("household", "id", required=True, write_once=True),
)
# A village meeting to the 十有 standard: time, place, topic, participants, agenda, what was said,
# decisions (and what follows from them); problems raised become issues in the same save.
_kind(
    "meeting",
    _f("meeting_kind", "choice", required=True, choices=MEETING_KINDS),
    _f("time", "time", required=True),
    _f("place", "text", required=True, max_len=100),
    _f("topic", "text", required=True, max_len=100),
    _f("village", "ref", required=True),
    _f("recorder", "ref", required=True, write_once=True),
    _f("host", "text", max_len=30),
    _f("members", "ids", max_items=200),  # participants from the 联户 register
    _f("guests", "text", max_len=1000),  # other participants, names separated by 、
    _f("headcount", "int", min=0, max=10_000),
    _f("agenda", "text", max_len=2000),
    _f("speeches", "text", max_len=4000),
    _f("decisions", "text", max_len=2000),
    _f("follow_ups", "text", max_len=2000),
    _f("raised", "ids", max_items=50),  # issues the meeting raised
    _PHOTOS,
    _LOCATION,
)
# The register of those who claim wishes: a claim names one (claim event data ``claimant``).
_kind(
    "claimant",
    _f("name", "text", required=True, max_len=60),
    _f("claimant_kind", "choice", required=True, choices=CLAIMANT_KINDS),
    _f("phone", "phone"),
    _f("note", "text", max_len=500),
)
# Reference data (server-owned): light validation, names and links only.
# Admin-edited reference entries are retired, not deleted: gone from pickers, still named where
# used; unlike ``_deleted`` (sticky in merge) a retired entry can be brought back.
_RETIRED = _f("retired", "bool")

_kind(
    "village",
    _f("name", "text", required=True, max_len=60),
    _f("township", "text", max_len=60),  # the township's name (older records hold only this)
    _f("township_id", "ref"),
)
_kind("county", _f("name", "text", required=True, max_len=60))
_kind("township", _f("name", "text", required=True, max_len=60), _f("county", "ref"))
# The channels a problem comes in by, and the appeal types.
_kind("source", _f("name", "text", required=True, max_len=40), _f("order", "int", min=0, max=10_000), _RETIRED)
_kind("appeal", _f("name", "text", required=True, max_len=40), _f("order", "int", min=0, max=10_000), _RETIRED)
_kind("grid", _f("name", "text", required=True, max_len=60), _f("village", "ref"))
_kind(
    "category",
    _f("name", "text", required=True, max_len=40),
    _f("parent", "ref"),
    _f("order", "int", min=0, max=10_000),
    _f("deadline_days", "int", min=1, max=365),  # the deadline rule, in working days
    _RETIRED,
)
_kind(
    "unit",
    _f("name", "text", required=True, max_len=60),
    _f("phone", "phone"),
    _f("level", "choice", choices=UNIT_LEVELS),
    _f("county", "ref"),
    _f("township", "ref"),
    _f("order", "int", min=0, max=10_000),
    _RETIRED,
)
# A local rest day (or, with ``working``, a make-up working day) on top of the official
# calendar (sync.workdays); the admin adds them per township.
_kind(
    "holiday",
    _f("date", "date", required=True),
    _f("working", "bool"),
    _f("name", "text", max_len=40),
)
_kind(
    "user",
    _f("name", "text", required=True, max_len=30),
    _f("role", "choice", required=True, choices=ROLES),
    _f("grid", "ref"),
    _f("phone", "phone"),
    _f("login", "text", max_len=40),  # unique; the display name is not (two 王芳)
    _f("township", "ref"),
    _f("county", "ref"),
)

# Per-type payload of an issue event (``fields.data``); shared with sync.workflow. The order of
# a type's fields is the order its form asks for them; sync.registry derives the rest.
EVENT_DATA: dict[str, tuple[FieldSpec, ...]] = {
    "report": (_f("note", "text", max_len=500),),
    "accept": (_f("note", "text", max_len=500, widget="text"),),
    "reject": (_f("reason", "text", required=True, max_len=500),),
    "assign": (
        _f("unit", "ref", required=True, widget="unit"),
        _f("deadline", "date", required=True, default="default_deadline"),
        _f("note", "text", max_len=500, widget="text"),
    ),
    "return": (_f("reason", "text", required=True, max_len=500),),
    "extend": (
        _f("deadline", "date", required=True, default="deadline"),
        _f("reason", "text", required=True, max_len=500),
    ),
    "supervise": (
        _f("level", "int", required=True, min=1, max=3, widget="level", default="supervised"),
        _f("note", "text", max_len=500),
    ),
    "progress": (_f("note", "text", required=True, max_len=1000),),
    "resolve": (_f("reply", "text", required=True, max_len=2000), _PHOTOS),
    "recheck": (
        _f("solved", "bool", required=True),
        _f("satisfied", "bool", required=True),
        _f("reason", "text", max_len=500),
    ),
    "close": (_f("outcome", "text", max_len=500),),
    "reopen": (_f("reason", "text", max_len=500),),
    "comment": (_f("text", "text", required=True, max_len=1000),),
    "publish": (
        _f("public_title", "text", required=True, max_len=60, timeline=False),
        _f("public_text", "text", required=True, max_len=1000, timeline=False),
    ),
    "unpublish": (_f("reason", "text", max_len=500),),
    # who claimed it: a claimant of the register (the form picks one), and their name as the
    # timeline shows it (filled from the register; older claims have the name only)
    "claim": (_f("claimant", "id", widget="claimant"), _f("by", "text", required=True, max_len=60, widget="auto")),
    "fulfil": (_PHOTOS, _f("note", "text", max_len=1000)),
    "feedback": (_f("satisfied", "bool", required=True), _f("text", "text", required=True, max_len=1000)),
    "county_supervise": (
        _f("level", "int", required=True, min=1, max=3, widget="level", default="county_level"),
        _f("deadline", "date", required=True, default="county_deadline"),
        _f("card_no", "text", max_len=40, widget="text"),
        _f("note", "text", max_len=500),
    ),
    "transfer": (
        _f("unit", "ref", required=True, widget="unit"),
        _f("deadline", "date", required=True, default="deadline"),
        _f("reason", "text", required=True, max_len=500),
    ),
}
# Fields of the residents' own data (docs/model.md "County"), by kind: read once from the schema.
PRIVATE_FIELDS: dict[str, frozenset[str]] = {
    kind: frozenset(n for n, spec in specs.items() if spec.private)
    for kind, specs in FIELDS.items()
    if any(spec.private for spec in specs.values())
}
# The staff act screen's buttons, in the order it shows them (report and recheck are the grid
# worker's; publish and unpublish live on the echo-wall screen).
STAFF_ACTIONS: tuple[str, ...] = (
    "accept", "reject", "assign", "transfer", "return", "extend", "supervise", "county_supervise",
    "progress", "resolve",
    "claim", "fulfil", "feedback", "close", "reopen", "comment",
)  # fmt: skip
# The events that say how a rectification went: a line in the ledger's monthly progress.
PROGRESS_EVENTS: frozenset[str] = frozenset({
    "assign", "progress", "extend", "supervise", "return", "resolve", "recheck", "close", "reopen",
    "claim", "fulfil", "feedback", "county_supervise", "transfer",
})  # fmt: skip


# ---- labels ----------------------------------------------------------------------------------


def _has(key: str) -> bool:
    return key in catalog()


_labels: dict[tuple[str, str, str], str] = {}


def field_label(kind: str, name: str) -> str:
    """The field's name as people read it (kind-specific label first, then the shared one).
    Kept per language: validation asks for the label of every field of every change."""
    cache_key = (kind, name, language())
    label = _labels.get(cache_key)
    if label is None:
        label = name
        for key in (f"model.field.{kind}.{name}", f"model.field.{name}"):
            if _has(key):
                label = t(key)
                break
        _labels[cache_key] = label
    return label


def kind_label(kind: str) -> str:
    return t(f"model.kind.{kind}") if _has(f"model.kind.{kind}") else kind


# Event types and roles have their own catalog keys (the workflow labels them too).
_CHOICE_KEYS = {"type": "model.event.{}", "role": "model.role.{}"}


def choice_label(name: str, value: str) -> str:
    """Label of a choice value, e.g. choice_label("urgency", "urgent") == "紧急"."""
    key = _CHOICE_KEYS.get(name, "model.choice." + name + ".{}").format(value)
    return t(key) if _has(key) else str(value)


def show_value(value: Any) -> str:
    """A value as a message quotes it: short, JSON for anything not a string."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 20 else text[:19] + "…"


# ---- value checks ----------------------------------------------------------------------------


def parse_time_ms(value: Any) -> int | None:
    """Epoch milliseconds of an ISO 8601 string or a millisecond count; None if neither.

    A time without a UTC offset is read as China Standard Time (+08:00).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value < _MAX_MS else None
    if isinstance(value, str) and 0 < len(value) <= 40:
        try:
            dt = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=CHINA_TZ)
        ms = int(dt.timestamp() * 1000)
        return ms if 0 <= ms < _MAX_MS else None
    return None


def parse_date(value: Any) -> date | None:
    """A date from an ISO date string (``2026-11-30``); None if it is not one."""
    if not isinstance(value, str) or len(value) > 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def is_ref(value: object) -> bool:
    """A reference-data id (village, grid, category, unit, user): UUIDv7 or a short slug."""
    return isinstance(value, str) and bool(_REF_RE.fullmatch(value))


def is_phone(value: object) -> bool:
    if not isinstance(value, str):
        return False
    digits = re.sub(r"[\s()（）-]", "", value)
    return bool(_MOBILE_RE.fullmatch(digits) or _LANDLINE_RE.fullmatch(digits))


class _Label:
    """A field's label, looked up only when a message names it (most changes are valid)."""

    __slots__ = ("_of", "_name")

    def __init__(self, of: Callable[[str], str], name: str) -> None:
        self._of, self._name = of, name

    def __str__(self) -> str:
        return self._of(self._name)

    def __format__(self, spec: str) -> str:
        return format(self._of(self._name), spec)


class _Errors:
    """Collects FieldErrors with catalog messages; nested items get a "第N项" prefix."""

    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, path: str, label: str, code: str, **params: Any) -> None:
        self.items.append(FieldError(path, code, t(f"model.{code}", field=label, **params)))


def _check_value(
    spec: FieldSpec, value: Any, path: str, label: str, errs: _Errors, kind: str
) -> None:
    typ = spec.type
    if typ in ("text", "phone"):
        if not isinstance(value, str):
            errs.add(path, label, "not_text")
        elif spec.max_len is not None and len(value) > spec.max_len:
            errs.add(path, label, "too_long", max=spec.max_len, length=len(value))
        elif typ == "phone" and value.strip() and not is_phone(value):
            errs.add(path, label, "bad_phone")
    elif typ == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            errs.add(path, label, "not_int")
        elif (spec.min is not None and value < spec.min) or (spec.max is not None and value > spec.max):
            errs.add(path, label, "out_of_range", min=spec.min, max=spec.max)
    elif typ == "bool":
        if not isinstance(value, bool):
            errs.add(path, label, "not_bool")
    elif typ == "id":
        if not is_id(value):
            errs.add(path, label, "bad_id", value=show_value(value))
    elif typ == "ref":
        if not is_ref(value):
            errs.add(path, label, "bad_ref", value=show_value(value))
    elif typ == "choice":
        if not isinstance(value, str) or value not in spec.choices:
            errs.add(path, label, "bad_choice", value=show_value(value), choices=_choices(spec))
    elif typ == "time":
        if parse_time_ms(value) is None:
            errs.add(path, label, "bad_time")
    elif typ == "date":
        if parse_date(value) is None:
            errs.add(path, label, "bad_date")
    elif typ == "sha256":
        if not is_sha256(value):
            errs.add(path, label, "bad_sha256")
    elif typ in ("ids", "sha256s", "tags"):
        _check_list(spec, value, path, label, errs)
    elif typ == "location":
        _check_location(value, path, label, errs)
    elif typ == "object":
        if not isinstance(value, dict):
            errs.add(path, label, "not_object")
        else:
            _check_fields(kind, spec.sub, value, False, errs, prefix=f"{path}.", sub_of=spec.name)
    elif typ == "objects":
        if _list_fits(spec, value, path, label, errs):
            for i, item in enumerate(value):
                inner = _Errors()
                if not isinstance(item, dict):
                    inner.add(f"{path}[{i}]", label, "not_object")
                else:
                    _check_fields(kind, spec.sub, item, False, inner, prefix=f"{path}[{i}].", sub_of=spec.name)
                for e in inner.items:
                    errs.items.append(
                        FieldError(e.field, e.code, t("model.item", field=label, index=i + 1, message=e.message))
                    )
    elif typ == "data":
        _check_data(value, path, label, errs)
    else:  # pragma: no cover - a spec typo is a programming error
        raise AssertionError(f"unknown field type {typ!r}")


def _join(items: Any) -> str:
    """A list for a message: 、 in Chinese, commas in English."""
    return t("model.list_sep").join(items)


def _choices(spec: FieldSpec) -> str:
    return _join(choice_label(spec.name, c) for c in spec.choices)


def _list_fits(spec: FieldSpec, value: Any, path: str, label: str, errs: _Errors) -> bool:
    """A list of at most ``max_items`` items; otherwise the error is added."""
    if not isinstance(value, list):
        errs.add(path, label, "not_list")
        return False
    if spec.max_items is not None and len(value) > spec.max_items:
        errs.add(path, label, "too_many", max=spec.max_items)
        return False
    return True


def _check_list(spec: FieldSpec, value: Any, path: str, label: str, errs: _Errors) -> None:
    if not _list_fits(spec, value, path, label, errs):
        return
    seen: set[str] = set()
    for item in value:
        if spec.type == "ids" and not is_id(item):
            errs.add(path, label, "bad_id", value=show_value(item))
            return
        if spec.type == "sha256s" and not is_sha256(item):
            errs.add(path, label, "bad_sha256")
            return
        if spec.type == "tags" and (not isinstance(item, str) or item not in spec.choices):
            errs.add(path, label, "bad_choice", value=show_value(item), choices=_choices(spec))
            return
        if item in seen:
            errs.add(path, label, "duplicate_item", value=show_value(item))
            return
        seen.add(item)


def _check_location(value: Any, path: str, label: str, errs: _Errors) -> None:
    # Where the phone was: lat/lon in degrees, accuracy in metres, at (when the fix was taken).
    ok = (isinstance(value, dict) and set(value) <= {"lat", "lon", "accuracy", "at"}
          and "lat" in value and "lon" in value)
    if ok:
        for key, lo, hi in (("lat", -90, 90), ("lon", -180, 180), ("accuracy", 0, 100_000)):
            v = value.get(key, 0)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or not lo <= v <= hi:
                ok = False
        if "at" in value and parse_time_ms(value["at"]) is None:
            ok = False
    if not ok:
        errs.add(path, label, "bad_location")


def _json_size_bound(value: Any, depth: int = 0) -> int | None:
    """An upper bound of ``len(json.dumps(value, ensure_ascii=False).encode())`` for plain
    JSON values (a character takes at most 6 bytes, as an escape), None when unsure (then
    ``json.dumps`` decides). The workflow fold checks every event's payload: the bound spares
    it a JSON encoding each."""
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:  # a lone surrogate: the encoding must refuse it
            return None
        return 6 * len(value) + 2
    if value is None or isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 17 if -10**15 < value < 10**15 else None
    if isinstance(value, float):
        return 32
    if depth < 3 and isinstance(value, list | tuple):
        total = 2 + 2 * len(value)  # ", " between items
        for v in value:
            b = _json_size_bound(v, depth + 1)
            if b is None:
                return None
            total += b
        return total
    if depth < 3 and isinstance(value, dict):
        total = 2 + 4 * len(value)  # ": " and ", "
        for k, v in value.items():
            kb = _json_size_bound(k, depth + 1) if isinstance(k, str) else None
            b = _json_size_bound(v, depth + 1)
            if b is None or kb is None:
                return None
            total += kb + b
        return total
    return None


def _check_data(value: Any, path: str, label: str, errs: _Errors) -> None:
    # The per-type payload is checked in _check_event (it needs the event type).
    if not isinstance(value, dict):
        errs.add(path, label, "not_object")
        return
    bound = _json_size_bound(value)
    if bound is not None and bound <= MAX_DATA_BYTES:
        return  # plain JSON, surely small enough: no need to encode it (folds check every event)
    try:
        size = len(json.dumps(value, ensure_ascii=False).encode())
    except (TypeError, ValueError):
        errs.add(path, label, "not_object")
        return
    if size > MAX_DATA_BYTES:
        errs.add(path, label, "data_too_big", max=MAX_DATA_BYTES)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _check_fields(
    kind: str,
    specs: tuple[FieldSpec, ...] | list[FieldSpec],
    fields: Mapping[str, Any],
    partial: bool,
    errs: _Errors,
    prefix: str = "",
    sub_of: str | None = None,
) -> None:
    by_name = {s.name: s for s in specs}

    def label_of(name: str) -> str:
        if sub_of is not None:  # nested fields: "model.field.members.name" → 姓名
            key = f"model.field.{sub_of}.{name}"
            return t(key) if _has(key) else field_label(kind, name)
        return field_label(kind, name)

    for name in fields:
        if name not in by_name:
            errs.add(
                f"{prefix}{name}", show_value(name), "unknown_field",
                choices=_join(label_of(s) for s in by_name if s != DELETED),
            )  # fmt: skip
    for spec in specs:
        label: Any = _Label(label_of, spec.name)
        value = fields.get(spec.name)
        if _blank(value):
            if spec.required and (not partial or spec.name in fields):
                errs.add(f"{prefix}{spec.name}", label, "required")
            elif value is not None and spec.type not in ("text", "phone", "ids", "sha256s", "tags", "objects"):
                _check_value(spec, value, f"{prefix}{spec.name}", label, errs, kind)
            continue
        _check_value(spec, value, f"{prefix}{spec.name}", label, errs, kind)


def _check_event(fields: Mapping[str, Any], errs: _Errors) -> None:
    # A bad type or a bad data field was already reported by the field checks.
    etype = fields.get("type")
    if etype in EVENT_DATA and not any(e.field == "data" for e in errs.items):
        errs.items.extend(event_data_errors(etype, fields.get("data")))


def validate_record(kind: str, fields: Any, *, partial: bool = False) -> list[FieldError]:
    """Every problem with ``fields`` for ``kind``; empty when valid.

    ``partial=True`` checks only the fields given (an edit): required fields may be absent,
    but a required field that is given must not be blank.
    """
    errs = _Errors()
    if kind not in FIELDS:
        errs.add("kind", show_value(kind), "unknown_kind", choices=_join(kind_label(k) for k in KINDS))
        return errs.items
    if not isinstance(fields, Mapping):
        errs.add("fields", kind_label(kind), "fields_not_object")
        return errs.items
    _check_fields(kind, list(FIELDS[kind].values()), fields, partial, errs)
    if kind == "issue_event" and not partial:
        _check_event(fields, errs)
    return errs.items


def check_record(kind: str, fields: Any, *, partial: bool = False) -> None:
    """Like validate_record but raises ValidationError listing every problem."""
    errors = validate_record(kind, fields, partial=partial)
    if errors:
        raise ValidationError(errors)


def _event_label(name: str) -> str:
    return field_label("issue_event", name)


def event_data_errors(event_type: str, data: Any) -> list[FieldError]:
    """Problems with an issue event's payload (used by the workflow fold too)."""
    errs = _Errors()
    if event_type not in EVENT_DATA:
        spec = FIELDS["issue_event"]["type"]
        errs.add("type", field_label("issue_event", "type"), "bad_choice", value=show_value(event_type), choices=_choices(spec))
        return errs.items
    # the label looked up only when a message names it: the fold checks every event's payload
    _check_data(data if data is not None else {}, "data", _Label(_event_label, "data"), errs)
    if not errs.items:
        _check_fields("issue_event", EVENT_DATA[event_type], data or {}, False, errs, prefix="data.")
    return errs.items


# ---- checking changes (building them: sync.changes) --------------------------------------


def write_once_errors(kind: str, current: Mapping[str, Any], new_fields: Mapping[str, Any]) -> list[FieldError]:
    """Errors for write-once fields that already hold a value and would change."""
    specs = FIELDS.get(kind, {})
    out = []
    for name, value in new_fields.items():
        spec = specs.get(name)
        if spec and spec.write_once and current.get(name) is not None and current.get(name) != value:
            label = field_label(kind, name)
            out.append(FieldError(name, "write_once", t("model.write_once", field=label)))
    return out


def validate_change(change: Any, current: Mapping[str, Any] | None = None) -> list[FieldError]:
    """Every problem with a change as received (server, bundle import, pull).

    ``current`` is the stored record it applies to, if any: then the change is checked as an
    edit (write-once and immutable rules apply). Without it, a change whose bases are all
    null is a creation and must carry every required field; one with a base is an edit that
    arrived before the creation (bundles may be imported in any order) and is checked as an
    edit, since merge fills in the rest when the creation arrives. (An early edit that only
    fills fields that were empty looks like a creation; it cannot arrive first in practice,
    because a device's outbox and bundles keep its creation until the server acknowledges it.)
    The server does not apply such an early edit: it answers ``not_yet`` and the device sends
    it again later (sync/server/authz.py).
    """
    errs = _Errors()
    if not isinstance(change, Mapping):
        errs.add("change", t("model.field.change"), "not_object")
        return errs.items
    for key in ("change_id", "id"):
        if not is_id(change.get(key)):
            errs.add(key, t(f"model.field.{key}"), "bad_id", value=show_value(change.get(key)))
    kind = change.get("kind")
    if kind not in FIELDS:
        errs.add("kind", show_value(kind), "unknown_kind", choices=_join(kind_label(k) for k in KINDS))
        return errs.items
    if not is_ref(change.get("grid")):
        errs.add("grid", t("model.field.grid"), "bad_ref", value=show_value(change.get("grid")))
    for key in ("actor", "node"):
        if not is_ref(change.get(key)):
            errs.add(key, t(f"model.field.{key}"), "bad_ref", value=show_value(change.get(key)))
    fields, stamps = change.get("fields"), change.get("stamps")
    bases = change.get("bases") or {}
    if not isinstance(fields, Mapping) or not fields:
        errs.add("fields", kind_label(kind), "fields_not_object")
        return errs.items
    if not isinstance(stamps, Mapping) or not isinstance(bases, Mapping):
        errs.add("stamps", t("model.field.stamps"), "bad_stamp")
        return errs.items
    seen = change.get("seen") or {}
    for name in fields:
        if not is_stamp(stamps.get(name)) or not (bases.get(name) is None or is_stamp(bases.get(name))):
            errs.add(f"stamps.{name}", field_label(kind, name), "bad_stamp")
    # Optional: per field, node -> newest stamp of that node the author had seen.
    if not isinstance(seen, Mapping) or any(
        name not in fields
        or not isinstance(known, Mapping)
        or not all(is_ref(n) and is_stamp(s) for n, s in known.items())
        for name, known in seen.items()
    ):
        errs.add("seen", t("model.field.stamps"), "bad_stamp")
    creating = current is None and not any(bases.get(name) for name in fields)
    errs.items.extend(validate_record(kind, fields, partial=not creating))
    if current is not None:
        if current.get("kind") != kind or current.get("grid") != change.get("grid"):
            errs.add("kind", kind_label(kind), "kind_mismatch")
        elif kind in IMMUTABLE_KINDS:
            if any(current.get("fields", {}).get(k) != v for k, v in fields.items()):
                errs.add("*", kind_label(kind), "immutable", kind=kind_label(kind))
        else:
            errs.items.extend(write_once_errors(kind, current.get("fields", {}), fields))
    return errs.items
