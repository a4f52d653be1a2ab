"""微心愿 for township staff: collected, claimed, fulfilled and the days to fulfil, for the
township, per village and per kind of claimant, each with N and its definition; and the
register of claimants (docs/people.md, docs/staff.md)."""

from __future__ import annotations

from typing import Any

import flet as ft

from app.ui.screens.staff.layout import dropdown, use_staff
from app.ui.screens.staff.people import figure_line
from app.ui.state import use_app
from app.ui.widgets import detail_view, empty, section
from sync.i18n import t
from sync.reports.wishes import COUNT_FIGURES


def _group(prefix: str, g: Any, counts: tuple[str, ...] = COUNT_FIGURES) -> list[ft.Control]:
    out = [figure_line(f"{prefix}:{k}", g.figures[k]) for k in counts]
    days = g.days_figure
    out.append(ft.Row([ft.Text(days.label, weight=ft.FontWeight.BOLD, width=240),
                       ft.Text(g.days_text(), key=f"{prefix}:days-value", width=60),
                       ft.Text(t("ui.staff.fig.n", n=days.denominator))], wrap=True))
    return out


@ft.component
def NewClaimant() -> ft.Control:
    """Register a claimant (a unit, a volunteer, a party member) for the wishes of one grid."""
    state = use_app()
    staff = use_staff()
    grids = staff.grids()
    values, set_values = ft.use_state({"name": "", "claimant_kind": "unit", "grid": grids[0][0] if grids else ""})
    errors, set_errors = ft.use_state({})

    def save(_: Any) -> None:
        cid, errs = state.services.save_claimant({"name": values["name"], "claimant_kind": values["claimant_kind"]},
                                                 values["grid"] or None)
        set_errors(errs)
        if cid:
            set_values({**values, "name": ""})
            state.data_changed()
            state.tell(t("ui.staff.wishes.registered"))

    return ft.Column([
        ft.Row([
            ft.TextField(key="claimant-new-name", label=t("model.field.claimant.name"), value=values["name"],
                         error=errors.get("name"), width=240,
                         on_change=lambda e: set_values({**values, "name": e.control.value or ""})),
            dropdown("claimant-new-kind", t("model.field.claimant_kind"), state.services.claimant_kind_choices(),
                     values["claimant_kind"], lambda v: set_values({**values, "claimant_kind": v or "unit"})),
            dropdown("claimant-new-grid", t("ui.staff.wishes.grid"), grids, values["grid"],
                     lambda v: set_values({**values, "grid": v or ""})),
        ], wrap=True),
        ft.OutlinedButton(t("ui.staff.wishes.register_new"), key="claimant-new-save", icon=ft.Icons.PERSON_ADD,
                          on_click=save),
    ], spacing=6)


@ft.component
def WishFiguresScreen() -> ft.View:
    state = use_app()
    _ = state.version
    svc = state.services
    report = svc.wish_report()
    controls: list[ft.Control] = [section(t("ui.staff.wishes.figures"))]
    controls += _group("wish-total", report.total)
    controls.append(ft.Text(t("reports.figure.wish_days.def"), size=12, color=ft.Colors.ON_SURFACE_VARIANT))
    if len(report.villages) > 1:
        for g in report.villages:
            controls.append(section(g.label or t("ui.staff.wishes.no_village")))
            controls += _group(f"wish-v-{g.key}", g)
    controls.append(section(t("ui.staff.wishes.by_claimant")))
    for g in report.claimants:
        controls.append(ft.Text(g.label, weight=ft.FontWeight.BOLD))
        controls.append(ft.Row([
            ft.Text(t("ui.staff.wishes.claimed_fulfilled", claimed=g.claimed, fulfilled=g.fulfilled),
                    key=f"wish-c-{g.key}:counts", width=240),
            ft.Text(t("ui.staff.wishes.days", days=g.days_text()), key=f"wish-c-{g.key}:days")], wrap=True))
    register = svc.claimants()
    controls.append(section(t("ui.staff.wishes.register", n=len(register))))
    controls.append(NewClaimant())
    if not register:
        controls.append(empty(t("ui.staff.wishes.no_claimants")))
    for c in register:
        controls.append(ft.Text(" · ".join(x for x in (c["name"], c["kind_label"], c["phone"]) if x),
                                key=f"claimant-row:{c['id']}"))
    return detail_view(t("ui.staff.wishes.title"), controls)
