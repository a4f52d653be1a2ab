"""Staff register a problem that did not come from a grid worker (issue 14, "every channel
in"): 12345热线, 信访, 明查暗访, 上级交办, 巡察/督查, 群众来访 ... The problem goes to the grid of
its household, else of its village (``sync.intake.pick_grid``), so the grid worker of that
grid receives it on the phone and does the 回头看. The caller's contact is private
(``sync.records.PRIVATE_FIELDS``): never on the wall or in an export, and the server sends it
only to staff and to that grid's worker (unless the caller asked to stay anonymous).

Also the reference data a county's staff pick from (sources, places, units by level) and the
deadline flags of the board (``sync.workflow.deadline_flags``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.services.common import china_today, clean
from sync import intake, reference
from sync import records as rec_mod
from sync import workflow as wf
from sync.changes import new_record
from sync.i18n import t

if TYPE_CHECKING:
    from app.services.staff import StaffServices

# What the 登记 form asks for, in order (the rest of an issue is set here).
REGISTER_FIELDS = ("source", "external_no", "title", "description", "village", "household", "category",
                   "appeal_type", "urgency", "contact_name", "contact_phone", "reporter_visibility")


class StaffIntake:
    """Problems from other channels, over a device's ``StaffServices``."""

    def __init__(self, staff: StaffServices) -> None:
        self.staff = staff
        self.store = staff.store

    # ------------------------------------------------------------------ pickers
    def _live(self, kind: str) -> list[dict]:
        return [r for r in self.store.all(kind) if not r["fields"].get("retired")]

    def sources(self, *, with_grid: bool = False) -> list[tuple[str, str]]:
        """(id, name) of the channels staff register from, in order (the grid workers' own
        channel only when asked: it is not one staff register from)."""
        recs = sorted(self._live("source"), key=lambda r: (r["fields"].get("order") or 0, r["id"]))
        out = [(r["id"], str(r["fields"].get("name") or r["id"])) for r in recs]
        if not out:  # before the first sync: the defaults
            out = [(s, reference.source_name(s)) for s in reference.SOURCES]
        return [x for x in out if with_grid or x[0] != reference.GRID_SOURCE]

    def source_name(self, source: str | None) -> str:
        return self.staff.services.source_name(source)

    def townships(self) -> dict[str, str]:
        """township id -> name (the township records this device pulled)."""
        return {r["id"]: str(r["fields"].get("name") or "") for r in self.store.all("township")}

    def villages(self) -> list[tuple[str, str]]:
        """(village id, label): ``乡镇 / 村`` when the device sees several townships (a village's
        name is unique only within its township)."""
        towns = self.townships()
        several = len(towns) > 1
        out = []
        for r in self.store.all("village"):
            f = r["fields"]
            town = towns.get(str(f.get("township_id") or ""), str(f.get("township") or ""))
            name = str(f.get("name") or r["id"])
            out.append((r["id"], f"{town} / {name}" if several and town else name))
        return sorted(out, key=lambda x: x[1])

    def households(self, village: str | None) -> list[tuple[str, str]]:
        """(household id, 户主 · 门牌) of a village, by address."""
        if not village:
            return []
        rows = [(h["id"], f"{h['fields'].get('head', '')} · {h['fields'].get('address', '')}")
                for h in self.store.all("household") if h["fields"].get("village") == village]
        return sorted(rows, key=lambda x: x[1])

    def route(self, village: str | None, household: str | None) -> str | None:
        """The grid a problem goes to (its household's, else its village's first)."""
        hh = self.store.get("household", household) if household else None
        grids = [(g["id"], g["fields"].get("village"), str(g["fields"].get("name") or ""))
                 for g in self.store.all("grid")]
        return intake.pick_grid(village, hh["grid"] if hh else None, grids)

    # ------------------------------------------------------------------ registering
    def register(self, values: dict[str, Any]) -> tuple[str | None, dict[str, str]]:
        """Register a problem from another channel; (issue id, {}) or (None, field -> message)."""
        fields = clean({k: values.get(k) for k in REGISTER_FIELDS})
        fields.update(issue_kind="problem", reporter=self.staff.services.user_id)
        fields.setdefault("source", "hotline")
        fields.setdefault("urgency", "normal")
        fields.setdefault("reporter_visibility", "hidden")  # a caller is not named on the wall
        if "contact_phone" in fields:
            fields["contact_phone"] = intake.clean_phone(fields["contact_phone"])
        errors: dict[str, str] = {}
        for e in rec_mod.validate_record("issue", fields):
            errors.setdefault(e.field, e.message)
        if fields["source"] == reference.GRID_SOURCE or fields["source"] not in dict(self.sources()):
            errors.setdefault("source", t("ui.register.error.source"))
        if not fields.get("village"):
            errors.setdefault("village", t("ui.register.error.village"))
        grid = self.route(fields.get("village"), fields.get("household"))
        if fields.get("village") and grid is None:
            errors.setdefault("village", t("ui.register.error.no_grid"))
        no = fields.get("external_no")
        if no and any(r["fields"].get("external_no") == no and r["fields"].get("source") == fields["source"]
                      for r in self.store.all("issue")):
            errors.setdefault("external_no", t("ui.register.error.duplicate", number=no))
        if errors:
            return None, errors
        services = self.staff.services
        note = t("ui.register.note", source=self.source_name(fields["source"]), lang="zh")
        with services.lock:
            rec, change = new_record("issue", str(grid), fields, self.store.clock, services.user_id)
            self.store.save(change)
            _ev, ev_change = wf.new_event(rec, "report", {"note": note}, self.store.clock, services.user_id,
                                          self.staff.role)
            self.store.save(ev_change)
        return rec["id"], {}

    # ------------------------------------------------------------------ flags
    def flags(self, st: Any, calendar: Any = None) -> list[wf.DeadlineFlag]:
        """The issue's deadline flags today (the township's local days counted); pass the
        ``calendar`` when asking for many issues."""
        return wf.deadline_flags(st, china_today(), calendar or self.staff.work_calendar())
