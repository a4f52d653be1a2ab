"""整改台账 (rectification ledger): one row per issue, monthly progress columns, XLSX and CSV.

The columns are the ones township offices keep (序号, 问题, 来源, 责任单位, 责任人, 整改措施,
时限, 进展 by month, 状态, 销号日期), with the village added so a township-wide ledger can be
sorted and filtered by village.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sync import registry
from sync.chinatime import china_today
from sync.i18n import t
from sync.reports.dates import Period, ReportInputError
from sync.reports.model import Dataset, Entry, IssueFacts, all_facts, label


@dataclass
class LedgerRow:
    number: int
    title: str
    village: str
    source: str
    unit: str
    assignee: str
    measures: str
    deadline: date | None
    progress: dict[tuple[int, int], str]  # (year, month) -> notes of that month
    status: str
    closed_on: date | None
    issue_id: str


@dataclass
class Ledger:
    township: str
    period: Period
    months: list[tuple[int, int]]
    rows: list[LedgerRow]

    def headers(self) -> list[str]:
        fixed = [t(f"reports.ledger.col.{c}") for c in ("number", "title", "village", "source", "unit", "assignee", "measures", "deadline")]
        months = [t("reports.ledger.col.progress", m=m if len(self._years()) == 1 else f"{y}年{m}", y=y) for y, m in self.months]
        return fixed + months + [t("reports.ledger.col.status"), t("reports.ledger.col.closed_on")]

    def _years(self) -> set[int]:
        return {y for y, _ in self.months}

    def title(self) -> str:
        return t("reports.ledger.title", township=self.township, period=self.period.label)


def status_text(f: IssueFacts, as_of: date) -> str:
    """状态 in Chinese, with 督办 and 超期 marks."""
    text = label("reports.status", f.state)
    marks = []
    if f.supervised and f.state not in ("closed", "rejected"):
        marks.append(t("reports.mark.supervised"))
    if (
        f.deadline is not None
        and f.deadline < as_of
        and f.resolved_at is None
        and f.state not in ("closed", "rejected", "resolved", "rechecked")
    ):
        marks.append(t("reports.mark.overdue"))
    return text + "".join(f"（{m}）" for m in marks)


def _note(e: Entry) -> str:
    what = label("reports.event", e.type)
    day = t("reports.date.month_day", m=e.at.month, d=e.at.day) if e.at else ""
    text = e.text.strip()
    if e.type == "recheck":
        solved = e.data.get("solved")
        verdict = t("reports.verdict.solved") if solved else t("reports.verdict.not_solved")
        text = verdict + (f"，{text}" if text else "")
    if e.type == "extend" and e.data.get("deadline"):
        text = t("reports.ledger.new_deadline", d=str(e.data.get("deadline"))) + (f"，{text}" if text else "")
    return f"{day} {what}" + (f"：{text}" if text else "")


def _in_period(f: IssueFacts, period: Period) -> bool:
    """On the ledger when reported by the period's end and not closed before it began."""
    if f.created_at is not None and f.created_at.date() > period.end:
        return False
    return not (f.closed_at is not None and f.closed_at.date() < period.start)


def build_ledger(
    ds: Dataset,
    period: Period,
    village: str | None = None,
    as_of: date | None = None,
    facts: list[IssueFacts] | None = None,
) -> Ledger:
    """The ledger rows for the period (optionally one village), oldest report first."""
    as_of = as_of or min(period.end, china_today())
    facts = all_facts(ds, as_of) if facts is None else facts
    months = period.months()
    rows: list[LedgerRow] = []
    progress_types = registry.progress_events()  # how the rectification went: the month's cell
    for f in facts:
        if village and f.village != village:
            continue
        if not _in_period(f, period):
            continue
        progress: dict[tuple[int, int], list[str]] = {ym: [] for ym in months}
        for e in f.timeline:
            if e.type in progress_types and not e.flagged and e.at and period.contains(e.at.date()):
                progress[(e.at.year, e.at.month)].append(_note(e))
        closed = f.closed_at.date() if f.closed_at and f.state == "closed" else None
        title = f.title
        if f.category:
            title = f"{title}（{ds.category_label(f.category)}）" if title else ds.category_label(f.category)
        rows.append(
            LedgerRow(
                number=len(rows) + 1,
                title=title,
                village=ds.name("village", f.village),
                source=ds.source_label(f.source),
                unit=ds.name("unit", f.unit),
                assignee=f.assignee,
                measures=f.measures,
                deadline=f.deadline,
                progress={ym: "\n".join(v) for ym, v in progress.items()},
                status=status_text(f, as_of),
                closed_on=closed,
                issue_id=f.id,
            )
        )
    return Ledger(ds.township_name(), period, months, rows)


