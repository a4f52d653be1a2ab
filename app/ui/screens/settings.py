"""设置: language, data folder, about."""

from __future__ import annotations

from typing import Any

import flet as ft

from app import runtime
from app.ui.state import use_app
from app.ui.widgets import chip, detail_view, section
from sync.i18n import t


@ft.component
def SettingsScreen() -> ft.View:
    state = use_app()
    svc = state.services

    def pick(lang: str) -> Any:
        def handler(_: Any) -> None:
            state.set_lang(lang, ft.context.page)
        return handler

    about = svc.about()
    return detail_view(t("ui.settings.title"), [
        section(t("ui.settings.language")),
        ft.Row([
            chip("中文", "lang:zh", state.lang == "zh", pick("zh")),
            chip("English", "lang:en", state.lang == "en", pick("en")),
        ]),
        section(t("ui.settings.data")),
        ft.Text(str(about["data_dir"]), key="data-dir", selectable=True),
        *_browser_storage(),
        ft.Text(t("ui.settings.user", user=about["user"], grid=about["grid"]), key="who"),
        section(t("ui.settings.about")),
        ft.Text(t("ui.settings.about_body", version=about["version"]), key="about"),
    ])


def _browser_storage() -> list[ft.Control]:
    """In the phone's browser: how much of the site's storage is used and left, and whether
    the browser keeps it (persistent) or may clear it when the phone is short of space."""
    st = runtime.storage
    if not st:
        return []
    mb = 1024 * 1024
    return [ft.Text(t("phone.settings.storage", used=round(st["used"] / mb, 1),
                      free=round(max(st["quota"] - st["used"], 0) / mb)), key="browser-storage"),
            ft.Text(t("phone.settings.persisted" if st.get("persisted") else "phone.settings.not_persisted"),
                    key="browser-persisted")]
