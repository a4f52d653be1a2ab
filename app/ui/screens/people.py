"""联户: the register of party members and 联户长 (list, page, form) and pairing a member with
a household from either side (docs/people.md)."""

from __future__ import annotations

from typing import Any

import flet as ft

from app.services import ServiceError
from app.ui.forms import (
    HouseholdPicker,
    choice_chips,
    error_banner,
    finish_save,
    label_text,
    text_field,
    use_form,
)
from app.ui.state import use_app
from app.ui.widgets import TAP, TOUCH, detail_view, empty, go, row_tile, section
from sync.i18n import t

MEMBERS = "/households/members"


def member_subtitle(m: dict[str, Any]) -> str:
    """党员 · 联系3户 · 使用App: the duty, how many households, whether they use the app."""
    parts = [m["duty_label"], t("ui.people.household_count", n=m["household_count"])]
    parts.append(t("ui.people.uses_app") if m["uses_app"] else t("ui.people.no_app"))
    return " · ".join(p for p in parts if p)


def member_tiles(prefix: str, members: list[dict[str, Any]]) -> list[ft.Control]:
    """A row per member, opening the member's page."""
    return [row_tile(f"{prefix}:{m['id']}", m["name"], member_subtitle(m),
                     on_click=lambda _, i=m["id"]: go(f"{MEMBERS}/{i}")) for m in members]


@ft.component
def MembersScreen() -> ft.View:
    state = use_app()
    _ = state.version
    query, set_query = ft.use_state("")
    rows = state.services.members(query)
    controls: list[ft.Control] = [
        ft.TextField(key="member-query", prefix_icon=ft.Icons.SEARCH, value=query,
                     hint_text=t("ui.people.search_hint"), text_size=16,
                     on_change=lambda e: set_query(e.control.value or "")),
        ft.Text(t("ui.people.count", n=len(rows)), key="member-count", size=12),
    ]
    if not rows:
        controls.append(empty(t("ui.people.none")))
    controls += member_tiles("member", rows)
    fab = ft.FloatingActionButton(t("ui.people.add"), icon=ft.Icons.PERSON_ADD, key="people-add",
                                  on_click=lambda _: go(f"{MEMBERS}/new"))
    return detail_view(t("ui.people.title"), controls, fab=fab)


@ft.component
def MemberDetail() -> ft.View:
    state = use_app()
    _ = state.version
    svc = state.services
    mid = ft.use_route_params().get("mid", "")
    confirm = ft.use_ref(False)
    m = svc.member(mid)
    if m is None:
        return detail_view(t("ui.people.title"), [empty(t("ui.error.gone"))])

    def add(hid: str | None) -> None:
        if not hid:
            return
        errors = svc.pair(mid, hid)
        state.tell(next(iter(errors.values())) if errors else t("ui.people.paired", name=svc.household_label(hid)))
        state.data_changed()

    def remove(hid: str) -> Any:
        def h(_: Any) -> None:
            svc.unpair(mid, hid)
            state.tell(t("ui.people.unpaired", name=svc.household_label(hid)))
            state.data_changed()
        return h

    controls: list[ft.Control] = [
        ft.Text(m["name"], size=22, weight=ft.FontWeight.BOLD, key="member-name"),
        ft.Text(member_subtitle(m), key="member-summary"),
        ft.Text(m["phone"] or t("ui.household.no_phone"), key="member-phone"),
    ]
    if m["note"]:
        controls.append(ft.Text(m["note"], key="member-note"))
    controls.append(section(t("ui.people.households", n=len(m["household_rows"]))))
    if not m["household_rows"]:
        controls.append(empty(t("ui.people.no_households")))
    for h in m["household_rows"]:
        controls.append(row_tile(
            f"member-household:{h['id']}", h["label"], on_click=lambda _, i=h["id"]: go(f"/households/{i}"),
            trailing=ft.IconButton(ft.Icons.LINK_OFF, key=f"unpair:{h['id']}", tooltip=t("ui.people.unpair"),
                                   width=TAP, height=TAP, on_click=remove(h["id"]))))
    controls += [label_text(t("ui.people.add_household")), HouseholdPicker("member", None, add)]

    def leave(_: Any) -> None:
        if not confirm.current:  # a second tap confirms: the links go too
            confirm.current = True
            state.tell(t("ui.people.remove_confirm", name=m["name"]))
            return
        svc.remove_member(mid)
        state.tell(t("ui.people.removed", name=m["name"]), MEMBERS)
        state.data_changed()
        go(MEMBERS)

    controls.append(ft.TextButton(t("ui.people.remove"), key="member-remove", icon=ft.Icons.PERSON_REMOVE,
                                  height=TAP, on_click=leave))
    edit = ft.TextButton(t("ui.people.edit"), icon=ft.Icons.EDIT, key="member-edit", height=TAP,
                         on_click=lambda _: go(f"{MEMBERS}/{mid}/edit"))
    return detail_view(t("ui.people.detail"), controls, actions=[edit])


