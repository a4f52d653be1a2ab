"""微心愿 end to end: the register of those who claim wishes (volunteers, party members, units),
the order wishes are shown in (open first, the most urgent first, then by kind), and the wish
figures (sync/reports/wishes.py). Claiming itself is ``Issues.claim`` (a claimant of the
register); dispatching is a staff action like a problem's (sync.workflow)."""

from __future__ import annotations

from typing import Any

from app.services.common import Core, clean
from sync import records as rec_mod
from sync.changes import new_record
from sync.workflow import OPEN_WISH_STATES

_URGENCY_RANK = {u: i for i, u in enumerate(reversed(rec_mod.URGENCIES))}  # critical first


def wish_order(rows: list[dict[str, Any]], at: str = "at", category: str = "category") -> list[dict[str, Any]]:
    """Wishes as people work through them: open ones first, the most urgent first, then by
    kind (category), then the newest (``at`` / ``category``: the rows' keys for them)."""
    return sorted(rows, key=lambda r: (r["status"] not in OPEN_WISH_STATES, _URGENCY_RANK.get(r["urgency"], 0),
                                       r.get(category) or "~", -r[at]))


class Wishes(Core):
    """Claimants and wish figures."""

    def claimant_row(self, rec: dict) -> dict[str, Any]:
        f = rec["fields"]
        kind = f.get("claimant_kind") or ""
        return {"id": rec["id"], "name": f.get("name") or "", "kind": kind, "grid": rec.get("grid", ""),
                "kind_label": rec_mod.choice_label("claimant_kind", kind) if kind else "",
                "phone": f.get("phone") or "", "note": f.get("note") or ""}

    def claimants(self, grid: str | None = None) -> list[dict[str, Any]]:
        """The register (of one grid: a claim must name a claimant of the wish's grid), by kind
        and name."""
        rows = [self.claimant_row(r) for r in self.store.all("claimant") if grid is None or r.get("grid") == grid]
        order = {k: i for i, k in enumerate(rec_mod.CLAIMANT_KINDS)}
        rows.sort(key=lambda r: (order.get(r["kind"], 99), r["name"]))
        return rows

    @staticmethod
    def claimant_kind_choices() -> list[tuple[str, str]]:
        return [(k, rec_mod.choice_label("claimant_kind", k)) for k in rec_mod.CLAIMANT_KINDS]

    def save_claimant(self, values: dict[str, Any], grid: str | None = None) -> tuple[str | None, dict[str, str]]:
        """Register someone who claims wishes, in ``grid`` (staff choose one: a claim names a
        claimant of the wish's grid; default: this device's grid); (id, {}) or (None, errors)."""
        fields = clean(values)
        errors = self.validate("claimant", fields)
        if errors:
            return None, errors
        if grid is None or grid == self.grid_id:
            return self.create_record("claimant", fields)["id"], {}
        with self.lock:
            _rec, change = new_record("claimant", grid, fields, self.store.clock, self.user_id)
            return self.store.save(change)["id"], {}

    def wish_report(self) -> Any:
        """The wish figures over the device's records (sync.reports.wishes)."""
        from sync.reports.wishes import wish_report

        recs = [r for kind in ("issue", "issue_event", "claimant", "grid") for r in self.store.all(kind)]
        p = self.profile
        if p.get("grid_id") and self.store.get("grid", p["grid_id"]) is None:  # not enrolled yet: our own grid
            recs.append({"id": p["grid_id"], "kind": "grid", "fields": {"village": p.get("village_id", "")}})
        vids = {str(r["fields"].get("village") or "") for r in self.store.all("grid")} | {p.get("village_id", "")}
        return wish_report(recs, {v: self.village_name(v) or v for v in vids if v})
