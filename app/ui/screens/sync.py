"""同步: truthful status, 立即同步 with progress, refused changes, conflicts, bundles, enrol.

The sync itself runs in ``SyncService`` (app/services/syncing.py): on a PC its runner works in
a thread, so its callbacks are handed to this session's loop with ``page.run_task`` and the
screen re-reads the store; in the phone's browser it runs on the loop (asyncio). Blocking work
(bundle files) runs in ``asyncio.to_thread``.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

import flet as ft

from app.services.syncing import SyncService, SyncServiceError
from app.ui.forms import download, new_picker, picked_bytes, read_bytes
from app.ui.session import post_to_page
from app.ui.state import use_app
from app.ui.widgets import (
    TAP,
    TOUCH,
    big_button,
    detail_view,
    empty,
    go,
    row_tile,
    section,
    tab_view,
)
from sync.i18n import t
from sync.records import field_label

_TICKS = itertools.count(1)  # a new value re-renders the screen


def _progress_text(p: Any) -> str:
    return t("ui.syncx.progress", up=p.records_sent, down=p.records_received,
             photos=p.photos_sent + p.photos_received, kb=round((p.bytes_sent + p.bytes_received) / 1024, 1))


@ft.component
def SyncScreen() -> ft.View:
    return tab_view(4, t("ui.sync.title"), sync_controls())


def use_sync_updates(svc: SyncService, events: tuple[str, ...] = ("progress", "report")) -> None:
    """Re-render the calling component after each sync event (a hook): the sync runs in its
    own thread, so each event is handed to this session's loop."""
    page = ft.context.page
    tick, set_tick = ft.use_state(0)

    def subscribe() -> Any:
        async def refresh() -> None:
            set_tick(next(_TICKS))

        def listener(event: str, _payload: Any) -> None:
            if event in events:
                post_to_page(page, refresh)

        svc.add_listener(listener)
        return lambda: svc.remove_listener(listener)

    ft.use_effect(subscribe, [])
    _ = tick


def sync_summary(st: dict[str, Any]) -> list[ft.Control]:
    """Last success, the last attempt that moved data, and the last failure (when it is newer
    than the last success), from the engine's one record (sync/client/history.py)."""
    out: list[ft.Control] = [
        ft.Text(t("ui.syncx.last", when=st["last_ok_at"] or t("ui.sync.never")), key="sync-last-at")]
    m = st["moved"]
    if m:
        text = t("ui.syncx.last_result", when=m["at"], up=m["up"], down=m["down"],
                 photos_up=m["photos_up"], photos_down=m["photos_down"], kb=m["kb"])
        if m["refused"]:
            text += t("ui.syncx.last_result_refused", n=m["refused"])
        out.append(ft.Text(text, key="sync-last-result"))
    f = st["failure"]
    if f:
        out.append(ft.Text(t("ui.syncx.last_failure", when=f["at"], reason=f["message"]),
                           key="sync-last-failure", color=ft.Colors.ERROR))
        out.append(ft.Text(t("ui.syncx.what_to_do"), key="sync-error-help", color=ft.Colors.ON_SURFACE_VARIANT))
    return out


