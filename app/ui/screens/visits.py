"""走访: visit history, visit detail, and a new visit (household, kind, people met, what was
seen and said, demands that become issues in the same step, photos)."""

from __future__ import annotations

from typing import Any

import flet as ft

from app.ui.forms import (
    HouseholdPicker,
    PhotoStrip,
    choice_chips,
    error_banner,
    finish_save,
    label_text,
    required_mark,
    text_field,
    thumbs,
    use_form,
)
from app.ui.location import use_position
from app.ui.screens.sync import sync_badge, sync_marks
from app.ui.state import use_app
from app.ui.widgets import (
    TAP,
    TOUCH,
    detail_view,
    empty,
    go,
    place_line,
    row_tile,
    section,
    tab_view,
)
from sync.i18n import t


@ft.component
def VisitsScreen() -> ft.View:
    state = use_app()
    _ = state.version
    rows = state.services.visits(limit=200)
    marks = sync_marks(state)
    controls: list[ft.Control] = []
    if not rows:
        controls.append(empty(t("ui.visit.none")))
    for v in rows:
        title = f"{v['household_label']}"
        sub = f"{v['at_text']} · {t('ui.visit.kind.' + v['kind'])}"
        if v["demands"]:
            sub += " · " + t("ui.visit.demand_count", n=len(v["demands"]))
        if v["id"] in marks:
            sub += " · " + marks[v["id"]]
        controls.append(row_tile(f"visit:{v['id']}", title, sub,
                                 on_click=lambda _, i=v["id"]: go(f"/visits/{i}"),
                                 trailing=ft.Icon(ft.Icons.PHOTO) if v["photos"] else None))
    fab = ft.FloatingActionButton(t("ui.home.new_visit"), icon=ft.Icons.ADD, key="visit-add",
                                  on_click=lambda _: go("/visits/new"))
    return tab_view(2, t("ui.visit.title"), controls, fab=fab)


@ft.component
def VisitDetail() -> ft.View:
    state = use_app()
    _ = state.version
    vid = ft.use_route_params().get("vid", "")
    v = state.services.visit(vid)
    if v is None:
        return detail_view(t("ui.visit.title"), [empty(t("ui.error.gone"))])
    controls: list[ft.Control] = [
        ft.Text(v["household_label"], size=18, weight=ft.FontWeight.BOLD, key="visit-household"),
        ft.Text(f"{v['at_text']} · {t('ui.visit.kind.' + v['kind'])}", key="visit-when"),
        ft.Row([sync_badge(state, vid)]),
        *place_line(v["location_text"], "visit-location"),
    ]
    for name in ("people_met", "seen", "said"):
        if v[name]:
            controls += [section(t(f"ui.visit.{name}")), ft.Text(v[name], key=f"visit-{name}")]
    if v["photos"]:
        controls += [section(t("ui.photo.title")), thumbs(state, v["photos"], "visit-photo", 96)]
    if v["demand_issues"]:
        controls.append(section(t("ui.visit.demands")))
        for it in v["demand_issues"]:
            controls.append(row_tile(f"visit-demand:{it['id']}", it["title"], t(f"ui.status.{it['status']}"),
                                     on_click=lambda _, i=it["id"]: go(f"/issues/{i}")))
    return detail_view(t("ui.visit.detail"), controls)


def _demand_error(errors: dict[str, str], i: int, name: str) -> str | None:
    return errors.get(f"demand{i}.{name}")


