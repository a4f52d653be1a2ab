"""What the township staff screens call: the issue board, staff actions, echo-wall curation,
flagged events and conflicts, figures and the ledger export.

Built beside ``Services`` (same device store, same rows; it holds one, it is not one);
the workflow rules come from
``sync.workflow`` and the figures / ledger from ``sync.reports``, never decided here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.services.common import (
    PhotoRef,
    ServiceError,
    china_today,
    clean,
    fmt_date,
    fmt_time,
    now_ms,
    reported_at,
)
from app.services.field import Services
from app.services.staff_intake import StaffIntake
from app.services.staff_refdata import ReferenceAdmin
from app.services.staff_reports import StaffReports
from app.services.wishes import wish_order
from sync import public_guard, reference, registry, workdays
from sync import records as rec_mod
from sync import workflow as wf
from sync.changes import new_record
from sync.i18n import t
from sync.public_code import public_code
from sync.workdays import WorkCalendar

STAFF_ROLES = wf.STAFF_ROLES  # township and county staff, admin
WALL_STATES = ("resolved", "rechecked", "closed", "fulfilled")
WORKING = frozenset({"assigned", "in_progress"})  # states where a deadline can pass
EXCERPT = 40  # characters of a description shown in a list row
NEW_STATES = frozenset({"submitted", "collected"})  # waiting for staff to take them up
# the board's sortable columns, in the order the desk table shows them
BOARD_COLUMNS = ("title", "place", "category", "reported", "unit", "deadline", "status", "supervised")
_SORT_KEYS: dict[str, Any] = {
    "title": lambda r: r["title"] or None,
    "place": lambda r: (r["village_name"], r["grid_name"]) if r["place"] else None,
    "category": lambda r: r["category_name"] or None,
    "reported": lambda r: r["reported_at"],
    "unit": lambda r: r["unit_name"] or None,
    "deadline": lambda r: r["deadline"] or None,
    "status": lambda r: wf.STATES.index(r["status"]) if r["status"] in wf.STATES else len(wf.STATES),
    "supervised": lambda r: r["supervised"] or None,
}


def role_of(services: Services) -> str:
    """The enrolled account's role, else the profile's, else grid worker."""
    enr = services.store.meta_get("sync.enrollment") or {}
    user = enr.get("user") if isinstance(enr, dict) else None
    if isinstance(user, dict) and user.get("role"):
        return str(user["role"])
    return str(services.profile.get("role") or "grid_worker")


def is_staff(services: Services) -> bool:
    return role_of(services) in STAFF_ROLES


class StaffServices:
    """What a township reviewer does, over the device's ``Services`` (composed, not inherited:
    the rows, the grouping of events and the store are the field services' own)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = services.store
        # issue id -> (data key, IssueState, reported at ms): fold once per issue per data version
        self._folds: dict[str, tuple[tuple[Any, ...], Any, int]] = {}
        self.reports = StaffReports(services.store)  # the figures and the ledger
        self.intake = StaffIntake(self)  # problems from other channels, sources, deadline flags
        self.refdata = ReferenceAdmin(self)  # the admin's 基础数据, edited on the server

    @property
    def role(self) -> str:
        r = role_of(self.services)
        return r if r in STAFF_ROLES else "township_staff"

    # ------------------------------------------------------------------ folding, cached
    def _folded(self) -> list[tuple[dict, Any, list[dict]]]:
        events = self.services.events_by_issue()
        out = []
        seen = set()
        for rec in self.store.all("issue"):
            evs = events.get(rec["id"], [])
            key = (max(rec.get("stamps", {}).values(), default=""), len(evs),
                   max((e["id"] for e in evs), default=""))
            hit = self._folds.get(rec["id"])
            if hit is None or hit[0] != key:
                st = wf.fold(rec, evs)
                hit = (key, st, reported_at(rec, st))  # the report time too: the board sorts by it
                self._folds[rec["id"]] = hit
            seen.add(rec["id"])
            out.append((rec, hit[1], evs))
        for gone in set(self._folds) - seen:
            del self._folds[gone]
        return out

    def _state_of(self, iid: str) -> tuple[dict, Any]:
        rec = self.store.get("issue", iid)
        if rec is None:
            raise ServiceError(t("ui.error.gone"))
        return rec, wf.fold(rec, self.services.events_by_issue().get(iid, []))

    # ------------------------------------------------------------------ reference data
    def _named(self, kind: str) -> list[tuple[str, str]]:
        """(id, name) of the pulled reference records of a kind, by name."""
        return sorted(((r["id"], r["fields"].get("name") or r["id"]) for r in self.store.all(kind)),
                      key=lambda x: x[1])

    def villages(self) -> list[tuple[str, str]]:
        p = self.services.profile
        return self._named("village") or [(p.get("village_id", ""), p.get("village", ""))]

    def grids(self) -> list[tuple[str, str]]:
        p = self.services.profile
        return self._named("grid") or [(p.get("grid_id", ""), p.get("grid_name", ""))]

    def units(self) -> list[tuple[str, str]]:
        """(id, name) of the units an issue can be assigned to."""
        # the built-in list until the server's reference data has been pulled
        return self._named("unit") or list(reference.UNITS)

    def deadline_days(self, category: str | None) -> int:
        """Working days a category's problems get (its record's ``deadline_days``, else
        the township default for its top category)."""
        cid = category or ""
        while cid:
            rec = self.store.get("category", cid)
            if rec is None:
                break
            days = rec["fields"].get("deadline_days")
            if isinstance(days, int) and days > 0:
                return days
            cid = rec["fields"].get("parent") or ""
        return reference.deadline_days(category)  # the shared default rule

    def work_calendar(self) -> WorkCalendar:
        """Official holidays and 调休, plus the township's local days (``holiday`` records)."""
        return workdays.from_records(r["fields"] for r in self.store.all("holiday"))

    def deadline_notice(self, deadline: str | None) -> str | None:
        """Why a deadline may be off: its year's public holidays are not known yet."""
        return self.work_calendar().notice(rec_mod.parse_date(deadline), china_today())

    def default_deadline(self, category: str | None, start: dt.date | None = None) -> str:
        return self.work_calendar().add(start or china_today(), self.deadline_days(category)).isoformat()

    # ------------------------------------------------------------------ the board
    def places(self) -> dict[str, tuple[str, str, str]]:
        """grid id -> (village id, village name, grid name), from the pulled reference data
        (the profile's own grid until it has been pulled); a county's staff read the village
        as ``乡镇 / 村`` (names are unique only within a township)."""
        villages = dict(self.intake.villages())
        out = {g["id"]: (str(g["fields"].get("village") or ""),
                         villages.get(str(g["fields"].get("village") or ""), ""),
                         str(g["fields"].get("name") or g["id"])) for g in self.store.all("grid")}
        p = self.services.profile
        if p.get("grid_id") and p["grid_id"] not in out:
            out[p["grid_id"]] = (p.get("village_id", ""), p.get("village", ""), p.get("grid_name", ""))
        return out

    def board(self, filters: dict[str, Any] | None = None, sort: str = "triage",
              descending: bool = False, limit: int | None = None) -> dict[str, Any]:
        """Rows matching ``filters`` in ``sort`` order (the first ``limit`` of them; ``matched``
        says how many there are), and the counts per status of the rows matching every
        filter except status.

        filters: village, grid, status, category (a top category matches its children),
        appeal_type, urgency, kind (problem / wish), overdue (bool), supervised (bool),
        flagged (bool), q (text in the title); the county level: source (a channel; ``grid``
        = the grid workers'), county_supervised (bool: a county 督办卡), due_soon (bool: a
        deadline within ``sync.workflow.DUE_SOON_WORKDAYS`` working days or passed).
        sort: ``triage`` (new issues first: 已上报 / 已收集 on top, then the newest report
        first) or a column of ``BOARD_COLUMNS`` (empty values last either way).
        ``states`` are the statuses the counts are given for (those of the chosen kind) and
        ``total`` is their sum: one definition for 全部 and the status chips."""
        f = {k: v for k, v in (filters or {}).items() if v not in (None, "", False)}
        now = now_ms()
        q = str(f.get("q", "")).strip().lower()
        cat = f.get("category")
        places = self.places()
        labels = self.services.category_labels()
        units: dict[str, str] = {}
        counts: dict[str, int] = {}
        due_cal = self.work_calendar() if f.get("due_soon") else None
        rows: list[dict[str, Any]] = []
        for rec, st, _evs in self._folded():
            fl = rec["fields"]
            if f.get("kind") and st.issue_kind != f["kind"]:
                continue
            grid = rec.get("grid", "")
            place = places.get(grid, ("", "", grid))
            if f.get("grid") and grid != f["grid"]:
                continue
            if f.get("village") and place[0] != f["village"]:
                continue
            if cat and not (fl.get("category") == cat or str(fl.get("category") or "").startswith(cat + ".")):
                continue
            if f.get("appeal_type") and fl.get("appeal_type") != f["appeal_type"]:
                continue
            if f.get("urgency") and (fl.get("urgency") or "normal") != f["urgency"]:
                continue
            overdue = bool(st.deadline) and st.state in WORKING and wf.is_overdue(st, now)
            if f.get("overdue") and not overdue:
                continue
            if f.get("supervised") and not st.supervised:
                continue
            if f.get("source") and (fl.get("source") or reference.GRID_SOURCE) != f["source"]:
                continue
            if f.get("county_supervised") and not st.county_level:
                continue
            if f.get("due_soon") and not self.intake.flags(st, due_cal):
                continue
            if f.get("flagged") and not st.flagged:
                continue
            if q and q not in str(fl.get("title") or "").lower():
                continue
            counts[st.state] = counts.get(st.state, 0) + 1
            if f.get("status") and st.state != f["status"]:
                continue
            unit = st.unit or ""
            if unit not in units:
                units[unit] = self.services.unit_name(unit)
            # what sorting needs; the rest is added to the rows that are returned
            rows.append({
                "id": rec["id"], "title": fl.get("title") or "", "status": st.state,
                "reported_at": self._folds[rec["id"]][2], "deadline": st.deadline or "",
                "supervised": st.supervised, "grid": grid, "village": place[0], "village_name": place[1],
                "grid_name": place[2], "place": " / ".join(x for x in (place[1], place[2]) if x),
                "category_name": labels.get(fl.get("category") or "", fl.get("category") or ""),
                "unit": unit, "unit_name": units[unit], "overdue": overdue, "_st": st, "_rec": rec,
                "urgency": fl.get("urgency") or "normal",
            })
        _sort_rows(rows, sort, descending)
        if sort == "triage" and f.get("kind") == "wish":  # open first, the most urgent, then by kind
            rows[:] = wish_order(rows, at="reported_at", category="category_name")
        shown = rows if limit is None else rows[:limit]
        today, cal = china_today(), self.work_calendar()
        dues: dict[str, tuple[int | None, str]] = {}
        for r in shown:
            st, fl = r.pop("_st"), r.pop("_rec")["fields"]
            days_left, due_text = None, ""
            if st.deadline and st.state in WORKING:
                if st.deadline not in dues:
                    dues[st.deadline] = _days_left(st.deadline, today, cal)
                days_left, due_text = dues[st.deadline]
            r.update({
                "status_label": wf.state_label(st.state), "kind": st.issue_kind,
                "urgency": fl.get("urgency") or "normal", "category": fl.get("category") or "",
                "reported_text": fmt_date(r["reported_at"]),
                "days_left": days_left, "due_text": due_text, "flagged": st.flagged,
                "redo_count": st.redo_count, "county_level": st.county_level,
                "source": fl.get("source") or reference.GRID_SOURCE,
                "source_name": self.intake.source_name(fl.get("source"))
                if fl.get("source") not in (None, reference.GRID_SOURCE) else "",
                "flags": [(x.which, x.status) for x in self.intake.flags(st, cal)],
            })
        kind = f.get("kind")
        states = list({"problem": wf.PROBLEM_STATES, "wish": wf.WISH_STATES}.get(kind, wf.STATES))
        return {"rows": shown, "matched": len(rows), "counts": counts, "states": states,
                "total": sum(counts.get(s, 0) for s in states)}

    # ------------------------------------------------------------------ acting
    def staff_actions(self, iid: str) -> list[str]:
        """Staff event types valid for the issue's current state, in button order."""
        _rec, st = self._state_of(iid)
        return self._actions(st)

    def _actions(self, st: Any) -> list[str]:
        return [a for a in registry.staff_actions() if registry.may_act(self.role, st.issue_kind, st.state, a)]

    def staff_issue(self, iid: str) -> dict[str, Any] | None:
        """The issue as the detail screen shows it, plus staff actions and the fold's facts."""
        row = self.services.issue(iid)
        if row is None:
            return None
        rec, st = self._state_of(iid)
        row.update({
            "staff_actions": self._actions(st), "unit": st.unit or "", "unit_name": self.services.unit_name(st.unit),
            "deadline": st.deadline or "", "supervised": st.supervised, "published": st.published,
            "public_title": st.public_title or "", "public_text": st.public_text or "",
            "reply": st.reply or "", "category_id": rec["fields"].get("category") or "",
            "default_deadline": self.default_deadline(rec["fields"].get("category")),
            # 县级督办 (docs/model.md "County"): the 督办卡's own level and deadline
            "county_level": st.county_level or 1,
            "county_deadline": st.county_deadline or self.default_deadline(rec["fields"].get("category")),
            "place": " / ".join(x for x in self.places().get(rec.get("grid", ""), ("", "", ""))[1:] if x),
            "reporter_name": self._known_user(rec["fields"].get("reporter")),
            "due_text": _days_left(st.deadline, china_today(), self.work_calendar())[1]
            if st.deadline and st.state in WORKING else "",
            "visit": self._source_visit(iid),
            # the county level: the county 督办卡 and the deadline flags (the channel: Services.issue)
            "county_card": {"level": st.county_level, "deadline": st.county_deadline or "",
                            "card_no": st.county_card or "", "note": st.county_note or ""}
            if st.county_level else None,
            "transfer_count": st.transfer_count,
            "flags": [(x.which, x.status, x.deadline, x.days_left) for x in self.intake.flags(st)],
            "code": public_code(iid),
        })
        return row

    def _known_user(self, uid: str | None) -> str:
        """A user's name when the reference data holds it (else nothing: not a guess)."""
        rec = self.store.get("user", uid) if uid else None
        return str(rec["fields"].get("name") or "") if rec else ""

    def _source_visit(self, iid: str) -> dict[str, Any] | None:
        """The visit whose demands raised the issue (what the worker saw and heard, and the
        photos taken there), or None when it was reported on its own."""
        for rec in self.store.all("visit"):
            if iid in (rec["fields"].get("demands") or ()):
                row = self.services.visit_row(rec)
                row["visitor_name"] = self.services.user_name(rec["fields"].get("visitor"))
                return row
        return None

    def act(self, iid: str, etype: str, values: dict[str, Any],
            photos: list[PhotoRef] | None = None) -> dict[str, str]:
        """Emit a staff event; returns field -> message (empty when saved).

        Refuses an action the current state does not allow (it would land flagged).
        ``photos`` (after-photos) go with resolve / fulfil."""
        rec, st = self._state_of(iid)
        staff_events = registry.staff_actions()
        if etype not in staff_events + ("publish", "unpublish"):
            return {"type": t("ui.staff.error.unknown_action", action=etype)}
        allowed = self._actions(st) if etype in staff_events else ["publish", "unpublish"]
        if etype not in allowed or (etype == "unpublish" and not st.published):
            return {"type": t("ui.staff.error.not_now", action=wf.event_label(etype),
                              state=wf.state_label(st.state))}
        data = clean(values)
        kind = registry.event_type(etype)
        for field in kind.inputs:  # the pickers' values as the schema's types
            if field.widget == "level" and field.name in data:
                try:
                    data[field.name] = int(data[field.name])
                except (TypeError, ValueError):
                    return {field.name: t("ui.staff.error.level")}
            elif field.widget == "yesno" and data.get(field.name) in ("yes", "no"):
                data[field.name] = data[field.name] == "yes"
            elif field.widget == "claimant":  # a claimant of the wish's grid; their name goes with it
                who = self.store.get("claimant", data.get(field.name) or "")
                if who is None or who.get("grid") != rec.get("grid"):
                    return {field.name: t("ui.error.claim_who")}
                data["by"] = who["fields"]["name"]
        carries_photos = kind.photos
        if photos and carries_photos:
            data["photos"] = [p.sha256 for p in photos]
        errors = {e.field.removeprefix("data."): e.message for e in rec_mod.event_data_errors(etype, data)}
        if errors:
            return errors
        if photos and carries_photos:
            self._attach_to_issue(rec, photos)
        with self.services.lock:
            _r, change = wf.new_event(rec, etype, data, self.store.clock, self.services.user_id, self.role,
                                      after=self.services.events_by_issue().get(iid, []))
            self.store.save(change)
        return {}

    def _attach_to_issue(self, issue: dict, photos: list[PhotoRef]) -> None:
        # Photo records go in the issue's grid (not the staff member's first grid), so the
        # grid worker's device, scoped to that grid, receives them with the event.
        with self.services.lock:
            for ref in photos:
                _r, change = new_record("photo", issue["grid"], {
                    "sha256": ref.sha256, "size": ref.size, "width": ref.width, "height": ref.height,
                    "taken_at": now_ms(), "attached_to": {"kind": "issue", "id": issue["id"]},
                }, self.store.clock, self.services.user_id)
                self.store.save(change)

    # ------------------------------------------------------------------ echo wall
    def wall_items(self) -> list[dict[str, Any]]:
        """Resolved (or later) problems and fulfilled wishes, each with its public wording (the
        resolution reply / fulfilment note until staff edit it) and what tells look-alikes
        apart: village, category, report and resolve dates, a short excerpt of the description.
        Not yet published first (the work left), then the most recently resolved first."""
        places = self.places()
        labels = self.services.category_labels()
        out = []
        for rec, st, _evs in self._folded():
            open_wish = st.issue_kind == "wish" and st.state in wf.OPEN_WISH_STATES  # people may come forward
            if (st.state not in WALL_STATES and not open_wish) or st.outcome == "rejected":
                continue
            fl = rec["fields"]
            resolved = rec_mod.parse_time_ms(st.resolved_at) if st.resolved_at is not None else None
            reported = reported_at(rec, st)
            out.append(((st.published, -(resolved or reported), -reported), {
                "id": rec["id"], "title": fl.get("title") or "", "status": st.state,
                "kind": st.issue_kind, "status_label": wf.state_label(st.state),
                "published": st.published,
                "village_name": places.get(rec.get("grid", ""), ("", "", ""))[1],
                "category_name": labels.get(fl.get("category") or "", ""),
                "reported_text": fmt_date(reported), "resolved_text": fmt_date(resolved),
                "excerpt": _excerpt(str(fl.get("description") or "")),
                "public_title": st.public_title or fl.get("title") or "",
                "public_text": st.public_text or st.reply or (t("ui.staff.wall.open_wish_text") if open_wish else ""),
                "reply": st.reply or ""}))
        out.sort(key=lambda x: x[0])
        return [row for _order, row in out]

    def publish(self, iid: str, public_title: str, public_text: str) -> dict[str, str]:
        """Publish with staff's public wording; refused while it fails the publish guard
        (sync.public_guard, the same the server applies): names of the village's residents,
        addresses, house numbers, phone and ID numbers however written, care-tag words."""
        people = self.village_people(iid)
        for field, text in (("public_title", public_title), ("public_text", public_text)):
            reason = public_guard.refusal("", text, people)
            if reason:
                return {field: reason}
        return self.act(iid, "publish", {"public_title": public_title, "public_text": public_text})

    def village_people(self, iid: str) -> public_guard.People:
        """The guard's knowledge for an issue: its village's households and its reporter."""
        rec = self.store.get("issue", iid)
        if rec is None:
            return public_guard.People()
        places = self.places()

        def village_of(grid: str) -> str:
            return places.get(grid, ("", "", ""))[0]

        village = village_of(rec.get("grid", ""))
        linked = rec["fields"].get("household")
        households = [h for h in self.store.all("household")
                      if h.get("id") == linked or h.get("grid") == rec.get("grid")
                      or (village and village in (h["fields"].get("village"), village_of(h.get("grid", ""))))]
        reporter = self.store.get("user", str(rec["fields"].get("reporter") or ""))
        extra = [str(reporter["fields"].get("name") or "")] if reporter else []
        extra += [str(rec["fields"]["contact_name"])] if rec["fields"].get("contact_name") else []
        return public_guard.People.from_records(households, extra)

    def unpublish(self, iid: str, reason: str = "") -> dict[str, str]:
        return self.act(iid, "unpublish", {"reason": reason})

    # ------------------------------------------------------------------ flags, conflicts
    def flagged_events(self) -> list[dict[str, Any]]:
        """Timeline entries that landed invalid, with why and what they carried."""
        out = []
        for rec, st, _evs in self._folded():
            for entry in st.timeline:
                if entry.valid:
                    continue
                row = self.services.timeline_row(entry)
                row.update({"issue": rec["id"], "issue_title": rec["fields"].get("title") or "",
                            "state": wf.state_label(entry.state)})
                out.append(row)
        return out

    def conflict_rows(self) -> list[dict[str, Any]]:
        """The store's conflict log: record, field, the kept and the lost value."""
        out = []
        for c in self.store.conflicts():
            out.append({"id": str(c.get("record_id") or c.get("id", "")), "kind": str(c.get("kind", "")),
                        "field": str(c.get("field", "")), "kept": _show(c.get("kept_value")),
                        "lost": _show(c.get("lost_value")), "reason": str(c.get("reason", "")),
                        "at": fmt_time(c.get("logged_at"))})
        return out


