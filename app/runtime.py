"""Where the field app runs: a PC/phone Python, or the phone's browser (Pyodide).

The app code is the same everywhere; the few things that differ are asked here, so screens
and services hold no ``sys.platform`` checks of their own. In the browser, ``app.browser``
installs the durability waiter (the store's files are persisted to IndexedDB after each
write) and the build information written by ``gridwall app build``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

IN_BROWSER = sys.platform == "emscripten"
# A picked file's bytes are sent with the pick (FilePicker ``with_data``) where Python runs in
# the browser: there is no server to upload them to, and no path.
PICKED_BYTES_COME_WITH_PICK = IN_BROWSER
BUILD_INFO_FILE = "gridwall_build.json"  # written into the app archive by the build
# A BroadcastChannel: the page's boot script (app/web/gridwall-boot.js) passes on the browser
# events only pages get ("online") to the app's Python in its worker (app.browser).
PAGE_EVENTS = "gridwall-events"

_durable: Callable[[], Awaitable[None]] | None = None
# The browser's storage figures for this site ({"used": bytes, "quota": bytes, "persisted":
# bool}), refreshed after each flush by app.browser; {} outside the browser.
storage: dict[str, Any] = {}


def set_durable_waiter(fn: Callable[[], Awaitable[None]] | None) -> None:
    """``fn()`` returns once every write made so far is on persistent storage."""
    global _durable
    _durable = fn


def after_durable(then: Callable[[], Any], failed: Callable[[str], Any] | None = None) -> None:
    """Call ``then`` once the saves made so far are durable: at once where a returned write is
    already on disk (PC, phone); in the browser after the store is flushed to IndexedDB. If
    that flush fails (``OSError``), ``failed(reason)`` is called instead (the flush retries)."""
    if _durable is None:
        then()
        return
    waiter = _durable

    async def wait_then() -> None:
        try:
            await waiter()
        except OSError as exc:
            if failed is not None:
                failed(str(exc))
            return
        then()

    asyncio.get_running_loop().create_task(wait_then())


def default_data_dir() -> Path:
    """Phones (and `flet run`) give the app a storage folder; a PC uses ./gridwall-data."""
    env = os.getenv("FLET_APP_STORAGE_DATA")
    return Path(env) / "gridwall" if env else Path("gridwall-data")


def build_info() -> dict[str, Any]:
    """What ``gridwall app build`` wrote beside the entry module ({} outside the browser).
    The app archive is unpacked into the worker's working folder."""
    if not IN_BROWSER:
        return {}
    try:
        return json.loads((Path.cwd() / BUILD_INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def version(base: str) -> str:
    """``base`` plus the build's version in the browser (the same app, another build)."""
    build = build_info().get("version")
    return f"{base} · {build}" if build else base
