"""The 工作简报 as an XLSX workbook (one sheet per table, numbers as numbers) and as an A4 PDF
(reportlab, the Chinese font embedded: sync.reports.pdf). Both are written from one
``Bulletin`` (sync.reports.bulletin), so they cannot disagree."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from sync.i18n import t
from sync.reports.bulletin import RATES, Bulletin, RateRow
from sync.reports.dates import ReportInputError
from sync.reports.metrics import NO_VALUE
from sync.reports.pdf import build_a4, embeddable_font


def bulletin_format(path: Path) -> str:
    ext = path.suffix.lower().lstrip(".")
    if ext not in ("xlsx", "pdf"):
        raise ReportInputError(t("reports.bulletin.error.format", name=path.name))
    return ext


def export_bulletin(b: Bulletin, out: Path) -> int:
    """Write ``out`` (.xlsx or .pdf); returns the PDF's pages (0 for a workbook)."""
    if bulletin_format(Path(out)) == "xlsx":
        write_bulletin_xlsx(b, out)
        return 0
    return write_bulletin_pdf(b, out)


def title(b: Bulletin) -> str:
    return t("reports.bulletin.title", county=b.county)


def summary(b: Bulletin) -> str:
    f = b.total.figures
    return t("reports.bulletin.summary", period=b.period.label, reported=b.reported,
             response=f["response_rate"].display(), rn=f["response_rate"].denominator,
             on_time=f["on_time_rate"].display(), on=f["on_time_rate"].denominator,
             satisfied=f["satisfied_rate"].display(), sn=f["satisfied_rate"].denominator,
             overdue=len(b.overdue))


def _rate_cell(r: RateRow, key: str) -> str:
    fig = r.figures[key]
    first = f"{fig.display()}（{int(fig.numerator)}/{fig.denominator}）" if fig.denominator else NO_VALUE
    return "\n".join((first, t("reports.bulletin.mom", d=r.change_text(key, "previous")),
                      t("reports.bulletin.yoy", d=r.change_text(key, "last_year"))))


def rank_headers(group: str) -> list[str]:
    return [t("reports.bulletin.col.rank"), t(f"reports.bulletin.col.{group}"),
            *(t(f"reports.figure.{k}") for k in RATES), t("reports.bulletin.col.score")]


# ---------------------------------------------------------------- XLSX


