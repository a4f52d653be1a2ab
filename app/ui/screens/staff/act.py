"""Act on one issue: only the staff actions valid in its state are offered; each one asks
for what its event needs (reason, unit and deadline, level ...) and lands in the timeline."""

from __future__ import annotations

from typing import Any

import flet as ft

from app.ui.forms import PhotoStrip, thumbs
from app.ui.screens.issues import issue_head, timeline
from app.ui.screens.staff.exports import use_export
from app.ui.screens.staff.layout import dropdown, use_staff
from app.ui.state import use_app
from app.ui.voice import VoiceList
from app.ui.widgets import TAP, TOUCH, badge, detail_view, empty, section
from sync import registry
from sync import workflow as wf
from sync.i18n import catalog, t
from sync.records import field_label

# The widgets this screen draws for an action's fields (sync.registry names them).
WIDGETS = frozenset({"text", "long", "date", "unit", "level", "yesno", "claimant"})

@ft.component
def ActScreen() -> ft.View:
    state = use_app()
    _ = state.version
    svc = use_staff()
    iid = ft.use_route_params().get("iid", "")
    action, set_action = ft.use_state(None)
    values, set_values = ft.use_state({})
    errors, set_errors = ft.use_state({})
    photos, set_photos = ft.use_state([])
    printed, set_printed = ft.use_state("")
    run_export = use_export()
    it = svc.staff_issue(iid)
    if it is None:
        return detail_view(t("ui.issue.title"), [empty(t("ui.error.gone"))])

    def pick(a: str) -> Any:
        def h(_: Any) -> None:
            init = {f.name: _start_value(f, it) for f in registry.event_type(a).inputs if f.default}
            set_action(None if a == action else a)
            set_values(init)
            set_photos([])
            set_errors({})
        return h

    def put(name: str) -> Any:
        return lambda v: set_values({**values, name: v})

    def save(_: Any) -> None:
        errs = svc.act(iid, action, values, photos)
        set_errors(errs)
        if errs:
            return
        set_action(None)
        set_values({})
        set_photos([])
        state.data_changed()
        state.tell(t("ui.staff.done", action=wf.event_label(action)))

    supervised = (badge(t("ui.staff.supervised", level=it["supervised"]), ft.Colors.ORANGE_200),)
    controls = issue_head(it, wf.state_label(it["status"]), supervised if it["supervised"] else ())
    where = " · ".join(x for x in (it["place"], t("ui.staff.reporter", name=it["reporter_name"])
                                   if it["reporter_name"] else "") if x)
    if where:
        controls.append(ft.Text(where, size=13, key="issue-place"))
    controls += _county_lines(it)
    if it["unit"]:
        unit = t("ui.staff.with_unit", unit=it["unit_name"], date=it["deadline"])
        controls.append(ft.Text(" · ".join(x for x in (unit, it["due_text"]) if x), key="issue-unit",
                                color=ft.Colors.ERROR if it["overdue"] else None))
    if it["kind"] == "problem":
        controls.append(_documents(it, svc, run_export, set_printed))
        if printed:
            controls.append(ft.Text(t("ui.staff.ledger.path", path=printed), key="notice-path", selectable=True))
    # what the worker saw: the report's photos, and the visit that raised it with its photos
    if it["photos"]:
        controls.append(section(t("ui.staff.issue_photos", n=len(it["photos"]))))
        controls.append(thumbs(state, it["photos"], "issue-photo", 120))
    controls.append(VoiceList("issue", iid, "issue-voice"))
    visit = it["visit"]
    if visit:
        controls.append(section(t("ui.staff.visit")))
        controls.append(ft.Text(" · ".join(x for x in (visit["at_text"], visit["visitor_name"],
                                                      t("ui.visit.kind." + visit["kind"]) if visit["kind"] else "",
                                                      visit["household_label"]) if x),
                                size=13, key="visit-line"))
        for name in ("people_met", "seen", "said"):
            if visit[name]:
                controls.append(ft.Text(t("ui.staff.labelled", label=t("ui.visit." + name), text=visit[name]), key=f"visit-{name}",
                                        selectable=True))
        if visit["photos"]:
            controls.append(thumbs(state, visit["photos"], "visit-photo", 96))
        controls.append(VoiceList("visit", visit["id"], "visit-voice"))
    controls.append(section(t("ui.staff.actions")))
    if not it["staff_actions"]:
        controls.append(empty(t("ui.staff.no_actions")))
    controls.append(ft.Row([
        (ft.FilledButton if a == action else ft.OutlinedButton)(
            wf.event_label(a), key=f"act:{a}", on_click=pick(a), height=TAP)
        for a in it["staff_actions"]], wrap=True, spacing=6, run_spacing=6))
    if action:
        if errors.get("type"):
            controls.append(ft.Text(errors["type"], color=ft.Colors.ERROR, key="act-error"))
        kind_of = registry.event_type(action)
        for field in kind_of.inputs:
            name, kind = field.name, field.widget
            key = f"act-f:{name}"
            label = _label(name)
            if kind in ("unit", "claimant"):
                options = svc.units() if kind == "unit" else [
                    (c["id"], f"{c['name']}（{c['kind_label']}）") for c in svc.services.claimants(it["grid"])]
                controls.append(dropdown(key, label, options, values.get(name), put(name), width=320))
                if errors.get(name):
                    controls.append(ft.Text(errors[name], color=ft.Colors.ERROR, size=12))
            elif kind in ("level", "yesno"):
                levels = range(field.spec.min or 1, (field.spec.max or 1) + 1)
                opts = ([(str(n), t(f"ui.staff.level.{n}")) for n in levels] if kind == "level"
                        else [("yes", t("ui.yes")), ("no", t("ui.no"))])
                controls.append(dropdown(key, label, opts, values.get(name), put(name), width=320))
                if errors.get(name):
                    controls.append(ft.Text(errors[name], color=ft.Colors.ERROR, size=12))
            else:
                controls.append(ft.TextField(
                    key=key, label=label, value=values.get(name, ""), multiline=kind == "long",
                    hint_text="YYYY-MM-DD" if kind == "date" else None, error=errors.get(name),
                    helper=svc.deadline_notice(values.get(name)) if kind == "date" else None,
                    on_change=lambda e, n=name: put(n)(e.control.value or "")))
        if kind_of.photos:
            controls.append(ft.Text(t("ui.staff.after_photos"), size=13))
            controls.append(PhotoStrip(photos, set_photos, "act-photo"))
        controls.append(ft.FilledButton(t("ui.staff.confirm", action=wf.event_label(action)), key="act-save",
                                        icon=ft.Icons.CHECK, on_click=save, height=TOUCH))

    controls += timeline(state, it["timeline"])
    return detail_view(t("ui.staff.act.title"), controls)


