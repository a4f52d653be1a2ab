"""住户: search (name, address, phone, pinyin initials), care-tag filter, detail, add and edit."""

from __future__ import annotations

from typing import Any

import flet as ft

from app.ui.forms import (
    Form,
    error_banner,
    finish_save,
    label_text,
    multi_chips,
    text_field,
    thumbs,
    use_form,
)
from app.ui.screens.people import MEMBERS, member_tiles
from app.ui.screens.sync import sync_badge
from app.ui.state import use_app
from app.ui.widgets import (
    TAP,
    TOUCH,
    badge,
    chip,
    detail_view,
    empty,
    go,
    row_tile,
    section,
    tab_view,
)
from sync.i18n import t

LIST_LIMIT = 80  # rows drawn at once (a phone shows ~10); the search narrows the rest


@ft.component
def HouseholdsScreen() -> ft.View:
    state = use_app()
    _ = state.version
    svc = state.services
    query, set_query = ft.use_state("")
    tag, set_tag = ft.use_state(None)
    shown, matched = svc.find_households(query=query, tag=tag, limit=LIST_LIMIT)  # rows for what is drawn

    def tag_handler(value: str) -> Any:
        return lambda _: set_tag(None if tag == value else value)

    controls: list[ft.Control] = [
        ft.TextField(key="household-query", prefix_icon=ft.Icons.SEARCH, value=query,
                     hint_text=t("ui.household.search_hint"), on_change=lambda e: set_query(e.control.value or ""),
                     text_size=16),
        ft.Row([chip(tg, f"tag:{tg}", tag == tg, tag_handler(tg)) for tg in svc.care_tags()],
               scroll=ft.ScrollMode.AUTO),
        ft.Text(t("ui.household.count", n=matched), key="household-count", size=12),
    ]
    if not matched:
        controls.append(empty(t("ui.household.none_found")))
    for r in shown:
        sub = " · ".join(x for x in (r["address"], r["last_visit_text"]) if x)
        controls.append(row_tile(
            f"household:{r['id']}", r["title"], sub,
            on_click=lambda _, i=r["id"]: go(f"/households/{i}"),
            trailing=ft.Text(" ".join(r["tags"][:2]), size=12, color=ft.Colors.PRIMARY),
        ))
    if matched > LIST_LIMIT:
        controls.append(empty(t("ui.household.more", n=matched - LIST_LIMIT)))
    fab = ft.FloatingActionButton(t("ui.household.add"), icon=ft.Icons.ADD, key="household-add",
                                  on_click=lambda _: go("/households/new"))
    members = ft.TextButton(t("ui.people.title"), icon=ft.Icons.GROUPS, key="open-members", height=TAP,
                            on_click=lambda _: go(MEMBERS))
    return tab_view(1, t("ui.household.title"), controls, fab=fab, actions=[members])