def write_bulletin_xlsx(b: Bulletin, out: Path | io.BytesIO) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDEBF7")

    def sheet(name: str, heading: str, headers: list[str], rows: list[list[object]], widths: list[int],
              formats: dict[int, str] | None = None, first: bool = False) -> None:
        ws = wb.active if first else wb.create_sheet()
        ws.title = name
        ws.cell(row=1, column=1, value=heading).font = Font(bold=True, size=13)
        for c, h in enumerate(headers, start=1):
            cell = ws.cell(row=2, column=c, value=h)
            cell.font, cell.fill = bold, fill
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        for i, row in enumerate(rows, start=3):
            for c, v in enumerate(row, start=1):
                cell = ws.cell(row=i, column=c, value=NO_VALUE if v is None else v)
                if v is not None and formats and c in formats:
                    cell.number_format = formats[c]
        for c, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(c)].width = w
        ws.freeze_panes = "A3"

    def rate_sheet(group: str, rows: list[RateRow], first: bool = False) -> None:
        headers = [t("reports.bulletin.col.rank"), t(f"reports.bulletin.col.{group}")]
        for k in RATES:
            name = t(f"reports.figure.{k}")
            headers += [name, t("reports.metrics.n_of", name=name), t("reports.bulletin.col.mom", name=name),
                        t("reports.bulletin.col.yoy", name=name)]
        headers.append(t("reports.bulletin.col.score"))
        data, formats = [], {}
        for r in [*rows, b.total]:
            line: list[object] = [r.rank if r is not b.total else None,
                                  r.label if r is not b.total else t("reports.group.total", name=r.label)]
            for k in RATES:
                fig = r.figures[k]
                line += [fig.value, fig.denominator, _round(r.change(k, "previous")), _round(r.change(k, "last_year"))]
            line.append(_round(None if r.score is None else r.score * 100))
            data.append(line)
        for j in range(len(RATES)):
            formats[3 + 4 * j] = "0.0%"
            formats[5 + 4 * j] = formats[6 + 4 * j] = "+0.0;-0.0;0.0"
        formats[len(headers)] = "0.0"
        sheet(t(f"reports.bulletin.sheet.{group}"), f"{title(b)} {b.number} · {t(f'reports.bulletin.section.{group}')}",
              headers, data, [6, 18] + [10, 6, 9, 9] * len(RATES) + [9], formats, first)

    rate_sheet("township", b.townships, first=True)
    rate_sheet("unit", b.units)
    sheet(t("reports.bulletin.sheet.overdue"), t("reports.bulletin.section.overdue"),
          [t(f"reports.bulletin.col.{c}") for c in ("code", "problem", "township", "village", "unit", "deadline",
                                                   "days_over", "level")],
          [[r.code, r.title, r.township, r.village, r.unit, r.deadline, r.days_over, r.level or None]
           for r in b.overdue], [12, 30, 12, 12, 16, 12, 10, 14], {6: "yyyy-mm-dd"})
    sheet(t("reports.bulletin.sheet.hot"), t("reports.bulletin.section.hot"),
          [t(f"reports.bulletin.col.{c}") for c in ("category", "count", "share", "previous")],
          [[h.label, h.count, h.share, h.previous] for h in b.hot], [20, 10, 10, 12], {3: "0.0%"})
    sheet(t("reports.metrics.sheet_defs"), t("reports.bulletin.section.defs"),
          [t("reports.metrics.col.figure"), t("reports.metrics.col.definition")],
          [[t(f"reports.figure.{k}"), t(f"reports.figure.{k}.def")] for k in RATES]
          + [[t("reports.bulletin.col.score"), t("reports.bulletin.score_def")],
             [t("reports.bulletin.col.mom_short"), t("reports.bulletin.change_def")],
             [t("reports.metrics.note_as_of"), b.as_of.isoformat()]], [16, 100])
    wb.save(out)


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


# ---------------------------------------------------------------- PDF


def _pdf_lines(b: Bulletin) -> list[str]:
    """Every string the PDF prints (its font subset covers them all)."""
    out = [title(b), b.number, summary(b), t("reports.bulletin.issued", date=b.as_of.isoformat()),
           t("reports.pdf.page", n=0), t("reports.bulletin.none"), t("reports.bulletin.score_def"),
           t("reports.bulletin.change_def")]
    out += [t(f"reports.bulletin.section.{s}") for s in ("overview", "township", "unit", "overdue", "hot", "defs")]
    out += rank_headers("township") + rank_headers("unit")
    out += [t(f"reports.bulletin.col.{c}") for c in ("code", "problem", "township", "village", "unit", "deadline",
                                                    "days_over", "level", "category", "count", "share", "previous")]
    for r in [*b.townships, *b.units, b.total]:
        out += [r.label, r.score_text(), *(_rate_cell(r, k) for k in RATES)]
    for o in b.overdue:
        out += [o.code, o.title, o.township, o.village, o.unit, _deadline_cell(o), str(o.days_over)]
    for h in b.hot:
        out += [h.label, str(h.count), f"{h.share * 100:.1f}%", str(h.previous)]
    out += [t(f"reports.figure.{k}.def") for k in RATES] + [t(f"reports.figure.{k}") for k in RATES]
    return out


def _deadline_cell(o: Any) -> str:
    """The deadline, and whose it is when it is the county 督办卡's, with the 督办 level."""
    which = t("reports.bulletin.county_deadline") if o.which == "county" else ""
    return "\n".join(x for x in (o.deadline.isoformat() + which, o.level) if x)


