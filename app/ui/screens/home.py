"""首页: what needs doing today (unsynced, visits due, re-checks waiting) and quick actions."""

from __future__ import annotations

import flet as ft

from app.ui.screens.meetings import meetings_button
from app.ui.screens.sync import use_sync_updates
from app.ui.state import use_app
from app.ui.widgets import TOUCH, empty, go, row_tile, section, tab_view
from sync.i18n import t

RECHECK_SHOWN = 20  # rows drawn on 首页; the tabs list the rest
DUE_SHOWN = 30


def _stat(key: str, value: str, label: str, route: str) -> ft.Control:
    return ft.Container(
        key=key,
        content=ft.Column([ft.Text(value, size=26, weight=ft.FontWeight.BOLD),
                           ft.Text(label, size=13)], spacing=0,
                          horizontal_alignment=ft.CrossAxisAlignment.CENTER),
        bgcolor=ft.Colors.SECONDARY_CONTAINER, border_radius=12, padding=10, expand=True,
        on_click=lambda _: go(route), ink=True,
    )


@ft.component
def HomeScreen() -> ft.View:
    state = use_app()
    _ = state.version
    use_sync_updates(state.device.sync, ("report",))  # the last-sync line stays true
    today = state.services.today(limit=DUE_SHOWN)  # rows for what is drawn; counts for all
    controls: list[ft.Control] = [
        ft.Text(t("ui.home.hello", name=today["user_name"], grid=today["grid_name"]), size=16,
                key="home-hello"),
        ft.Row([
            _stat("home-unsynced", str(today["unsynced"]), t("ui.home.unsynced"), "/sync"),
            _stat("home-due", str(today["due_count"]), t("ui.home.due"), "/households"),
            _stat("home-recheck", str(today["recheck_count"]), t("ui.home.recheck"), "/issues"),
        ], spacing=8),
        ft.Text(t("ui.syncx.last", when=today["last_sync"] or t("ui.sync.never")),
                key="home-last-sync", size=12, color=ft.Colors.ON_SURFACE_VARIANT),
        ft.Row([
            ft.FilledButton(t("ui.home.new_visit"), icon=ft.Icons.DIRECTIONS_WALK, key="home-new-visit",
                            height=TOUCH, expand=True, on_click=lambda _: go("/visits/new")),
            ft.FilledTonalButton(t("ui.home.new_issue"), icon=ft.Icons.CAMPAIGN, key="home-new-issue",
                                 height=TOUCH, expand=True, on_click=lambda _: go("/issues/new")),
        ], spacing=8),
        ft.Row([meetings_button()]),
        section(t("ui.home.recheck_title")),
    ]
    if not today["recheck"]:
        controls.append(empty(t("ui.home.no_recheck")))
    for it in today["recheck"][:RECHECK_SHOWN]:
        controls.append(row_tile(f"recheck:{it['id']}", it["title"], it["household_label"],
                                 on_click=lambda _, i=it["id"]: go(f"/issues/{i}"),
                                 leading=ft.Icon(ft.Icons.FACT_CHECK)))
    controls.append(section(t("ui.home.due_title", days=today["interval_days"])))
    if not today["due"]:
        controls.append(empty(t("ui.home.no_due")))
    for h in today["due"][:DUE_SHOWN]:
        controls.append(row_tile(f"due:{h['id']}", h["title"], h["last_visit_text"],
                                 on_click=lambda _, i=h["id"]: go(f"/households/{i}"),
                                 leading=ft.Icon(ft.Icons.HOME_WORK)))
    return tab_view(0, t("ui.home.title"), controls)
