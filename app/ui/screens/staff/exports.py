"""Writing an export and handing it over: the file goes into <data>/exports/ (in a worker
thread); in a browser the browser then downloads it (the message names it), on a desktop
build its path is returned to be shown. One flow for the ledger, the figures, the bulletin and
the printed cards."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import flet as ft

from app.services import ServiceError
from app.ui.forms import download, new_picker
from app.ui.state import use_app
from sync.i18n import t


def use_export() -> Callable[[Callable[[], Path]], Awaitable[str]]:
    """``await run(write)``: the path to show ("" when the browser downloaded it or it failed;
    the reason is told on the screen)."""
    state = use_app()
    picker_ref = ft.use_ref(None)
    if picker_ref.current is None:
        picker_ref.current = new_picker()  # strong reference: a service is dropped otherwise
    page = ft.context.page

    async def run(write: Callable[[], Path]) -> str:
        try:
            path = await asyncio.to_thread(write)
        except ServiceError as exc:
            state.tell(str(exc))
            return ""
        if page.web:
            # written on the machine serving the app: the browser downloads it; no server path
            if await download(picker_ref.current, path):
                state.tell(t("ui.staff.ledger.downloaded", name=path.name))
            else:
                state.tell(t("ui.syncx.error.unreadable", name=path.name))
            return ""
        state.tell(t("ui.staff.ledger.done"))
        return str(path)

    return run
