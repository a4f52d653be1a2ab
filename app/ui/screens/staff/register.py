"""登记问题: staff register a problem that did not come from a grid worker (12345热线, 信访,
明查暗访, 上级交办, 巡察/督查, 群众来访 ...). It goes to the grid of its household, else of its
village, so the grid worker sees it on the phone and does the 回头看; the caller's contact is
private (staff and that grid's worker only)."""

from __future__ import annotations

from typing import Any

import flet as ft

from app.services import Services
from app.ui.forms import error_banner, finish_save, text_field, use_form
from app.ui.screens.staff.layout import dropdown, use_staff
from app.ui.state import use_app
from app.ui.widgets import TOUCH, detail_view, section
from sync.i18n import t
from sync.records import field_label


def _pick(form: Any, name: str, label: str, options: list[tuple[str, str]], *, any_label: str | None = None,
          width: int = 360, also: dict[str, Any] | None = None) -> list[ft.Control]:
    def h(v: Any) -> None:
        if also:
            form.set_many({name: v, **also})
        else:
            form.set(name, v)

    out = [dropdown(f"f:{name}", label, options, form.values.get(name), h, any_label=any_label, width=width)]
    if form.error(name):
        out.append(ft.Text(form.error(name), color=ft.Colors.ERROR, size=12, key=f"err:{name}"))
    return out


@ft.component
def RegisterScreen() -> ft.View:
    state = use_app()
    _ = state.version
    svc = use_staff()
    intake = svc.intake
    sources = intake.sources()
    form = use_form("staff-register", "issue", {"source": sources[0][0] if sources else "hotline",
                                                "urgency": "normal", "reporter_visibility": "hidden"},
                    lambda v: {})

    def save(_: Any) -> None:
        iid, errors = intake.register(form.values)
        finish_save(state, form, errors, t("ui.register.saved"), f"/board/{iid}" if iid else "/register")

    village = form.values.get("village")
    grid = intake.route(village, form.values.get("household")) if village else None
    place = svc.places().get(grid or "", ("", "", ""))
    cats = []
    for top in svc.services.categories():
        cats.append((top["id"], top["name"]))
        cats += [(c["id"], f"{top['name']} / {c['name']}") for c in top["children"]]
    any_ = t("ui.register.none")
    controls: list[ft.Control] = [*error_banner(form), section(t("ui.register.where_from"))]
    controls += _pick(form, "source", field_label("issue", "source") + " *", sources)
    controls.append(text_field(form, "external_no", field_label("issue", "external_no"),
                               hint=t("ui.register.external_no_hint")))
    controls.append(section(t("ui.register.what")))
    controls.append(text_field(form, "title", field_label("issue", "title")))
    controls.append(text_field(form, "description", field_label("issue", "description"), multiline=True))
    controls += _pick(form, "category", field_label("issue", "category"), cats, any_label=any_)
    controls += _pick(form, "appeal_type", field_label("issue", "appeal_type"), svc.services.appeals(),
                      any_label=any_)
    controls += _pick(form, "urgency", field_label("issue", "urgency"), Services.choices("urgency"))
    controls.append(section(t("ui.register.where")))
    controls += _pick(form, "village", field_label("issue", "village") + " *", intake.villages(),
                      also={"household": None})
    if village:
        controls += _pick(form, "household", field_label("issue", "household"), intake.households(village),
                          any_label=any_)
        controls.append(ft.Text(t("ui.register.goes_to", grid=" / ".join(x for x in place[1:] if x))
                                if grid else t("ui.register.error.no_grid"), key="register-route",
                                color=None if grid else ft.Colors.ERROR))
    controls.append(section(t("ui.register.who")))
    controls.append(text_field(form, "contact_name", field_label("issue", "contact_name")))
    controls.append(text_field(form, "contact_phone", field_label("issue", "contact_phone"),
                               keyboard=ft.KeyboardType.PHONE))
    controls += _pick(form, "reporter_visibility", t("ui.register.visibility"),
                      [("hidden", t("ui.register.visibility.hidden")),
                       ("anonymous", t("ui.register.visibility.anonymous"))])
    controls.append(ft.Text(t("ui.register.private"), size=12, key="register-private"))
    controls.append(ft.FilledButton(t("ui.register.save"), key="register-save", icon=ft.Icons.CHECK,
                                    on_click=save, height=TOUCH))
    return detail_view(t("ui.register.title"), controls)
