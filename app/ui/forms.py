"""Form plumbing: values kept as drafts, validation as you type, leave guard, choice chips,
the household picker and the photo strip.

A form's values live in component state and are copied to ``state.drafts`` on every change,
so leaving the screen and coming back restores them. Errors come from the shared model's
``validate_record`` (through services) and show under a field once it has been touched, or
for every field after a save attempt.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import flet as ft

from app import runtime
from app.services import PhotoRef, ServiceError
from app.ui.state import AppState, use_app
from app.ui.widgets import TAP, TOUCH, chip, go
from sync.i18n import t
from sync.records import FIELDS


@dataclass
class Form:
    key: str
    values: dict[str, Any]
    errors: dict[str, str]
    show_all: bool
    set: Callable[[str, Any], None]
    set_many: Callable[[dict[str, Any]], None]
    fail: Callable[[dict[str, str]], None]
    done: Callable[[], None]
    photos: list[PhotoRef] = field(default_factory=list)
    set_photos: Callable[[list[PhotoRef]], None] = lambda _p: None
    kind: str = ""  # the record kind the form makes: its field specs say what is required

    def error(self, name: str) -> str | None:
        return self.errors.get(name)


def use_form(form_key: str, kind: str, initial: dict[str, Any],
             validate: Callable[[dict[str, Any]], dict[str, str]]) -> Form:
    """Form state for one screen making a ``kind`` record. ``validate(values) -> {field: message}``."""
    state = use_app()
    draft = state.drafts.get(form_key)
    start = draft if draft is not None else {"values": {}, "touched": [], "photos": [], "show_all": False}
    # a draft may hold only some fields (a household page starts a visit with just the household)
    values, set_values = ft.use_state(lambda: {**initial, **start["values"]})
    touched, set_touched = ft.use_state(lambda: frozenset(start["touched"]))
    photos, set_photos_state = ft.use_state(lambda: list(start["photos"]))
    show_all, set_show_all = ft.use_state(start["show_all"])
    server_errors, set_server_errors = ft.use_state({})
    latest = ft.use_ref(None)
    latest.current = {"values": values, "touched": list(touched), "photos": photos,
                      "show_all": show_all}

    def dirty() -> bool:
        cur = latest.current
        return cur is not None and (cur["values"] != initial or bool(cur["photos"]))

    def discard() -> None:
        state.drafts.drop(form_key)

    guard = state.guard
    guard.form_key = form_key
    guard.route = ft.use_view_path() or ft.context.page.route
    guard.is_dirty = dirty
    guard.discard = discard

    def keep(vals: dict[str, Any], tch: frozenset[str], ph: list[PhotoRef], sa: bool) -> None:
        state.drafts.put(form_key, {"values": vals, "touched": list(tch), "photos": ph,
                                    "show_all": sa})

    def set_field(name: str, value: Any) -> None:
        cur = latest.current
        vals = {**cur["values"], name: value}
        tch = frozenset([*cur["touched"], name])
        latest.current = {**cur, "values": vals, "touched": list(tch)}
        set_values(vals)
        set_touched(tch)
        set_server_errors({})
        keep(vals, tch, cur["photos"], cur["show_all"])

    def set_many(changes: dict[str, Any]) -> None:
        cur = latest.current
        vals = {**cur["values"], **changes}
        tch = frozenset([*cur["touched"], *changes])
        latest.current = {**cur, "values": vals, "touched": list(tch)}
        set_values(vals)
        set_touched(tch)
        keep(vals, tch, cur["photos"], cur["show_all"])

    def set_photos(ph: list[PhotoRef]) -> None:
        cur = latest.current
        latest.current = {**cur, "photos": ph}
        set_photos_state(list(ph))
        keep(cur["values"], frozenset(cur["touched"]), list(ph), cur["show_all"])

    def fail(errors: dict[str, str]) -> None:
        cur = latest.current
        latest.current = {**cur, "show_all": True}
        set_show_all(True)
        set_server_errors(dict(errors))
        keep(cur["values"], frozenset(cur["touched"]), cur["photos"], True)

    def done() -> None:
        state.drafts.drop(form_key)
        guard.form_key = None
        latest.current = None

    errors = validate(values)
    if not show_all:
        errors = {k: v for k, v in errors.items() if k.split("[")[0].split(".")[0] in touched
                  or k in touched}
    errors = {**errors, **server_errors}
    return Form(form_key, values, errors, show_all, set_field, set_many, fail, done,
                photos, set_photos, kind)


def error_banner(form: Form) -> list[ft.Control]:
    """Above the fields after a failed save: how many fields still need fixing."""
    if not (form.errors and form.show_all):
        return []
    return [ft.Text(t("ui.form.fix_errors", n=len(form.errors)), color=ft.Colors.ERROR, key="form-errors")]


def finish_save(state: AppState, form: Form, errors: dict[str, str], saved: str, route: str) -> None:
    """After a save: show the errors on the form, or drop the draft, tell ``saved`` and go to
    ``route``."""
    if errors:
        form.fail(errors)
        state.tell(t("ui.form.fix_errors", n=len(errors)))
        return
    form.done()
    state.data_changed()

    def told() -> None:
        state.tell(saved, route)  # said on the saved record's screen, not on whatever comes next
        go(route)

    # "saved" only once it is (browser: once flushed to IndexedDB)
    runtime.after_durable(told, lambda err: state.tell(t("phone.storage_error", error=err)))


def required_mark(kind: str, name: str) -> str:
    """" *" after the label of a field the shared model requires, else "": the marker and
    the validation come from the same field spec."""
    spec = FIELDS.get(kind, {}).get(name)
    return " *" if spec is not None and spec.required else ""


def text_field(form: Form, name: str, label: str, *, multiline: bool = False,
               keyboard: ft.KeyboardType | None = None, hint: str | None = None) -> ft.TextField:
    def on_change(e: ft.Event[ft.TextField]) -> None:
        form.set(name, e.control.value or "")

    value = form.values.get(name)
    return ft.TextField(
        key=f"f:{name}", label=label + required_mark(form.kind, name), value="" if value is None else str(value),
        error=form.error(name), multiline=multiline, min_lines=3 if multiline else None,
        max_lines=6 if multiline else 1, keyboard_type=keyboard, hint_text=hint,
        on_change=on_change, text_size=16,
    )


def choice_chips(key: str, options: list[tuple[str, str]], selected: str | None,
                 on_pick: Callable[[str | None], None], *, allow_none: bool = False,
                 error: str | None = None) -> ft.Control:
    """One-of chips (big enough for a thumb); tapping the chosen one clears it if allowed."""
    def handler(value: str) -> Callable[[Any], None]:
        def h(_: Any) -> None:
            on_pick(None if (allow_none and value == selected) else value)
        return h

    chips = [chip(label, f"{key}:{value}", value == selected, handler(value)) for value, label in options]
    col: list[ft.Control] = [ft.Row(chips, wrap=True, spacing=6, run_spacing=6)]
    if error:
        col.append(ft.Text(error, color=ft.Colors.ERROR, size=12, key=f"{key}-error"))
    return ft.Column(col, spacing=2)


def multi_chips(key: str, options: list[str], selected: list[str],
                on_change: Callable[[list[str]], None]) -> ft.Control:
    def handler(value: str) -> Callable[[Any], None]:
        def h(_: Any) -> None:
            cur = list(selected)
            if value in cur:
                cur.remove(value)
            else:
                cur.append(value)
            on_change([o for o in options if o in cur])
        return h

    return ft.Row([chip(o, f"{key}:{o}", o in selected, handler(o)) for o in options],
                  wrap=True, spacing=6, run_spacing=6)


def label_text(text: str) -> ft.Control:
    return ft.Text(text, size=13, color=ft.Colors.ON_SURFACE_VARIANT)


@ft.component
def HouseholdPicker(kind: str, selected: str | None, on_pick: Callable[[str | None], None],
                    error: str | None = None) -> ft.Control:
    """Search and pick the household of a ``kind`` record (name, address, phone or pinyin
    initials); marked required when that kind's household field is."""
    state = use_app()
    svc = state.services
    query, set_query = ft.use_state("")
    if selected:
        label = svc.household_label(selected)
        return ft.Row([
            ft.Icon(ft.Icons.HOME_WORK),
            ft.Text(label, key="picked-household", expand=True, size=16),
            ft.TextButton(t("ui.form.change"), key="household-change", on_click=lambda _: on_pick(None),
                          height=TAP),
        ])
    rows = svc.households(query=query, limit=6) if query.strip() else []
    controls: list[ft.Control] = [ft.TextField(
        key="household-search", label=t(f"ui.{kind}.household") + required_mark(kind, "household"), prefix_icon=ft.Icons.SEARCH,
        hint_text=t("ui.household.search_hint"), value=query, error=error,
        on_change=lambda e: set_query(e.control.value or ""),
    )]
    for r in rows:
        controls.append(ft.ListTile(key=f"pick-household:{r['id']}", title=ft.Text(r["title"]),
                                    subtitle=ft.Text(r["address"]), min_height=TOUCH,
                                    on_click=lambda _, i=r["id"]: on_pick(i)))
    if query.strip() and not rows:
        controls.append(ft.Text(t("ui.household.none_found"), key="household-none"))
    return ft.Column(controls, spacing=4, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)


