"""Small building blocks every screen uses: the tab frame, detail frame, rows, chips.

Phone first: one column, 56 px touch targets, bottom navigation on the five tabs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import flet as ft

from app.ui.state import route_path, use_app
from sync.i18n import t

# (route, catalog key, icon, selected icon); 设置 is reached from the app bar of every tab.
TABS: list[tuple[str, str, Any, Any]] = [
    ("/", "ui.tab.home", ft.Icons.HOME_OUTLINED, ft.Icons.HOME),
    ("/households", "ui.tab.households", ft.Icons.PEOPLE_OUTLINE, ft.Icons.PEOPLE),
    ("/visits", "ui.tab.visits", ft.Icons.DIRECTIONS_WALK_OUTLINED, ft.Icons.DIRECTIONS_WALK),
    ("/issues", "ui.tab.issues", ft.Icons.CAMPAIGN_OUTLINED, ft.Icons.CAMPAIGN),
    ("/sync", "ui.tab.sync", ft.Icons.SYNC_OUTLINED, ft.Icons.SYNC),
]

TOUCH = 56  # height of the main buttons a thumb has to hit
# Material's minimum touch target, for chips and small buttons. Set on each control: a desktop
# browser gets Flutter's compact density and shrink-wrapped tap areas (32-40 px) otherwise.
TAP = 48
NOTICE_SECONDS = 4


def parent_route(route: str) -> str:
    """Where back goes: one path segment up (``/issues/x`` -> ``/issues``)."""
    path = route.split("?", 1)[0].rstrip("/")
    if path.count("/") <= 1:
        return "/"
    return path.rsplit("/", 1)[0] or "/"


def go(route: str) -> None:
    ft.context.page.navigate(route)


def nav_bar(tabs: list[tuple[str, str, Any, Any]], index: int) -> ft.NavigationBar:
    """The bottom navigation over ``tabs`` ((route, catalog key, icon, selected icon))."""
    def on_change(e: ft.Event[ft.NavigationBar]) -> None:
        go(tabs[int(e.control.selected_index)][0])

    return ft.NavigationBar(
        key="nav",
        selected_index=index,
        on_change=on_change,
        label_behavior=ft.NavigationBarLabelBehavior.ALWAYS_SHOW,
        destinations=[
            ft.NavigationBarDestination(icon=icon, selected_icon=sel, label=t(key))
            for _, key, icon, sel in tabs
        ],
    )


def tab_appbar(title: str, actions: list[ft.Control] | None = None) -> ft.AppBar:
    """A tab's app bar: no back arrow; 设置 after the tab's own actions."""
    acts = list(actions or [])
    acts.append(ft.TextButton(t("ui.tab.settings"), icon=ft.Icons.SETTINGS, key="open-settings",
                              on_click=lambda _: go("/settings"), height=TAP))
    return ft.AppBar(title=ft.Text(title), actions=acts, automatically_imply_leading=False)


def tab_view(index: int, title: str, controls: list[ft.Control],
             fab: ft.FloatingActionButton | None = None,
             actions: list[ft.Control] | None = None) -> ft.View:
    """A top-level tab: app bar, one scrolling column, bottom navigation."""
    return ft.View(
        route=ft.use_view_path() or TABS[index][0],
        appbar=tab_appbar(title, actions),
        navigation_bar=nav_bar(TABS, index),
        floating_action_button=fab,
        controls=[DialogHost(), *controls],
        scroll=ft.ScrollMode.AUTO,
        padding=ft.Padding.symmetric(horizontal=12, vertical=8),
    )


def detail_view(title: str, controls: list[ft.Control], *, actions: list[ft.Control] | None = None,
                fab: ft.FloatingActionButton | None = None,
                bottom: ft.Control | None = None) -> ft.View:
    """A full-screen detail or form pushed over a tab, with a back arrow that asks first
    when a form has unsaved input."""
    state = use_app()

    def back(_: Any) -> None:
        request_back(state)

    return ft.View(
        route=ft.use_view_path() or "/",
        appbar=ft.AppBar(
            title=ft.Text(title),
            # a text button: an icon-only one has no accessible name in the web build
            leading=ft.TextButton(t("ui.back"), icon=ft.Icons.ARROW_BACK, key="back", on_click=back,
                                  height=TAP),
            leading_width=96,
            actions=actions or [],
        ),
        floating_action_button=fab,
        bottom_appbar=ft.BottomAppBar(content=bottom, height=76, padding=8) if bottom else None,
        controls=[DialogHost(), *controls],
        scroll=ft.ScrollMode.AUTO,
        padding=ft.Padding.symmetric(horizontal=12, vertical=8),
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH,  # fields use the full width
    )


def request_back(state: Any) -> None:
    """Back from the top view: a dirty form asks (keep draft / discard / stay) first."""
    page = ft.context.page
    target = parent_route(page.route)
    guard = state.guard
    here = page.route.split("?", 1)[0].rstrip("/") or "/"
    if guard.form_key and guard.route == here and guard.is_dirty():
        state.dialog = "leave"
        return
    guard.form_key = None
    go(target)


@ft.component
def DialogHost() -> ft.Control:
    """Shows ``state.dialog`` (declaratively, ``use_dialog``) from the view on top only."""
    state = use_app()
    page = ft.context.page
    here = route_path(ft.use_view_path() or "/")
    on_top = here == route_path(page.route)
    active = state.dialog if on_top else None
    guard = state.guard

    def close() -> None:
        state.dialog = None

    def leave(discard: bool) -> Callable[[Any], None]:
        def h(_: Any) -> None:
            target = parent_route(page.route)
            if discard:
                guard.discard()
            guard.form_key = None
            state.dialog = None
            go(target)
        return h

    def build() -> ft.DialogControl | None:
        dialog: ft.DialogControl | None = None
        if active == "leave":
            dialog = ft.AlertDialog(
                key="leave-dialog", modal=True,
                title=ft.Text(t("ui.leave.title")), content=ft.Text(t("ui.leave.body")),
                actions=[
                    ft.TextButton(t("ui.leave.stay"), key="leave-stay", on_click=lambda _: close()),
                    ft.TextButton(t("ui.leave.discard"), key="leave-discard", on_click=leave(True)),
                    ft.FilledButton(t("ui.leave.keep"), key="leave-keep", on_click=leave(False)),
                ],
            )
        elif active and active.startswith("photo:"):
            data = state.services.photo(active.split(":", 1)[1])
            dialog = ft.AlertDialog(
                key="photo-full",
                content=ft.Image(src=data, fit=ft.BoxFit.CONTAIN) if data else ft.Text(t("ui.photo.missing")),
                actions=[ft.TextButton(t("ui.close"), key="photo-close", on_click=lambda _: close())],
                on_dismiss=lambda _: close(),
            )
        return dialog

    # One instance per dialog shown: use_dialog patches it in place across re-renders.
    dialog = ft.use_memo(build, [active])
    ft.use_dialog(dialog)

    # Short messages ("saved") show as a banner at the top of the view they are about, for a
    # few seconds: part of the view tree, so nothing to open or dismiss on the client.
    fresh = time.monotonic() - state.notice_at < NOTICE_SECONDS
    notice = state.notice if on_top and fresh and state.notice_route == here else ""

    async def fade() -> None:
        if notice:
            await asyncio.sleep(NOTICE_SECONDS)
            if state.notice == notice:
                state.notice = ""

    ft.use_effect(fade, [notice])
    if not notice:
        return ft.Container(width=0, height=0, key="dialog-host")
    return ft.Container(
        ft.Row([ft.Icon(ft.Icons.CHECK_CIRCLE, color=ft.Colors.ON_INVERSE_SURFACE),
                ft.Text(notice, color=ft.Colors.ON_INVERSE_SURFACE, expand=True, key="notice-text")]),
        key="notice", bgcolor=ft.Colors.INVERSE_SURFACE, border_radius=8, padding=12,
        on_click=lambda _: setattr(state, "notice", ""),
    )


def section(title: str) -> ft.Control:
    return ft.Container(ft.Text(title, size=15, weight=ft.FontWeight.BOLD,
                                color=ft.Colors.PRIMARY), padding=ft.Padding.only(top=12, bottom=2))


def place_line(text: str, key: str) -> list[ft.Control]:
    """Where a record was made (coordinates and accuracy), or nothing when it has no location."""
    if not text:
        return []
    return [ft.Row([ft.Icon(ft.Icons.PLACE_OUTLINED, size=18, color=ft.Colors.ON_SURFACE_VARIANT),
                    ft.Text(text, size=13, key=key)], spacing=4)]


def empty(text: str) -> ft.Control:
    return ft.Container(ft.Text(text, color=ft.Colors.ON_SURFACE_VARIANT), padding=16,
                        alignment=ft.Alignment.CENTER)


def row_tile(key: str, title: str, subtitle: str = "", *, on_click: Callable[[Any], Any] | None = None,
             leading: ft.Control | None = None, trailing: ft.Control | None = None) -> ft.Control:
    return ft.ListTile(
        key=key, title=ft.Text(title), subtitle=ft.Text(subtitle) if subtitle else None,
        leading=leading, trailing=trailing, on_click=on_click, min_height=TOUCH,
    )


def big_button(key: str, label: str, on_click: Callable[[Any], Any], *, icon: Any = None,
               disabled: bool = False) -> ft.Control:
    return ft.FilledButton(label, key=key, icon=icon, on_click=on_click, disabled=disabled,
                           height=TOUCH, expand=True)


def chip(label: str, key: str, selected: bool, on_click: Callable[[Any], Any]) -> ft.Chip:
    """A choice chip a thumb can hit: 48 px tall to the eye and to the touch, in a desktop
    browser too (Flutter draws compact 32 px chips there)."""
    return ft.Chip(label=ft.Text(label), key=key, selected=selected, on_click=on_click, height=TAP,
                   visual_density=ft.VisualDensity.STANDARD,
                   padding=ft.Padding.symmetric(horizontal=8, vertical=12))


def badge(text: str, color: Any = ft.Colors.SECONDARY_CONTAINER) -> ft.Control:
    return ft.Container(ft.Text(text, size=12), bgcolor=color, border_radius=10,
                        padding=ft.Padding.symmetric(horizontal=8, vertical=2))
