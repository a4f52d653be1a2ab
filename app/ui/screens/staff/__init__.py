"""Township and county staff screens: the board, registering a problem from another channel,
acting on an issue, echo wall, figures, flags."""

from __future__ import annotations

import flet as ft

from app.ui.screens.inbox import InboxScreen
from app.ui.screens.meetings import MeetingDetail, MeetingsScreen
from app.ui.screens.settings import SettingsScreen
from app.ui.screens.staff.act import ActScreen
from app.ui.screens.staff.board import BoardScreen
from app.ui.screens.staff.bulletin import BulletinScreen
from app.ui.screens.staff.figures import FiguresScreen
from app.ui.screens.staff.flags import FlagsScreen
from app.ui.screens.staff.people import PeopleScreen
from app.ui.screens.staff.reference import ReferenceScreen
from app.ui.screens.staff.register import RegisterScreen
from app.ui.screens.staff.sync import StaffSyncScreen
from app.ui.screens.staff.wall import WallScreen
from app.ui.screens.staff.wishes import WishFiguresScreen
from app.ui.screens.sync import EnrollScreen

STAFF_ROUTES = [
    ft.Route(index=True, component=BoardScreen),
    ft.Route(path="board", component=BoardScreen, children=[
        ft.Route(path=":iid", component=ActScreen),
    ]),
    ft.Route(path="register", component=RegisterScreen),
    ft.Route(path="reference", component=ReferenceScreen),
    ft.Route(path="wall", component=WallScreen),
    ft.Route(path="figures", component=FiguresScreen, children=[
        ft.Route(path="bulletin", component=BulletinScreen),
        ft.Route(path="people", component=PeopleScreen),
        ft.Route(path="wishes", component=WishFiguresScreen),
    ]),
    ft.Route(path="meetings", component=MeetingsScreen, children=[
        ft.Route(path=":mid", component=MeetingDetail),
    ]),
    ft.Route(path="flags", component=FlagsScreen),
    ft.Route(path="sync", component=StaffSyncScreen, children=[
        ft.Route(path="enroll", component=EnrollScreen),
    ]),
    ft.Route(path="settings", component=SettingsScreen),
    ft.Route(path="inbox", component=InboxScreen),
]