def sync_controls() -> list[ft.Control]:
    """The sync screen's body; uses hooks, so call it while rendering a component (the field
    app's tab here, the staff frame in staff/sync.py)."""
    state = use_app()
    _ = state.version  # re-read after every save and every sync that brought something
    page = ft.context.page
    svc = state.device.sync
    use_sync_updates(svc)
    busy, set_busy = ft.use_state("")  # "sync" | "export" | "import" while one runs
    message, set_message = ft.use_state("")  # outcome of the last action on this screen
    exported, set_exported = ft.use_state([])  # bundle files written by 导出同步包 (to save elsewhere)
    picker_ref = ft.use_ref(None)
    if picker_ref.current is None:
        picker_ref.current = new_picker()  # strong reference: its upload handler stays registered

    st = svc.status()
    box = state.services.outbox()
    controls: list[ft.Control] = []
    if st["enrolled"]:
        color = ft.Colors.GREEN_800 if st["state"] == "synced" else (
            ft.Colors.ERROR if st["state"] == "error" else None)
        # The failure's reason is its own line below (with its time): the headline says the state.
        headline = t("ui.syncx.state_error") if st["state"] == "error" else st["message"]
        controls.append(ft.Text(headline, key="sync-status", size=20, weight=ft.FontWeight.BOLD,
                                color=color))
        if busy == "sync" or st["running"]:
            p = st["progress"]
            controls.append(ft.Row([ft.ProgressRing(width=20, height=20),
                                    ft.Text(_progress_text(p) if p else t("ui.syncx.starting"),
                                            key="sync-progress")]))
        controls += sync_summary(st)
        rep = st["last_report"]
        if rep is not None and not busy:
            for w in rep.waiting:  # refused for now: still in the outbox, sent again next time
                controls.append(ft.Text(t("client.cli.waiting_line", reason=w["reason"]),
                                        key=f"sync-waiting:{w['change_id']}", color=ft.Colors.ON_SURFACE_VARIANT))
    else:
        controls.append(ft.Text(t("ui.syncx.not_enrolled"), key="sync-status", size=18,
                                weight=ft.FontWeight.BOLD))
        controls.append(row_tile("sync-enroll-open", t("ui.syncx.enroll_open"), t("ui.syncx.enroll_hint"),
                                 on_click=lambda _: go("/sync/enroll"),
                                 leading=ft.Icon(ft.Icons.LINK)))
    for i, line in enumerate(st.get("notices") or []):  # a restored server, damaged device files
        controls.append(ft.Text(line, key=f"sync-notice-{i}", color=ft.Colors.ERROR))
    if message:
        controls.append(ft.Text(message, key="sync-message"))

    async def sync_now(_: Any) -> None:
        set_busy("sync")
        set_message("")
        try:
            await svc.sync_now_async()  # its outcome shows in the summary above
            set_message("")
        except SyncServiceError as exc:
            set_message(str(exc))
        finally:
            set_busy("")
            state.data_changed()

    async def export(_: Any) -> None:
        set_busy("export")
        try:
            r = await asyncio.to_thread(svc.export)
            counts = {"changes": r["changes"], "photos": r["photos"], "kb": r["kb"]}
            if page.web:
                # the files were written on the machine serving the app: the browser downloads them
                for path in r["paths"]:
                    if not await download(picker_ref.current, path):
                        raise SyncServiceError(t("ui.syncx.error.unreadable", name=Path(path).name))
                set_message(t("ui.syncx.exported_download", names="、".join(Path(p).name for p in r["paths"]),
                              **counts))
            else:
                set_message(t("ui.syncx.exported", path="、".join(r["paths"]), **counts))
            set_exported(r["paths"])
        except SyncServiceError as exc:
            set_message(str(exc))
        finally:
            set_busy("")

    def save_copy(path: str) -> Any:
        async def h(_: Any) -> None:
            # Browser: a download; phone: the system "save to" dialog (USB stick, share ...).
            data = await asyncio.to_thread(read_bytes, path)
            if data is None:
                set_message(t("ui.syncx.error.unreadable", name=path))
                return
            where = await picker_ref.current.save_file(file_name=Path(path).name, src_bytes=data)
            if where or page.web:
                set_message(t("ui.syncx.saved", name=Path(path).name))
        return h

    async def import_return(_: Any) -> None:
        picker = picker_ref.current
        files = await picker.pick_files(allowed_extensions=["gwb"], allow_multiple=False)
        if not files:
            return
        set_busy("import")
        try:
            f = files[0]
            data = (await picked_bytes(page, picker, state.services, [f]))[0][1]
            if data is None:
                set_message(t("ui.syncx.error.unreadable", name=f.name))
                return
            r = await asyncio.to_thread(svc.import_return, data)
            set_message(t("ui.syncx.imported", acked=r["acked"], refused=r["refused"], records=r["records"]))
            state.data_changed()
        except SyncServiceError as exc:
            set_message(str(exc))
        finally:
            set_busy("")

    if st["enrolled"]:
        controls.append(ft.Row([big_button("sync-now", t("ui.syncx.now") if busy != "sync" else t("ui.syncx.running"),
                                           sync_now, icon=ft.Icons.SYNC, disabled=bool(busy))]))

    controls += [
        section(t("ui.sync.by_kind")),
        ft.Text(t("ui.sync.waiting", n=box["changes"]), key="sync-waiting", size=16),
        ft.Text(t("ui.sync.photos", n=box["photos"], size=box["photo_bytes_text"]), key="sync-photos"),
    ]
    if box["voices"]:
        controls.append(ft.Text(t("ui.sync.voices", n=box["voices"], size=box["voice_bytes_text"]), key="sync-voices"))
    if not box["by_kind"]:
        controls.append(empty(t("ui.sync.nothing")))
    for kind, n in box["by_kind"].items():
        controls.append(row_tile(f"sync-kind:{kind}", t(f"ui.kind.{kind}"), str(n)))
    if box["refused"]:
        controls.append(section(t("ui.sync.refused")))
        controls.append(ft.Text(t("ui.syncx.refused_help"), color=ft.Colors.ON_SURFACE_VARIANT))
        for r in box["refused"]:
            controls.append(row_tile(f"sync-refused:{r['change_id']}", t(f"ui.kind.{r['kind']}"),
                                     r["reason"], leading=ft.Icon(ft.Icons.BLOCK, color=ft.Colors.ERROR)))

    conflicts = svc.conflicts()
    if conflicts:
        controls.append(section(t("ui.syncx.conflicts", n=len(conflicts))))
        controls.append(ft.Text(t("ui.syncx.conflicts_help"), color=ft.Colors.ON_SURFACE_VARIANT))
    for c in conflicts:
        controls.append(_conflict_card(state, svc, c, set_message))

    if st["enrolled"]:
        controls.append(section(t("ui.syncx.bundles")))
        controls.append(ft.Text(t("ui.syncx.bundles_help"), color=ft.Colors.ON_SURFACE_VARIANT))
        controls.append(ft.Row([
            ft.OutlinedButton(t("ui.syncx.export"), key="sync-export", icon=ft.Icons.SAVE_ALT,
                              on_click=export, disabled=bool(busy), height=TOUCH, expand=True),
            ft.OutlinedButton(t("ui.syncx.import"), key="sync-import", icon=ft.Icons.FILE_OPEN,
                              on_click=import_return, disabled=bool(busy), height=TOUCH, expand=True),
        ], spacing=8))  # not wrap=True: a wrapping row cannot share out width (a grey box)
        controls.append(row_tile("sync-reenroll", t("ui.syncx.reenroll"), st.get("server_url") or "",
                                 on_click=lambda _: go("/sync/enroll"), leading=ft.Icon(ft.Icons.LINK)))
        for i, path in enumerate(exported):
            controls.append(row_tile(f"sync-save:{i}", t("ui.syncx.save", name=Path(path).name),
                                     t("ui.syncx.save_hint"), on_click=save_copy(path),
                                     leading=ft.Icon(ft.Icons.DOWNLOAD)))
    return controls