async def pick_photos(state: AppState, picker: ft.FilePicker) -> tuple[list[PhotoRef], list[str]]:
    """Let the person pick images; process each through the photo pipeline.

    Desktop and phone: the picker gives paths. A browser drawing the app served from a PC:
    paths are never given, so the files are uploaded to the app's upload folder first
    (``page.get_upload_url``). Inside the phone's browser the bytes come with the pick.
    On a phone's browser the image picker also offers the camera."""
    page = ft.context.page
    files = await picker.pick_files(file_type=ft.FilePickerFileType.IMAGE, allow_multiple=True,
                                    with_data=runtime.PICKED_BYTES_COME_WITH_PICK)
    if not files:
        return [], []
    svc = state.services
    blobs = await picked_bytes(page, picker, svc, files)
    refs: list[PhotoRef] = []
    errors: list[str] = []
    for name, data in blobs:
        if data is None:
            errors.append(t("ui.photo.unreadable", name=name))
            continue
        try:
            refs.append(await svc.take_photo(data))
        except ServiceError as exc:
            errors.append(f"{name}: {exc}")
    return refs, errors


async def picked_bytes(page: ft.Page, picker: ft.FilePicker, svc: Any,
                       files: list[ft.FilePickerFile]) -> list[tuple[str, bytes | None]]:
    """(name, bytes or None when unreadable) of each picked file: read from its path, or
    uploaded first in the browser, where there are no paths."""
    if all(f.bytes is not None for f in files):
        return [(f.name, f.bytes) for f in files]
    if all(f.path for f in files):
        return [(f.name, await asyncio.to_thread(read_bytes, f.path)) for f in files]
    return await _upload(page, picker, svc, files)


