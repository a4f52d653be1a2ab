"""Figures (指标): each with its value, numerator, denominator N and a one-line definition.

Rates come from what happened in the period; 解决率 and 满意率 come only from residents'
answers at re-check (回头看), never from staff marking things done. A figure with N = 0 has
no value and shows as "—".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sync import workdays as workdays_mod
from sync.chinatime import china_today
from sync.i18n import t
from sync.reports.dates import Period, ReportInputError, to_date
from sync.reports.ledger import export_format, write_csv
from sync.reports.model import Dataset, IssueFacts, all_facts
from sync.workdays import WorkCalendar

FIGURES = (
    "response_rate",
    "on_time_rate",
    "solved_rate",
    "satisfied_rate",
    "redo_rate",
    "overdue",
    "avg_days",
    "visit_coverage",
    "county_supervised",
    "county_overdue",
    "transferred",
)
RATE_FIGURES = {"response_rate", "on_time_rate", "solved_rate", "satisfied_rate", "redo_rate", "visit_coverage"}
GROUPINGS = ("county", "township", "village", "grid", "unit", "worker", "source", "category")
# groupings whose households are not theirs (visit coverage is not shown for them)
_NO_COVERAGE = frozenset({"category", "unit", "source"})
# the reference kind whose every entry shows as a group, even with nothing in it (N = 0)
_GROUP_KIND = {"county": "county", "township": "township", "village": "village", "grid": "grid",
               "unit": "unit", "worker": "user", "source": "source", "category": "category"}
NO_VALUE = "—"


@dataclass(frozen=True)
class Figure:
    key: str
    value: float | None  # a ratio 0..1, a count or days; None when N = 0
    numerator: float
    denominator: int  # N

    @property
    def label(self) -> str:
        return t(f"reports.figure.{self.key}")

    @property
    def definition(self) -> str:
        return t(f"reports.figure.{self.key}.def")

    def display(self) -> str:
        """``85.7%``, ``3``, ``4.5天`` or ``—`` when there is nothing to measure."""
        if self.value is None:
            return NO_VALUE
        if self.key in RATE_FIGURES:
            return f"{self.value * 100:.1f}%"
        if self.key == "avg_days":
            return t("reports.unit.days", n=f"{self.value:.1f}")
        return str(int(self.value))


def _count(key: str, num: int, den: int) -> Figure:
    """A count out of N; no value when N = 0."""
    return Figure(key, float(num) if den else None, num, den)


def _ratio(key: str, num: int, den: int) -> Figure:
    return Figure(key, (num / den) if den else None, num, den)


@dataclass
class GroupFigures:
    key: str  # group id ("" for the whole township)
    label: str
    figures: dict[str, Figure] = field(default_factory=dict)


@dataclass
class MetricsReport:
    period: Period
    group_by: str
    as_of: date
    accept_limit_days: int
    groups: list[GroupFigures]
    total: GroupFigures


def _ok_bool(v: object) -> bool | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v.lower() in ("yes", "true", "1", "是", "solved", "satisfied")
    return bool(v)


def compute_figures(
    facts: list[IssueFacts],
    households: list[dict],
    visited: set[str],
    period: Period,
    as_of: date,
    accept_limit_days: int = 2,
    work_calendar: WorkCalendar | None = None,
    with_coverage: bool = True,
) -> dict[str, Figure]:
    """The figures for one group of issues (problems and wishes alike, see each definition).
    Working days follow ``work_calendar`` (default: the official one, 调休 included)."""
    cal = work_calendar or workdays_mod.official()
    end = min(period.end, as_of)
    problems = [f for f in facts if f.kind != "wish"]

    # 响应率: problems reported in the period; accepted within the limit (working days).
    # One still inside its limit and not yet accepted is not counted yet.
    resp_num = resp_den = 0
    for f in problems:
        rep = f.created_at.date() if f.created_at else None
        if not period.contains(rep):
            continue
        limit = cal.add(rep, accept_limit_days)
        acc = f.accepted_at.date() if f.accepted_at else None
        if acc is not None and acc <= limit:
            resp_num += 1
            resp_den += 1
        elif limit < as_of or acc is not None:
            resp_den += 1

    # 按期办结率: problems whose deadline falls in the period and has passed (or that are
    # already resolved); resolved on or before the deadline.
    ot_num = ot_den = 0
    for f in problems:
        if f.deadline is None or not period.contains(f.deadline):
            continue
        res = f.resolved_at.date() if f.resolved_at else None
        if res is None and f.deadline >= as_of:
            continue
        ot_den += 1
        if res is not None and res <= f.deadline:
            ot_num += 1

    # 解决率 / 满意率 / 重办率: residents' answers at re-checks made in the period; an issue
    # counts once, with its last answer in the period.
    solved_num = solved_den = sat_num = sat_den = redo_num = 0
    for f in facts:
        in_period = [r for r in f.rechecks if r.at is not None and period.contains(r.at.date())]
        if not in_period:
            continue
        last = in_period[-1]
        solved = _ok_bool(last.data.get("solved"))
        satisfied = _ok_bool(last.data.get("satisfied"))
        if solved is not None:
            solved_den += 1
            solved_num += solved
        if satisfied is not None:
            sat_den += 1
            sat_num += satisfied
        if any(_ok_bool(r.data.get("solved")) is False for r in in_period):
            redo_num += 1

    # 超期: open problems past their deadline at the end of the period (or today).
    open_with_deadline = [
        f
        for f in problems
        if f.deadline is not None
        and (f.created_at is None or f.created_at.date() <= end)
        and (f.resolved_at is None or f.resolved_at.date() > end)
        and (f.closed_at is None or f.closed_at.date() > end)
    ]
    overdue = sum(1 for f in open_with_deadline if f.deadline < end)

    # 平均办理天数: problems resolved in the period, from report to resolution (calendar days).
    durations = [
        (f.resolved_at - f.created_at).total_seconds() / 86400
        for f in problems
        if f.resolved_at and f.created_at and period.contains(f.resolved_at.date())
    ]

    figs = {
        "response_rate": _ratio("response_rate", resp_num, resp_den),
        "on_time_rate": _ratio("on_time_rate", ot_num, ot_den),
        "solved_rate": _ratio("solved_rate", solved_num, solved_den),
        "satisfied_rate": _ratio("satisfied_rate", sat_num, sat_den),
        "redo_rate": _ratio("redo_rate", redo_num, solved_den),
        "overdue": Figure("overdue", float(overdue), overdue, len(open_with_deadline)),
        "avg_days": Figure(
            "avg_days",
            (sum(durations) / len(durations)) if durations else None,
            sum(durations),
            len(durations),
        ),
    }
    # the county level (issue 14): problems open in the period, 县级督办 and 转办 among them
    start = period.start
    active = [f for f in problems if (f.created_at is None or f.created_at.date() <= end)
              and (f.closed_at is None or f.closed_at.date() >= start)]

    def happened(f: IssueFacts, etype: str) -> bool:
        return any(e.type == etype and not e.flagged and e.at and period.contains(e.at.date()) for e in f.timeline)

    carded = sum(1 for f in active if happened(f, "county_supervise"))
    figs["county_supervised"] = _count("county_supervised", carded, len(active))
    # 县级督办超期: cards whose own deadline passed by the end and were not resolved by it
    due = [f for f in problems if f.county_level and f.county_deadline is not None and f.county_deadline < end]
    late = sum(1 for f in due if f.resolved_at is None or f.resolved_at.date() > f.county_deadline)  # type: ignore[operator]
    figs["county_overdue"] = _count("county_overdue", late, len(due))
    moved = sum(1 for f in active if happened(f, "transfer"))
    figs["transferred"] = _count("transferred", moved, len(active))
    if with_coverage:
        hh_ids = {h["id"] for h in households}
        figs["visit_coverage"] = _ratio("visit_coverage", len(hh_ids & visited), len(hh_ids))
    else:
        figs["visit_coverage"] = Figure("visit_coverage", None, 0, 0)
    return figs


def visited_households(visits: list[dict], period: Period) -> set[str]:
    """Ids of households with at least one visit in the period."""
    out: set[str] = set()
    for v in visits:
        f = v.get("fields") or {}
        if period.contains(to_date(f.get("time") or f.get("at") or f.get("visited_at"))):
            out.add(str(f.get("household")))
    return out


def _household_group(h: dict, group_by: str, ds: Dataset) -> str:
    f = h.get("fields") or {}
    grid = str(h.get("grid") or f.get("grid") or "")
    if group_by == "grid":
        return grid
    if group_by == "village":
        return str(f.get("village") or ds.village_of_grid(grid))
    return _grid_group(grid, group_by, ds)


def _grid_group(grid: str, group_by: str, ds: Dataset) -> str:
    if group_by == "township":
        return ds.township_of_grid(grid)
    if group_by == "county":
        return ds.county_of_grid(grid)
    if group_by == "worker":
        return ds.worker_of_grid(grid)
    return ""


def _issue_group(f: IssueFacts, group_by: str, ds: Dataset) -> str:
    if group_by == "unit":
        return f.unit
    if group_by == "source":
        return str(f.fields.get("source") or "grid") if f.kind != "wish" else "grid"
    got = {"village": f.village, "grid": f.grid, "category": f.category}.get(group_by)
    return got if got is not None else _grid_group(f.grid, group_by, ds)


def _group_label(key: str, group_by: str, ds: Dataset) -> str:
    if group_by == "township" and not key:
        return ds.township_name() or t("reports.group.all")
    if not key:
        return t("reports.group.unknown")
    if group_by == "category":
        return ds.category_label(key)
    if group_by == "source":
        return ds.source_label(key)
    return ds.name(_GROUP_KIND[group_by], key)


def _one_township(ds: Dataset) -> bool:
    """A township's own data (no township records, or one): grouped by township it is one row."""
    return len(ds.ref.get("township", {})) <= 1


