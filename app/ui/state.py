"""App state shared by every screen: the services, the language, a data version, drafts.

``AppState`` is observable: changing ``lang`` or bumping ``version`` re-renders the screens
that read it (they read it through ``use_app()``). Drafts live in a plain object on purpose:
typing into a form must not re-render the whole app.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import flet as ft

from sync.i18n import set_language


class Drafts:
    """Half-filled forms by form key; they survive navigating away and back."""

    def __init__(self) -> None:
        self._forms: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        return self._forms.get(key)

    def put(self, key: str, values: dict[str, Any]) -> None:
        self._forms[key] = dict(values)

    def drop(self, key: str) -> None:
        self._forms.pop(key, None)

    def keys(self) -> list[str]:
        return list(self._forms)


class LeaveGuard:
    """The open form that must confirm before it is left (set by the form, read on back)."""

    def __init__(self) -> None:
        self.form_key: str | None = None
        self.route: str | None = None  # the form's own route: other screens never ask
        self.is_dirty: Callable[[], bool] = lambda: False
        self.discard: Callable[[], None] = lambda: None


@ft.observable
@dataclass
class AppState:
    services: Any
    lang: str = "zh"
    version: int = 0
    notice: str = ""
    dialog: str | None = None  # "leave" or "photo:<sha256>": shown by the top view's DialogHost
    drafts: Drafts = field(default_factory=Drafts)
    guard: LeaveGuard = field(default_factory=LeaveGuard)

    def data_changed(self) -> None:
        """Something was saved: screens that list data read it again."""
        self.version += 1

    def set_lang(self, lang: str) -> None:
        set_language(lang)
        self.services.set_language(lang)
        self.lang = lang

    def tell(self, text: str) -> None:
        """A short message for the user (shown as a snack bar)."""
        self.notice = text


AppCtx = ft.create_context(None)


def use_app() -> AppState:
    """The app state inside any component (subscribes the component to its changes)."""
    state = ft.use_context(AppCtx)
    if state is None:
        raise RuntimeError("use_app() outside the app")
    return state
