"""Sync on asyncio, for the phone's browser (Pyodide has no threads): the I/O edge only.

The engine's phases are generators of ``Call`` (sync/client/transport.py); here they are made
with an awaited fetch instead of ``requests``, under the same ``HttpRules`` (headers, gzip,
retries with full-jitter backoff, ``Retry-After``) and the same limits: a time limit for the
answer's headers (connect + read timeout), a read timeout per piece of the body and an overall
deadline per request, enforced with ``asyncio.wait_for`` — a cancelled wait aborts the fetch
(``AbortController`` in the browser). ``AsyncRunner`` runs the same ``Schedule`` as the
threaded ``SyncRunner``.

The fetch itself is a small interface (``Fetch``): ``BrowserFetch`` uses the browser's
``fetch`` (imports ``js`` only when used, so CPython imports this module); tests give a
CPython one (tests/support/asyncfetch.py) and run the engine against the real server.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from sync.client.engine import Enrollment, SyncEngine, SyncReport, enroll_steps
from sync.client.runner import RunnerCore
from sync.client.schedule import Timing
from sync.client.transport import Call, HttpRules, Response, Steps, T, TransientError, adrive

log = logging.getLogger(__name__)


class FetchError(Exception):
    """No answer, or the answer was cut: the link's fault (retried as "offline")."""


class Opened(Protocol):
    """An answer whose headers arrived; the body is read piece by piece."""

    status: int
    headers: dict[str, str]  # lower-case names

    async def read(self) -> bytes:
        """The next piece of the body (decoded), ``b""`` at its end; FetchError when cut."""
        ...

    def wire_bytes(self, body_len: int) -> int:
        """Bytes as they came over the link (compressed), as far as the platform tells."""
        ...

    def close(self) -> None: ...


