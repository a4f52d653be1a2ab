"""The app: routes, the root component and ``make_main`` (what ``ft.run`` calls per session).

Every tab is its own ``View`` with the bottom ``NavigationBar``; details and forms are nested
routes that push a full-screen view (back arrow, system back). ``page.on_view_pop`` is set
before the Router mounts, so back always goes through ``request_back`` (which asks before a
dirty form is left).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import flet as ft

from app.ui.screens.home import HomeScreen
from app.ui.screens.households import HouseholdDetail, HouseholdForm, HouseholdsScreen
from app.ui.screens.inbox import InboxScreen
from app.ui.screens.issues import IssueDetail, IssueForm, IssuesScreen
from app.ui.screens.meetings import MeetingDetail, MeetingForm, MeetingsScreen
from app.ui.screens.people import MemberDetail, MemberForm, MembersScreen, PairMember
from app.ui.screens.settings import SettingsScreen
from app.ui.screens.sync import EnrollScreen, SyncScreen
from app.ui.screens.visits import VisitDetail, VisitForm, VisitsScreen
from app.ui.session import bind_language, bind_session
from app.ui.state import AppCtx, AppState
from app.ui.widgets import request_back
from sync.i18n import add_catalog_dir, t

add_catalog_dir(Path(__file__).resolve().parent.parent / "locale")

FONT_FAMILY = "AppCJK"

ROUTES = [
    ft.Route(index=True, component=HomeScreen),
    ft.Route(path="households", component=HouseholdsScreen, children=[
        ft.Route(path="new", component=HouseholdForm),
        ft.Route(path="members", component=MembersScreen, children=[
            ft.Route(path="new", component=MemberForm),
            ft.Route(path=":mid", component=MemberDetail, children=[
                ft.Route(path="edit", component=MemberForm),
            ]),
        ]),
        ft.Route(path=":hid", component=HouseholdDetail, children=[
            ft.Route(path="edit", component=HouseholdForm),
            ft.Route(path="pair", component=PairMember),
        ]),
    ]),
    ft.Route(path="visits", component=VisitsScreen, children=[
        ft.Route(path="new", component=VisitForm),
        ft.Route(path=":vid", component=VisitDetail),
    ]),
    ft.Route(path="issues", component=IssuesScreen, children=[
        ft.Route(path="new", component=IssueForm),
        ft.Route(path=":iid", component=IssueDetail),
    ]),
    ft.Route(path="meetings", component=MeetingsScreen, children=[
        ft.Route(path="new", component=MeetingForm),
        ft.Route(path=":mid", component=MeetingDetail),
    ]),
    ft.Route(path="sync", component=SyncScreen, children=[
        ft.Route(path="enroll", component=EnrollScreen),
    ]),
    ft.Route(path="settings", component=SettingsScreen),
    ft.Route(path="inbox", component=InboxScreen),
]


@ft.component
def App(state: AppState) -> Any:
    from app.services.staff import is_staff
    from app.ui.screens.staff import STAFF_ROUTES

    # Township staff (role from the enrolled account) get the staff screens.
    routes = STAFF_ROUTES if is_staff(state.services) else ROUTES
    return AppCtx(state, lambda: ft.Router(routes, manage_views=True))


def make_main(device: Any, *, font_url: str | None = None) -> Callable[[ft.Page], None]:
    """The per-session entry point for ``ft.run`` (one ``AppState`` per browser tab) over the
    device built by ``app.device.open_device``. ``font_url``: the bundled CJK font, made the
    theme font (web mode). The phone build needs none: it registers the font with Flutter as
    its default family."""

    def main(page: ft.Page) -> None:
        lang = device.services.language()
        state = AppState(device=device, lang=lang)
        bind_language(page, state)  # before the first t(): the catalog speaks this session's language
        state.set_lang(lang, page)
        page.title = t("ui.app.title")
        if page.web and font_url:
            # Browsers have no CJK font we can count on, and no internet: use the bundled one.
            page.fonts = {FONT_FAMILY: font_url}
            page.theme = ft.Theme(font_family=FONT_FAMILY, color_scheme_seed=ft.Colors.RED_800)
        else:
            page.theme = ft.Theme(color_scheme_seed=ft.Colors.RED_800)
        page.theme_mode = ft.ThemeMode.LIGHT

        def on_view_pop(_: ft.ViewPopEvent) -> None:
            request_back(state)

        page.on_view_pop = on_view_pop
        bind_session(page, state)  # sync on start, screens re-read after a sync
        page.render_views(App, state)

    return main
