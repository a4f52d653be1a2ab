"""Echo wall curation (回音壁): resolved problems and fulfilled wishes as compact rows (title,
village, category, dates, a short excerpt: look-alike titles stay apart), not yet published
first. Opening a row shows its editor: staff write the public title and text (the wall shows
only that wording) and publish, update or unpublish it."""

from __future__ import annotations

from typing import Any

import flet as ft

from app.ui.screens.staff.layout import is_wide, staff_view, use_staff
from app.ui.state import use_app
from app.ui.widgets import badge, empty
from sync.i18n import t

ERROR_LINES = 6  # a refusal (e.g. the privacy guard's list of what it found) is shown whole


@ft.component
def WallScreen() -> ft.View:
    state = use_app()
    _ = state.version
    svc = use_staff()
    edits, set_edits = ft.use_state({})  # issue id -> {"title", "text"} being edited
    errors, set_errors = ft.use_state({})
    opened, set_opened = ft.use_state(None)  # the row whose editor shows
    items = svc.wall_items()

    def edit(iid: str, name: str, base: dict[str, str]) -> Any:
        def h(e: Any) -> None:
            cur = {**base, **edits.get(iid, {}), name: e.control.value or ""}
            set_edits({**edits, iid: cur})
        return h

    def publish(iid: str, base: dict[str, str]) -> Any:
        def h(_: Any) -> None:
            cur = {**base, **edits.get(iid, {})}
            errs = svc.publish(iid, cur["title"], cur["text"])
            set_errors({**errors, iid: errs})
            if not errs:
                set_edits({k: v for k, v in edits.items() if k != iid})
                state.data_changed()
                state.tell(t("ui.staff.wall.published"))
        return h

    def unpublish(iid: str) -> Any:
        def h(_: Any) -> None:
            errs = svc.unpublish(iid)
            set_errors({**errors, iid: errs})
            if not errs:
                state.data_changed()
                state.tell(t("ui.staff.wall.unpublished"))
        return h

    def toggle(iid: str) -> Any:
        return lambda _: set_opened(None if opened == iid else iid)

    n_pub = sum(1 for i in items if i["published"])
    controls: list[ft.Control] = [
        ft.Text(t("ui.staff.wall.intro"), size=13, color=ft.Colors.ON_SURFACE_VARIANT),
        ft.Text(t("ui.staff.wall.count", published=n_pub, total=len(items)), key="wall-count"),
    ]
    if not items:
        controls.append(empty(t("ui.staff.wall.none")))
    rows: list[ft.Control] = []
    wide = is_wide()
    for it in items:
        iid = it["id"]
        status = badge(t("ui.staff.wall.is_published"), ft.Colors.GREEN_200) if it["published"] \
            else badge(t("ui.staff.wall.not_published"))
        meta = " · ".join(x for x in (
            it["village_name"], it["category_name"],
            t("ui.staff.reported", date=it["reported_text"]) if it["reported_text"] else "",
            t("ui.staff.wall.resolved", date=it["resolved_text"]) if it["resolved_text"] else "") if x)
        # one line under the title: where, what, when, then the start of the description
        sub: list[ft.Control] = [ft.Text(meta, size=12, color=ft.Colors.ON_SURFACE_VARIANT, key=f"wall-meta:{iid}")]
        if it["excerpt"]:
            sub.append(ft.Text(it["excerpt"], size=12, max_lines=1, overflow=ft.TextOverflow.ELLIPSIS,
                               key=f"wall-excerpt:{iid}", expand=True if wide else None))
        rows.append(ft.ListTile(
            key=f"wall:{iid}", dense=True, min_height=48, on_click=toggle(iid),
            title=ft.Text(it["title"], weight=ft.FontWeight.BOLD, max_lines=1, overflow=ft.TextOverflow.ELLIPSIS),
            # a phone stacks them (a Row would overflow; a wrapping Row cannot hold expand)
            subtitle=ft.Row(sub, spacing=12) if wide else ft.Column(sub, spacing=0, tight=True),
            trailing=ft.Row([badge(it["status_label"]), status,
                             ft.Icon(ft.Icons.EXPAND_LESS if opened == iid else ft.Icons.EXPAND_MORE)],
                            spacing=4, tight=True),
        ))
        if opened == iid:
            rows.append(_editor(it, {**{"title": it["public_title"], "text": it["public_text"]},
                                         **edits.get(iid, {})},
                                    errors.get(iid, {}), edit, publish, unpublish))
        rows.append(ft.Divider(height=1, key=f"wall-divider:{iid}"))
    controls.append(ft.Column(rows, spacing=0, key="wall-rows"))
    return staff_view(1, t("ui.staff.wall.title"), controls)


def _editor(it: dict[str, Any], cur: dict[str, str], errs: dict[str, str], edit: Any, publish: Any,
            unpublish: Any) -> ft.Control:
    """The public wording of one item, the full width of the screen, errors wrapped in full."""
    iid = it["id"]
    base = {"title": it["public_title"], "text": it["public_text"]}
    buttons: list[ft.Control] = [ft.FilledButton(
        t("ui.staff.wall.republish") if it["published"] else t("ui.staff.wall.publish"),
        key=f"wall-publish:{iid}", icon=ft.Icons.PUBLIC, on_click=publish(iid, base))]
    if it["published"]:
        buttons.append(ft.OutlinedButton(t("ui.staff.wall.unpublish"), key=f"wall-unpublish:{iid}",
                                         icon=ft.Icons.PUBLIC_OFF, on_click=unpublish(iid)))
    col: list[ft.Control] = [
        ft.TextField(key=f"wall-title:{iid}", label=t("ui.staff.wall.public_title"), value=cur["title"],
                     max_length=60, error=errs.get("public_title"), error_max_lines=ERROR_LINES,
                     on_change=edit(iid, "title", base)),
        ft.TextField(key=f"wall-text:{iid}", label=t("ui.staff.wall.public_text"), value=cur["text"],
                     multiline=True, min_lines=3, max_length=1000, error=errs.get("public_text"),
                     error_max_lines=ERROR_LINES, on_change=edit(iid, "text", base)),
        ft.Row(buttons, wrap=True),
    ]
    if errs.get("type"):
        col.append(ft.Text(errs["type"], color=ft.Colors.ERROR, key=f"wall-error:{iid}"))
    return ft.Container(ft.Column(col, tight=True, horizontal_alignment=ft.CrossAxisAlignment.STRETCH),
                        key=f"wall-editor:{iid}", padding=ft.Padding.only(left=16, right=16, bottom=12))