class Fetch(Protocol):
    async def open(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> Opened:
        """Send; return once the headers are in. FetchError when there is no answer. A
        cancelled ``open`` or ``read`` must abort the request."""
        ...


class AsyncTransport(HttpRules):
    """``Transport`` on asyncio over a ``Fetch``."""

    def __init__(self, base_url: str, token: str | None = None, *, fetch: Fetch,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep, **rules: Any) -> None:
        super().__init__(base_url, token, **rules)
        self.fetch = fetch
        self.sleep = sleep

    async def _once(self, method: str, url: str, path: str, body: bytes | None, headers: dict[str, str]) -> Response:
        started = time.monotonic()
        deadline = started + self.deadline_s
        self.counted(path, body)
        try:
            # The headers within connect + read timeout (fetch has no separate connect phase).
            opened = await asyncio.wait_for(self.fetch.open(method, url, headers, body),
                                            min(self.connect_timeout + self.read_timeout, self.deadline_s))
        except TimeoutError as exc:
            raise TransientError("timeout") from exc
        except FetchError as exc:
            raise TransientError("offline") from exc
        chunks: list[bytes] = []
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:  # a trickling answer must not hang the sync
                    raise TransientError("timeout")
                piece = await asyncio.wait_for(opened.read(), min(self.read_timeout, left))
                if not piece:
                    break
                chunks.append(piece)
        except TimeoutError as exc:
            opened.close()
            raise TransientError("timeout") from exc
        except FetchError as exc:
            opened.close()
            raise TransientError("offline") from exc
        except TransientError:
            opened.close()
            raise
        data = b"".join(chunks)
        return self.answered(opened.status, opened.headers, data, opened.wire_bytes(len(data)), started)

    async def call(self, call: Call) -> Response:
        """Send with retries (see ``Transport.call``)."""
        url, body, hdrs = self.prepare(call)
        attempts = self.attempts(call)
        for attempt in range(attempts):
            try:
                return await self._once(call.method, url, call.path, body, hdrs)
            except TransientError as exc:
                await self.sleep(self.failed(attempt, attempts, exc))
        raise AssertionError("unreachable")  # failed() raises on the last attempt

    async def run(self, steps: Steps[T]) -> T:
        return await adrive(steps, self.call)

    def close(self) -> None:
        close = getattr(self.fetch, "close", None)
        if close is not None:
            close()


async def enroll_async(transport: AsyncTransport, code: str, device_name: str) -> Enrollment:
    """``engine.enroll`` on asyncio (``transport`` has no token yet)."""
    return await transport.run(enroll_steps(transport.base_url, code, device_name))


class AsyncRunner(RunnerCore):
    """``SyncRunner`` on asyncio: one sync at a time, in a task, when the schedule says.

    Everything runs on the one event loop, so the schedule needs no lock; ``saved`` and
    ``trigger`` only move times and wake the task."""

    def __init__(self, engine: SyncEngine, timing: Timing | None = None,
                 on_report: Callable[[SyncReport], None] | None = None, rng: random.Random | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(engine, timing, on_report, rng, clock)
        self._wake = asyncio.Event()
        self._busy = asyncio.Lock()
        self._task: asyncio.Task | None = None

    @property
    def running(self) -> bool:
        return self._busy.locked()

    def start(self) -> None:
        """Run the schedule in a task of the running loop (its first sync is due at once)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop())

    def trigger(self) -> None:
        self._triggered()
        self._wake.set()

    def saved(self) -> None:
        self.schedule.saved(self.clock())
        self._wake.set()

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def run_once(self, tapped: bool = False) -> SyncReport:
        """One sync now (waits for a running one first); ``tapped``: 立即同步."""
        if tapped:
            self.schedule.tapped(self.clock())
        async with self._busy:
            probe = self._begin(tapped)
            rep = await self.engine.sync_once_async(probe=probe)
            self._end(rep)
        if self.on_report:
            self.on_report(rep)
        return rep

    async def _loop(self) -> None:
        while True:
            wait = self.schedule.next_due - self.clock()
            if wait > 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except TimeoutError:
                    pass
                continue  # the schedule may have moved while we waited: look again
            try:
                await self.run_once()
            except Exception:  # noqa: BLE001 - a failing listener must not end background sync
                log.exception("background sync failed")


# -- the browser's fetch ----------------------------------------------------------------------


class _BrowserOpened:
    def __init__(self, resp: Any, ctrl: Any) -> None:
        self._resp = resp
        self._ctrl = ctrl
        self._reader = resp.body.getReader() if resp.body is not None else None
        self.status = int(resp.status)
        self.headers = {str(k).lower(): str(v) for k, v in resp.headers.entries()}

    async def read(self) -> bytes:
        if self._reader is None:
            return b""
        try:
            got = await self._reader.read()
        except asyncio.CancelledError:
            self._ctrl.abort()
            raise
        except Exception as exc:  # JsException: the link was cut mid-body
            raise FetchError(str(exc)) from None
        if got.done:
            return b""
        return got.value.to_bytes()

    def wire_bytes(self, body_len: int) -> int:
        # The browser unzips by itself; Content-Length (when sent) is the size on the wire.
        try:
            return int(self.headers.get("content-length") or body_len)
        except ValueError:
            return body_len

    def close(self) -> None:
        self._ctrl.abort()


class BrowserFetch:
    """``fetch`` of the page's worker (same origin as ``/api/v1``: no CORS). A cancelled wait
    aborts the request through its ``AbortController``. The browser refuses to let scripts
    set ``Accept-Encoding`` (it asks for gzip itself) and unzips answers itself."""

    FORBIDDEN = {"accept-encoding", "content-length", "connection", "host"}

    async def open(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> Opened:
        import js
        from pyodide.ffi import to_js

        ctrl = js.AbortController.new()
        init: dict[str, Any] = {
            "method": method, "signal": ctrl.signal, "cache": "no-store", "redirect": "manual",
            "headers": to_js({k: v for k, v in headers.items() if k.lower() not in self.FORBIDDEN},
                             dict_converter=js.Object.fromEntries),
        }
        if body is not None:
            # A copy the browser owns: a view on Python's memory could move or vanish while
            # fetch still reads it (the wasm heap grows; the bytes object is freed).
            data = js.Uint8Array.new(len(body))
            data.assign(body)
            init["body"] = data
        try:
            resp = await js.fetch(url, to_js(init, dict_converter=js.Object.fromEntries))
        except asyncio.CancelledError:
            ctrl.abort()
            raise
        except Exception as exc:  # JsException TypeError "Failed to fetch": offline, refused, aborted
            raise FetchError(str(exc)) from None
        return _BrowserOpened(resp, ctrl)


def browser_transport(base_url: str, token: str | None = None, **rules: Any) -> AsyncTransport:
    """The transport of the app in the phone's browser."""
    return AsyncTransport(base_url, token, fetch=BrowserFetch(), **rules)
