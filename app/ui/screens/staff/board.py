"""The issue board (工单台): new issues first, counts per status, filters, search by title.

At a desk (page width >= DESK) a dense table: one line per issue, a column per fact, click a
column header to sort, the filters folded into one bar; Tab walks the filters, the headers
and the rows, Enter opens a row. On a phone the same rows are cards under a folded filter
panel. Both read the same ``StaffServices.board``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import flet as ft

from app.services import Services
from app.services.staff import BOARD_COLUMNS, NEW_STATES, china_today
from app.services.staff_refdata import may_edit_reference
from app.ui.screens.staff.layout import dropdown, staff_view, use_staff
from app.ui.state import use_app
from app.ui.widgets import badge, empty, go, row_tile
from sync import records as rec_mod
from sync import workflow as wf
from sync.i18n import t

PAGE = 100  # rows drawn at first (and added by 显示更多): drawing costs ~4 ms of CPU a row
DESK = 1000  # px: from here the board is a table (a PC at 1366x768 shows ~16 rows)
ROW_HEIGHT = 34
# desk table: column -> width in px (the title takes what is left)
WIDTHS = {"place": 150, "category": 140, "reported": 92, "unit": 116, "deadline": 176, "status": 76,
          "supervised": 72}
# the direction of a column's first click: newest report / highest level first, else A-Z
FIRST_DESCENDING = frozenset({"reported", "supervised"})
DROPDOWN_FILTERS = ("kind", "village", "grid", "category", "appeal_type", "urgency", "source")
CELL = 13  # text size in the table


def is_desk() -> bool:
    width = ft.context.page.width
    return bool(width and width >= DESK)


@ft.component
def BoardScreen() -> ft.View:
    state = use_app()
    _ = state.version
    svc = use_staff()
    filters, set_filters = ft.use_state({})
    order, set_order = ft.use_state(("triage", False))
    show_filters, set_show_filters = ft.use_state(False)
    limit, set_limit = ft.use_state(PAGE)
    board = svc.board(filters, order[0], order[1], limit=limit)
    desk = is_desk()

    def put(name: str) -> Callable[[Any], None]:
        def h(v: Any) -> None:
            changes = {name: v}
            if name == "kind":  # a status of the other kind would hide every row
                changes["status"] = None
            set_filters({**filters, **changes})
        return h

    def sort_by(col: str) -> Callable[[Any], None]:
        def h(_: Any) -> None:
            if order[0] == col:
                set_order((col, not order[1]))
            else:
                set_order((col, col in FIRST_DESCENDING))
        return h

    bar = _filter_bar(svc, filters, put, desk)
    chosen = sum(1 for k in (*DROPDOWN_FILTERS, *TOGGLES) if filters.get(k))
    controls: list[ft.Control] = []
    if desk:
        if order[0] != "triage":
            bar.append(ft.TextButton(t("ui.staff.sort.triage"), key="sort:triage", icon=ft.Icons.RESTART_ALT,
                                     tooltip=t("ui.staff.sort.triage_hint"),
                                     on_click=lambda _: set_order(("triage", False))))
        controls.append(ft.Row([_register_button(), *_admin_button(svc), _search(filters, put, 200), *bar],
                               spacing=8, scroll=ft.ScrollMode.AUTO, key="board-bar"))
    else:
        controls.append(ft.Row([
            _register_button(),
            ft.Container(_search(filters, put, None), expand=True),
            ft.TextButton(t("ui.staff.filters", n=chosen) if chosen else t("ui.staff.filters_none"),
                          key="board-filters", icon=ft.Icons.FILTER_LIST,
                          on_click=lambda _: set_show_filters(not show_filters)),
        ], key="board-bar"))
        if show_filters:
            controls.append(ft.Row(bar, wrap=True, spacing=8, run_spacing=8, key="board-filter-panel"))
    controls.append(_status_line(board, filters, put, desk))
    rows = board["rows"]
    if desk:
        controls.append(_header(order, sort_by))
    if not rows:
        controls.append(empty(t("ui.issue.none")))
    # rows touch each other (the screen's column spaces its children apart)
    this_year = str(china_today().year)
    controls.append(ft.Column([_table_row(r, i % 2 == 1, this_year) if desk else _card(svc, r)
                               for i, r in enumerate(rows)], spacing=0, key="board-rows"))
    if board["matched"] > len(rows):
        controls.append(ft.Row([
            ft.Text(t("ui.staff.showing", n=len(rows), total=board["matched"]), key="board-more"),
            ft.OutlinedButton(t("ui.staff.show_more", n=min(PAGE, board["matched"] - len(rows))),
                              key="board-more-button", on_click=lambda _: set_limit(limit + PAGE)),
        ], wrap=True))
    return staff_view(0, t("ui.staff.board.title"), controls)


def _register_button() -> ft.Control:
    """登记: a problem from another channel (12345热线, 信访 ...), registered by staff."""
    return ft.FilledTonalButton(t("ui.register.button"), key="board-register", icon=ft.Icons.ADD_CALL,
                                on_click=lambda _: go("/register"))


def _admin_button(svc: Any) -> list[ft.Control]:
    """基础数据 (units, categories, sources, appeal types): the admin's, at a desk."""
    if not may_edit_reference(svc.role):
        return []
    return [ft.OutlinedButton(t("ui.ref.title"), key="board-reference", icon=ft.Icons.TUNE,
                              on_click=lambda _: go("/reference"))]


