"""Issues: saving problems and wishes, their events, the fold into a status, rows, the
timeline, and what the grid worker may do next (the shared workflow rules decide)."""

from __future__ import annotations

from typing import Any

from app.services.common import (
    ROLE,
    Core,
    PhotoRef,
    ServiceError,
    clean,
    fmt_date,
    fmt_time,
    location_text,
    now_ms,
    reported_at,
)
from sync import records as rec_mod
from sync.i18n import t


class Issues(Core):
    """Issues and their events."""

    def __init__(self) -> None:
        self._grouped: tuple[tuple[int, str], dict[str, list[dict]]] | None = None

    def issue_fields(self, values: dict[str, Any]) -> dict[str, Any]:
        fields = clean(values)
        fields.setdefault("issue_kind", "problem")
        fields.setdefault("reporter_visibility", "named")
        fields.setdefault("urgency", "normal")
        fields["reporter"] = self.user_id
        return fields

    def create_issue(self, fields: dict[str, Any], photos: list[PhotoRef]) -> dict:
        fields = {**fields, "photos": [p.sha256 for p in photos]}
        if not fields["photos"]:
            del fields["photos"]
        rec = self.create_record("issue", fields)
        self.attach_photos("issue", rec["id"], photos)
        self.add_event(rec["id"], "report", {})
        return rec

    def save_issue(self, values: dict[str, Any], photos: list[PhotoRef]
                   ) -> tuple[str | None, dict[str, str]]:
        """A new problem or wish with its photos and its ``report`` event."""
        fields = self.issue_fields(values)
        errors = self.validate("issue", fields)
        if errors:
            return None, errors
        return self.create_issue(fields, photos)["id"], {}

    def events_by_issue(self) -> dict[str, list[dict]]:
        """Every issue's events, grouped once per data version (the staff board folds 25,000)."""
        # Events are immutable and the store keeps records in arrival order, so (count, last
        # id) changes whenever an event arrives: group the events again only then.
        evs = self.store.all("issue_event")
        key = (len(evs), evs[-1]["id"] if evs else "")
        if self._grouped is None or self._grouped[0] != key:
            out: dict[str, list[dict]] = {}
            for e in evs:
                out.setdefault(e["fields"].get("issue"), []).append(e)
            self._grouped = (key, out)
        return self._grouped[1]

    def add_event(self, iid: str, etype: str, data: dict[str, Any]) -> dict:
        from sync import workflow as wf

        issue = self.store.get("issue", iid)
        if issue is None:
            raise ServiceError(t("ui.error.gone"))
        with self.lock:
            _rec, change = wf.new_event(issue, etype, data, self.store.clock, self.user_id,
                                        ROLE, after=self.events_by_issue().get(iid, []))
            return self.store.save(change)

    @staticmethod
    def fold(rec: dict, events: list[dict]) -> Any:
        from sync import workflow as wf

        return wf.fold(rec, events)

    def issue_row(self, rec: dict, st: Any, labels: dict[str, str] | None = None) -> dict[str, Any]:
        f = rec["fields"]
        at = reported_at(rec, st)
        return {
            "id": rec["id"], "title": f.get("title") or "", "kind": f.get("issue_kind") or "problem",
            "status": _status(st), "urgency": f.get("urgency") or "normal",
            "category": self.category_name(f.get("category"), labels),
            "appeal_type": f.get("appeal_type") or "",
            "household": f.get("household"),
            "household_label": self.household_label(f.get("household")),
            "photos": list(f.get("photos") or []), "at": at,
            "at_text": fmt_date(at), "reporter": f.get("reporter"),
            "overdue": _overdue(st), "flagged": bool(st.flagged),
            "redo_count": st.redo_count, "supervised": st.supervised,
        }

    def issue_row_by_id(self, iid: str) -> dict[str, Any] | None:
        rec = self.store.get("issue", iid)
        if rec is None:
            return None
        return self.issue_row(rec, self.fold(rec, self.events_by_issue().get(iid, [])))

    def issues(self, status: str | None = None, household_id: str | None = None,
               kind: str | None = None) -> list[dict[str, Any]]:
        """Issues (newest first), each with its status from the fold of its events."""
        events = self.events_by_issue()
        labels = self.category_labels()  # once, not per row
        rows = []
        for rec in self.store.all("issue"):
            f = rec["fields"]
            if household_id and f.get("household") != household_id:
                continue
            if kind and (f.get("issue_kind") or "problem") != kind:
                continue
            row = self.issue_row(rec, self.fold(rec, events.get(rec["id"], [])), labels)
            if status and row["status"] != status:
                continue
            rows.append(row)
        rows.sort(key=lambda r: r["at"], reverse=True)
        return rows

    def issue_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.issues():
            counts[r["status"]] = counts.get(r["status"], 0) + 1
        return counts

    def issue(self, iid: str) -> dict[str, Any] | None:
        """One issue with its timeline (every event, invalid ones flagged) and what I may do."""
        rec = self.store.get("issue", iid)
        if rec is None:
            return None
        events = self.events_by_issue().get(iid, [])
        st = self.fold(rec, events)
        row = self.issue_row(rec, st)
        f = rec["fields"]
        row.update({
            "description": f.get("description") or "",
            "visibility": f.get("reporter_visibility") or "named",
            "appeal_label": rec_mod.choice_label("appeal_type", f["appeal_type"])
            if f.get("appeal_type") else "",
            "urgency_label": rec_mod.choice_label("urgency", f.get("urgency") or "normal"),
            "timeline": [self.timeline_row(e) for e in st.timeline],
            "actions": self.actions_for(st, row["kind"]),
            "claimed_by": getattr(st, "claimed_by", None),
            "location_text": location_text(f.get("location")),
        })
        return row

    def timeline_row(self, entry: Any) -> dict[str, Any]:
        from sync import registry
        from sync import workflow as wf

        e = entry.event
        f = e["fields"]
        data = f.get("data") or {}
        # a unit shows by its name (reference data), never by its id; a flagged event shows
        # whatever it holds that some type would show (its data may not fit its type)
        shown = registry.timeline_detail(str(f.get("type") or "") if entry.valid else "")
        parts = [self.unit_name(data[k]) if k == "unit" else str(data[k]) for k in shown if data.get(k)]
        if "solved" in data:
            parts.insert(0, t("ui.issue.verdict",
                              solved=t("ui.yes") if data["solved"] else t("ui.no"),
                              satisfied=t("ui.yes") if data.get("satisfied") else t("ui.no")))
        return {"id": e["id"], "type": f.get("type"),
                "type_label": wf.event_label(f.get("type") or ""),
                "state_label": wf.state_label(entry.state),
                "flag": entry.reason_text(),
                "at_text": fmt_time(rec_mod.parse_time_ms(f.get("at"))),
                "actor": self.user_name(f.get("actor")), "detail": "；".join(parts),
                "flagged": not entry.valid, "photos": list(data.get("photos") or [])}

    def actions_for(self, st: Any, kind: str) -> list[str]:
        """Event types this worker may emit on the issue now (the shared role rules decide)."""
        from sync import workflow as wf

        wanted = ("claim", "fulfil") if kind == "wish" else ("recheck",)
        out = []
        for etype in (*wanted, "comment"):
            rule = wf.TRANSITIONS.get((st.issue_kind, etype))
            if wf.may_emit(ROLE, etype) and rule and st.state in rule[0]:
                out.append(etype)
        return out

    def comment(self, iid: str, text: str) -> dict[str, str]:
        if not text.strip():
            return {"text": t("ui.error.comment_empty")}
        return self._checked_event(iid, "comment", {"text": text.strip()})

    def recheck(self, iid: str, solved: bool | None, satisfied: bool | None,
                why_not: str = "") -> dict[str, str]:
        """Record the resident's verdict (回头看); 'not solved / not satisfied' needs a why."""
        errors: dict[str, str] = {}
        if solved is None:
            errors["solved"] = t("ui.error.pick_solved")
        if satisfied is None:
            errors["satisfied"] = t("ui.error.pick_satisfied")
        if (solved is False or satisfied is False) and not why_not.strip():
            errors["reason"] = t("ui.error.why_not")
        if errors:
            return errors
        data: dict[str, Any] = {"solved": solved, "satisfied": satisfied}
        if why_not.strip():
            data["reason"] = why_not.strip()
        return self._checked_event(iid, "recheck", data)

    def claim(self, iid: str, who: str) -> dict[str, str]:
        if not who.strip():
            return {"by": t("ui.error.claim_who")}
        return self._checked_event(iid, "claim", {"by": who.strip()})

    def fulfil(self, iid: str, note: str, photos: list[PhotoRef]) -> dict[str, str]:
        shas = self.attach_photos("issue", iid, photos)
        data: dict[str, Any] = {"photos": shas}
        if note.strip():
            data["note"] = note.strip()
        return self._checked_event(iid, "fulfil", data)

    def _checked_event(self, iid: str, etype: str, data: dict[str, Any]) -> dict[str, str]:
        errors = {e.field.removeprefix("data."): e.message
                  for e in rec_mod.event_data_errors(etype, data)}
        if errors:
            return errors
        self.add_event(iid, etype, data)
        return {}



def _status(st: Any) -> str:
    return str(st.state)


def _overdue(st: Any) -> bool:
    from sync import workflow as wf

    return wf.is_overdue(st, now_ms())
