"""消息 (the inbox): what needs the user's attention, derived from the synced records
(app/services/inbox.py); tap one to open its issue (it is then read). The same screen for grid
workers and staff; the count of unread ones is on the app bar of every tab (widgets.inbox_button)."""

from __future__ import annotations

from typing import Any

import flet as ft

from app.ui.state import use_app
from app.ui.widgets import TAP, badge, detail_view, empty, go

KIND_COLORS = {"overdue": ft.Colors.RED_200, "due_soon": ft.Colors.ORANGE_200, "supervised": ft.Colors.ORANGE_100,
               "rejected": ft.Colors.PINK_100}


@ft.component
def InboxScreen() -> ft.View:
    from app.services.staff import is_staff
    from sync.i18n import t

    state = use_app()
    _ = state.version
    box = state.device.inbox
    rows = box.rows()
    base = "/board" if is_staff(state.services) else "/issues"

    def open_one(row: dict[str, Any]) -> Any:
        def h(_: Any) -> None:
            box.mark_read([row["id"]])
            state.data_changed()
            go(f"{base}/{row['issue']}")
        return h

    def all_read(_: Any) -> None:
        box.mark_all_read()
        state.data_changed()

    unread = sum(1 for r in rows if not r["read"])
    controls: list[ft.Control] = [
        ft.Row([ft.Text(t("ui.inbox.count", n=len(rows), unread=unread), key="inbox-count", expand=True),
                ft.OutlinedButton(t("ui.inbox.all_read"), key="inbox-all-read", on_click=all_read, height=TAP,
                                  disabled=not unread)]),
    ]
    if not rows:
        controls.append(empty(t("ui.inbox.none")))
    for r in rows:
        title = ft.Text(r["title"], weight=None if r["read"] else ft.FontWeight.BOLD)
        controls.append(ft.ListTile(
            key=f"inbox:{r['id']}", title=title, min_height=56, on_click=open_one(r),
            leading=ft.Icon(ft.Icons.MARK_EMAIL_READ_OUTLINED if r["read"] else ft.Icons.MARK_EMAIL_UNREAD,
                            color=None if r["read"] else ft.Colors.PRIMARY),
            subtitle=ft.Column([ft.Row([badge(r["label"], KIND_COLORS.get(r["kind"], ft.Colors.SECONDARY_CONTAINER)),
                                        ft.Text(r["at_text"], size=12)], wrap=True, spacing=6),
                                ft.Text(r["detail"], size=13)], spacing=2, tight=True)))
    return detail_view(t("ui.inbox.title"), controls)