def _search(filters: dict[str, Any], put: Callable[[str], Callable[[Any], None]], width: int | None) -> ft.Control:
    return ft.TextField(key="board-search", label=t("ui.staff.search"), value=filters.get("q", ""),
                        prefix_icon=ft.Icons.SEARCH, dense=True, width=width,
                        on_change=lambda e: put("q")(e.control.value or ""))


def _filter_bar(svc: Any, filters: dict[str, Any], put: Callable[[str], Callable[[Any], None]],
                desk: bool) -> list[ft.Control]:
    """The dropdowns (kind, village, grid, category, appeal type, urgency): one line at a desk."""
    cats = []
    for top in svc.services.categories():
        cats.append((top["id"], top["name"]))
        cats += [(c["id"], f"{top['name']} / {c['name']}") for c in top["children"]]
    any_ = t("ui.staff.filter.any")
    w = 132 if desk else 170
    out = [
        dropdown("filter-kind", t("ui.staff.filter.kind"),
                 [(k, t(f"ui.issue.kind.{k}")) for k, _ in Services.choices("issue_kind")],
                 filters.get("kind"), put("kind"), any_label=any_, width=112 if desk else w),
        dropdown("filter-village", t("ui.staff.filter.village"), svc.villages(),
                 filters.get("village"), put("village"), any_label=any_, width=w),
        dropdown("filter-grid", t("ui.staff.filter.grid"), svc.grids(), filters.get("grid"),
                 put("grid"), any_label=any_, width=w),
        dropdown("filter-category", t("ui.staff.filter.category"), cats, filters.get("category"),
                 put("category"), any_label=any_, width=176 if desk else 220),
        dropdown("filter-appeal", t("ui.staff.filter.appeal"), svc.services.appeals(),
                 filters.get("appeal_type"), put("appeal_type"), any_label=any_, width=w),
        dropdown("filter-urgency", t("ui.staff.filter.urgency"), Services.choices("urgency"),
                 filters.get("urgency"), put("urgency"), any_label=any_, width=w),
        dropdown("filter-source", t("ui.staff.filter.source"), svc.intake.sources(with_grid=True),
                 filters.get("source"), put("source"), any_label=any_, width=w),
    ]
    if not desk:  # at a desk these two sit at the end of the status line
        out += _toggles(filters, put, desk)
    return out


def _toggles(filters: dict[str, Any], put: Callable[[str], Callable[[Any], None]], desk: bool) -> list[ft.Control]:
    """Overdue only / supervised only: chips that stay on one line with the status chips."""
    def chip(name: str, key: str, label: str) -> ft.Control:
        on = bool(filters.get(name))
        return ft.Chip(label=ft.Text(label, size=CELL if desk else None), key=key, selected=on,
                       leading=ft.Icon(ft.Icons.FILTER_ALT, size=16), show_checkmark=False,
                       visual_density=ft.VisualDensity.COMPACT if desk else None,
                       on_click=lambda _: put(name)(not on))

    return [chip(name, f"filter-{name.replace('_', '-')}", t(f"ui.staff.filter.{name}")) for name in TOGGLES]


