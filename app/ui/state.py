"""App state shared by every screen: the device, the language, a data version, drafts.

``AppState`` is observable: changing ``lang`` or bumping ``version`` re-renders the screens
that read it (they read it through ``use_app()``). Drafts live in a plain object on purpose:
typing into a form must not re-render the whole app. One ``AppState`` per session: its
``lang`` is the session's language (``app/ui/session.py`` hands it to the catalog).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import flet as ft


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
    device: Any  # app.device.Device: the services, the staff services, the sync
    lang: str = "zh"
    version: int = 0
    notice: str = ""
    notice_route: str = ""  # the screen the notice is about: shown there only
    notice_at: float = 0.0  # time.monotonic() when told
    dialog: str | None = None  # "leave" or "photo:<sha256>": shown by the top view's DialogHost
    drafts: Drafts = field(default_factory=Drafts)
    guard: LeaveGuard = field(default_factory=LeaveGuard)

    @property
    def services(self) -> Any:
        """The field services of the device (what most screens call)."""
        return self.device.services

    def data_changed(self) -> None:
        """Something was saved: screens that list data read it again."""
        self.version += 1

    def set_lang(self, lang: str, page: ft.Page | None = None) -> None:
        """Switch this session's language (the catalog reads it for the session: other
        sessions keep theirs) and, given the page, Flutter's own words (screen-reader labels
        such as "Tab 1 of 5", date pickers, tooltips). The device remembers it for the next
        session."""
        if lang not in LOCALES:
            raise ValueError(f"unknown language {lang!r}")
        self.services.set_language(lang)
        self.lang = lang
        if page is not None:
            page.locale_configuration = locale_configuration(lang)

    def tell(self, text: str, route: str | None = None) -> None:
        """A short message about the screen at ``route`` (default: the one on top now), shown
        as a banner on that screen only, for a few seconds: a message never lands on a
        screen it is not about."""
        self.notice_route = route_path(ft.context.page.route if route is None else route)
        self.notice_at = time.monotonic()
        self.notice = text


# Flutter's locale for each catalog language.
LOCALES = {"zh": ft.Locale("zh", "CN"), "en": ft.Locale("en", "US")}


def locale_configuration(lang: str) -> ft.LocaleConfiguration:
    return ft.LocaleConfiguration(supported_locales=list(LOCALES.values()),
                                  current_locale=LOCALES.get(lang, LOCALES["zh"]))


def route_path(route: str) -> str:
    """``/visits/x?y`` -> ``/visits/x``; ``""`` -> ``/``."""
    return route.split("?", 1)[0].rstrip("/") or "/"


AppCtx = ft.create_context(None)


def use_app() -> AppState:
    """The app state inside any component (subscribes the component to its changes)."""
    state = ft.use_context(AppCtx)
    if state is None:
        raise RuntimeError("use_app() outside the app")
    return state