def compute_metrics(
    ds: Dataset,
    period: Period,
    group_by: str = "village",
    as_of: date | None = None,
    accept_limit_days: int = 2,
    holidays: Iterable[date] = (),
    workdays: Iterable[date] = (),
    facts: list[IssueFacts] | None = None,
) -> MetricsReport:
    """Figures per village / grid / category (or the whole township) for a period.

    ``as_of`` is "today" (defaults to the period's end, or today if that is earlier): what is not due yet by then is not
    counted as late. ``facts`` may be passed when the caller already folded the issues.
    """
    if group_by not in GROUPINGS:
        raise ReportInputError(t("reports.error.group_by", value=group_by, choices=", ".join(GROUPINGS)))
    as_of = as_of or min(period.end, china_today())
    facts = all_facts(ds, as_of) if facts is None else facts
    kw = dict(
        period=period,
        as_of=as_of,
        accept_limit_days=accept_limit_days,
        # local rest days the admin added (``holiday`` records) plus any given here
        work_calendar=workdays_mod.from_records(ds.ref.get("holiday", {}).values()).with_local(holidays, workdays),
    )
    visited = visited_households(ds.visits, period)
    by_issue: dict[str, list[IssueFacts]] = {}
    single = group_by == "township" and _one_township(ds)
    for f in facts:
        by_issue.setdefault("" if single else _issue_group(f, group_by, ds), []).append(f)
    by_hh: dict[str, list[dict]] = {}
    for h in ds.households:
        by_hh.setdefault("" if single else _household_group(h, group_by, ds), []).append(h)
    if single:
        keys = [""]
    else:
        # every known county/township/village/grid/unit/worker/source/category shows, even
        # with nothing in it (N = 0); retired entries only when something names them
        known = {k for k, row in ds.ref.get(_GROUP_KIND[group_by], {}).items()
                 if not row.get("retired") and (group_by != "worker" or row.get("role") == "grid_worker")}
        keys = sorted(known | set(by_issue) | set(by_hh))
    coverage = group_by not in _NO_COVERAGE
    groups = [
        GroupFigures(
            k,
            _group_label(k, group_by, ds),
            compute_figures(by_issue.get(k, []), by_hh.get(k, []), visited, with_coverage=coverage, **kw),
        )
        for k in keys
    ]
    groups.sort(key=lambda g: (g.key == "", g.label))
    total = GroupFigures(
        "",
        ds.township_name() or t("reports.group.all"),
        compute_figures(facts, ds.households, visited, **kw),
    )
    return MetricsReport(period, group_by, as_of, accept_limit_days, groups, total)