@ft.component
def MemberForm() -> ft.View:
    state = use_app()
    svc = state.services
    mid = ft.use_route_params().get("mid")
    existing = svc.member(mid) if mid else None
    initial: dict[str, Any] = {"name": "", "duty": "party_member", "phone": "", "uses_app": False, "note": ""}
    if existing:
        initial = {k: existing[k] for k in initial}
    form = use_form(f"member:{mid or 'new'}", "member", initial, lambda v: svc.validate("member", {
        **{k: x for k, x in v.items() if x not in ("", None)},
        "village": svc.profile.get("village_id", "village")}))

    def save(_: Any) -> None:
        new_id, errors = svc.save_member(form.values, mid)
        finish_save(state, form, errors, t("ui.saved"), f"{MEMBERS}/{new_id}")

    controls: list[ft.Control] = [
        *error_banner(form),
        text_field(form, "name", t("ui.people.name")),
        label_text(t("ui.people.duty")),
        choice_chips("member-duty", svc.duty_choices(), form.values.get("duty"),
                     lambda v: form.set("duty", v), error=form.error("duty")),
        text_field(form, "phone", t("ui.household.phone"), keyboard=ft.KeyboardType.PHONE),
        label_text(t("ui.people.uses_app_q")),
        choice_chips("member-app", [("yes", t("ui.yes")), ("no", t("ui.no"))],
                     "yes" if form.values.get("uses_app") else "no",
                     lambda v: form.set("uses_app", v == "yes")),
        text_field(form, "note", t("ui.household.note"), multiline=True),
    ]
    bottom = ft.FilledButton(t("ui.save"), key="save", icon=ft.Icons.SAVE, on_click=save,
                             height=TOUCH, expand=True)
    return detail_view(t("ui.people.edit") if mid else t("ui.people.add"), controls, bottom=ft.Row([bottom]))


@ft.component
def PairMember() -> ft.View:
    """From a household's page: pick the member of the register who looks after it."""
    state = use_app()
    _ = state.version
    svc = state.services
    hid = ft.use_route_params().get("hid", "")
    query, set_query = ft.use_state("")
    own = {m["id"] for m in svc.household_members(hid)}
    rows = [m for m in svc.members(query) if m["id"] not in own]

    def pick(mid: str) -> Any:
        def h(_: Any) -> None:
            try:
                errors = svc.pair(mid, hid)
            except ServiceError as exc:
                state.tell(str(exc))
                return
            route = f"/households/{hid}"
            state.tell(next(iter(errors.values())) if errors else t("ui.people.paired_member", name=svc.member_name(mid)),
                       route)
            go(route)
        return h

    controls: list[ft.Control] = [
        ft.Text(svc.household_label(hid), size=16, weight=ft.FontWeight.BOLD, key="pair-household"),
        ft.TextField(key="member-query", prefix_icon=ft.Icons.SEARCH, value=query,
                     hint_text=t("ui.people.search_hint"), text_size=16,
                     on_change=lambda e: set_query(e.control.value or "")),
    ]
    if not rows:
        controls.append(empty(t("ui.people.none")))
    controls += [row_tile(f"pair-member:{m['id']}", m["name"], member_subtitle(m), on_click=pick(m["id"]))
                 for m in rows]
    controls.append(ft.TextButton(t("ui.people.add"), key="pair-new-member", icon=ft.Icons.PERSON_ADD,
                                  height=TAP, on_click=lambda _: go(f"{MEMBERS}/new")))
    return detail_view(t("ui.people.pair_title"), controls)
