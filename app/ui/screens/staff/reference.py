"""基础数据 (the admin's): units (县直部门 among them), categories with their deadline rules,
problem sources and appeal types, edited on the server and synced to every device. Entries are
retired, never removed: older records keep naming them."""

from __future__ import annotations

from typing import Any

import flet as ft

from app.services import ServiceError
from app.services.staff_refdata import FORM_FIELDS, KINDS
from app.ui.screens.staff.layout import use_staff
from app.ui.state import use_app
from app.ui.widgets import TOUCH, badge, chip, detail_view, empty, row_tile, section
from sync.i18n import t
from sync.records import field_label, kind_label


@ft.component
def ReferenceScreen() -> ft.View:
    state = use_app()
    svc = use_staff()
    kind, set_kind = ft.use_state("unit")
    loaded, set_loaded = ft.use_state(0)  # bumped after each save: read the list again
    values, set_values = ft.use_state({})
    error, set_error = ft.use_state("")

    def load() -> tuple[list[dict[str, Any]], str]:
        try:
            return svc.refdata.entries(kind), ""
        except ServiceError as exc:
            return [], str(exc)

    entries, load_error = ft.use_memo(load, [kind, loaded])

    def pick_kind(k: str) -> Any:
        def h(_: Any) -> None:
            set_kind(k)
            set_values({})
            set_error("")
        return h

    def put(name: str) -> Any:
        return lambda e: set_values({**values, name: e.control.value or ""})

    def done(message: str) -> None:
        set_values({})
        set_error("")
        set_loaded(loaded + 1)
        state.device.sync.trigger()  # this device's pickers follow at once
        state.tell(message)

    def save(_: Any) -> None:
        rid = str(values.get("id") or "").strip()
        if not rid:
            set_error(t("ui.ref.error.id"))
            return
        try:
            svc.refdata.save(kind, rid, {k: v for k, v in values.items() if k != "id"})
        except ServiceError as exc:
            set_error(str(exc))
            return
        done(t("ui.ref.saved", id=rid))

    def retire(rid: str) -> Any:
        def h(_: Any) -> None:
            try:
                svc.refdata.retire(kind, rid)
            except ServiceError as exc:
                set_error(str(exc))
                return
            done(t("ui.ref.retired", id=rid))
        return h

    def edit(entry: dict[str, Any]) -> Any:
        return lambda _: set_values({"id": entry["id"], **{k: "" if entry.get(k) is None else str(entry[k])
                                                           for k in FORM_FIELDS[kind]}})

    controls: list[ft.Control] = [
        ft.Row([chip(kind_label(k), f"refkind:{k}", kind == k, pick_kind(k)) for k in KINDS], wrap=True),
        ft.Text(t("ui.ref.hint"), size=12),
        section(t("ui.ref.edit", kind=kind_label(kind))),
        ft.TextField(key="ref-f:id", label=t("ui.ref.id"), value=values.get("id", ""), on_change=put("id"),
                     hint_text=t("ui.ref.id_hint"), width=360),
    ]
    for name in FORM_FIELDS[kind]:
        controls.append(ft.TextField(key=f"ref-f:{name}", label=field_label(kind, name), value=values.get(name, ""),
                                     on_change=put(name), width=360))
    if error:
        controls.append(ft.Text(error, color=ft.Colors.ERROR, key="ref-error"))
    controls.append(ft.FilledButton(t("ui.ref.save"), key="ref-save", icon=ft.Icons.CHECK, on_click=save,
                                    height=TOUCH))
    controls.append(section(t("ui.ref.list", kind=kind_label(kind), n=len(entries))))
    if load_error:
        controls.append(ft.Text(load_error, color=ft.Colors.ERROR, key="ref-load-error"))
    elif not entries:
        controls.append(empty(t("ui.ref.none")))
    for e in entries:
        detail = " · ".join(f"{field_label(kind, k)} {e[k]}" for k in FORM_FIELDS[kind]
                            if k != "name" and e.get(k) not in (None, ""))
        trail: list[ft.Control] = [ft.TextButton(t("ui.ref.edit_one"), key=f"ref-edit:{e['id']}", on_click=edit(e))]
        if e.get("retired"):
            trail.insert(0, badge(t("ui.ref.retired_badge")))
        else:
            trail.append(ft.TextButton(t("ui.ref.retire"), key=f"ref-retire:{e['id']}", on_click=retire(e["id"])))
        controls.append(row_tile(f"ref:{e['id']}", f"{e.get('name') or e['id']}（{e['id']}）", detail,
                                 trailing=ft.Row(trail, tight=True, spacing=4)))
    return detail_view(t("ui.ref.title"), controls)