def _conflict_card(state: Any, svc: SyncService, c: dict, set_message: Any) -> ft.Control:
    key = c["key"]
    field_name = field_label(c["kind"], c["field"])  # a kind's own label first (visit kind: 走访类型)

    def reapply(_: Any) -> None:
        try:
            svc.reapply_conflict(key)
            set_message(t("ui.syncx.reapplied"))
        except SyncServiceError as exc:
            set_message(str(exc))
        state.data_changed()

    def dismiss(_: Any) -> None:
        svc.dismiss_conflict(key)
        set_message(t("ui.syncx.dismissed"))
        state.data_changed()

    return ft.Card(ft.Container(ft.Column([
        ft.Text(t("ui.syncx.conflict_title", kind=t(f"ui.kind.{c['kind']}") if _has(f"ui.kind.{c['kind']}")
                  else c["kind"], field=field_name), weight=ft.FontWeight.BOLD, key=f"conflict-title:{key}"),
        ft.Text(t("ui.syncx.kept", value=c["kept_text"]), key=f"conflict-kept:{key}"),
        ft.Text(t("ui.syncx.lost", value=c["lost_text"]), key=f"conflict-lost:{key}"),
        ft.Row([
            ft.TextButton(t("ui.syncx.use_lost"), key=f"conflict-reapply:{key}", on_click=reapply, height=TAP),
            ft.TextButton(t("ui.syncx.keep_current"), key=f"conflict-dismiss:{key}", on_click=dismiss,
                          height=TAP),
        ], wrap=True),
    ], spacing=4), padding=12), key=f"conflict:{key}")


