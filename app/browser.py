"""The field app inside the phone's browser: the entry point of the ``gridwall app build``
static build (Python runs in Pyodide, in a web worker; no server is needed to work).

What differs from a PC, and why:
- Storage. Pyodide's file system lives in memory. The data folder is an IndexedDB mount
  (Emscripten's IDBFS): loaded from IndexedDB at start, written back with ``FS.syncfs``.
  Every durable write of the store ends with ``os.fsync`` (``sync.fileio``), so ``fsync``
  here also asks for a flush; flushes run one at a time (IDBFS forbids two at once) and a
  flush that starts after a write carries it. One flush is one IndexedDB transaction: after a
  crash IndexedDB holds the files as they were at the last finished flush, never a torn mix,
  and the store's files are each whole there (a save is one atomic file replace).
- Saves. A save returns to the screen at once; the screen says "saved" and moves on only
  after the flush that carries it has finished (``app.runtime.after_durable``).
- No threads: sync runs on asyncio with the browser's fetch (``sync.client.aio``: the same
  engine, schedule and records as on a PC, only the I/O edge differs). Besides saves and the
  timer, the browser's ``online`` event and the app coming back to the foreground (Flet's
  lifecycle event, ``app.ui.session``) start a sync.
- Enrolment: the server is this page's origin; a one-time code in the page's URL
  (``/app/#enroll=CODE``, the QR of ``gridwall admin enroll``) opens the enrol screen with
  it filled in, for the grid worker to confirm.
- No Pillow: photos are processed with the browser's own image APIs (``app.browser_photos``,
  chosen by ``app.imaging``).
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

from app import runtime
from sync.enroll_link import code_from_url

try:
    from pyodide.ffi import create_once_callable
except ImportError:  # CPython (tests drive the flusher with a fake FS): a plain callable does
    def create_once_callable(fn: Any) -> Any:
        return fn

log = logging.getLogger(__name__)
DATA_MOUNT = "/gridwall"  # the IndexedDB-backed folder (one IndexedDB database per origin)


class IdbFlusher:
    """Flushes the IDBFS mount to IndexedDB, one ``FS.syncfs`` at a time, after writes."""

    def __init__(self, fs: Any) -> None:
        self.fs = fs
        self.asked = 0  # writes seen (a counter: a flush carries every write before its start)
        self.done = 0  # writes known to be in IndexedDB
        self.error: str | None = None
        self.retry_s = 2.0  # after a failed flush (e.g. storage full)
        self._task: asyncio.Task | None = None
        self._changed = asyncio.Event()

    async def syncfs(self, populate: bool) -> None:
        """One ``FS.syncfs``: ``populate`` loads IndexedDB into memory, else memory is saved."""
        fut = asyncio.get_running_loop().create_future()

        def done(err: Any = None) -> None:
            if not fut.done():
                fut.set_result(None if err is None or not err else str(err))

        self.fs.syncfs(populate, create_once_callable(done))
        err = await fut
        if err:
            raise OSError(err)

    def wrote(self) -> None:
        """A durable write happened: make sure a flush starts after it."""
        self.asked += 1
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while self.done < self.asked:
            target = self.asked
            try:
                await self.syncfs(False)
            except OSError as exc:  # e.g. storage full: keep the data in memory, say so, retry later
                self.error = str(exc)
                log.error("saving to browser storage failed: %s", exc)
                self._changed.set()
                await asyncio.sleep(self.retry_s)
                continue
            self.error = None
            self.done = target
            self._changed.set()
            await refresh_storage_figures()

    async def wait(self) -> None:
        """Return once every write seen so far is in IndexedDB; ``OSError`` when a flush
        failed meanwhile (the writes stay in memory and the flush is retried)."""
        target = self.asked
        while self.done < target:
            self._changed.clear()
            await self._changed.wait()
            if self.error and self.done < target:
                raise OSError(self.error)


async def mount_storage(path: str = DATA_MOUNT) -> IdbFlusher:
    """Mount IndexedDB at ``path``, load what it holds, and flush after every ``fsync``."""
    import pyodide_js

    fs = pyodide_js.FS
    os.makedirs(path, exist_ok=True)
    fs.mount(fs.filesystems.IDBFS, {}, path)
    flusher = IdbFlusher(fs)
    await flusher.syncfs(True)
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        flusher.wrote()

    os.fsync = fsync  # sync.fileio and the store make every durable write end with fsync
    runtime.set_durable_waiter(flusher.wait)
    return flusher


async def refresh_storage_figures() -> None:
    """Storage used and allowed for this site, and whether it is persistent (for 设置)."""
    try:
        import js

        est = await js.navigator.storage.estimate()
        persisted = await js.navigator.storage.persisted()
        runtime.storage.update(used=int(est.usage or 0), quota=int(est.quota or 0),
                               persisted=bool(persisted))
    except Exception as exc:  # noqa: BLE001 - figures are informative; never break a save
        log.warning("storage estimate failed: %s", exc)


_device: Any = None


async def open_device_here() -> Any:
    """The device on the IndexedDB mount (once per worker), set up for no threads."""
    global _device
    if _device is None:
        await mount_storage()
        await refresh_storage_figures()
        from app.device import open_device
        from sync.client.aio import browser_transport

        device = open_device(Path(DATA_MOUNT) / "data", server_hint=page_origin(),
                             transport_factory=browser_transport)  # asyncio: no threads here
        device.services.warm()
        listen_online(device.sync)
        device.sync.add_listener(log_sync)
        _device = device
    return _device


_opening: asyncio.Task | None = None


async def prepare() -> None:
    """What a start needs before Flutter connects, done while the page still loads Flutter
    (the build's worker awaits this first): the imports of flet and every screen, and the
    device store opening. An error opening the store is raised to the session by ``main``."""
    global _opening
    import flet  # noqa: F401

    import app.ui.app  # noqa: F401

    _opening = asyncio.get_running_loop().create_task(open_device_here())
    await asyncio.wait([_opening])
def page_url() -> str | None:
    """The URL the app's page was opened with (flet's worker is given it at start)."""
    try:
        import flet_js

        return str(flet_js.documentUrl)
    except (ImportError, AttributeError):
        return None


def page_origin() -> str | None:
    """The server that serves this build (same origin as ``/api/v1``)."""
    try:
        import js

        return str(js.location.origin)
    except (ImportError, AttributeError):
        return None


def log_sync(event: str, rep: Any) -> None:
    """One line per sync in the devtools console (what a support call asks for first;
    benchmarks/bench_phone_sync.py reads it)."""
    if event != "report":
        return
    try:
        import js
    except ImportError:
        return
    outcome = "ok" if rep.ok else f"failed ({rep.error.code})"
    js.console.log(f"gridwall: sync {outcome} in {rep.elapsed_s * 1000:.0f} ms: up {rep.applied + rep.duplicate}, "
                   f"down {rep.pulled}, photos up {rep.photos_uploaded}, requests {rep.requests}")


_listeners: list[Any] = []  # JS proxies kept alive for the worker's lifetime


def listen_online(svc: Any) -> None:
    """Sync when the browser says the network is back. Chromium fires ``online`` in pages,
    not in workers: the boot script passes it on over the ``PAGE_EVENTS`` channel; a worker's
    own ``online`` (Firefox) is heard too. The schedule's probe finds a link the browser did
    not announce (within 30 s)."""
    try:
        import js
        from pyodide.ffi import create_proxy
    except ImportError:
        return

    def online(event: Any) -> None:
        if getattr(event, "type", "") == "message" and str(event.data) != "online":
            return
        js.console.log("gridwall: the browser is online again: sync")  # in the devtools console
        svc.trigger()

    proxy = create_proxy(online)
    channel = js.BroadcastChannel.new(runtime.PAGE_EVENTS)
    channel.onmessage = proxy
    js.addEventListener("online", proxy)
    _listeners.extend([proxy, channel])


async def main(page: Any) -> None:
    from app.ui.app import make_main

    device = await (_opening or open_device_here())
    # the page's URL is known once Flutter has connected (prepare() runs before that)
    device.sync.code_hint = code_from_url(page_url())
    if device.sync.code_hint:  # opened from an enrolment link: the enrol screen, filled in
        # The first render's route (a push_route before the client has the first page left
        # it blank or was lost).
        page.route = "/sync/enroll"
    # The build registered the CJK font with Flutter as its default family (loaded before
    # the first frame), so the theme needs no font of its own.
    make_main(device)(page)  # the household search index is kept by the store: nothing to warm


def run() -> None:
    """Start the app (called by the build's worker once Flutter connects)."""
    import flet as ft

    ft.run(main)
