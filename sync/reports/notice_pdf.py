"""督办卡 / 整改通知单 as an A4 PDF (reportlab), the Chinese font embedded (sync.reports.pdf)."""

from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

from sync.i18n import t
from sync.reports.notices import Notice
from sync.reports.pdf import build_a4, embeddable_font


def _text(notice: Notice) -> str:
    parts = [notice.title, notice.issuer, t("reports.notice.to", unit=notice.unit or "—"),
             t("reports.notice.reply_note"), t("reports.notice.seal"), t("reports.notice.code_line", code=notice.code),
             t("reports.notice.footer"), t("reports.pdf.page", n=0)]
    for label, value in notice.rows():
        parts += [label, value]
    return "".join(parts)


def write_notice_pdf(notice: Notice, out: Path | io.BytesIO) -> int:
    """Write the document; returns the number of pages (1 unless the problem text is long)."""
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

    font, _ = embeddable_font(_text(notice))

    def style(name: str, size: float, **kw) -> ParagraphStyle:  # noqa: ANN003
        return ParagraphStyle(name, fontName=font, fontSize=size, leading=size * 1.5, wordWrap="CJK", **kw)

    s_title = style("title", 26, alignment=1, textColor=colors.HexColor("#b22222"), spaceAfter=2)
    s_issuer = style("issuer", 12, alignment=1)
    s_to = style("to", 12)
    s_label = style("label", 11.5, alignment=1)
    s_cell = style("cell", 11.5)
    s_note = style("note", 10.5, textColor=colors.HexColor("#333333"))
    s_right = style("right", 11.5, alignment=2)

    def p(text: str, st: ParagraphStyle) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), st)

    # the title spaced out the way offices print it (督 办 卡)
    spaced = " ".join(notice.title) if len(notice.title) <= 5 else notice.title
    rows = [[p(label, s_label), p(value, s_cell)] for label, value in notice.rows()]
    table = Table(rows, colWidths=[32 * mm, None])
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), font),  # else the table sets an unembedded Helvetica
        ("GRID", (0, 0), (-1, -1), 0.8, colors.black),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f2f2f2")),
        ("TOPPADDING", (0, 0), (-1, -1), 7),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 7),
        ("LEFTPADDING", (0, 0), (-1, -1), 6),
    ]))
    story = [
        p(spaced, s_title),
        p(notice.issuer, s_issuer),
        Spacer(1, 6 * mm),
        p(t("reports.notice.to", unit=notice.unit or "—"), s_to),
        Spacer(1, 2 * mm),
        table,
        Spacer(1, 4 * mm),
        p(t("reports.notice.reply_note"), s_note),
        Spacer(1, 14 * mm),
        p(t("reports.notice.seal"), s_right),
        p(t("reports.notice.code_line", code=notice.code), s_note),
    ]

    return build_a4(out, story, font, footer=t("reports.notice.footer"), title=f"{notice.title} {notice.number}",
                    author=notice.issuer, subject=notice.title, side_mm=20, top_mm=18)
