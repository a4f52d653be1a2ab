"""A pure-Python Flet harness: a real flet Session on a fake Connection, no Flutter needed.

It does what the Flutter client would: keeps the page in sync from the msgpack-encoded
patches, answers method calls (push_route, FilePicker, SharedPreferences ...), and turns
taps and typing into the same events the client sends. Handler crashes fail the test.
"""

from __future__ import annotations

import asyncio
import dataclasses
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import flet as ft
import msgpack
from flet.components.component import Component
from flet.components.public_utils import unwrap_component
from flet.controls.base_control import BaseControl
from flet.controls.context import _context_page, context
from flet.messaging.connection import Connection
from flet.messaging.protocol import (
    Message,
    MessageAction,
    configure_encode_object_for_msgpack,
    decode_ext_from_msgpack,
)
from flet.messaging.session import Session
from flet.pubsub.pubsub_hub import PubSubHub


class SessionCrashed(AssertionError):
    """A handler raised: the real client would show the red crash screen."""


class LayoutFault(AssertionError):
    """A control combination Flutter cannot lay out (a grey box in a release build)."""


class FakeConnection(Connection):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.loop = loop
        self.executor = ThreadPoolExecutor(max_workers=2)
        self.pubsubhub = PubSubHub(loop=loop, executor=self.executor)
        self.page_url = "http://127.0.0.1:0"
        self.page_name = ""
        self.session: Session | None = None
        self.crashes: list[str] = []
        self.calls: list[tuple[str, Any]] = []
        # method name -> function(args) returning the client's answer
        self.answers: dict[str, Callable[[Any], Any]] = {}
        self.upload_handler: Callable[[Any, int], None] | None = None
        self._encode = configure_encode_object_for_msgpack(BaseControl)

    def send_message(self, message: Message) -> None:
        # Encoding records the snapshots the next diff uses: always round-trip.
        packed = msgpack.packb([message.action, message.body], default=self._encode)
        code, body = msgpack.unpackb(packed, ext_hook=decode_ext_from_msgpack, strict_map_key=False)
        action = MessageAction(code)
        if action == MessageAction.SESSION_CRASHED:
            self.crashes.append(str(body.get("message", body)))
        elif action == MessageAction.INVOKE_METHOD:
            self.loop.call_soon(self._answer, body)

    def _answer(self, body: dict[str, Any]) -> None:
        name = body["name"]
        args = body.get("args") or {}
        self.calls.append((name, args))
        result: Any = None
        error: str | None = None
        assert self.session is not None
        if name == "push_route":
            route = args["route"]
            self.session.apply_patch(self.session.page._i, {"route": route})
            asyncio.ensure_future(
                self.session.dispatch_event(self.session.page._i, "route_change", {"route": route})
            )
        elif name == "upload" and self.upload_handler is not None:
            self.upload_handler(args, body["control_id"])
        elif name in self.answers:
            try:
                result = self.answers[name](args)
            except Exception as exc:  # noqa: BLE001 - becomes the client's error answer
                error = str(exc)
        self.session.handle_invoke_method_results(body["control_id"], body["call_id"], result, error)

    def get_upload_url(self, file_name: str, expires: int) -> str:
        return f"upload:{file_name}"


def browser_picker(files: list[Path], upload_dir: Path, conn: FakeConnection) -> None:
    """Make the fake client behave like a browser: picked files have no path, and
    ``upload`` writes them into ``upload_dir`` then reports progress to the picker."""
    picked: dict[int, Path] = dict(enumerate(files))

    def pick(_args: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"id": i, "name": p.name, "path": None, "size": p.stat().st_size}
                for i, p in picked.items()]

    def upload(args: dict[str, Any], control_id: int) -> None:
        assert conn.session is not None
        for f in args["files"]:
            target = upload_dir / f["upload_url"].removeprefix("upload:")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(picked[f["id"]].read_bytes())
            for progress in (0.0, 1.0):
                conn.loop.create_task(conn.session.dispatch_event(
                    control_id, "upload", {"file_name": f["name"], "progress": progress}))

    conn.answers["pick_files"] = pick
    conn.upload_handler = upload