@ft.component
def HouseholdDetail() -> ft.View:
    state = use_app()
    _ = state.version
    hid = ft.use_route_params().get("hid", "")
    h = state.services.household(hid)
    if h is None:
        return detail_view(t("ui.household.title"), [empty(t("ui.error.gone"))])
    controls: list[ft.Control] = [
        ft.Text(h["title"], size=22, weight=ft.FontWeight.BOLD, key="hh-head"),
        ft.Text(h["address"], key="hh-address"),
        ft.Row([sync_badge(state, hid)]),
        ft.Text(h["phone"] or t("ui.household.no_phone"), key="hh-phone"),
        ft.Row([badge(x) for x in h["tags"]], wrap=True, key="hh-tags"),
        ft.Text(h["last_visit_text"], size=12),
    ]
    if h["note"]:
        controls.append(ft.Text(h["note"], key="hh-note"))
    controls.append(section(t("ui.household.members", n=h["members"])))
    for i, m in enumerate(h["members_list"]):
        extra = " · ".join(str(x) for x in (m.get("relation"), m.get("birth_year")) if x)
        controls.append(row_tile(f"member:{i}", m.get("name", ""), extra))
    paired = state.services.household_members(hid)
    controls.append(section(t("ui.people.of_household", n=len(paired))))
    if not paired:
        controls.append(empty(t("ui.people.household_unpaired")))
    controls += member_tiles("hh-member", paired)
    controls.append(ft.TextButton(t("ui.people.pair"), key="hh-pair", icon=ft.Icons.ADD_LINK, height=TAP,
                                  on_click=lambda _: go(f"/households/{hid}/pair")))
    controls.append(ft.Row([
        ft.FilledButton(t("ui.home.new_visit"), key="hh-new-visit", icon=ft.Icons.DIRECTIONS_WALK,
                        height=TOUCH, expand=True, on_click=lambda _: _start(state, "visit", hid)),
        ft.FilledTonalButton(t("ui.home.new_issue"), key="hh-new-issue", icon=ft.Icons.CAMPAIGN,
                             height=TOUCH, expand=True, on_click=lambda _: _start(state, "issue", hid)),
    ]))
    controls.append(section(t("ui.household.visits", n=len(h["visits"]))))
    if not h["visits"]:
        controls.append(empty(t("ui.visit.none")))
    for v in h["visits"]:
        controls.append(row_tile(f"hh-visit:{v['id']}", f"{v['at_text']} · {t('ui.visit.kind.' + v['kind'])}",
                                 v["seen"] or v["said"], on_click=lambda _, i=v["id"]: go(f"/visits/{i}")))
        if v["photos"]:
            controls.append(thumbs(state, v["photos"], f"hh-visit-photo:{v['id']}", 48))
    controls.append(section(t("ui.household.issues", n=len(h["issues"]))))
    if not h["issues"]:
        controls.append(empty(t("ui.issue.none")))
    for it in h["issues"]:
        controls.append(row_tile(f"hh-issue:{it['id']}", it["title"], t(f"ui.status.{it['status']}"),
                                 on_click=lambda _, i=it["id"]: go(f"/issues/{i}")))
    edit = ft.TextButton(t("ui.household.edit"), icon=ft.Icons.EDIT, key="hh-edit", height=TAP,
                         on_click=lambda _: go(f"/households/{hid}/edit"))
    return detail_view(t("ui.household.detail"), controls, actions=[edit])


def _start(state: Any, what: str, hid: str) -> None:
    """Open a new visit / issue form with this household already picked (keeps a draft)."""
    key = "visit:new" if what == "visit" else "issue:new"
    draft = state.drafts.get(key) or {"values": {}, "touched": [], "photos": [], "show_all": False}
    draft["values"] = {**draft["values"], "household": hid}
    state.drafts.put(key, draft)
    go("/visits/new" if what == "visit" else "/issues/new")


def _to_fields(values: dict[str, Any]) -> dict[str, Any]:
    """Form values -> record fields (numbers parsed; text kept when it is not a number so the
    model can say so)."""
    out = dict(values)
    mc = out.get("member_count")
    if isinstance(mc, str):
        mc = mc.strip()
        out["member_count"] = int(mc) if mc.isdigit() else (mc or None)
    members = []
    for m in out.get("members") or []:
        m = {k: v for k, v in m.items() if v not in ("", None)}
        by = m.get("birth_year")
        if isinstance(by, str):
            m["birth_year"] = int(by) if by.strip().isdigit() else by
        if m:
            members.append(m)
    out["members"] = members
    return {k: v for k, v in out.items() if v not in (None, "")}


