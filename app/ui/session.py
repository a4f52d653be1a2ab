"""Flet session glue: what ties one app session (a browser tab, the phone app) to the
device's shared services. The session's language, sync on start and on resume, the
connectivity events, and handing calls from the sync thread to the session's event loop."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import Any

import flet as ft

from app.services.syncing import SyncService
from sync.i18n import set_language_source

log = logging.getLogger(__name__)
# session id -> its AppState (weak: a closed session's state goes with it)
_SESSIONS: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()


def session_language() -> str | None:
    """The language of the session the current code runs for (None outside a session).

    Flet runs each event of a session in a fresh task copied from the connection's context
    and sets its own page context variable there, so the session is known in every handler,
    render and effect; a context variable set by one handler would not reach the next."""
    try:
        session = ft.context.page.session
    except RuntimeError:  # no page here (a thread, the CLI) or the session is gone
        return None
    state = _SESSIONS.get(session.id)
    return state.lang if state is not None else None


def bind_language(page: ft.Page, state: Any) -> None:
    """The catalog speaks ``state.lang`` for everything this session runs."""
    _SESSIONS[page.session.id] = state
    set_language_source(session_language)


def bind_session(page: Any, state: Any) -> SyncService:
    """Per app session: start syncing if enrolled (sync on start) and re-read the screens
    after a sync that brought or settled something. Listener calls come from the sync thread,
    so they are handed to the session's loop with ``page.run_task``."""
    svc = state.device.sync

    async def bump() -> None:
        state.data_changed()

    def on_connectivity(e: Any) -> None:
        # The platform says a network interface is back: ask the server (the runner's timer
        # and backoff cover platforms where this never fires, e.g. some browsers).
        kinds = [str(getattr(c, "value", c)) for c in (getattr(e, "connectivity", None) or [])]
        if any(k != "none" for k in kinds):
            svc.trigger()

    connectivity = connectivity_events(on_connectivity)

    def on_lifecycle(e: Any) -> None:
        # Back from the background: sync. Flutter reports "show" then "resume" for one return
        # (seen in the phone build): one of them, or each return costs two syncs.
        if str(getattr(e.state, "value", e.state)) == "resume":
            svc.trigger()

    if page.on_app_lifecycle_state_change is None:
        page.on_app_lifecycle_state_change = on_lifecycle

    def listener(event: str, rep: Any, _keep: Any = connectivity) -> None:  # _keep: the service stays registered
        if event == "report" and (rep.pulled or rep.applied or rep.refused or rep.photos_downloaded):
            post_to_page(page, bump)

    svc.add_listener(listener)
    svc.start()
    return svc


def post_to_page(page: Any, fn: Callable[[], Any]) -> None:
    """Run coroutine function ``fn`` on the session's loop from any thread; RuntimeError when
    the session is gone (the caller's listener is then dropped)."""
    loop = getattr(getattr(page.session, "connection", None), "loop", None)
    if loop is None or loop.is_closed():
        raise RuntimeError("the session is closed")
    page.run_task(fn)


def connectivity_events(on_change: Callable[[Any], None]) -> Any:
    """ft.Connectivity with a change handler (None where flet lacks it)."""
    try:
        import flet as ft

        return ft.Connectivity(on_change=on_change)
    except Exception:  # noqa: BLE001 - connectivity events are a bonus; the timer still syncs
        log.warning("no connectivity events on this platform", exc_info=True)
        return None