def _excerpt(text: str, n: int = EXCERPT) -> str:
    one = " ".join(text.split())
    return one if len(one) <= n else one[:n - 1] + "…"


def _sort_rows(rows: list[dict[str, Any]], sort: str, descending: bool) -> None:
    """Sort board rows in place; rows without a value for the column go last either way."""
    # newest report first (then the newer id: UUIDv7), kept among equals by the stable sorts below
    rows.sort(key=lambda r: (r["reported_at"], r["id"]), reverse=True)
    if sort not in _SORT_KEYS:  # triage: the new ones (已上报 / 已收集) on top
        rows.sort(key=lambda r: r["status"] not in NEW_STATES)
        return
    key = _SORT_KEYS[sort]
    have = [r for r in rows if key(r) is not None]
    blank = [r for r in rows if key(r) is None]
    have.sort(key=key, reverse=descending)
    rows[:] = have + blank


def _days_left(deadline: str, today: dt.date, cal: WorkCalendar) -> tuple[int | None, str]:
    """Working days until the deadline (negative: overdue by that many) and its short text."""
    try:
        day = dt.date.fromisoformat(deadline)
    except ValueError:
        return None, ""
    if day == today:
        return 0, t("ui.staff.due.today")
    if day > today:
        n = cal.between(today, day)
        return n, t("ui.staff.due.left", n=n)
    n = cal.between(day, today)
    # a deadline on Friday is overdue on Saturday, with no working day gone yet
    return -n, t("ui.staff.due.over", n=n) if n else t("ui.staff.due.over_weekend")


def _show(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, (list, tuple)):
        return "、".join(str(x) for x in v)
    return str(v)
