"""Conflicts and flagged events: what sync could not settle by itself, with both values."""

from __future__ import annotations

import flet as ft

from app.ui.screens.staff.layout import staff_view, use_staff
from app.ui.state import use_app
from app.ui.widgets import empty, go, row_tile, section
from sync.i18n import t


@ft.component
def FlagsScreen() -> ft.View:
    state = use_app()
    _ = state.version
    svc = use_staff()
    flagged = svc.flagged_events()
    conflicts = svc.conflict_rows()
    controls: list[ft.Control] = [section(t("ui.staff.flags.events", n=len(flagged)))]
    if not flagged:
        controls.append(empty(t("ui.staff.flags.no_events")))
    for i, ev in enumerate(flagged):
        sub = " · ".join(x for x in (ev["at_text"], ev["actor"], ev["detail"], ev["flag"]) if x)
        controls.append(row_tile(f"flag:{i}", f"{ev['issue_title']}: {ev['type_label']}", sub,
                                 leading=ft.Icon(ft.Icons.WARNING_AMBER, color=ft.Colors.ERROR),
                                 on_click=lambda _, iid=ev["issue"]: go(f"/board/{iid}")))
    controls.append(section(t("ui.staff.flags.conflicts", n=len(conflicts))))
    if not conflicts:
        controls.append(empty(t("ui.staff.flags.no_conflicts")))
    else:
        controls.append(ft.OutlinedButton(t("ui.staff.flags.resolve"), key="flags-to-sync", icon=ft.Icons.SYNC,
                                          on_click=lambda _: go("/sync")))
    for i, c in enumerate(conflicts):
        controls.append(row_tile(f"conflict:{i}", f"{c['kind']} {c['id']} · {c['field']}",
                                 t("ui.staff.flags.values", kept=c["kept"], lost=c["lost"], at=c["at"])))
    return staff_view(3, t("ui.staff.flags.title"), controls)
