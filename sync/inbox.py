"""The inbox (消息): what needs a person's attention, derived from the synced records.

Nothing is sent by an outside service and nothing is stored: every notification is computed
from the issues and events a device already holds (they arrive with sync), so a phone that
was offline for a week sees what happened the moment it syncs, and a notification goes away
by itself when its cause does (the overdue problem is resolved). Each notification has a
stable id made of its cause (the event id, or the issue and the deadline), so what a person
has read stays read, and a new cause (a second 督办, a new deadline) is new again. Read state
is kept per user on the device (the app's store), not here.

Who gets what (a device holds only its scope: a grid worker's grids, a township's issues):

| kind | grid worker | staff |
| --- | --- | --- |
| ``assigned`` 交办 | a problem of their grid that staff registered from another channel (a hotline call routed to them; not a colleague's report) | a new problem waiting to be accepted |
| ``due_soon`` 即将到期 | a deadline (the unit's, or the county 督办's) in at most 2 working days (``sync.workflow.deadline_flags``), problems of their grid | problems they dispatched or that are under 督办 |
| ``overdue`` 已超期 | deadline passed, problems of their grid | as above |
| ``supervised`` 督办 | a 督办 on a problem of their grid | every 督办 |
| ``rejected`` 退回 | their report was not accepted (不予受理) | a unit returned a problem they dispatched (退单) |
| ``recheck_due`` 待回访 | a problem of their grid resolved, waiting for the 回头看 | — |
| ``wish_claimed`` 心愿认领 | a wish they reported was claimed | — |
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sync import workflow
from sync.i18n import t
from sync.records import parse_date, parse_time_ms
from sync.workdays import WorkCalendar

KINDS = ("assigned", "due_soon", "overdue", "supervised", "rejected", "recheck_due", "wish_claimed")


@dataclass(frozen=True)
class Notification:
    id: str  # stable: the kind and its cause
    kind: str
    issue: str
    title: str  # the issue's title
    at: int  # epoch ms of the cause (event time; a deadline's day), for ordering
    detail: str  # one line: what happened

    @property
    def label(self) -> str:
        return t(f"model.inbox.{self.kind}")


def _f(rec: Mapping[str, Any]) -> Mapping[str, Any]:
    return rec.get("fields") or {}


def _at(event: Mapping[str, Any]) -> int:
    return parse_time_ms(_f(event).get("at")) or 0


def _day_ms(d: date) -> int:
    return parse_time_ms(d.isoformat() + "T00:00:00") or 0


def notifications(
    issues: Iterable[Mapping[str, Any]],
    events_by_issue: Mapping[str, list[Mapping[str, Any]]],
    user_id: str,
    role: str,
    today: date,
    calendar: WorkCalendar,
    unit_name: Any = None,
) -> list[Notification]:
    """Everything for ``user_id`` (with ``role``) among the given issues, newest first."""
    out: list[Notification] = []
    for rec in issues:
        out += issue_notifications(rec, events_by_issue.get(str(rec["id"]), []), user_id, role, today, calendar,
                                   unit_name)
    return newest_first(out)


def newest_first(items: Iterable[Notification]) -> list[Notification]:
    return sorted(items, key=lambda n: (n.at, n.id), reverse=True)


def issue_notifications(
    rec: Mapping[str, Any],
    events: list[Mapping[str, Any]],
    user_id: str,
    role: str,
    today: date,
    calendar: WorkCalendar,
    unit_name: Any = None,
) -> list[Notification]:
    """The notifications one issue gives ``user_id``: its events folded, then ``from_causes``."""
    f = _f(rec)
    if f.get("_deleted"):
        return []
    st = workflow.fold(rec, events)
    return from_causes(str(rec["id"]), str(f.get("title") or ""), vars(st), causes(rec, st.timeline),
                       user_id, role, today, calendar, unit_name)


# -- causes: what in an issue's history can notify anyone, kept per issue ------------------
#
# A device keeps them beside the issue's fold (app/store/views.py) and updates them one event
# at a time, so the inbox badge on every screen reads no event: at 50,000 issues folding them
# all again cost 4.6 s of CPU at every start. They are the same for every user; who is told
# what is decided by ``from_causes``.


def causes(rec: Mapping[str, Any], timeline: Iterable[Any]) -> dict[str, Any]:
    """The causes of an issue (``rec``) from its fold's timeline (``workflow.TimelineEntry``);
    a JSON-able dict."""
    reporter, source = who(rec)
    c: dict[str, Any] = {"reporter": reporter, "source": source,
                         "rep": None, "disp": [], "by": "", "res": None, "sup": [], "rej": [], "ret": [],
                         "claim": []}
    for entry in timeline:
        note(c, entry)
    return c


def who(rec: Mapping[str, Any]) -> tuple[str, Any]:
    """What the causes take from the issue record itself: who reported it, by which channel
    (a device folds the issue again when an edit changes either)."""
    f = _f(rec)
    return str(f.get("reporter") or ""), f.get("source")


def note(c: dict[str, Any], entry: Any) -> None:
    """Add one timeline entry (the next, in fold order) to the causes ``c``."""
    if not entry.valid:
        return
    e = entry.event
    f = _f(e)
    et, eid, at = entry.type, str(e["id"]), _at(e)
    data = f.get("data") if isinstance(f.get("data"), Mapping) else {}
    if et == "report":
        if c["rep"] is None:  # the first valid report
            c["rep"] = [at, str(f.get("role") or "")]
    elif et in ("assign", "transfer"):
        actor = str(f.get("actor") or "")
        if actor not in c["disp"]:
            c["disp"].append(actor)
        c["by"] = actor  # who dispatched it last: a later return is theirs
    elif et == "resolve":
        c["res"] = [eid, at]  # the latest
    elif et in ("supervise", "county_supervise"):
        c["sup"].append([eid, at, str(data.get("level") or ""), str(data.get("note") or "")])
    elif et == "reject":
        c["rej"].append([eid, at, str(data.get("reason") or "")])
    elif et == "return":
        c["ret"].append([eid, at, str(data.get("reason") or ""), c["by"]])
    elif et == "claim":
        c["claim"].append([eid, at, str(data.get("by") or "")])


def from_causes(
    iid: str,
    title: str,
    st: Mapping[str, Any],
    c: Mapping[str, Any],
    user_id: str,
    role: str,
    today: date,
    calendar: WorkCalendar,
    unit_name: Any = None,
) -> list[Notification]:
    """The notifications ``user_id`` (with ``role``) gets from one issue: its folded state
    ``st`` (a ``workflow.IssueState``'s fields by name, as a device keeps them; the timeline
    is not read) and its ``causes``. In no order (a whole inbox is sorted once)."""
    staff = role in workflow.STAFF_ROLES
    name = unit_name or (lambda u: str(u or ""))
    out: list[Notification] = []
    mine = c["reporter"] == user_id

    def add(kind: str, cause: str, at: int, detail: str) -> None:
        out.append(Notification(f"{kind}:{iid}:{cause}", kind, iid, title, at, detail))

    state = st["state"]
    is_open = state != "closed"
    if st["issue_kind"] == "problem":
        rep = c["rep"]
        if staff and state == "submitted":
            add("assigned", "new", rep[0] if rep else 0, t("model.inbox.detail.new"))
        elif not staff and is_open and _routed(c["source"], rep):
            add("assigned", "grid", rep[0] if rep else 0, t("model.inbox.detail.routed"))
        watch = (not staff) or user_id in c["disp"] or st["supervised"] or st["county_level"]
        # the one rule for "due soon" and "overdue" (unit and county 督办 deadlines); most
        # issues have neither deadline live (closed): no state is made for them
        dated = watch and is_open and (st["deadline"] or st["county_deadline"])
        for flag in workflow.deadline_flags(workflow.IssueState(**st), today, calendar) if dated else ():
            who = name(st["unit"]) if flag.which == "unit" else t("model.inbox.county")
            day = parse_date(flag.deadline)
            add(flag.status, f"{flag.which}:{flag.deadline}", _day_ms(day) if day else 0,
                t(f"model.inbox.detail.{flag.status}", unit=who, date=flag.deadline, n=abs(flag.days_left)))
        if state == "resolved" and not staff and c["res"]:
            eid, at = c["res"]
            add("recheck_due", eid, at, t("model.inbox.detail.recheck"))
    if is_open:
        for eid, at, level, note_ in c["sup"]:
            add("supervised", eid, at, t("model.inbox.detail.supervised", level=level, note=note_))
    if mine and not staff:
        for eid, at, reason in c["rej"]:
            add("rejected", eid, at, t("model.inbox.detail.rejected", reason=reason))
        for eid, at, by in c["claim"]:
            add("wish_claimed", eid, at, t("model.inbox.detail.claimed", by=by))
    if staff:
        for eid, at, reason, dispatcher in c["ret"]:
            if dispatcher == user_id:
                add("rejected", eid, at, t("model.inbox.detail.returned", reason=reason))
    return out


def _routed(source: Any, rep: list | None) -> bool:
    """Registered by staff from another channel (a hotline call, a petition) and routed to
    the grid, not reported by a grid worker (a colleague's report in the same grid is not
    work handed to you)."""
    if source not in (None, "", "grid"):
        return True
    return rep is not None and rep[1] != "grid_worker"
