"""村民会议: village meetings to the 十有 standard (院坝会, 乡村夜话, 村民议事会). The list is
findable by date, place and topic; a new meeting records time, place, topic, participants
(the 联户 register and free names), agenda, what was said, decisions and follow-ups, the
problems raised (new issues in the same save, as a visit's demands) and photos; a meeting's
page prints its minutes (A4 PDF). Staff see the same list and pages, without the form."""

from __future__ import annotations

import asyncio
from typing import Any

import flet as ft

from app.services import ServiceError, fmt_time
from app.ui.forms import (
    PhotoStrip,
    choice_chips,
    download,
    error_banner,
    finish_save,
    label_text,
    multi_chips,
    new_picker,
    text_field,
    thumbs,
    use_form,
)
from app.ui.screens.visits import demand_editor, demand_errors, demands_of
from app.ui.state import use_app
from app.ui.widgets import TAP, TOUCH, detail_view, empty, go, row_tile, section
from sync.i18n import t

TEXTS = ("agenda", "speeches", "decisions", "follow_ups")  # the body of the record, in order


def _is_staff(state: Any) -> bool:
    from app.services.staff import is_staff

    return is_staff(state.services)


@ft.component
def MeetingsScreen() -> ft.View:
    state = use_app()
    _ = state.version
    query, set_query = ft.use_state("")
    rows = state.services.meetings(query)
    controls: list[ft.Control] = [
        ft.TextField(key="meeting-query", prefix_icon=ft.Icons.SEARCH, value=query, text_size=16,
                     hint_text=t("ui.meeting.search_hint"), on_change=lambda e: set_query(e.control.value or "")),
        ft.Text(t("ui.meeting.count", n=len(rows)), key="meeting-count", size=12),
    ]
    if not rows:
        controls.append(empty(t("ui.meeting.none")))
    for m in rows:
        sub = " · ".join(x for x in (m["at_text"], m["kind_label"], m["place"]) if x)
        if m["raised"]:
            sub += " · " + t("ui.meeting.raised_count", n=len(m["raised"]))
        controls.append(row_tile(f"meeting:{m['id']}", m["topic"], sub,
                                 on_click=lambda _, i=m["id"]: go(f"/meetings/{i}"),
                                 trailing=ft.Icon(ft.Icons.PHOTO) if m["photos"] else None))
    fab = None if _is_staff(state) else ft.FloatingActionButton(
        t("ui.meeting.new"), icon=ft.Icons.ADD, key="meeting-add", on_click=lambda _: go("/meetings/new"))
    return detail_view(t("ui.meeting.title"), controls, fab=fab)


@ft.component
def MeetingDetail() -> ft.View:
    state = use_app()
    _ = state.version
    svc = state.services
    mid = ft.use_route_params().get("mid", "")
    exported, set_exported = ft.use_state("")
    picker_ref = ft.use_ref(None)
    if picker_ref.current is None:
        picker_ref.current = new_picker()  # strong reference: a service is dropped otherwise
    page = ft.context.page
    m = svc.meeting(mid)
    if m is None:
        return detail_view(t("ui.meeting.title"), [empty(t("ui.error.gone"))])

    async def print_minutes(_: Any) -> None:
        try:
            path = await asyncio.to_thread(svc.export_minutes, mid)
        except ServiceError as exc:
            state.tell(str(exc))
            return
        if page.web:  # written where the app is served: the browser downloads it
            ok = await download(picker_ref.current, path)
            state.tell(t("ui.staff.ledger.downloaded", name=path.name) if ok
                       else t("ui.syncx.error.unreadable", name=path.name))
            return
        set_exported(str(path))

    people = [*m["member_names"], *m["guests"]]
    controls: list[ft.Control] = [
        ft.Text(m["topic"], size=20, weight=ft.FontWeight.BOLD, key="meeting-topic"),
        ft.Text(f"{m['kind_label']} · {m['at_text']} · {m['place']}", key="meeting-when"),
        ft.Text(t("ui.meeting.host_recorder", host=m["host"] or "—", recorder=m["recorder"] or "—"), size=13),
        section(t("ui.meeting.participants", n=m["headcount"])),
        ft.Text("、".join(people) or t("ui.meeting.nobody"), key="meeting-people"),
    ]
    for name in TEXTS:
        controls += [section(t(f"model.field.{name}")),
                     ft.Text(m[name] or t("ui.meeting.not_recorded"), key=f"meeting-{name}", selectable=True)]
    if m["raised_issues"]:
        controls.append(section(t("ui.meeting.raised")))
        for it in m["raised_issues"]:
            route = f"/board/{it['id']}" if _is_staff(state) else f"/issues/{it['id']}"
            controls.append(row_tile(f"meeting-issue:{it['id']}", it["title"], t(f"ui.status.{it['status']}"),
                                     on_click=lambda _, r=route: go(r)))
    if m["photos"]:
        controls += [section(t("ui.photo.title")), thumbs(state, m["photos"], "meeting-photo", 96)]
    controls.append(ft.FilledTonalButton(t("ui.meeting.print"), key="meeting-print", icon=ft.Icons.PRINT,
                                         height=TOUCH, on_click=print_minutes))
    if exported:
        controls.append(ft.Text(t("ui.staff.ledger.path", path=exported), key="minutes-path", selectable=True))
    return detail_view(t("ui.meeting.detail"), controls)