def write_bulletin_pdf(b: Bulletin, out: Path | io.BytesIO) -> int:
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import (
        HRFlowable,
        Paragraph,
        Spacer,
        Table,
        TableStyle,
    )

    font, _ = embeddable_font("".join(_pdf_lines(b)))

    def style(name: str, size: float, **kw) -> ParagraphStyle:  # noqa: ANN003
        return ParagraphStyle(name, fontName=font, fontSize=size, leading=size * 1.45, wordWrap="CJK", **kw)

    s_title = style("title", 22, alignment=1, textColor=colors.HexColor("#b22222"))
    s_no = style("no", 11, alignment=1)
    s_h = style("h", 13, spaceBefore=8, spaceAfter=4, textColor=colors.HexColor("#1d4f91"))
    s_body = style("body", 10.5)
    s_cell = style("cell", 8.5)
    s_head = style("head", 8.5, alignment=1)

    def p(text: str, st: ParagraphStyle = s_body) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), st)

    def table(headers: list[str], rows: list[list[str]], widths: list[float]) -> Table:
        data = [[p(h, s_head) for h in headers]] + [[p(c, s_cell) for c in row] for row in rows]
        tb = Table(data, colWidths=[w * mm for w in widths], repeatRows=1)
        tb.setStyle(TableStyle([
            ("FONTNAME", (0, 0), (-1, -1), font),  # else the table sets an unembedded Helvetica
            ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#888888")),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#ddebf7")),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 3), ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
        ]))
        return tb

    def ranking(group: str, rows: list[RateRow]) -> list:
        if not rows:
            return [p(t("reports.bulletin.none"))]
        body = [[str(r.rank or NO_VALUE), r.label, *(_rate_cell(r, k) for k in RATES), r.score_text()]
                for r in [*rows, b.total]]
        body[-1][1] = t("reports.group.total", name=b.total.label)
        body[-1][0] = ""
        return [table(rank_headers(group), body, [12, 36, 36, 36, 36, 18])]

    story: list = [
        p(title(b), s_title), p(f"{b.number}　{t('reports.bulletin.issued', date=b.as_of.isoformat())}", s_no),
        Spacer(1, 2 * mm), HRFlowable(width="100%", thickness=1.5, color=colors.HexColor("#b22222")),
        p(t("reports.bulletin.section.overview"), s_h), p(summary(b)),
        p(t("reports.bulletin.section.township"), s_h), *ranking("township", b.townships),
        p(t("reports.bulletin.section.unit"), s_h), *ranking("unit", b.units),
        p(t("reports.bulletin.section.overdue"), s_h),
    ]
    if b.overdue:
        story.append(table([t(f"reports.bulletin.col.{c}") for c in ("code", "problem", "township", "unit",
                                                                    "deadline", "days_over")],
                           [[o.code, o.title, f"{o.township} {o.village}", o.unit, _deadline_cell(o),
                             str(o.days_over)] for o in b.overdue], [22, 48, 32, 30, 30, 14]))
    else:
        story.append(p(t("reports.bulletin.none")))
    story.append(p(t("reports.bulletin.section.hot"), s_h))
    if b.hot:
        story.append(table([t(f"reports.bulletin.col.{c}") for c in ("category", "count", "share", "previous")],
                           [[h.label, str(h.count), f"{h.share * 100:.1f}%", str(h.previous)] for h in b.hot],
                           [60, 30, 30, 30]))
    else:
        story.append(p(t("reports.bulletin.none")))
    story.append(p(t("reports.bulletin.section.defs"), s_h))
    for k in RATES:
        story.append(p(f"{t(f'reports.figure.{k}')}：{t(f'reports.figure.{k}.def')}", s_cell))
    story += [p(t("reports.bulletin.score_def"), s_cell), p(t("reports.bulletin.change_def"), s_cell)]

    return build_a4(out, story, font, footer=f"{title(b)} {b.number}", title=f"{title(b)} {b.number}",
                    author=b.county, subject=title(b), side_mm=15, top_mm=15,
                    footer_inset_mm=18)