@ft.component
def VisitForm() -> ft.View:
    state = use_app()
    svc = state.services
    initial = {"household": None, "kind": "routine", "people_met": "", "seen": "", "said": "",
               "demands": []}

    def validate(values: dict[str, Any]) -> dict[str, str]:
        # visitor and time are filled in by services when saving
        errors = svc.validate("visit", {**_visit_fields(values), "visitor": svc.user_id,
                                        "time": svc.now_ms()})
        for i, d in enumerate(values.get("demands") or []):
            if not (d.get("title") or "").strip():
                errors[f"demand{i}.title"] = t("ui.visit.demand_title_needed")
        return errors

    form = use_form("visit:new", "visit", initial, validate)
    position = use_position()

    def save(_: Any) -> None:
        demands = [{"title": d.get("title", ""), "description": d.get("description", ""),
                    "urgency": d.get("urgency") or "normal",
                    "issue_kind": d.get("issue_kind") or "problem"}
                   for d in form.values.get("demands") or []]
        vid, errors = svc.save_visit(position.add_to(_visit_fields(form.values)), demands, form.photos)
        finish_save(state, form, errors, _saved_text(svc, vid), f"/visits/{vid}")

    demands: list[dict[str, Any]] = list(form.values.get("demands") or [])

    def pick_demand(i: int, name: str) -> Any:
        def h(value: str | None) -> None:
            cur = [dict(d) for d in form.values.get("demands") or []]
            cur[i][name] = value
            form.set("demands", cur)
        return h

    def set_demand(i: int, name: str) -> Any:
        put = pick_demand(i, name)
        return lambda e: put(e.control.value)

    def remove_demand(i: int) -> Any:
        def h(_: Any) -> None:
            cur = [dict(d) for d in form.values.get("demands") or []]
            cur.pop(i)
            form.set("demands", cur)
        return h

    def add_demand(_: Any) -> None:
        form.set("demands", [*demands, {"title": "", "description": "", "urgency": "normal",
                                        "issue_kind": "problem"}])

    controls: list[ft.Control] = [
        *error_banner(form),
        HouseholdPicker("visit", form.values.get("household"), lambda h: form.set("household", h),
                        form.error("household")),
        label_text(t("ui.visit.kind")),
        choice_chips("visit-kind", [(k, t(f"ui.visit.kind.{k}")) for k, _ in svc.choices("visit_kind")],
                     form.values.get("kind"), lambda v: form.set("kind", v), error=form.error("kind")),
        text_field(form, "people_met", t("ui.visit.people_met")),
        text_field(form, "seen", t("ui.visit.seen"), multiline=True),
        text_field(form, "said", t("ui.visit.said"), multiline=True),
        section(t("ui.visit.demands")),
        label_text(t("ui.visit.demands_hint")),
    ]
    for i, d in enumerate(demands):
        controls.append(ft.Container(ft.Column([
            ft.Row([ft.Text(t("ui.visit.demand_n", n=i + 1), weight=ft.FontWeight.BOLD, expand=True),
                    ft.IconButton(ft.Icons.DELETE_OUTLINE, key=f"d{i}:remove", tooltip=t("ui.remove"),
                                  width=TAP, height=TAP,
                                  on_click=remove_demand(i))]),
            choice_chips(f"d{i}-kind", [(k, t(f"ui.issue.kind.{k}")) for k, _ in svc.choices("issue_kind")],
                         d.get("issue_kind") or "problem", pick_demand(i, "issue_kind")),
            ft.TextField(key=f"d{i}:title", label=t("ui.issue.title_field") + required_mark("issue", "title"),
                         value=d.get("title", ""),
                         on_change=set_demand(i, "title"), error=_demand_error(form.errors, i, "title")),
            ft.TextField(key=f"d{i}:description", label=t("ui.issue.description"),
                         value=d.get("description", ""), multiline=True, min_lines=2,
                         on_change=set_demand(i, "description")),
            choice_chips(f"d{i}-urgency", [(k, lbl) for k, lbl in svc.choices("urgency")],
                         d.get("urgency") or "normal", pick_demand(i, "urgency")),
        ], spacing=6, horizontal_alignment=ft.CrossAxisAlignment.STRETCH),
            border=ft.Border.all(1, ft.Colors.OUTLINE_VARIANT), border_radius=8, padding=8))
    controls.append(ft.TextButton(t("ui.visit.add_demand"), key="demand-add", icon=ft.Icons.ADD_COMMENT, height=TAP,
                                  on_click=add_demand))
    controls += [section(t("ui.photo.title")), PhotoStrip(form.photos, form.set_photos, "visit-photo")]
    bottom = ft.FilledButton(t("ui.visit.save"), key="save", icon=ft.Icons.SAVE, on_click=save,
                             height=TOUCH, expand=True)
    return detail_view(t("ui.visit.new"), controls, bottom=ft.Row([bottom]))


def _saved_text(svc: Any, vid: str | None) -> str:
    """What was saved, counted from the store: new problems and wishes only when there are some."""
    v = svc.visit(vid) if vid else None
    made = [i["kind"] for i in (v["demand_issues"] if v else [])]
    parts = [t(f"ui.visit.saved_{kind}", n=made.count(kind)) for kind in ("problem", "wish") if kind in made]
    return t("ui.visit.saved_with", made=t("model.list_sep").join(parts)) if parts else t("ui.visit.saved")


def _visit_fields(values: dict[str, Any]) -> dict[str, Any]:
    out = {k: values.get(k) for k in ("household", "kind", "people_met", "seen", "said")}
    return {k: v for k, v in out.items() if v not in (None, "")}