@ft.component
def MeetingForm() -> ft.View:
    state = use_app()
    svc = state.services
    initial = {"meeting_kind": "yard", "time": fmt_time(svc.now_ms()), "place": "", "topic": "", "host": "",
               "members": [], "guests": "", "headcount": "", "agenda": "", "speeches": "", "decisions": "",
               "follow_ups": "", "demands": []}

    def fields_of(values: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in values.items() if k != "demands" and v not in ("", None, [])}
        if isinstance(out.get("headcount"), str) and out["headcount"].strip().isdigit():
            out["headcount"] = int(out["headcount"].strip())
        return out

    def validate(values: dict[str, Any]) -> dict[str, str]:
        errors = svc.validate("meeting", {**fields_of(values), "recorder": svc.user_id,
                                          "village": svc.profile.get("village_id", "village")})
        return {**errors, **demand_errors(values)}

    form = use_form("meeting:new", "meeting", initial, validate)

    def save(_: Any) -> None:
        mid, errors = svc.save_meeting(fields_of(form.values), demands_of(form.values), form.photos)
        n = len((svc.meeting(mid) or {}).get("raised") or []) if mid else 0
        saved = t("ui.meeting.saved_with", n=n) if n else t("ui.meeting.saved")
        finish_save(state, form, errors, saved, f"/meetings/{mid}")

    register = svc.members()
    names = {m["id"]: m["name"] for m in register}
    chosen = [names[i] for i in form.values.get("members") or [] if i in names]
    controls: list[ft.Control] = [
        *error_banner(form),
        label_text(t("model.field.meeting_kind")),
        choice_chips("meeting-kind", svc.meeting_kind_choices(), form.values.get("meeting_kind"),
                     lambda v: form.set("meeting_kind", v), error=form.error("meeting_kind")),
        text_field(form, "time", t("ui.meeting.time"), hint=t("ui.meeting.time_hint")),
        text_field(form, "place", t("model.field.place")),
        text_field(form, "topic", t("model.field.topic")),
        text_field(form, "host", t("model.field.host")),
    ]
    if register:
        controls += [label_text(t("ui.meeting.members")),
                     multi_chips("meeting-member", [m["name"] for m in register], chosen,
                                 lambda picked: form.set("members", [m["id"] for m in register
                                                                     if m["name"] in picked]))]
    controls += [
        text_field(form, "guests", t("model.field.guests"), hint=t("ui.meeting.guests_hint")),
        text_field(form, "headcount", t("model.field.headcount"), keyboard=ft.KeyboardType.NUMBER),
        *[text_field(form, name, t(f"model.field.{name}"), multiline=True) for name in TEXTS],
        section(t("ui.meeting.raised")),
        label_text(t("ui.meeting.raised_hint")),
        *demand_editor(svc, form),
        section(t("ui.photo.title")), PhotoStrip(form.photos, form.set_photos, "meeting-photo"),
    ]
    bottom = ft.FilledButton(t("ui.meeting.save"), key="save", icon=ft.Icons.SAVE, on_click=save,
                             height=TOUCH, expand=True)
    return detail_view(t("ui.meeting.new"), controls, bottom=ft.Row([bottom]))


def meetings_button() -> ft.Control:
    """The way to the meetings from 首页 and the staff figures."""
    return ft.OutlinedButton(t("ui.meeting.title"), icon=ft.Icons.GROUPS_2, key="open-meetings", height=TAP,
                             on_click=lambda _: go("/meetings"))
