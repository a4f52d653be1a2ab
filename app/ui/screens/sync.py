"""同步: what waits in the outbox, read truthfully from the store (no sync engine yet)."""

from __future__ import annotations

import flet as ft

from app.ui.state import use_app
from app.ui.widgets import empty, row_tile, section, tab_view
from sync.i18n import t


@ft.component
def SyncScreen() -> ft.View:
    state = use_app()
    _ = state.version  # re-read after every save
    box = state.services.outbox()
    controls: list[ft.Control] = [
        ft.Text(t("ui.sync.waiting", n=box["changes"]), key="sync-waiting", size=20,
                weight=ft.FontWeight.BOLD),
        ft.Text(t("ui.sync.photos", n=box["photos"], size=box["photo_bytes_text"]), key="sync-photos"),
        ft.Text(t("ui.sync.last", when=box["last_sync"] or t("ui.sync.never")), key="sync-last"),
        section(t("ui.sync.by_kind")),
    ]
    if not box["by_kind"]:
        controls.append(empty(t("ui.sync.nothing")))
    for kind, n in box["by_kind"].items():
        controls.append(row_tile(f"sync-kind:{kind}", t(f"ui.kind.{kind}"), str(n)))
    if box["refused"]:
        controls.append(section(t("ui.sync.refused")))
        for r in box["refused"]:
            controls.append(row_tile(f"sync-refused:{r['change_id']}", t(f"ui.kind.{r['kind']}"),
                                     r["reason"]))
    if box["conflicts"]:
        controls.append(section(t("ui.sync.conflicts", n=box["conflicts"])))
    controls.append(ft.Container(ft.Text(t("ui.sync.engine_later"), color=ft.Colors.ON_SURFACE_VARIANT,
                                         key="sync-note"), padding=ft.Padding.only(top=16)))
    return tab_view(4, t("ui.sync.title"), controls)
