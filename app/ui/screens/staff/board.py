"""The issue board (工单台): filters, counts per status, search by title, sorted by deadline."""

from __future__ import annotations

from typing import Any

import flet as ft

from app.services import Services
from app.ui.screens.staff.layout import dropdown, staff_view, use_staff
from app.ui.state import use_app
from app.ui.widgets import badge, empty, go, row_tile
from sync import workflow as wf
from sync.i18n import t

MAX_ROWS = 200  # rows drawn at once: the filters narrow the rest down


@ft.component
def BoardScreen() -> ft.View:
    state = use_app()
    _ = state.version
    svc = use_staff()
    filters, set_filters = ft.use_state({})
    board = svc.board(filters)

    def put(name: str) -> Any:
        def h(v: Any) -> None:
            set_filters({**filters, name: v})
        return h

    cats = []
    for top in svc.categories():
        cats.append((top["id"], top["name"]))
        cats += [(c["id"], f"{top['name']} / {c['name']}") for c in top["children"]]
    status = filters.get("status")
    any_ = t("ui.staff.filter.any")
    controls: list[ft.Control] = [
        ft.TextField(key="board-search", label=t("ui.staff.search"), value=filters.get("q", ""),
                     prefix_icon=ft.Icons.SEARCH, on_change=lambda e: put("q")(e.control.value or "")),
        ft.Row([
            dropdown("filter-village", t("ui.staff.filter.village"), svc.villages(),
                     filters.get("village"), put("village"), any_label=any_),
            dropdown("filter-grid", t("ui.staff.filter.grid"), svc.grids(), filters.get("grid"),
                     put("grid"), any_label=any_),
            dropdown("filter-category", t("ui.staff.filter.category"), cats, filters.get("category"),
                     put("category"), any_label=any_, width=220),
            dropdown("filter-appeal", t("ui.staff.filter.appeal"), Services.choices("appeal_type"),
                     filters.get("appeal_type"), put("appeal_type"), any_label=any_),
            dropdown("filter-urgency", t("ui.staff.filter.urgency"), Services.choices("urgency"),
                     filters.get("urgency"), put("urgency"), any_label=any_),
            ft.Checkbox(key="filter-overdue", label=t("ui.staff.filter.overdue"),
                        value=bool(filters.get("overdue")), on_change=lambda e: put("overdue")(bool(e.control.value))),
            ft.Checkbox(key="filter-supervised", label=t("ui.staff.filter.supervised"),
                        value=bool(filters.get("supervised")),
                        on_change=lambda e: put("supervised")(bool(e.control.value))),
        ], wrap=True, spacing=8, run_spacing=8),
        ft.Row([ft.Chip(label=ft.Text(t("ui.staff.all", n=board["total"])), key="bstatus:all",
                        selected=status is None, on_click=lambda _: put("status")(None))]
               + [ft.Chip(label=ft.Text(f"{wf.state_label(s)} {board['counts'].get(s, 0)}"), key=f"bstatus:{s}",
                          selected=status == s, on_click=lambda _, s=s: put("status")(None if s == status else s))
                  for s in wf.PROBLEM_STATES],
               wrap=True, spacing=6, run_spacing=6),
    ]
    rows = board["rows"]
    if not rows:
        controls.append(empty(t("ui.issue.none")))
    elif len(rows) > MAX_ROWS:
        controls.append(ft.Text(t("ui.staff.showing", n=MAX_ROWS, total=len(rows)), key="board-more"))
    for r in rows[:MAX_ROWS]:
        trail = [badge(r["status_label"])]
        if r["overdue"]:
            trail.append(badge(t("ui.issue.overdue"), ft.Colors.RED_200))
        if r["supervised"]:
            trail.append(badge(t("ui.staff.supervised", level=r["supervised"]), ft.Colors.ORANGE_200))
        if r["flagged"]:
            trail.append(badge(t("ui.staff.flagged"), ft.Colors.YELLOW_200))
        if r["redo_count"]:
            trail.append(badge(t("ui.staff.redo", n=r["redo_count"]), ft.Colors.PURPLE_100))
        sub = " · ".join(x for x in (svc.category_name(r["category"]),
                                     t("ui.staff.deadline", date=r["deadline"]) if r["deadline"] else "",
                                     svc.unit_name(r["unit"])) if x)
        controls.append(row_tile(f"board:{r['id']}", r["title"], sub,
                                 trailing=ft.Row(trail, spacing=4, tight=True, wrap=False),
                                 on_click=lambda _, i=r["id"]: go(f"/board/{i}")))
    return staff_view(0, t("ui.staff.board.title"), controls)