@ft.component
def HouseholdForm() -> ft.View:
    state = use_app()
    svc = state.services
    hid = ft.use_route_params().get("hid")
    existing = svc.household(hid) if hid else None
    if existing:
        f = existing["fields"]
        initial = {"head": f.get("head", ""), "address": f.get("address", ""),
                   "phone": f.get("phone", ""),
                   "member_count": str(f["member_count"]) if f.get("member_count") is not None else "",
                   "members": [dict(m) for m in existing["members_list"]],
                   "care_tags": list(f.get("care_tags") or []), "note": f.get("note", "")}
    else:
        initial = {"head": "", "address": "", "phone": "", "member_count": "", "members": [],
                   "care_tags": [], "note": ""}
    form_key = f"household:{hid or 'new'}"

    def validate(values: dict[str, Any]) -> dict[str, str]:
        fields = _to_fields(values)
        fields.setdefault("village", svc.profile.get("village_id", "village"))
        return svc.validate("household", fields)

    form = use_form(form_key, "household", initial, validate)

    def save(_: Any) -> None:
        new_id, errors = svc.save_household(_to_fields(form.values), hid)
        finish_save(state, form, errors, t("ui.saved"), f"/households/{new_id}")

    controls: list[ft.Control] = [
        *error_banner(form),
        text_field(form, "head", t("ui.household.head")),
        text_field(form, "address", t("ui.household.address")),
        text_field(form, "phone", t("ui.household.phone"), keyboard=ft.KeyboardType.PHONE),
        text_field(form, "member_count", t("ui.household.member_count"), keyboard=ft.KeyboardType.NUMBER),
        label_text(t("ui.household.tags")),
        multi_chips("care-tag", svc.care_tags(), form.values.get("care_tags") or [],
                    lambda v: form.set("care_tags", v)),
        section(t("ui.household.members_edit")),
        *_members(form),
        text_field(form, "note", t("ui.household.note"), multiline=True),
    ]
    bottom = ft.FilledButton(t("ui.save"), key="save", icon=ft.Icons.SAVE, on_click=save,
                             height=TOUCH, expand=True)
    title = t("ui.household.edit") if hid else t("ui.household.add")
    return detail_view(title, controls, bottom=ft.Row([bottom]))


def _members(form: Form) -> list[ft.Control]:
    members: list[dict[str, Any]] = list(form.values.get("members") or [])

    def set_member(i: int, name: str) -> Any:
        def h(e: Any) -> None:
            cur = [dict(m) for m in form.values.get("members") or []]
            cur[i][name] = e.control.value or ""
            form.set("members", cur)
        return h

    def remove(i: int) -> Any:
        def h(_: Any) -> None:
            cur = [dict(m) for m in form.values.get("members") or []]
            cur.pop(i)
            form.set("members", cur)
        return h

    def add(_: Any) -> None:
        form.set("members", [*members, {"name": "", "relation": "", "birth_year": ""}])

    out: list[ft.Control] = []
    for i, m in enumerate(members):
        err = form.error(f"members[{i}].name") or form.error(f"members[{i}].birth_year")
        out.append(ft.Row([
            ft.TextField(key=f"m{i}:name", label=t("ui.household.member_name"), value=m.get("name", ""),
                         on_change=set_member(i, "name"), expand=3, error=err),
            ft.TextField(key=f"m{i}:relation", label=t("ui.household.relation"),
                         value=m.get("relation", ""), on_change=set_member(i, "relation"), expand=2),
            ft.TextField(key=f"m{i}:birth_year", label=t("ui.household.birth_year"),
                         value=str(m.get("birth_year", "") or ""), on_change=set_member(i, "birth_year"),
                         expand=2, keyboard_type=ft.KeyboardType.NUMBER),
            ft.IconButton(ft.Icons.DELETE_OUTLINE, key=f"m{i}:remove", tooltip=t("ui.remove"), width=TAP, height=TAP,
                          on_click=remove(i)),
        ], vertical_alignment=ft.CrossAxisAlignment.START))
    out.append(ft.TextButton(t("ui.household.add_member"), key="member-add", icon=ft.Icons.PERSON_ADD, height=TAP,
                             on_click=add))
    return out
