"""联户 for township staff: the figures (households covered, households without a member,
visits the member came along to per quarter), per village, and the register with the
households each member looks after (docs/people.md, docs/staff.md)."""

from __future__ import annotations

from typing import Any

import flet as ft

from app.ui.screens.people import member_subtitle
from app.ui.state import use_app
from app.ui.widgets import detail_view, empty, section
from sync.i18n import t
from sync.reports.people import PAIRING_FIGURES

UNPAIRED_SHOWN = 20  # households without a member listed by name; the count says the rest


def figure_line(key: str, fig: Any) -> ft.Control:
    return ft.Column([
        ft.Row([ft.Text(fig.label, weight=ft.FontWeight.BOLD, width=240),
                ft.Text(fig.display(), key=f"{key}-value", width=60),
                ft.Text(t("ui.staff.fig.n", n=fig.denominator), key=f"{key}-n")], wrap=True),
        ft.Text(fig.definition, size=12, color=ft.Colors.ON_SURFACE_VARIANT),
    ], key=key, spacing=2, tight=True)


def _group(prefix: str, g: Any, quarters: list[str]) -> list[ft.Control]:
    out = [figure_line(f"{prefix}:{k}", g.figures[k]) for k in PAIRING_FIGURES]
    for q in quarters[-4:]:  # the last year
        fig = g.member_visit_figure(q)
        out.append(ft.Row([ft.Text(f"{fig.label} {q}", width=240),
                           ft.Text(fig.display(), key=f"{prefix}:member_visits:{q}", width=60),
                           ft.Text(t("ui.staff.fig.n", n=fig.denominator))], wrap=True))
    return out


@ft.component
def PeopleScreen() -> ft.View:
    state = use_app()
    _ = state.version
    svc = state.services
    report = svc.pairing_report()
    controls: list[ft.Control] = [section(t("ui.staff.people.figures"))]
    controls += _group("people-total", report.total, report.quarters)
    if report.quarters:
        controls.append(ft.Text(t("reports.figure.member_visits.def"), size=12,
                                color=ft.Colors.ON_SURFACE_VARIANT))
    for g in report.villages:
        if len(report.villages) > 1:
            controls.append(section(g.label))
            controls += _group(f"people-v-{g.key}", g, report.quarters)
    unpaired = report.total.unpaired_ids
    controls.append(section(t("ui.staff.people.unpaired", n=len(unpaired))))
    labels = sorted(svc.household_label(h) for h in unpaired)
    controls += [ft.Text(lbl, key=f"unpaired:{i}") for i, lbl in enumerate(labels[:UNPAIRED_SHOWN])]
    if len(labels) > UNPAIRED_SHOWN:
        controls.append(empty(t("ui.household.more", n=len(labels) - UNPAIRED_SHOWN)))
    members = svc.members()
    controls.append(section(t("ui.staff.people.register", n=len(members))))
    if not members:
        controls.append(empty(t("ui.people.none")))
    for m in members:
        homes = "、".join(sorted(svc.household_label(h) for h in m["households"])) or t("ui.people.no_households")
        controls.append(ft.Container(ft.Column([
            ft.Text(f"{m['name']} · {member_subtitle(m)}", weight=ft.FontWeight.BOLD),
            ft.Text(" · ".join(x for x in (m["phone"], svc.village_name(m["village"])) if x), size=12),
            ft.Text(homes, key=f"staff-member-homes:{m['id']}"),
        ], spacing=2, tight=True), key=f"staff-member:{m['id']}", padding=ft.Padding.symmetric(vertical=6)))
    return detail_view(t("ui.people.title"), controls)
