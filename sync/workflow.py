"""The issue workflow: the state of an issue is the fold of its events.

Events are immutable ``issue_event`` records. ``fold`` sorts them by (HLC stamp, at, id)
after dropping duplicate ids, so every replica that holds the same set of events computes the
same state whatever order they arrived in. An event that is not valid where it lands (a role
that may not emit it, or the issue is not in a state where it applies, e.g. two staff resolved
it at once offline) stays in the timeline flagged with a reason and does not change the state;
it is never dropped. The tables below are the whole rulebook (docs/model.md shows them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sync import workdays
from sync.canon import canonical_json
from sync.changes import new_record
from sync.chinatime import china_time, in_china
from sync.clock import HybridClock
from sync.i18n import t
from sync.records import EVENT_TYPES, ROLES, event_data_errors, parse_date, parse_time_ms

__all__ = [
    "EVENT_TYPES", "ROLES", "PERMISSIONS", "PROBLEM_STATES", "WISH_STATES", "OPEN_WISH_STATES", "STATES",
    "TRANSITIONS", "IssueState", "TimelineEntry", "may_emit", "fold", "fold_more", "event_order", "is_overdue",
    "resolved_on_time", "new_event", "state_label", "event_label", "role_label",
    "DeadlineFlag", "deadline_flags", "DUE_SOON_WORKDAYS", "STAFF_ROLES",
]  # fmt: skip

PROBLEM_STATES = ("submitted", "accepted", "assigned", "in_progress", "resolved", "rechecked", "closed")
# A wish may be dispatched (派单) to a department, a party branch or a unit, like a problem, or
# claimed straight away by whoever comes forward.
WISH_STATES = ("collected", "assigned", "claimed", "fulfilled", "closed")
OPEN_WISH_STATES = frozenset({"collected", "assigned"})  # waiting for someone to claim it
STATES = PROBLEM_STATES + tuple(s for s in WISH_STATES if s not in PROBLEM_STATES)

# Who may emit what: the one place this rule lives (the server refuses the rest per event).
_GRID_WORKER = frozenset({"report", "comment", "recheck", "claim", "fulfil", "feedback"})
# 县级督办 is the county's own: a township cannot supervise itself at county level.
_COUNTY_ONLY = frozenset({"county_supervise"})
PERMISSIONS: dict[str, frozenset[str]] = {
    "grid_worker": _GRID_WORKER,
    "township_staff": frozenset(EVENT_TYPES) - _COUNTY_ONLY,
    "county_staff": frozenset(EVENT_TYPES),
    "operator": frozenset({"comment"}),
    "admin": frozenset(EVENT_TYPES),
}
# The roles that review issues on the staff screens (the rest report them or carry bundles).
STAFF_ROLES = ("township_staff", "county_staff", "admin")
# A deadline is "near" from this many working days before it (sync.workdays).
DUE_SOON_WORKDAYS = 2

_ANY = frozenset(STATES)
_OPEN_PROBLEM = frozenset({"submitted", "accepted", "assigned", "in_progress"})
# (issue kind, event type) -> (states where it is valid, state after; None = unchanged).
# recheck and reopen pick their target in _apply (not solved → assigned again; reopen →
# assigned when a unit is known, else accepted).
TRANSITIONS: dict[tuple[str, str], tuple[frozenset[str], str | None]] = {
    ("problem", "report"): (frozenset({"submitted"}), None),
    ("problem", "accept"): (frozenset({"submitted"}), "accepted"),
    ("problem", "reject"): (frozenset({"submitted", "accepted"}), "closed"),
    ("problem", "assign"): (frozenset({"submitted", "accepted"}), "assigned"),
    ("problem", "return"): (frozenset({"assigned", "in_progress"}), "accepted"),
    ("problem", "extend"): (frozenset({"assigned", "in_progress"}), None),
    ("problem", "supervise"): (_OPEN_PROBLEM, None),
    ("problem", "county_supervise"): (_OPEN_PROBLEM, None),
    ("problem", "transfer"): (frozenset({"assigned", "in_progress"}), "assigned"),
    ("problem", "progress"): (frozenset({"assigned", "in_progress"}), "in_progress"),
    ("problem", "resolve"): (frozenset({"assigned", "in_progress"}), "resolved"),
    ("problem", "recheck"): (frozenset({"resolved"}), "rechecked"),
    ("problem", "close"): (frozenset({"rechecked"}), "closed"),
    ("problem", "reopen"): (frozenset({"rechecked", "closed"}), "assigned"),
    ("problem", "comment"): (_ANY, None),
    ("problem", "publish"): (_ANY, None),
    ("problem", "unpublish"): (_ANY, None),
    ("wish", "report"): (frozenset({"collected"}), None),
    ("wish", "reject"): (frozenset({"collected", "assigned"}), "closed"),
    ("wish", "assign"): (frozenset({"collected"}), "assigned"),
    ("wish", "return"): (frozenset({"assigned"}), "collected"),
    ("wish", "extend"): (frozenset({"assigned"}), None),
    ("wish", "supervise"): (frozenset({"collected", "assigned"}), None),
    ("wish", "claim"): (frozenset({"collected", "assigned"}), "claimed"),
    ("wish", "fulfil"): (frozenset({"claimed"}), "fulfilled"),
    ("wish", "feedback"): (frozenset({"fulfilled"}), "closed"),
    ("wish", "close"): (frozenset({"fulfilled"}), "closed"),
    ("wish", "comment"): (_ANY, None),
    ("wish", "publish"): (_ANY, None),
    ("wish", "unpublish"): (_ANY, None),
}
_WISH_ONLY = frozenset({"claim", "fulfil", "feedback"})
_WORKING = frozenset({"assigned", "in_progress"})


def may_emit(role: str, event_type: str) -> bool:
    """True when a user with ``role`` may emit an event of ``event_type``."""
    return event_type in PERMISSIONS.get(role, frozenset())


def state_label(state: str) -> str:
    return t(f"model.state.{state}")


def event_label(event_type: str) -> str:
    return t(f"model.event.{event_type}")


def role_label(role: str) -> str:
    return t(f"model.role.{role}")


@dataclass(frozen=True)
class TimelineEntry:
    event: dict[str, Any]
    valid: bool
    reason: str | None = None  # why invalid: role, state, wish_only, problem_only, data, other_issue, unknown_type
    state: str = ""  # the issue's state after this entry

    @property
    def type(self) -> str:
        return str(_fields(self.event).get("type", ""))

    def reason_text(self, state_before: str | None = None) -> str:
        """The flag shown to staff for an invalid entry ("" when valid)."""
        if self.valid or not self.reason:
            return ""
        f = _fields(self.event)
        return t(
            f"model.invalid.{self.reason}",
            role=role_label(str(f.get("role", ""))),
            event=event_label(self.type) if self.type in EVENT_TYPES else self.type,
            state=state_label(state_before or self.state),
        )


@dataclass
class IssueState:
    state: str = "submitted"
    issue_kind: str = "problem"
    unit: str | None = None
    deadline: str | None = None  # ISO date
    supervised: int = 0  # 督办 level 1-3 (0: not supervised); a flag, not a state
    supervise_note: str | None = None
    redo_count: int = 0  # 重办: re-checks that found the problem not solved
    published: bool = False
    public_title: str | None = None
    public_text: str | None = None
    accepted_at: Any = None  # the ``at`` of the event, as written (ISO string or ms)
    assigned_at: Any = None
    resolved_at: Any = None
    closed_at: Any = None
    outcome: str | None = None  # close outcome, or "rejected"
    reason: str | None = None  # the latest reject / return / extend / reopen reason
    reply: str | None = None  # the resolution reply (or the wish fulfilment note)
    solved: bool | None = None  # the resident's verdict at the latest re-check
    satisfied: bool | None = None
    claimed_by: str | None = None
    county_level: int = 0  # 县级督办 level 1-3 (0: none); a flag, not a state
    county_deadline: str | None = None  # ISO date: the 督办卡's own deadline
    county_card: str | None = None  # 督办卡编号
    county_note: str | None = None
    county_at: Any = None
    transfer_count: int = 0  # 转办: handed from one unit to another
    timeline: list[TimelineEntry] = field(default_factory=list)

    @property
    def flagged(self) -> bool:
        """Some event landed invalid: staff should look at the timeline."""
        return any(not e.valid for e in self.timeline)

    @property
    def is_open(self) -> bool:
        return self.state != "closed"


def _fields(event: Mapping[str, Any]) -> Mapping[str, Any]:
    f = event.get("fields")
    return f if isinstance(f, Mapping) else {}


def _event_stamp(event: Mapping[str, Any]) -> str:
    stamps = event.get("stamps")
    if isinstance(stamps, Mapping):
        vals = [s for s in stamps.values() if isinstance(s, str)]
        if vals:
            return min(vals)
    return ""



def _sort_key(event: Mapping[str, Any]) -> tuple[str, int, str]:
    # The HLC stamp first: it respects causality (a re-check made after pulling the resolve
    # sorts after it even if that phone's wall clock is behind); ``at`` and id break ties
    # (ids are unique after _dedupe, so this is a total order).
    at = parse_time_ms(_fields(event).get("at"))
    return (_event_stamp(event), at if at is not None else -1, str(event.get("id", "")))


def _dedupe(events: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """One event per id; a differing re-send keeps the earliest version (as merge does)."""
    best: dict[str, Mapping[str, Any]] = {}
    for e in events:
        eid = str(e.get("id", ""))
        cur = best.get(eid)
        if cur is None:
            best[eid] = e
        elif cur is not e and (_event_stamp(e), canonical_json(e)) < (_event_stamp(cur), canonical_json(cur)):
            best[eid] = e
    return _in_order(list(best.values()))


def _in_order(events: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """``events`` sorted by ``_sort_key``; when their stamps differ (the rule), by the stamp
    alone, which is the same order without parsing every ``at`` (a third of a fold's time)."""
    stamps = [_event_stamp(e) for e in events]
    if len(set(stamps)) < len(stamps):
        return sorted(events, key=_sort_key)
    return [e for _, e in sorted(zip(stamps, events, strict=True), key=lambda p: p[0])]


# Whether a payload is valid is a function of the event type and the payload alone, and the
# same payloads come back in every fold (the board's, the bulletin's three months, the inbox):
# remembered, bounded. Keys hold each value's type: {"solved": 1} is not {"solved": True}.
_DATA_OK: dict[tuple, bool] = {}
_DATA_OK_MAX = 50_000


def _data_ok(etype: str, data: Any) -> bool:
    key = None
    if isinstance(data, dict):
        key = (etype, *((k, v.__class__, v) for k, v in data.items()))
        try:
            ok = _DATA_OK.get(key)
        except TypeError:  # a list or object inside: not remembered
            key, ok = None, None
        if ok is not None:
            return ok
    ok = not event_data_errors(etype, data)
    if key is not None:
        if len(_DATA_OK) >= _DATA_OK_MAX:
            _DATA_OK.clear()
        _DATA_OK[key] = ok
    return ok


def _check(st: IssueState, issue_id: str | None, f: Mapping[str, Any]) -> str | None:
    etype = f.get("type")
    if etype not in EVENT_TYPES:
        return "unknown_type"
    if issue_id is not None and f.get("issue") != issue_id:
        return "other_issue"
    if not may_emit(str(f.get("role", "")), etype):
        return "role"
    if (st.issue_kind, etype) not in TRANSITIONS:
        return "wish_only" if etype in _WISH_ONLY else "problem_only"
    if not _data_ok(etype, f.get("data")):
        return "data"
    allowed, _ = TRANSITIONS[(st.issue_kind, etype)]
    if st.state not in allowed:
        return "state"
    if etype == "unpublish" and not st.published:
        return "state"
    return None


def _apply(st: IssueState, f: Mapping[str, Any]) -> None:
    etype = f["type"]
    data = f.get("data") or {}
    at = f.get("at")
    target = TRANSITIONS[(st.issue_kind, etype)][1]
    if etype == "accept":
        st.accepted_at = at
    elif etype == "reject":
        st.outcome, st.reason, st.closed_at = "rejected", data.get("reason"), at
    elif etype == "assign":
        st.unit, st.deadline, st.assigned_at = data["unit"], data["deadline"], at
        st.accepted_at = st.accepted_at if st.accepted_at is not None else at
    elif etype == "return":
        st.unit, st.deadline, st.reason = None, None, data.get("reason")
    elif etype == "extend":
        st.deadline, st.reason = data["deadline"], data.get("reason")
    elif etype == "supervise":
        st.supervised, st.supervise_note = int(data["level"]), data.get("note")
    elif etype == "county_supervise":
        st.county_level, st.county_deadline = int(data["level"]), data["deadline"]
        st.county_card, st.county_note, st.county_at = data.get("card_no"), data.get("note"), at
    elif etype == "transfer":
        st.unit, st.deadline, st.reason = data["unit"], data["deadline"], data["reason"]
        st.transfer_count += 1
    elif etype in ("resolve", "fulfil"):
        st.resolved_at = at
        st.reply = data.get("reply") if etype == "resolve" else data.get("note")
    elif etype == "recheck":
        st.solved, st.satisfied = bool(data["solved"]), bool(data["satisfied"])
        if not st.solved:  # 重办: back to the unit, counted
            target = "assigned"
            st.redo_count += 1
            st.resolved_at = None
    elif etype == "close":
        st.outcome, st.closed_at = data.get("outcome"), at
    elif etype == "reopen":
        target = "assigned" if st.unit else "accepted"
        st.closed_at, st.outcome, st.reason = None, None, data.get("reason")
    elif etype == "publish":
        st.published, st.public_title, st.public_text = True, data["public_title"], data["public_text"]
    elif etype == "unpublish":
        st.published = False
    elif etype == "claim":
        st.claimed_by = data["by"]
    elif etype == "feedback":
        st.satisfied, st.closed_at = bool(data["satisfied"]), at
    if target is not None:
        st.state = target


def fold(issue: Mapping[str, Any] | None, events: Iterable[Mapping[str, Any]]) -> IssueState:
    """The workflow state of ``issue`` (an issue record, or None: a problem of unknown id)
    after ``events`` (issue_event records, in any order, duplicates allowed)."""
    kind = "problem"
    issue_id = None
    if issue is not None:
        issue_id = issue.get("id")
        if _fields(issue).get("issue_kind") == "wish":
            kind = "wish"
    st = IssueState(state="collected" if kind == "wish" else "submitted", issue_kind=kind)
    for event in _dedupe(events):
        f = _fields(event)
        reason = _check(st, issue_id, f)
        if reason is None:
            _apply(st, f)
        st.timeline.append(TimelineEntry(dict(event), reason is None, reason, st.state))
    return st


def in_fold_order(events: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """``events`` as ``fold`` reads them: one per id, in fold order (a reader that keeps an
    issue's folded state and knows every event landed valid needs only this)."""
    return _dedupe(events)


def event_order(event: Mapping[str, Any]) -> tuple[str, int, str]:
    """Where an event sorts in the fold: (HLC stamp, ``at``, id)."""
    return _sort_key(event)


def fold_more(st: IssueState, issue_id: str | None, events: Iterable[Mapping[str, Any]]) -> IssueState:
    """Continue a fold: ``st`` after ``events`` (distinct, each sorting after every event
    already folded into ``st``), which is what ``fold`` gives over all of them. A device
    keeps its issues folded this way as events arrive instead of folding them again."""
    for event in _in_order(list(events)):
        f = _fields(event)
        reason = _check(st, issue_id, f)
        if reason is None:
            _apply(st, f)
        st.timeline.append(TimelineEntry(dict(event), reason is None, reason, st.state))
    return st


def _china_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return in_china(value).date()
    if isinstance(value, date):
        return value
    ms = parse_time_ms(value)
    if ms is None:
        return None
    return china_time(ms).date()


def is_overdue(state: IssueState, now: datetime | int | str) -> bool:
    """True when the issue is with a unit and the deadline day (China time) has passed."""
    deadline = parse_date(state.deadline)
    today = _china_date(now)
    return bool(deadline and today and state.state in _WORKING and today > deadline)


def resolved_on_time(state: IssueState) -> bool | None:
    """按期办结: resolved on or before the deadline day; None when not resolved or no deadline."""
    deadline, done = parse_date(state.deadline), _china_date(state.resolved_at)
    if deadline is None or done is None:
        return None
    return done <= deadline


@dataclass(frozen=True)
class DeadlineFlag:
    """A deadline that is near or has passed: ``which`` is ``unit`` (the dispatch deadline) or
    ``county`` (the 督办卡's), ``status`` ``due_soon`` or ``overdue``; ``days_left`` in
    working days (negative: working days late, 0: today)."""

    which: str
    deadline: str
    status: str
    days_left: int


def deadline_flags(state: IssueState, today: date | datetime | int | str, calendar: Any = None) -> list[DeadlineFlag]:
    """The automatic flags of an issue on ``today`` (China time): the unit's deadline while it
    is with a unit, the county 督办 deadline while the problem is open. ``calendar`` is a
    ``sync.workdays.WorkCalendar`` (the township's local days); None: the official calendar."""
    day = _china_date(today)
    if day is None:
        return []
    cal = calendar if calendar is not None else workdays.calendar()
    out = []
    for which, value, live in (
        ("unit", state.deadline, state.state in _WORKING),
        ("county", state.county_deadline, state.county_level > 0 and state.state not in ("resolved", "rechecked", "closed")),
    ):
        deadline = parse_date(value)
        if not live or deadline is None:
            continue
        if day > deadline:
            out.append(DeadlineFlag(which, deadline.isoformat(), "overdue", -cal.between(deadline, day)))
        else:
            left = cal.between(day, deadline)
            if left <= DUE_SOON_WORKDAYS:
                out.append(DeadlineFlag(which, deadline.isoformat(), "due_soon", left))
    return out


def new_event(
    issue: Mapping[str, Any],
    event_type: str,
    data: Mapping[str, Any] | None,
    clock: HybridClock,
    actor: str,
    role: str,
    *,
    at: str | None = None,
    after: Iterable[Mapping[str, Any]] = (),
    record_id: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An issue_event record (and its change) for ``issue``; raises ValidationError on bad
    input. It does not check the role or state: an event that lands invalid is still kept
    (use ``may_emit`` and ``fold`` to warn before emitting). Pass the issue's known events
    as ``after`` so the new one sorts after them even if this device's clock is behind.
    ``record_id``: an id made earlier (a seeder's, carrying the event's time)."""
    for rec in (issue, *after):
        for seen in (rec.get("stamps") or {}).values():
            clock.observe(seen)
    if at is None:
        at = china_time(clock.wall_ms()).isoformat(timespec="seconds")
    fields = {"issue": issue["id"], "type": event_type, "actor": actor, "role": role, "at": at, "data": dict(data or {})}
    return new_record("issue_event", issue["grid"], fields, clock, actor, record_id=record_id)