def _row_values(ledger: Ledger, r: LedgerRow) -> list[object]:
    return (
        [r.number, r.title, r.village, r.source, r.unit, r.assignee, r.measures, r.deadline]
        + [r.progress.get(ym, "") for ym in ledger.months]
        + [r.status, r.closed_on]
    )


# Column widths in Excel character units (a CJK character is about 2).
_WIDTHS = [6, 36, 12, 12, 18, 10, 36, 12]
_PROGRESS_WIDTH = 34
_TAIL_WIDTHS = [16, 12]


def write_xlsx(ledger: Ledger, out: Path | io.BytesIO) -> None:
    """Chinese headers, title row, bold frozen header, widths, wrap, real dates."""
    # openpyxl (which loads Pillow) only when an XLSX is written: the phone build has neither
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, NamedStyle, PatternFill, Side
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = t("reports.ledger.sheet")
    headers = ledger.headers()
    ncol = len(headers)
    ws.cell(row=1, column=1, value=ledger.title()).font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=ncol)
    ws.cell(row=1, column=1).alignment = Alignment(horizontal="center", vertical="center")
    ws.row_dimensions[1].height = 28
    thin = Side(style="thin", color="999999")
    border = Border(left=thin, right=thin, top=thin, bottom=thin)
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    for c, h in enumerate(headers, start=1):
        cell = ws.cell(row=2, column=c, value=h)
        cell.font = Font(bold=True)
        cell.fill = head_fill
        cell.border = border
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    # Named styles: set once, then referenced by name per cell (assigning style objects per
    # cell makes openpyxl hash them every time, 3x slower on a township-year). Empty cells
    # (most month columns of most rows) are not written at all, and the lines between cells
    # come from printed gridlines instead of per-cell borders: a township-year is ~45%
    # fewer cells to write.
    wrap = Alignment(wrap_text=True, vertical="top")
    wb.add_named_style(NamedStyle(name="gw_ledger_text", alignment=wrap))
    wb.add_named_style(NamedStyle(name="gw_ledger_date", alignment=wrap, number_format="yyyy-mm-dd"))
    date_cols = {8, ncol}
    for i, r in enumerate(ledger.rows, start=3):
        for c, v in enumerate(_row_values(ledger, r), start=1):
            if v is None or v == "":
                continue
            cell = ws.cell(row=i, column=c, value=v)
            cell.style = "gw_ledger_date" if c in date_cols else "gw_ledger_text"
    ws.print_options.gridLines = True
    widths = _WIDTHS + [_PROGRESS_WIDTH] * len(ledger.months) + _TAIL_WIDTHS
    for c, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(c)].width = w
    ws.freeze_panes = "C3"  # header rows and the 序号/问题 columns stay in view
    ws.auto_filter.ref = f"A2:{get_column_letter(ncol)}{max(2, len(ledger.rows) + 2)}"
    ws.print_title_rows = "1:2"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    wb.save(out)


def write_csv(headers: list[str], rows: list[list[object]], out: Path | io.BytesIO) -> None:
    """UTF-8 with BOM (so Excel opens Chinese correctly), dates as YYYY-MM-DD."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(headers)
    for row in rows:
        w.writerow(["" if v is None else (v.isoformat() if isinstance(v, date) else v) for v in row])
    data = buf.getvalue().encode("utf-8-sig")
    if isinstance(out, io.BytesIO):
        out.write(data)
    else:
        Path(out).write_bytes(data)


def write_ledger_csv(ledger: Ledger, out: Path | io.BytesIO) -> None:
    write_csv(ledger.headers(), [_row_values(ledger, r) for r in ledger.rows], out)


def export_format(path: Path) -> str:
    """``xlsx`` or ``csv`` from the file name, or a clear error."""
    ext = path.suffix.lower().lstrip(".")
    if ext not in ("xlsx", "csv"):
        raise ReportInputError(t("reports.error.format", name=path.name))
    return ext


def export_ledger(ledger: Ledger, out: Path) -> None:
    if export_format(out) == "xlsx":
        write_xlsx(ledger, out)
    else:
        write_ledger_csv(ledger, out)
