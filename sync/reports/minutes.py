"""A village meeting's minutes (会议记录) as an A4 PDF, to the 十有 standard: time, place, topic,
participants, agenda, what was said, decisions; then what follows and the problems raised, and
lines for the signatures. Pure: the caller hands in the words (names already resolved); the
Chinese font is embedded as for the echo wall (sync/reports/pdf.py, docs/fonts.md).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from sync.i18n import t
from sync.reports.pdf import build_a4, embeddable_font


@dataclass
class Minutes:
    """What the minutes say, as text ready to print."""

    village: str
    kind: str  # 院坝会, 乡村夜话 ...
    time: str
    place: str
    topic: str
    host: str = ""
    recorder: str = ""
    participants: list[str] = field(default_factory=list)
    headcount: int | None = None
    agenda: str = ""
    speeches: str = ""
    decisions: str = ""
    follow_ups: str = ""
    raised: list[str] = field(default_factory=list)  # "title（status）"
    photos: int = 0

    def heading(self) -> str:
        return t("reports.minutes.heading", village=self.village, kind=self.kind)

    def facts(self) -> list[tuple[str, str]]:
        """(label, text) of the head table, in the 十有 order."""
        who = "、".join(self.participants) or t("reports.minutes.none")
        if self.headcount is not None:
            who = t("reports.minutes.headcount", names=who, n=self.headcount)
        return [(t("reports.minutes.time"), self.time), (t("reports.minutes.place"), self.place),
                (t("reports.minutes.topic"), self.topic), (t("reports.minutes.host"), self.host or "—"),
                (t("reports.minutes.recorder"), self.recorder or "—"), (t("reports.minutes.participants"), who)]

    def sections(self) -> list[tuple[str, str]]:
        """(title, text) of the body, empty ones said as such (a record shows what is missing)."""
        raised = "\n".join(f"{i + 1}. {x}" for i, x in enumerate(self.raised))
        out = [(t("reports.minutes.agenda"), self.agenda), (t("reports.minutes.speeches"), self.speeches),
               (t("reports.minutes.decisions"), self.decisions), (t("reports.minutes.follow_ups"), self.follow_ups),
               (t("reports.minutes.raised"), raised)]
        return [(title, text or t("reports.minutes.none")) for title, text in out]

    def all_text(self) -> str:
        parts = [self.heading(), self.village, t("reports.minutes.footer"), t("reports.pdf.page", n=0),
                 t("reports.minutes.sign_host"), t("reports.minutes.sign_recorder"),
                 t("reports.minutes.photos", n=self.photos)]
        parts += [x for pair in self.facts() + self.sections() for x in pair]
        return "".join(parts)


def write_minutes_pdf(m: Minutes, out: Path | io.BytesIO) -> int:
    """Write the A4 minutes; returns the number of pages."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

    font, _ = embeddable_font(m.all_text())

    def style(name: str, size: float, lead: float = 1.5, **kw) -> ParagraphStyle:  # noqa: ANN003
        return ParagraphStyle(name, fontName=font, fontSize=size, leading=size * lead, wordWrap="CJK", **kw)

    s_title = style("title", 20, alignment=1, spaceAfter=6)
    s_label = style("label", 11, textColor=colors.HexColor("#333333"))
    s_cell = style("cell", 11)
    s_head = style("head", 13, spaceBefore=8, spaceAfter=2, textColor=colors.HexColor("#8b1a1a"))
    s_body = style("body", 11)
    s_small = style("small", 9.5, textColor=colors.HexColor("#555555"))

    def p(text: str, st: ParagraphStyle) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), st)

    width = A4[0] - 36 * mm
    table = Table([[p(k, s_label), p(v, s_cell)] for k, v in m.facts()], colWidths=[28 * mm, width - 28 * mm])
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), font),  # a table sets its own font on the page: Helvetica, unembedded
        ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#999999")),
        ("BACKGROUND", (0, 0), (0, -1), colors.HexColor("#f3f0ea")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]))
    story = [p(m.heading(), s_title), table, Spacer(1, 3 * mm)]
    for title, text in m.sections():
        story += [p(title, s_head), p(text, s_body)]
    if m.photos:
        story.append(p(t("reports.minutes.photos", n=m.photos), s_small))
    signs = Table([[p(t("reports.minutes.sign_host"), s_body), p(t("reports.minutes.sign_recorder"), s_body)]],
                  colWidths=[width / 2, width / 2])
    signs.setStyle(TableStyle([("FONTNAME", (0, 0), (-1, -1), font)]))
    story += [Spacer(1, 12 * mm), signs]

    return build_a4(out, story, font, footer=t("reports.minutes.footer"), title=m.heading(), author=m.village,
                    subject=m.topic)
