"""工作简报 (the monthly bulletin) on the staff desk: the 三率 of every township and unit on
this device with their N, ranks, 环比 and 同比, the overdue count and the hot categories, and
the PDF / XLSX exports (sync.reports.bulletin, the same the CLI prints)."""

from __future__ import annotations

from typing import Any

import flet as ft

from app.ui.screens.staff.exports import use_export
from app.ui.screens.staff.layout import use_staff
from app.ui.state import use_app
from app.ui.widgets import TAP, chip, detail_view, empty, section
from sync.i18n import t
from sync.reports.bulletin import RATES

MONTHS = ("this", "last")


def _month_text(which: str) -> str:
    from app.services.common import china_today

    d = china_today()
    if which == "last":
        y, m = (d.year - 1, 12) if d.month == 1 else (d.year, d.month - 1)
        return f"{y}-{m:02d}"
    return f"{d.year}-{d.month:02d}"


def _rate_rows(prefix: str, rows: list[Any]) -> list[ft.Control]:
    out: list[ft.Control] = []
    for r in rows:
        cells = []
        for k in RATES:
            fig = r.figures[k]
            cells.append(ft.Text(t("ui.bulletin.rate", label=fig.label, value=fig.display(), n=fig.denominator,
                                   mom=r.change_text(k, "previous"), yoy=r.change_text(k, "last_year")),
                                 size=13, key=f"{prefix}:{r.key}:{k}"))
        out.append(ft.Container(ft.Column([
            # nothing to rate (N=0 everywhere): not ranked, said in words (not "第—名")
            ft.Row([ft.Text(t("ui.bulletin.rank", n=r.rank) if r.rank else t("ui.bulletin.unranked"),
                            weight=ft.FontWeight.BOLD, width=70, key=f"{prefix}-rank:{r.key}"),
                    ft.Text(r.label, weight=ft.FontWeight.BOLD, expand=True),
                    ft.Text(t("ui.bulletin.score", score=r.score_text()), key=f"{prefix}-score:{r.key}")]),
            ft.Row(cells, wrap=True, spacing=16)], spacing=2, tight=True),
            key=f"{prefix}:{r.key}", padding=ft.Padding.symmetric(vertical=6)))
    return out


@ft.component
def BulletinScreen() -> ft.View:
    state = use_app()
    _ = state.version
    svc = use_staff()
    which, set_which = ft.use_state("this")
    exported, set_exported = ft.use_state("")
    run_export = use_export()
    period = _month_text(which)
    # a county's month takes seconds to compute: again only when the month or the data changed,
    # not when an export's message re-renders the screen
    b = ft.use_memo(lambda: svc.reports.bulletin(period), [period, state.version])

    def exporter(fmt: str) -> Any:
        async def h(_: Any) -> None:
            set_exported(await run_export(lambda: svc.reports.export_bulletin(period, fmt)))
        return h

    controls: list[ft.Control] = [
        ft.Row([chip(t(f"ui.bulletin.month.{m}"), f"bulletin-month:{m}", which == m, lambda _, m=m: set_which(m))
                for m in MONTHS], wrap=True),
        ft.Text(f"{t('reports.bulletin.title', county=b.county)} {b.number}", key="bulletin-title", size=16,
                weight=ft.FontWeight.BOLD),
        ft.Row([ft.FilledButton(t("ui.bulletin.export_pdf"), key="bulletin-pdf", icon=ft.Icons.PICTURE_AS_PDF,
                                on_click=exporter("pdf"), height=TAP),
                ft.OutlinedButton(t("ui.bulletin.export_xlsx"), key="bulletin-xlsx", icon=ft.Icons.DOWNLOAD,
                                  on_click=exporter("xlsx"), height=TAP)], wrap=True),
    ]
    if exported:
        controls.append(ft.Text(t("ui.staff.ledger.path", path=exported), key="bulletin-path", selectable=True))
    total = b.total.figures
    controls.append(ft.Text(t("ui.bulletin.summary", reported=b.reported, overdue=len(b.overdue),
                              response=total["response_rate"].display(), on_time=total["on_time_rate"].display(),
                              satisfied=total["satisfied_rate"].display()), key="bulletin-summary"))
    controls.append(section(t("reports.bulletin.section.township")))
    controls += _rate_rows("town", b.townships) or [empty(t("reports.bulletin.none"))]
    controls.append(section(t("reports.bulletin.section.unit")))
    controls += _rate_rows("unit", b.units) or [empty(t("reports.bulletin.none"))]
    controls.append(section(t("reports.bulletin.section.hot")))
    if not b.hot:
        controls.append(empty(t("reports.bulletin.none")))
    for i, h in enumerate(b.hot):
        controls.append(ft.Text(t("ui.bulletin.hot", label=h.label, n=h.count, share=f"{h.share * 100:.1f}%",
                                  prev=h.previous), key=f"hot:{i}"))
    controls.append(ft.Text(t("reports.bulletin.score_def"), size=12, color=ft.Colors.ON_SURFACE_VARIANT))
    return detail_view(t("ui.bulletin.title"), controls)