# on/off filters: overdue, supervised by the township, a county 督办卡, a deadline near or passed
TOGGLES = ("overdue", "supervised", "county_supervised", "due_soon")


def _status_line(board: dict[str, Any], filters: dict[str, Any], put: Callable[[str], Callable[[Any], None]],
                 desk: bool) -> ft.Control:
    """全部 and one chip per status of the chosen kind (全部 is their sum); at a desk also the
    overdue / supervised toggles."""
    status = filters.get("status")

    def chip(key: str, label: str, selected: bool, value: str | None) -> ft.Control:
        return ft.Chip(label=ft.Text(label, size=CELL if desk else None), key=key, selected=selected,
                       show_checkmark=False, visual_density=ft.VisualDensity.COMPACT if desk else None,
                       on_click=lambda _: put("status")(None if value == status else value))

    items: list[ft.Control] = [chip("bstatus:all", t("ui.staff.all", n=board["total"]), status is None, None)]
    # a phone leaves out the empty ones (全部 stays their sum); a desk keeps every column of the set
    items += [chip(f"bstatus:{s}", f"{wf.state_label(s)} {board['counts'].get(s, 0)}", status == s, s)
              for s in board["states"] if desk or board["counts"].get(s) or status == s]
    if desk:
        items += _toggles(filters, put, desk)
    return ft.Row(items, wrap=True, spacing=6, run_spacing=4, key="board-status")


def _header(order: tuple[str, bool], sort_by: Callable[[str], Callable[[Any], None]]) -> ft.Control:
    """Column titles; each is a button that sorts by its column (again: the other way)."""
    cells: list[ft.Control] = []
    for col in BOARD_COLUMNS:
        active = order[0] == col
        arrow = (ft.Icons.ARROW_DOWNWARD if order[1] else ft.Icons.ARROW_UPWARD) if active else None
        label = t(f"ui.staff.col.{col}")
        # the label as a Text: a button text_style would drop the app's CJK font family
        inner: list[ft.Control] = [ft.Text(label, size=CELL, weight=ft.FontWeight.BOLD, max_lines=1)]
        if arrow:
            inner.append(ft.Icon(arrow, size=14))
        btn = ft.TextButton(
            content=ft.Row(inner, spacing=2, tight=True), key=f"sort:{col}", on_click=sort_by(col),
            height=ROW_HEIGHT, tooltip=t("ui.staff.sort.by", col=label),
            style=ft.ButtonStyle(padding=ft.Padding.symmetric(horizontal=4), alignment=ft.Alignment.CENTER_LEFT,
                                 shape=ft.RoundedRectangleBorder(radius=4)))
        cells.append(ft.Container(btn, expand=True) if col == "title" else ft.Container(btn, width=WIDTHS[col]))
    return ft.Container(ft.Row(cells, spacing=0), key="board-header",
                        padding=ft.Padding.symmetric(horizontal=8),
                        border=ft.Border.only(bottom=ft.BorderSide(1, ft.Colors.OUTLINE_VARIANT)))


def _cell(text: str, width: int, *, color: Any = None, bold: bool = False, key: str | None = None) -> ft.Control:
    # a bare Text with its width: 200 rows x 8 cells, every control counts when the table redraws
    return ft.Text(text, size=CELL, max_lines=1, overflow=ft.TextOverflow.ELLIPSIS, color=color, key=key,
                   weight=ft.FontWeight.BOLD if bold else None, width=width)