async def download(picker: ft.FilePicker, path: str | Path) -> bool:
    """In a browser, hand a file the app wrote (on the machine serving it) to the browser as
    a download; False when it cannot be read. The path itself means nothing to the person
    at the browser, so callers show the file name, not the path."""
    data = await asyncio.to_thread(read_bytes, str(path))
    if data is None:
        return False
    await picker.save_file(file_name=Path(path).name, src_bytes=data)
    return True


def read_bytes(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


async def _upload(page: ft.Page, picker: ft.FilePicker, svc: Any,
                  files: list[ft.FilePickerFile]) -> list[tuple[str, bytes | None]]:
    loop = asyncio.get_running_loop()
    prefix = svc.upload_prefix(page.session.id)
    waiting: dict[str, asyncio.Future[bool]] = {}
    uploads = []
    for f in files:
        target = f"{prefix}/{f.id}-{_safe_name(f.name)}"
        waiting[f.name] = loop.create_future()
        uploads.append(ft.FilePickerUploadFile(upload_url=page.get_upload_url(target, 600), id=f.id,
                                               name=f.name))

    UPLOAD_WAITERS[id(picker)] = waiting
    try:
        await picker.upload(uploads)
        await asyncio.wait_for(asyncio.gather(*waiting.values()), timeout=300)
    except TimeoutError:
        pass
    finally:
        UPLOAD_WAITERS.pop(id(picker), None)
    out = []
    for f in files:
        name = f"{prefix}/{f.id}-{_safe_name(f.name)}"
        out.append((f.name, svc.take_upload(name)))
    return out


# picker id -> {file name: future}; the picker's on_upload (set when it is made, so the
# client knows to report progress) resolves them.
UPLOAD_WAITERS: dict[int, dict[str, asyncio.Future[bool]]] = {}


def new_picker() -> ft.FilePicker:
    picker: ft.FilePicker

    async def on_upload(e: ft.FilePickerUploadEvent) -> None:
        # async: runs on the event loop, where the futures live (sync handlers may not)
        fut = UPLOAD_WAITERS.get(id(picker), {}).get(e.file_name)
        if fut is None or fut.done():
            return
        if e.error:
            fut.set_result(False)
        elif e.progress is not None and e.progress >= 1.0:
            fut.set_result(True)

    picker = ft.FilePicker(on_upload=on_upload)
    return picker


def _safe_name(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
    return keep[-80:] or "photo"


@ft.component
def PhotoStrip(photos: list[PhotoRef], on_change: Callable[[list[PhotoRef]], None],
               key_prefix: str = "photo") -> ft.Control:
    """Thumbnails with remove buttons, an add button, full view on tap."""
    state = use_app()
    picker_ref = ft.use_ref(None)
    if picker_ref.current is None:
        picker_ref.current = new_picker()  # keep a strong reference: handlers stay registered
    busy, set_busy = ft.use_state(False)
    problems, set_problems = ft.use_state([])
    latest = ft.use_ref(photos)
    latest.current = photos

    async def add(_: Any) -> None:
        set_busy(True)
        try:
            refs, errors = await pick_photos(state, picker_ref.current)
        finally:
            set_busy(False)
        set_problems(errors)
        if refs:
            have = {p.sha256 for p in latest.current}
            on_change([*latest.current, *[r for r in refs if r.sha256 not in have]])

    def remove(i: int) -> Callable[[Any], None]:
        def h(_: Any) -> None:
            cur = list(latest.current)
            if 0 <= i < len(cur):
                cur.pop(i)
                on_change(cur)
        return h

    def show(p: PhotoRef) -> Callable[[Any], None]:
        def h(_: Any) -> None:
            show_photo(state, p.sha256)
        return h

    tiles: list[ft.Control] = []
    for i, p in enumerate(photos):
        tiles.append(ft.Column([
            ft.Container(ft.Image(src=p.thumb, width=96, height=96, fit=ft.BoxFit.COVER),
                         key=f"{key_prefix}-thumb:{i}", on_click=show(p), border_radius=8,
                         clip_behavior=ft.ClipBehavior.HARD_EDGE, tooltip=t("ui.photo.n", n=i + 1)),
            ft.TextButton(t("ui.photo.remove_n", n=i + 1), key=f"{key_prefix}-remove:{i}",
                          icon=ft.Icons.CLOSE, on_click=remove(i), height=TAP),
        ], spacing=0, horizontal_alignment=ft.CrossAxisAlignment.CENTER, width=110))
    tiles.append(ft.OutlinedButton(
        t("ui.photo.adding") if busy else t("ui.photo.add"), key=f"{key_prefix}-add",
        icon=ft.Icons.ADD_A_PHOTO, on_click=add, disabled=busy, height=TOUCH))
    col: list[ft.Control] = [ft.Row(tiles, wrap=True, spacing=8, run_spacing=8)]
    for msg in problems:
        col.append(ft.Text(msg, color=ft.Colors.ERROR, key=f"{key_prefix}-problem"))
    return ft.Column(col, spacing=4)


def show_photo(state: AppState, sha: str) -> None:
    """Full view of a stored photo (the top view's DialogHost shows it)."""
    state.dialog = f"photo:{sha}"


def thumbs(state: AppState, shas: list[str], key: str, size: int = 64) -> ft.Control:
    """Read-only thumbnails of stored photos (tap for the full photo)."""
    items: list[ft.Control] = []
    for i, sha in enumerate(shas):
        data = state.services.thumb(sha)
        if data is None:
            items.append(ft.Container(ft.Icon(ft.Icons.IMAGE_NOT_SUPPORTED), width=size, height=size,
                                      key=f"{key}:{i}", tooltip=t("ui.photo.missing")))
            continue
        items.append(ft.Container(ft.Image(src=data, width=size, height=size, fit=ft.BoxFit.COVER),
                                  key=f"{key}:{i}", border_radius=6,
                                  clip_behavior=ft.ClipBehavior.HARD_EDGE,
                                  on_click=lambda _, s=sha: show_photo(state, s)))
    return ft.Row(items, wrap=True, spacing=6, run_spacing=6)
