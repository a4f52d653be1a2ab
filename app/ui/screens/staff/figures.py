"""Figures (统计) from sync.reports for this month / quarter / year per village, each with
N and its definition and a simple bar; and the ledger (整改台账) export button."""

from __future__ import annotations

from typing import Any

import flet as ft

from app.ui.screens.meetings import meetings_button
from app.ui.screens.staff.exports import use_export
from app.ui.screens.staff.layout import staff_view, use_staff
from app.ui.state import use_app
from app.ui.widgets import chip, go, section
from sync.i18n import t
from sync.reports.metrics import FIGURES, RATE_FIGURES

PERIODS = ("month", "quarter", "year")
# by county only on a device that sees several counties (sync.reports.metrics.GROUPINGS)
GROUPINGS = ("county", "township", "village", "grid", "unit", "worker", "source", "category")
# the figures a ranking (排名) can follow: higher is better
RANKINGS = ("response_rate", "on_time_rate", "satisfied_rate")


def _bar(fig: Any, key: str, biggest: float) -> ft.Control:
    """A bar of the figure: rates against 100 %, counts against the largest in the table."""
    if fig.value is None:
        value = 0.0
    elif fig.key in RATE_FIGURES:
        value = float(fig.value)
    else:
        value = float(fig.value) / biggest if biggest else 0.0
    return ft.ProgressBar(key=key, value=max(0.0, min(1.0, value)), width=160, bar_height=10)


def _figure_rows(prefix: str, figures: dict[str, Any], biggest: dict[str, float]) -> list[ft.Control]:
    out: list[ft.Control] = []
    for k in FIGURES:
        fig = figures.get(k)
        if fig is None:
            continue
        out.append(ft.Container(key=f"{prefix}:{k}", padding=ft.Padding.symmetric(vertical=4), content=ft.Column([
            ft.Row([ft.Text(fig.label, weight=ft.FontWeight.BOLD, width=140),
                    ft.Text(fig.display(), key=f"{prefix}-value:{k}", width=80),
                    _bar(fig, f"{prefix}-bar:{k}", biggest.get(k, 0.0)),
                    ft.Text(t("ui.staff.fig.n", n=fig.denominator), key=f"{prefix}-n:{k}")],
                   wrap=True),
            ft.Text(fig.definition, size=12, color=ft.Colors.ON_SURFACE_VARIANT),
        ], spacing=2, tight=True)))
    return out


@ft.component
def FiguresScreen() -> ft.View:
    state = use_app()
    _ = state.version
    svc = use_staff()
    which, set_which = ft.use_state("month")
    group_by, set_group_by = ft.use_state("village")
    rank_by, set_rank_by = ft.use_state(None)
    exported, set_exported = ft.use_state("")
    run_export = use_export()
    period = svc.reports.period_text(which)
    report = svc.reports.figures(period, group_by)

    def exporter(what: str, fmt: str) -> Any:
        async def h(_: Any) -> None:
            if what == "ledger":
                set_exported(await run_export(lambda: svc.reports.export_ledger(period, fmt)))
            else:
                set_exported(await run_export(lambda: svc.reports.export_metrics(period, group_by, fmt)))
        return h

    biggest: dict[str, float] = {}
    for g in [*report.groups, report.total]:
        for k in FIGURES:
            v = g.figures[k].value if k in g.figures else None
            if v is not None and k not in RATE_FIGURES:
                biggest[k] = max(biggest.get(k, 0.0), float(v))
    controls: list[ft.Control] = [
        ft.Row([chip(t(f"ui.staff.period.{p}"), f"period:{p}", which == p, lambda _, p=p: set_which(p))
                for p in PERIODS], wrap=True),
        ft.Row([chip(t(f"ui.staff.group.{g}"), f"group:{g}", group_by == g, lambda _, g=g: set_group_by(g))
                for g in GROUPINGS if g != "county" or len(svc.store.all("county")) > 1], wrap=True),
        ft.Row([chip(t("ui.staff.rank.by", figure=t(f"reports.figure.{k}")), f"rank:{k}", rank_by == k,
                     lambda _, k=k: set_rank_by(None if rank_by == k else k)) for k in RANKINGS], wrap=True),
        ft.Text(report.period.label, key="period-label", size=16, weight=ft.FontWeight.BOLD),
        ft.Row([ft.FilledButton(t("ui.staff.ledger.export"), key="ledger-export", icon=ft.Icons.DOWNLOAD,
                                on_click=exporter("ledger", "xlsx")),
                ft.OutlinedButton(t("ui.staff.ledger.export_csv"), key="ledger-export-csv",
                                  on_click=exporter("ledger", "csv")),
                ft.OutlinedButton(t("ui.staff.metrics.export"), key="metrics-export", icon=ft.Icons.DOWNLOAD,
                                  on_click=exporter("metrics", "xlsx")),
                ft.FilledTonalButton(t("ui.bulletin.open"), key="open-bulletin", icon=ft.Icons.ARTICLE,
                                     on_click=lambda _: go("/figures/bulletin")),
                ft.OutlinedButton(t("ui.people.title"), key="open-people", icon=ft.Icons.GROUPS,
                                  on_click=lambda _: go("/figures/people")),
                ft.OutlinedButton(t("ui.staff.wishes.title"), key="open-wishes", icon=ft.Icons.VOLUNTEER_ACTIVISM,
                                  on_click=lambda _: go("/figures/wishes")),
                meetings_button()], wrap=True),
    ]
    if exported:
        controls.append(ft.Text(t("ui.staff.ledger.path", path=exported), key="ledger-path", selectable=True))
    controls.append(section(t("ui.staff.fig.total", name=report.total.label)))
    controls += _figure_rows("total", report.total.figures, biggest)
    groups = [g for g in report.groups if g.key]
    if rank_by:  # 排名: best first, groups with nothing to measure (N = 0) last, unranked
        groups.sort(key=lambda g: (g.figures[rank_by].value is None, -(g.figures[rank_by].value or 0.0), g.label))
    for n, g in enumerate(groups, 1):
        ranked = rank_by and g.figures[rank_by].value is not None
        label = t("ui.staff.rank.nth", n=n, name=g.label or g.key) if ranked else (g.label or g.key)
        controls.append(section(label))
        controls += _figure_rows(f"g-{g.key}", g.figures, biggest)
    return staff_view(2, t("ui.staff.fig.title"), controls)
