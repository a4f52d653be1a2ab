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
    """The notifications one issue gives ``user_id`` (a device caches them per issue)."""
    staff = role in workflow.STAFF_ROLES
    name = unit_name or (lambda u: str(u or ""))
    out: list[Notification] = []
    f = _f(rec)
    if f.get("_deleted"):
        return out
    iid, title = str(rec["id"]), str(f.get("title") or "")
    st = workflow.fold(rec, events)
    valid = [e for e in st.timeline if e.valid]
    mine = f.get("reporter") == user_id

    def add(kind: str, cause: str, at: int, detail: str) -> None:
        out.append(Notification(f"{kind}:{iid}:{cause}", kind, iid, title, at, detail))

    report = next((e for e in valid if e.type == "report"), None)
    reported_ms = _at(report.event) if report else 0
    if st.issue_kind == "problem":
        if staff and st.state == "submitted":
            add("assigned", "new", reported_ms, t("model.inbox.detail.new"))
        elif not staff and st.is_open and _routed(f, report):
            add("assigned", "grid", reported_ms, t("model.inbox.detail.routed"))
        dispatched_by_me = any(e.type in ("assign", "transfer") and _f(e.event).get("actor") == user_id
                               for e in valid)
        watch = (not staff) or dispatched_by_me or st.supervised or st.county_level
        # the one rule for "due soon" and "overdue" (unit and county 督办 deadlines)
        for flag in workflow.deadline_flags(st, today, calendar) if watch else ():
            who = name(st.unit) if flag.which == "unit" else t("model.inbox.county")
            day = parse_date(flag.deadline)
            add(flag.status, f"{flag.which}:{flag.deadline}", _day_ms(day) if day else 0,
                t(f"model.inbox.detail.{flag.status}", unit=who, date=flag.deadline, n=abs(flag.days_left)))
        if st.state == "resolved" and not staff:
            resolve = next((e for e in reversed(valid) if e.type == "resolve"), None)
            if resolve:
                add("recheck_due", str(resolve.event["id"]), _at(resolve.event), t("model.inbox.detail.recheck"))
    for e in valid:
        et, data, eid = e.type, (_f(e.event).get("data") or {}), str(e.event["id"])
        if et in ("supervise", "county_supervise") and st.is_open:
            add("supervised", eid, _at(e.event),
                t("model.inbox.detail.supervised", level=data.get("level") or "", note=data.get("note") or ""))
        elif et == "reject" and mine and not staff:
            add("rejected", eid, _at(e.event), t("model.inbox.detail.rejected", reason=data.get("reason") or ""))
        elif et == "return" and staff and _dispatcher_before(valid, e) == user_id:
            add("rejected", eid, _at(e.event), t("model.inbox.detail.returned", reason=data.get("reason") or ""))
        elif et == "claim" and mine and not staff:
            add("wish_claimed", eid, _at(e.event), t("model.inbox.detail.claimed", by=data.get("by") or ""))
    return out


def _routed(fields: Mapping[str, Any], report: Any) -> bool:
    """Registered by staff from another channel (a hotline call, a petition) and routed to
    the grid, not reported by a grid worker (a colleague's report in the same grid is not
    work handed to you)."""
    if fields.get("source") not in (None, "", "grid"):
        return True
    return report is not None and _f(report.event).get("role") != "grid_worker"


def _dispatcher_before(valid: list[Any], entry: Any) -> str:
    """Who dispatched the problem that a ``return`` sends back (the latest assign before it)."""
    who = ""
    for e in valid:
        if e is entry:
            break
        if e.type in ("assign", "transfer"):
            who = str(_f(e.event).get("actor") or "")
    return who