def _documents(it: dict[str, Any], svc: Any, run_export: Any, set_printed: Any) -> ft.Control:
    """The public code (as on the resident's 回执) and the printable 督办卡 / 整改通知单 (A4 PDF,
    sync.reports.notices): each offered once the issue has what it prints (a 督办, a unit)."""
    def printer(kind: str) -> Any:
        async def h(_: Any) -> None:
            set_printed(await run_export(lambda: svc.reports.export_notice(it["id"], kind, svc.services.user_name(
                svc.services.user_id))))
        return h

    return ft.Row([
        ft.Text(t("ui.staff.code", code=it["code"]), key="issue-code", selectable=True, weight=ft.FontWeight.BOLD),
        ft.OutlinedButton(t("ui.staff.print.duban"), key="print:duban", icon=ft.Icons.PRINT, height=TAP,
                          on_click=printer("duban"), disabled=not (it["supervised"] or it["county_card"])),
        ft.OutlinedButton(t("ui.staff.print.zhenggai"), key="print:zhenggai", icon=ft.Icons.PRINT, height=TAP,
                          on_click=printer("zhenggai"), disabled=not it["unit"]),
    ], wrap=True, spacing=8)


def _start_value(field: registry.Input, it: dict[str, Any]) -> Any:
    """The value an action's field starts from: the issue fact its schema names; a level is at
    least its lowest step."""
    value = it[field.default]
    if field.widget == "level":
        return str(max(field.spec.min or 1, int(value or 0)))
    return value


def _county_lines(it: dict[str, Any]) -> list[ft.Control]:
    """The county 督办卡 with its own deadline and flag (the channel and the caller are in the
    issue's head, as on the phone)."""
    out: list[ft.Control] = []
    card = it["county_card"]
    if card:
        flags = {which: status for which, status, _d, _n in it["flags"]}
        flag = t(f"ui.staff.flag.{flags['county']}") if "county" in flags else ""
        out.append(ft.Text(t("ui.staff.county_card_line", level=card["level"], card=card["card_no"] or "—",
                             date=card["deadline"], flag=flag), size=13, key="issue-county-card",
                           color=ft.Colors.ERROR if flags.get("county") == "overdue" else ft.Colors.DEEP_ORANGE_700))
    return out


def _label(name: str) -> str:
    """A field's label on this form: its own wording when the catalog has one (``ui.staff.field``),
    else the schema's label (a new action needs no second key)."""
    key = f"ui.staff.field.{name}"
    return t(key) if key in catalog() else field_label("issue_event", name)
