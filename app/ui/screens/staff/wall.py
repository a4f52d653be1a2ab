"""Echo wall curation (回音壁): resolved problems, published or not; staff edit the public
title and text before publishing (the wall shows only that wording), and can unpublish."""

from __future__ import annotations

from typing import Any

import flet as ft

from app.ui.screens.staff.layout import staff_view, use_staff
from app.ui.state import use_app
from app.ui.widgets import badge, empty
from sync.i18n import t


@ft.component
def WallScreen() -> ft.View:
    state = use_app()
    _ = state.version
    svc = use_staff()
    edits, set_edits = ft.use_state({})  # issue id -> {"title", "text"} being edited
    errors, set_errors = ft.use_state({})
    items = svc.wall_items()

    def edit(iid: str, name: str, base: dict[str, str]) -> Any:
        def h(e: Any) -> None:
            cur = {**base, **edits.get(iid, {}), name: e.control.value or ""}
            set_edits({**edits, iid: cur})
        return h

    def publish(iid: str, base: dict[str, str]) -> Any:
        def h(_: Any) -> None:
            cur = {**base, **edits.get(iid, {})}
            errs = svc.publish(iid, cur["title"], cur["text"])
            set_errors({**errors, iid: errs})
            if not errs:
                set_edits({k: v for k, v in edits.items() if k != iid})
                state.data_changed()
                state.tell(t("ui.staff.wall.published"))
        return h

    def unpublish(iid: str) -> Any:
        def h(_: Any) -> None:
            errs = svc.unpublish(iid)
            set_errors({**errors, iid: errs})
            if not errs:
                state.data_changed()
                state.tell(t("ui.staff.wall.unpublished"))
        return h

    n_pub = sum(1 for i in items if i["published"])
    controls: list[ft.Control] = [
        ft.Text(t("ui.staff.wall.intro"), size=13, color=ft.Colors.ON_SURFACE_VARIANT),
        ft.Text(t("ui.staff.wall.count", published=n_pub, total=len(items)), key="wall-count"),
    ]
    if not items:
        controls.append(empty(t("ui.staff.wall.none")))
    for it in items:
        iid = it["id"]
        base = {"title": it["public_title"], "text": it["public_text"]}
        cur = {**base, **edits.get(iid, {})}
        errs = errors.get(iid, {})
        status = badge(t("ui.staff.wall.is_published"), ft.Colors.GREEN_200) if it["published"] \
            else badge(t("ui.staff.wall.not_published"))
        buttons: list[ft.Control] = [ft.FilledButton(
            t("ui.staff.wall.republish") if it["published"] else t("ui.staff.wall.publish"),
            key=f"wall-publish:{iid}", icon=ft.Icons.PUBLIC, on_click=publish(iid, base))]
        if it["published"]:
            buttons.append(ft.OutlinedButton(t("ui.staff.wall.unpublish"), key=f"wall-unpublish:{iid}",
                                             icon=ft.Icons.PUBLIC_OFF, on_click=unpublish(iid)))
        if errs.get("type"):
            buttons.append(ft.Text(errs["type"], color=ft.Colors.ERROR))
        controls.append(ft.Card(key=f"wall:{iid}", content=ft.Container(padding=12, content=ft.Column([
            ft.Row([ft.Text(it["title"], weight=ft.FontWeight.BOLD, expand=True), badge(it["status_label"]),
                    status]),
            ft.TextField(key=f"wall-title:{iid}", label=t("ui.staff.wall.public_title"), value=cur["title"],
                         max_length=60, error=errs.get("public_title"), on_change=edit(iid, "title", base)),
            ft.TextField(key=f"wall-text:{iid}", label=t("ui.staff.wall.public_text"), value=cur["text"],
                         multiline=True, max_length=1000, error=errs.get("public_text"),
                         on_change=edit(iid, "text", base)),
            ft.Row(buttons, wrap=True),
        ], tight=True))))
    return staff_view(1, t("ui.staff.wall.title"), controls)
