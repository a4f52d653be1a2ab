"""Visits: rows, one visit with the issues its demands raised, and the visit form's save."""

from __future__ import annotations

from typing import Any

from app.services.common import Core, PhotoRef, clean, fmt_time, location_text, now_ms
from sync import records as rec_mod
from sync.ids import id_time_ms


class Visits(Core):
    """The visit list and saving a visit with its photos and demands."""

    def visit_row(self, rec: dict) -> dict[str, Any]:
        f = rec["fields"]
        at = rec_mod.parse_time_ms(f.get("time")) or id_time_ms(rec["id"])
        return {
            "id": rec["id"], "household": f.get("household"),
            "household_label": self.household_label(f.get("household")),
            "kind": f.get("kind") or "", "at": at, "at_text": fmt_time(at),
            "people_met": f.get("people_met") or "", "seen": f.get("seen") or "",
            "said": f.get("said") or "", "photos": list(f.get("photos") or []),
            "demands": list(f.get("demands") or []),
        }

    def visits(self, household_id: str | None = None, limit: int | None = None) -> list[dict]:
        recs = self.store.all("visit")
        if household_id:
            recs = [r for r in recs if r["fields"].get("household") == household_id]
        rows = [self.visit_row(r) for r in recs]
        rows.sort(key=lambda r: r["at"], reverse=True)
        return rows[:limit] if limit else rows

    def visit(self, vid: str) -> dict[str, Any] | None:
        rec = self.store.get("visit", vid)
        if rec is None:
            return None
        row = self.visit_row(rec)
        row["demand_issues"] = [i for i in (self.issue_row_by_id(x) for x in row["demands"]) if i]
        row["location_text"] = location_text(rec["fields"].get("location"))
        return row

    def save_visit(self, values: dict[str, Any], demands: list[dict[str, Any]],
                   photos: list[PhotoRef]) -> tuple[str | None, dict[str, str]]:
        """A visit, its photos and one new issue per demand, in one step.

        Demands are validated first, so a bad demand saves nothing."""
        fields = clean(values)
        fields.setdefault("time", now_ms())
        fields["visitor"] = self.user_id
        errors = self.validate("visit", {**fields, "photos": [p.sha256 for p in photos]})
        demand_fields = []
        for i, d in enumerate(demands):
            df = self.issue_fields({**d, "household": fields.get("household")})
            for k, v in self.validate("issue", df).items():
                errors.setdefault(f"demand{i}.{k}", v)
            demand_fields.append(df)
        if errors:
            return None, errors
        issue_ids = [self.create_issue(df, [])["id"] for df in demand_fields]
        fields["demands"] = issue_ids
        fields["photos"] = [p.sha256 for p in photos]
        rec = self.create_record("visit", fields)
        self.attach_photos("visit", rec["id"], photos)
        return rec["id"], {}