def _has(key: str) -> bool:
    from sync.i18n import catalog

    return key in catalog()


@ft.component
def EnrollScreen() -> ft.View:
    """Connect this device: server URL + one-time code + device name."""
    state = use_app()
    svc = state.device.sync
    en = svc.enrollment()
    values = ft.use_ref(None)
    if values.current is None:
        # A code the app was opened with (the QR of `gridwall admin enroll`) is filled in; the
        # grid worker confirms with 注册.
        values.current = {"url": (en or {}).get("server_url") or svc.server_hint or "", "code": svc.code_hint or "",
                          "name": t("ui.syncx.default_device")}
    busy, set_busy = ft.use_state(False)
    error, set_error = ft.use_state("")

    def setter(name: str) -> Any:
        def h(e: ft.Event[ft.TextField]) -> None:
            values.current[name] = e.control.value or ""
        return h

    async def submit(_: Any) -> None:
        v = values.current
        set_busy(True)
        set_error("")
        try:
            doc = await svc.enroll_async(v["url"], v["code"], v["name"])
        except SyncServiceError as exc:
            set_error(str(exc))
            return
        finally:
            set_busy(False)
        state.tell(t("ui.syncx.enrolled", user=(doc.get("user") or {}).get("name", "")))
        state.data_changed()
        go("/sync")

    controls: list[ft.Control] = [
        ft.Text(t("ui.syncx.enroll_intro"), color=ft.Colors.ON_SURFACE_VARIANT),
        ft.TextField(label=t("ui.syncx.url"), key="enroll-url", value=values.current["url"],
                     hint_text="http://192.168.1.10:8000", on_change=setter("url"),
                     keyboard_type=ft.KeyboardType.URL),
        ft.TextField(label=t("ui.syncx.code"), key="enroll-code", value=values.current["code"],
                     on_change=setter("code")),
        ft.TextField(label=t("ui.syncx.device_name"), key="enroll-name", value=values.current["name"],
                     on_change=setter("name")),
    ]
    if en:
        controls.append(ft.Text(t("ui.syncx.already", user=(en.get("user") or {}).get("name", ""),
                                  url=en.get("server_url", "")), key="enroll-already"))
    if error:
        controls.append(ft.Text(error, color=ft.Colors.ERROR, key="enroll-error"))
    controls.append(ft.Row([big_button("enroll-submit", t("ui.syncx.enrolling") if busy else t("ui.syncx.enroll"),
                                       submit, icon=ft.Icons.LINK, disabled=busy)]))
    return detail_view(t("ui.syncx.enroll_title"), controls)


_BADGE_COLORS = {"pending": ft.Colors.AMBER_100, "refused": ft.Colors.RED_100, "synced": ft.Colors.GREEN_100}


def sync_badge(state: Any, record_id: str) -> ft.Control:
    """A small per-record sync state badge (待上传 / 被拒绝 / 已同步) for lists and details."""
    st = state.device.sync.record_state(record_id)
    return ft.Container(ft.Text(t(f"ui.syncx.badge.{st}"), size=12, key=f"sync-badge:{record_id}"),
                        bgcolor=_BADGE_COLORS[st], border_radius=10,
                        padding=ft.Padding.symmetric(horizontal=8, vertical=2))


def sync_marks(state: Any) -> dict[str, str]:
    """Short words for list rows of records not yet on the server: {record id: 待上传 / 被服务器拒绝}."""
    return {rid: t(f"ui.syncx.badge.{st}") for rid, st in state.device.sync.record_states().items()}
