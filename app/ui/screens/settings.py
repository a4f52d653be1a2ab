"""设置: language, data folder, about."""

from __future__ import annotations

from typing import Any

import flet as ft

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
        ft.Text(t("ui.settings.user", user=about["user"], grid=about["grid"]), key="who"),
        section(t("ui.settings.about")),
        ft.Text(t("ui.settings.about_body", version=about["version"]), key="about"),
    ])