def _table_row(r: dict[str, Any], odd: bool, this_year: str) -> ft.Control:
    """One issue on one line: a button (Tab reaches it, Enter opens it) holding the cells."""
    title: list[ft.Control] = [ft.Text(r["title"], size=CELL, max_lines=1, overflow=ft.TextOverflow.ELLIPSIS,
                                       expand=True, weight=ft.FontWeight.BOLD if r["status"] in NEW_STATES
                                       else None)]
    if r["urgency"] in ("urgent", "critical"):
        title.append(badge(rec_mod.choice_label("urgency", r["urgency"]), URGENCY[r["urgency"]]))
    if r["redo_count"]:
        title.append(badge(t("ui.staff.redo", n=r["redo_count"]), ft.Colors.PURPLE_100))
    if r["flagged"]:
        title.append(badge(t("ui.staff.flagged"), ft.Colors.YELLOW_200))
    title += _county_badges(r)
    # this year's dates without the year (the column stays narrow), others in full
    day = r["deadline"][5:] if r["deadline"].startswith(this_year) else r["deadline"]
    due = " ".join(x for x in (day, r["due_text"]) if x)
    cells: list[ft.Control] = [
        ft.Row(title, spacing=4, expand=True) if len(title) > 1 else title[0],
        _cell(r["place"], WIDTHS["place"]),
        _cell(r["category_name"], WIDTHS["category"]),
        _cell(r["reported_text"], WIDTHS["reported"]),
        _cell(r["unit_name"], WIDTHS["unit"]),
        _cell(due, WIDTHS["deadline"], color=ft.Colors.ERROR if r["overdue"] else
              ft.Colors.DEEP_ORANGE_700 if ("unit", "due_soon") in r["flags"] else None, bold=r["overdue"],
              key=f"due:{r['id']}"),
        _cell(r["status_label"], WIDTHS["status"]),
        _cell(t("ui.staff.supervised", level=r["supervised"]) if r["supervised"] else "", WIDTHS["supervised"],
              color=ft.Colors.DEEP_ORANGE_700),
    ]
    return ft.TextButton(
        content=ft.Row(cells, spacing=0), key=f"board:{r['id']}", height=ROW_HEIGHT,
        on_click=lambda _, i=r["id"]: go(f"/board/{i}"),
        style=ft.ButtonStyle(padding=ft.Padding.symmetric(horizontal=12), color=ft.Colors.ON_SURFACE,
                             bgcolor=ft.Colors.SURFACE_CONTAINER_LOW if odd else None,  # stripes guide the eye
                             shape=ft.RoundedRectangleBorder(radius=0), alignment=ft.Alignment.CENTER_LEFT))


URGENCY = {"urgent": ft.Colors.ORANGE_200, "critical": ft.Colors.RED_200}


def _county_badges(r: dict[str, Any]) -> list[ft.Control]:
    """The channel it came by (when not a grid worker's), the county 督办卡 and its deadline
    flag, a unit deadline that is near."""
    out: list[ft.Control] = []
    if r["source_name"]:
        out.append(badge(r["source_name"], ft.Colors.BLUE_100))
    if r["county_level"]:
        late = ("county", "overdue") in r["flags"]
        near = ("county", "due_soon") in r["flags"]
        out.append(badge(t("ui.staff.county_card", level=r["county_level"])
                         + (t("ui.staff.flag.overdue") if late else t("ui.staff.flag.due_soon") if near else ""),
                         ft.Colors.RED_200 if late else ft.Colors.DEEP_ORANGE_200))
    if ("unit", "due_soon") in r["flags"]:
        out.append(badge(t("ui.staff.flag.due_soon_unit"), ft.Colors.AMBER_200))
    return out


def _card(svc: Any, r: dict[str, Any]) -> ft.Control:
    """A phone card: the title, where and when, the unit and the days left, status badges."""
    trail = [badge(r["status_label"])]
    if r["overdue"]:
        trail.append(badge(t("ui.issue.overdue"), ft.Colors.RED_200))
    if r["supervised"]:
        trail.append(badge(t("ui.staff.supervised", level=r["supervised"]), ft.Colors.ORANGE_200))
    if r["flagged"]:
        trail.append(badge(t("ui.staff.flagged"), ft.Colors.YELLOW_200))
    if r["redo_count"]:
        trail.append(badge(t("ui.staff.redo", n=r["redo_count"]), ft.Colors.PURPLE_100))
    trail += _county_badges(r)
    due = t("ui.staff.deadline", date=r["deadline"]) if r["deadline"] else ""
    sub = " · ".join(x for x in (r["place"], r["category_name"], t("ui.staff.reported", date=r["reported_text"]),
                                 r["unit_name"], r["due_text"] or due) if x)
    return row_tile(f"board:{r['id']}", r["title"], sub,
                    trailing=ft.Column(trail, spacing=2, tight=True, horizontal_alignment=ft.CrossAxisAlignment.END),
                    on_click=lambda _, i=r["id"]: go(f"/board/{i}"))