# ---------------------------------------------------------------- export


def metrics_table(report: MetricsReport) -> tuple[list[str], list[list[object]]]:
    """Long form, one line per group and figure: 分组, 指标, 数值, 分子, N, 定义."""
    headers = [t(f"reports.metrics.col.{c}") for c in ("group", "figure", "value", "numerator", "n", "definition")]
    rows: list[list[object]] = []
    for g in [*report.groups, report.total]:
        label = g.label if g is not report.total else t("reports.group.total", name=g.label)
        for key in FIGURES:
            fig = g.figures[key]
            rows.append([label, fig.label, fig.display(), _num(fig.numerator), fig.denominator, fig.definition])
    return headers, rows


def _num(x: float) -> int | float:
    return int(x) if float(x).is_integer() else round(x, 2)


def metrics_title(report: MetricsReport, township: str) -> str:
    return t("reports.metrics.title", township=township, period=report.period.label)


def write_metrics_xlsx(report: MetricsReport, out, township: str = "") -> None:
    """Sheet 1: a row per group, value and N per figure (numbers, % formats); sheet 2: definitions."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = t("reports.metrics.sheet")
    headers = [t(f"reports.group.by.{report.group_by}")]
    for key in FIGURES:
        headers += [t(f"reports.figure.{key}"), t("reports.metrics.n_of", name=t(f"reports.figure.{key}"))]
    ws.cell(row=1, column=1, value=metrics_title(report, township)).font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    fill = PatternFill("solid", fgColor="DDEBF7")
    for c, h in enumerate(headers, start=1):
        cell = ws.cell(row=2, column=c, value=h)
        cell.font = Font(bold=True)
        cell.fill = fill
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    for i, g in enumerate([*report.groups, report.total], start=3):
        label = g.label if g is not report.total else t("reports.group.total", name=g.label)
        ws.cell(row=i, column=1, value=label).font = Font(bold=g is report.total)
        for j, key in enumerate(FIGURES):
            fig = g.figures[key]
            vcell = ws.cell(row=i, column=2 + 2 * j)
            if fig.value is None:
                vcell.value = NO_VALUE
                vcell.alignment = Alignment(horizontal="right")
            elif key in RATE_FIGURES:
                vcell.value = fig.value
                vcell.number_format = "0.0%"
            elif key == "avg_days":
                vcell.value = round(fig.value, 1)
                vcell.number_format = "0.0"
            else:
                vcell.value = int(fig.value)
            ws.cell(row=i, column=3 + 2 * j, value=fig.denominator)
    ws.column_dimensions["A"].width = 20
    for c in range(2, len(headers) + 1):
        ws.column_dimensions[get_column_letter(c)].width = 12
    ws.freeze_panes = "B3"
    ws2 = wb.create_sheet(t("reports.metrics.sheet_defs"))
    ws2.append([t("reports.metrics.col.figure"), t("reports.metrics.col.definition")])
    for c in (1, 2):
        ws2.cell(row=1, column=c).font = Font(bold=True)
    for key in FIGURES:
        ws2.append([t(f"reports.figure.{key}"), t(f"reports.figure.{key}.def")])
    ws2.append([t("reports.metrics.note_as_of"), report.as_of])
    ws2.cell(row=ws2.max_row, column=2).number_format = "yyyy-mm-dd"
    ws2.column_dimensions["A"].width = 16
    ws2.column_dimensions["B"].width = 90
    ws2.freeze_panes = "A2"
    wb.save(out)


def export_metrics(report: MetricsReport, out, township: str = "") -> None:
    if export_format(Path(out)) == "xlsx":
        write_metrics_xlsx(report, out, township)
    else:
        headers, rows = metrics_table(report)
        write_csv(headers, rows, Path(out))
