"""The staff frame: a navigation rail beside the content on a PC or tablet (page width
>= 800), the bottom navigation bar on a phone. Same destinations either way."""

from __future__ import annotations

from typing import Any

import flet as ft

from app.services.staff import StaffServices
from app.ui.state import use_app
from app.ui.widgets import DialogHost, go, nav_bar, tab_appbar
from sync.i18n import t

WIDE = 800  # px: from here the rail fits beside a readable board
# (route, catalog key, icon, selected icon)
STAFF_TABS: list[tuple[str, str, Any, Any]] = [
    ("/board", "ui.staff.tab.board", ft.Icons.VIEW_LIST_OUTLINED, ft.Icons.VIEW_LIST),
    ("/wall", "ui.staff.tab.wall", ft.Icons.CAMPAIGN_OUTLINED, ft.Icons.CAMPAIGN),
    ("/figures", "ui.staff.tab.figures", ft.Icons.BAR_CHART_OUTLINED, ft.Icons.BAR_CHART),
    ("/flags", "ui.staff.tab.flags", ft.Icons.WARNING_AMBER_OUTLINED, ft.Icons.WARNING_AMBER),
    ("/sync", "ui.tab.sync", ft.Icons.SYNC_OUTLINED, ft.Icons.SYNC),
]


def use_staff() -> StaffServices:
    """The staff services of this device."""
    return use_app().device.staff


def is_wide() -> bool:
    width = ft.context.page.width
    return bool(width and width >= WIDE)


def staff_view(index: int, title: str, controls: list[ft.Control],
               actions: list[ft.Control] | None = None) -> ft.View:
    """A staff tab: rail + content when wide, bottom bar when narrow."""
    appbar = tab_appbar(title, actions)
    route = ft.use_view_path() or STAFF_TABS[index][0]

    def on_change(e: Any) -> None:
        go(STAFF_TABS[int(e.control.selected_index)][0])

    if is_wide():
        rail = ft.NavigationRail(
            key="rail", selected_index=index, on_change=on_change,
            label_type=ft.NavigationRailLabelType.ALL,
            destinations=[ft.NavigationRailDestination(icon=i, selected_icon=s, label=t(k))
                          for _, k, i, s in STAFF_TABS],
        )
        body = ft.Column([DialogHost(), *controls], expand=True, scroll=ft.ScrollMode.AUTO)
        return ft.View(route=route, appbar=appbar, padding=8,
                       controls=[ft.Row([rail, ft.VerticalDivider(width=1), body], expand=True,
                                        vertical_alignment=ft.CrossAxisAlignment.START)])
    return ft.View(route=route, appbar=appbar, navigation_bar=nav_bar(STAFF_TABS, index),
                   controls=[DialogHost(), *controls], scroll=ft.ScrollMode.AUTO, padding=ft.Padding.symmetric(horizontal=12, vertical=8))


def dropdown(key: str, label: str, options: list[tuple[str, str]], value: str | None,
             on_pick: Any, *, any_label: str | None = None, width: int | None = 180) -> ft.Control:
    """A Dropdown of (value, label); with ``any_label`` the first option clears the choice."""
    opts = [ft.DropdownOption(key="", text=any_label)] if any_label is not None else []
    opts += [ft.DropdownOption(key=v, text=lbl) for v, lbl in options]

    def h(e: Any) -> None:
        on_pick(e.control.value or None)

    dd = ft.Dropdown(key=key, label=label, options=opts, value=value or ("" if any_label else None),
                     on_select=h, width=width, dense=True)
    # The web build gives a dropdown no accessible name: name it (screen readers, browser tests).
    return ft.Semantics(content=dd, identifier=key, label=label, container=True)