def iter_controls(root: Any) -> Iterator[BaseControl]:
    """Every control reachable from root (views, appbars, nav bars, dialogs ...)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        value = stack.pop()
        if value is None or id(value) in seen:
            continue
        if isinstance(value, (str, int, float, bool, bytes)):
            continue
        seen.add(id(value))
        if isinstance(value, Component):
            stack.append(value._b)
            continue
        if isinstance(value, BaseControl):
            yield value
        if dataclasses.is_dataclass(value):
            for f in reversed(dataclasses.fields(value)):
                if f.name == "_parent" or f.name.startswith("on_"):
                    continue
                stack.append(getattr(value, f.name, None))
        elif isinstance(value, dict):
            stack.extend(reversed(list(value.values())))
        elif isinstance(value, (list, tuple)):
            stack.extend(reversed(value))


def text_of(control: Any) -> str:
    """All visible strings inside a control, joined with spaces."""
    parts: list[str] = []
    for c in iter_controls(control):
        for attr in ("value", "label", "text", "hint_text", "tooltip", "title"):
            v = getattr(c, attr, None)
            if isinstance(v, str) and v:
                parts.append(v)
    return " ".join(parts)


class Harness:
    """Drives one app session. Use ``await Harness.start(main)`` inside a running loop."""

    def __init__(self, conn: FakeConnection, session: Session) -> None:
        self.conn = conn
        self.session = session
        self._dismissed: set[int] = set()

    @classmethod
    async def start(cls, main: Callable[[ft.Page], Any], *, route: str = "/",
                    web: bool = False, width: int = 390, height: int = 844) -> Harness:
        loop = asyncio.get_running_loop()
        conn = FakeConnection(loop)
        session = Session(conn)
        conn.session = session
        session.apply_page_patch({
            "route": route, "web": web, "platform": "android" if not web else "linux",
            "width": width, "height": height,
            "media": {"padding": {}, "view_padding": {}, "view_insets": {}, "device_pixel_ratio": 2.0},
        })
        # The register-client answer is msgpack-encoded too: that records the snapshots.
        msgpack.packb(session.get_page_patch(), default=conn._encode)
        h = cls(conn, session)
        # What flet's on_session_created does before calling main.
        _context_page.set(session.page)
        context.reset_auto_update()
        res = main(session.page)
        if asyncio.iscoroutine(res):
            await res
        await session.after_event(session.page)
        await h.settle()
        return h

    @property
    def page(self) -> ft.Page:
        return self.session.page

    async def settle(self, turns: int = 12) -> None:
        """Let updates, effects and tasks run; raise if a handler crashed."""
        for _ in range(turns):
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)
        for _ in range(turns):
            await asyncio.sleep(0)
        await self._dismiss_closed_dialogs()
        self.check()

    async def _dismiss_closed_dialogs(self) -> None:
        # The Flutter client answers a dialog closed with open=False by a "dismiss" event.
        for d in list(self.page._dialogs.controls):
            if isinstance(d, ft.SnackBar) and d.open and id(d) not in self._dismissed:
                # a snack bar times out on the client, which closes it and reports it
                self.session.apply_patch(d._i, {"open": False})
            if not getattr(d, "open", True) and id(d) not in self._dismissed:
                self._dismissed.add(id(d))
                await self.session.dispatch_event(d._i, "dismiss", None)
                for _ in range(6):
                    await asyncio.sleep(0)

    def check(self) -> None:
        task = getattr(self.session, "_Session__updates_task", None)
        if task is not None and task.done() and not task.cancelled() and task.exception():
            exc = task.exception()
            tb = "".join(traceback.format_exception(exc))
            raise SessionCrashed(f"updates scheduler died: {exc!r}\n{tb}")
        if self.conn.crashes:
            msg = self.conn.crashes[0]
            self.conn.crashes.clear()
            raise SessionCrashed(msg)
        # Flutter would paint these as grey boxes: fail the test that reached the screen.
        from layout_rules import layout_faults

        faults = [f for v in self.views for f in layout_faults(v)] + layout_faults(self.page._dialogs)
        if faults:
            raise LayoutFault(f"{self.route}: " + "; ".join(faults))

    # ---- finding things -------------------------------------------------------------
    @property
    def top(self) -> ft.View:
        return self.views[-1]

    @property
    def views(self) -> list[ft.View]:
        views = unwrap_component(self.page.views)
        return [unwrap_component(v) for v in views]

    def all(self, kind: type | None = None, *, where: Callable[[Any], bool] | None = None,
            root: Any = None) -> list[BaseControl]:
        roots = [root] if root is not None else [self.top, self.page._dialogs, self.page.overlay]
        found: list[BaseControl] = []
        for r in roots:
            for c in iter_controls(r):
                if kind is not None and not isinstance(c, kind):
                    continue
                if where is not None and not where(c):
                    continue
                found.append(c)
        return found

    def by_key(self, key: str) -> BaseControl:
        hits = self.all(where=lambda c: _key(c) == key)
        if not hits:
            raise LookupError(f"no control with key {key!r} on {self.route!r}: {self.screen_text()[:400]}")
        return hits[0]

    def has_key(self, key: str) -> bool:
        return bool(self.all(where=lambda c: _key(c) == key))

    def keys(self, prefix: str) -> list[str]:
        return [str(_key(c)) for c in self.all(where=lambda c: str(_key(c) or "").startswith(prefix))]

    def screen_text(self) -> str:
        return text_of(self.top) + " " + text_of(self.page._dialogs)

    def dialog_text(self) -> str:
        return " ".join(text_of(d) for d in self.page._dialogs.controls if getattr(d, "open", False))

    @property
    def route(self) -> str:
        return self.page.route

    # ---- acting ---------------------------------------------------------------------
    async def fire(self, control: BaseControl, event: str, data: Any = None) -> None:
        await self.session.dispatch_event(control._i, event, data)
        await self.session.after_event(control)
        await self.settle()

    async def tap(self, key: str) -> None:
        await self.fire(self.by_key(key), "click")

    async def type(self, key: str, value: str) -> None:
        c = self.by_key(key)
        self.session.apply_patch(c._i, {"value": value})
        await self.fire(c, "change", value)

    async def select(self, key: str, value: str) -> None:
        """Pick an option of a Dropdown / RadioGroup / SegmentedButton-like control."""
        c = self.by_key(key)
        if isinstance(c, ft.SegmentedButton):
            self.session.apply_patch(c._i, {"selected": [value]})
            await self.fire(c, "change", [value])
            return
        self.session.apply_patch(c._i, {"value": value})
        await self.fire(c, "select" if isinstance(c, ft.Dropdown) else "change", value)

    async def check_box(self, key: str, value: bool = True) -> None:
        c = self.by_key(key)
        self.session.apply_patch(c._i, {"value": value})
        await self.fire(c, "change", value)

    async def nav(self, index: int) -> None:
        bar = self.top.navigation_bar
        assert bar is not None, "no bottom navigation on this screen"
        self.session.apply_patch(bar._i, {"selected_index": index})
        await self.fire(bar, "change", index)

    async def go(self, route: str) -> None:
        await self.page.push_route(route)
        await self.settle()

    async def back(self) -> None:
        view = self.top
        await self.session.dispatch_event(self.page._i, "view_pop", {"route": view.route})
        await self.settle()

    async def close(self) -> None:
        self.session.close()
        await asyncio.sleep(0)
        self.conn.executor.shutdown(wait=False)


def _key(c: Any) -> Any:
    k = getattr(c, "key", None)
    if k is None:
        return None
    return getattr(k, "value", k)
