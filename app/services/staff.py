"""What the township staff screens call: the issue board, staff actions, echo-wall curation,
flagged events and conflicts, figures and the ledger export.

Built beside ``Services`` (same device store, same rows; it holds one, it is not one);
the workflow rules come from
``sync.workflow`` and the figures / ledger from ``sync.reports``, never decided here.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from app.services.common import (
    PhotoRef,
    ServiceError,
    china_today,
    clean,
    fmt_date,
    fmt_time,
    now_ms,
)
from app.services.field import Services
from app.services.staff_index import BoardIndex, Entry
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
        # every issue's fold as the board reads it, from the store's kept folds (staff_index.py)
        self.index = BoardIndex(services.store)
        self.reports = StaffReports(services.store)  # the figures and the ledger
        self.intake = StaffIntake(self)  # problems from other channels, sources, deadline flags
        self.refdata = ReferenceAdmin(self)  # the admin's 基础数据, edited on the server

    @property
    def role(self) -> str:
        r = role_of(self.services)
        return r if r in STAFF_ROLES else "township_staff"

    # ------------------------------------------------------------------ folding
    def _state_of(self, iid: str) -> tuple[dict, Any]:
        rec = self.store.get("issue", iid)
        if rec is None:
            raise ServiceError(t("ui.error.gone"))
        return rec, wf.fold(rec, self.store.issue_events(iid))

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
        today = china_today()
        day = today.isoformat()
        q = str(f.get("q", "")).strip().lower()
        cat = f.get("category")
        places = self.places()
        # the folded issues, newest report first; each filter narrows the list (no fold here)
        found: list[Entry] = self.index.entries()
        if f.get("kind"):
            found = [e for e in found if e.folded.issue_kind == f["kind"]]
        if f.get("grid"):
            found = [e for e in found if e.grid == f["grid"]]
        if f.get("village"):
            grids = {g for g, p in places.items() if p[0] == f["village"]}
            found = [e for e in found if e.grid in grids]
        if cat:
            found = [e for e in found if e.category == cat or e.category.startswith(cat + ".")]
        if f.get("appeal_type"):
            found = [e for e in found if e.appeal_type == f["appeal_type"]]
        if f.get("urgency"):
            found = [e for e in found if e.urgency == f["urgency"]]
        if f.get("overdue"):
            found = [e for e in found if _overdue(e, day)]
        if f.get("supervised"):
            found = [e for e in found if e.folded.supervised]
        if f.get("source"):
            found = [e for e in found if (e.rec["fields"].get("source") or reference.GRID_SOURCE) == f["source"]]
        if f.get("county_supervised"):
            found = [e for e in found if e.folded.county_level]
        if f.get("due_soon"):
            due_cal = self.work_calendar()
            # the flags depend only on these (sync.workflow.deadline_flags): working days are
            # counted once per distinct key, not per row (a county holds ~30,000 problems)
            flagged: dict[tuple[Any, ...], bool] = {}

            def due(st: Any) -> bool:
                key = (st.deadline, st.county_deadline, st.state, st.county_level > 0)
                if key not in flagged:
                    flagged[key] = bool(self.intake.flags(st, due_cal))
                return flagged[key]

            found = [e for e in found if due(e.folded)]
        if f.get("flagged"):
            found = [e for e in found if e.folded.flagged]
        if q:
            found = [e for e in found if q in e.title_lower]
        counts = dict(Counter(e.state for e in found))
        if f.get("status"):
            found = [e for e in found if e.state == f["status"]]
        labels = self.services.category_labels()
        units: dict[str, str] = {}

        def row(e: Entry) -> dict[str, Any]:
            """A shown row: its first facts (the rest is added below)."""
            st = e.folded
            place = places.get(e.grid, ("", "", e.grid))
            unit = st.unit or ""
            if unit not in units:
                units[unit] = self.services.unit_name(unit)
            return {
                "id": e.id, "title": e.title, "status": st.state, "reported_at": st.reported_at,
                "deadline": st.deadline or "", "supervised": st.supervised, "grid": e.grid,
                "village": place[0], "village_name": place[1], "grid_name": place[2],
                "place": " / ".join(x for x in (place[1], place[2]) if x),
                "category_name": labels.get(e.category, e.category), "unit": unit, "unit_name": units[unit],
                "overdue": _overdue(e, day), "_e": e,
            }

        if sort not in BOARD_COLUMNS and f.get("kind") == "wish":  # open first, the most urgent, by kind
            ordered = [r["_e"] for r in wish_order(
                [{"status": e.state, "urgency": e.urgency, "category_name": labels.get(e.category, e.category),
                  "reported_at": e.folded.reported_at, "_e": e} for e in found],
                at="reported_at", category="category_name")]
        elif sort not in BOARD_COLUMNS:  # triage: the new ones on top, each part newest first
            ordered = ([e for e in found if e.state in NEW_STATES]
                       + [e for e in found if e.state not in NEW_STATES])
        else:  # a column; rows without a value for it go last either way
            key = _sort_key(sort, places, labels, lambda u: units.setdefault(u, self.services.unit_name(u)))
            keyed = [(key(e), e) for e in found]
            have = [x for x in keyed if x[0] is not None]
            have.sort(key=lambda x: x[0], reverse=descending)  # stable: newest first among equals
            ordered = [e for _k, e in have] + [e for k, e in keyed if k is None]
        shown = [row(e) for e in (ordered if limit is None else ordered[:limit])]
        cal = self.work_calendar()
        dues: dict[str, tuple[int | None, str]] = {}
        for r in shown:
            e = r.pop("_e")
            st, fl = e.folded, e.rec["fields"]
            days_left, due_text = None, ""
            if st.deadline and st.state in WORKING:
                if st.deadline not in dues:
                    dues[st.deadline] = _days_left(st.deadline, today, cal)
                days_left, due_text = dues[st.deadline]
            r.update({
                "status_label": wf.state_label(st.state), "kind": st.issue_kind,
                "urgency": e.urgency, "category": e.category,
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
        return {"rows": shown, "matched": len(found), "counts": counts, "states": states,
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
                                      after=self.store.issue_events(iid))
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
        for e in self.index.entries():
            rec, st = e.rec, e.folded
            open_wish = st.issue_kind == "wish" and st.state in wf.OPEN_WISH_STATES  # people may come forward
            if (st.state not in WALL_STATES and not open_wish) or st.outcome == "rejected":
                continue
            fl = rec["fields"]
            resolved = rec_mod.parse_time_ms(st.resolved_at) if st.resolved_at is not None else None
            reported = st.reported_at
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
        for e in self.index.entries():
            if not e.folded.flagged:  # only these are folded again, for their timelines
                continue
            rec = e.rec
            for entry in wf.fold(rec, self.store.issue_events(e.id)).timeline:
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


def _overdue(e: Entry, today: str) -> bool:
    """Past its deadline day (China date ``today``, ISO) while with a unit (wf.is_overdue)."""
    return e.state in WORKING and e.folded.due is not None and today > e.folded.due


def _excerpt(text: str, n: int = EXCERPT) -> str:
    one = " ".join(text.split())
    return one if len(one) <= n else one[:n - 1] + "…"


def _sort_key(column: str, places: dict[str, tuple[str, str, str]], labels: dict[str, str],
              unit_name: Any) -> Any:
    """The board's sort key of a column (``BOARD_COLUMNS``) for an entry; None: no value."""
    if column == "title":
        return lambda e: e.title or None
    if column == "place":
        def place(e: Entry) -> Any:
            p = places.get(e.grid, ("", "", e.grid))
            return (p[1], p[2]) if (p[1] or p[2]) else None
        return place
    if column == "category":
        return lambda e: labels.get(e.category, e.category) or None
    if column == "reported":
        return lambda e: e.folded.reported_at
    if column == "unit":
        return lambda e: unit_name(e.folded.unit or "") or None
    if column == "deadline":
        return lambda e: e.folded.deadline or None
    if column == "status":
        return lambda e: wf.STATES.index(e.state) if e.state in wf.STATES else len(wf.STATES)
    return lambda e: e.folded.supervised or None  # supervised


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
