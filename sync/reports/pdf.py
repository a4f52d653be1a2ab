"""The echo wall as an A4 PDF for the village noticeboard (reportlab), Chinese font embedded.

reportlab embeds only TrueType (glyf) outlines. The CJK fonts at hand are OpenType/CFF (Noto
Sans CJK), which reportlab cannot embed, and its built-in ``STSong-Light`` CID font is not
embedded at all (a noticeboard printer without that font would print boxes). So we take the
font (the project's ``assets/fonts`` subset when it covers the text, else the system Noto Sans
CJK SC), subset it with fontTools to the characters of this document, convert the cubic CFF
outlines to quadratic TrueType ones (fontTools' cu2qu), and register that small TTF with
reportlab, which embeds it. It takes a fraction of a second and keeps PDFs small.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from sync.i18n import t
from sync.reports.dates import ReportInputError
from sync.reports.echo_wall import EchoWall, PublicItem, date_text

ASSET_FONTS = Path(__file__).resolve().parents[2] / "assets" / "fonts"
SYSTEM_FONTS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJKsc-Regular.otf"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
)
_BASE_CHARS = "".join(chr(c) for c in range(0x20, 0x7F)) + "，。、：；！？（）《》“”‘’·—…％＊"
_registered: dict[str, str] = {}
_cache: list[Path] = []


def _cache_dir() -> Path:
    """A private folder per process for the font subsets (removed at exit): no other process
    can ever hand us a stale or half-written file."""
    if not _cache:
        d = Path(tempfile.mkdtemp(prefix="gridwall-fonts-"))
        atexit.register(shutil.rmtree, d, True)
        _cache.append(d)
    return _cache[0]


@dataclass(frozen=True)
class FontSource:
    path: Path
    number: int  # index inside a .ttc collection


def _candidates() -> list[FontSource]:
    out: list[FontSource] = []
    if ASSET_FONTS.is_dir():
        for p in sorted(ASSET_FONTS.iterdir()):
            if p.suffix.lower() in (".ttf", ".otf"):
                out.append(FontSource(p, 0))
    for p in SYSTEM_FONTS:
        if p.exists():
            out.append(FontSource(p, _sc_index(p) if p.suffix.lower() == ".ttc" else 0))
    return out


def _sc_index(path: Path) -> int:
    """The Simplified Chinese face inside a CJK collection (Noto: 'Noto Sans CJK SC')."""
    from fontTools.ttLib import TTCollection

    coll = TTCollection(str(path), lazy=True)
    for i, f in enumerate(coll.fonts):
        name = str(f["name"].getDebugName(4) or "")
        if name.endswith(" SC") and "Mono" not in name:
            return i
    return 0


def _to_truetype(font) -> None:  # noqa: ANN001 - a fontTools TTFont
    """Replace CFF outlines with quadratic glyf outlines, in place (fontTools' otf2ttf recipe)."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_err=1.0, reverse_direction=True))
        glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    for tag in ("CFF ", "CFF2", "VORG"):
        if tag in font:
            del font[tag]
    glyf.compile(font)
    hmtx = font["hmtx"]
    for name, g in glyphs.items():
        if hasattr(g, "xMin"):
            hmtx[name] = (hmtx[name][0], g.xMin)
    maxp = font["maxp"] = newTable("maxp")
    maxp.tableVersion = 0x00010000
    maxp.maxZones = 1
    for attr in (
        "maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
        "maxStackElements", "maxSizeOfInstructions", "maxComponentElements",
    ):  # fmt: skip
        setattr(maxp, attr, 0)
    post = font["post"]
    post.formatType = 2.0
    post.extraNames = []
    post.mapping = {}
    post.glyphOrder = order
    font["head"].glyphDataFormat = 0
    font.sfntVersion = "\x00\x01\x00\x00"


def embeddable_font(text: str) -> tuple[str, Path]:
    """Register (once per character set) a TrueType subset covering text; (name, ttf path)."""
    from fontTools import subset
    from fontTools.ttLib import TTFont
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont as RLTTFont

    chars = "".join(sorted(set(text + _BASE_CHARS) - {"\n", "\r", "\t"}))
    key = hashlib.sha256(chars.encode("utf-8")).hexdigest()[:16]
    cache = _cache_dir()
    if key in _registered:
        return _registered[key], cache / f"{key}.ttf"
    wanted = {ord(c) for c in chars}  # the space too: without its glyph it prints as a box
    cjk = {c for c in wanted if c > 0x2E7F}
    # The first font that has every CJK character of the text; if none has them all (a very
    # rare character in a name), the one that has the most: a PDF with one box beats none.
    best: tuple[int, Any] | None = None
    for src in _candidates():
        try:
            candidate = TTFont(str(src.path), fontNumber=src.number)
            missing = len(cjk - set(candidate.getBestCmap() or {}))
        except Exception:  # noqa: BLE001 - an unreadable font file: try the next one
            continue
        if best is None or missing < best[0]:
            best = (missing, candidate)
        if missing == 0:
            break
    if best is not None:
        font = best[1]
        cmap = font.getBestCmap() or {}
        opts = subset.Options()
        opts.layout_features = []
        opts.hinting = False
        opts.desubroutinize = True
        opts.notdef_outline = True
        opts.name_IDs = ["*"]
        sub = subset.Subsetter(opts)
        sub.populate(unicodes=[c for c in wanted if c in cmap])
        sub.subset(font)
        if "glyf" not in font:
            _to_truetype(font)
        # reportlab shares one font object per PostScript name: give each subset its own name,
        # else a second document would reuse the first subset (and print boxes)
        ps = str(font["name"].getDebugName(6) or "CJK").replace(" ", "")[:40]
        for rec in font["name"].names:
            if rec.nameID == 6:
                rec.string = f"{ps}-{key}"
        path = cache / f"{key}.ttf"
        font.save(str(path))
        name = f"GridwallCJK-{key}"
        pdfmetrics.registerFont(RLTTFont(name, str(path)))
        _registered[key] = name
        return name, path
    raise ReportInputError(t("reports.error.no_font"))



def build_a4(out: Path | io.BytesIO, story: list[Any], font: str, *, footer: str, title: str, author: str,
             subject: str, side_mm: float = 18, top_mm: float = 16, footer_inset_mm: float | None = None) -> int:
    """Build an A4 document of ``story`` in ``font`` with ``footer`` and the page number at the
    foot of every page; the number of pages. Every PDF the reports print goes through here."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    inset = (side_mm if footer_inset_mm is None else footer_inset_mm) * mm

    def draw_footer(canvas, doc) -> None:  # noqa: ANN001
        canvas.saveState()
        canvas.setFont(font, 9)
        canvas.setFillColor(colors.HexColor("#777777"))
        canvas.drawString(inset, 10 * mm, footer)
        canvas.drawRightString(A4[0] - inset, 10 * mm, t("reports.pdf.page", n=doc.page))
        canvas.restoreState()

    doc = SimpleDocTemplate(
        out if isinstance(out, io.BytesIO) else str(out), pagesize=A4,
        leftMargin=side_mm * mm, rightMargin=side_mm * mm, topMargin=top_mm * mm, bottomMargin=18 * mm,
        title=title, author=author, subject=subject, creator="gridwall",
        initialFontName=font,  # else reportlab puts an unembedded Helvetica on every page
    )
    doc.build(story, onFirstPage=draw_footer, onLaterPages=draw_footer)
    return doc.page

def _item_lines(it: PublicItem) -> tuple[str, str, str, str]:
    reply = (t("reports.wall.reply") + it.reply) if it.reply else ""
    return it.title, " · ".join([it.category, it.status, *it.dates()]), reply, it.verdict()


def _all_text(wall: EchoWall, lines: Iterable[tuple[str, ...]]) -> str:
    head = [wall.heading(), wall.township, wall.summary(), t("reports.wall.updated", date=date_text(wall.as_of))]
    head += [t("reports.wall.empty"), t("reports.wall.footer"), t("reports.pdf.page", n=0)]
    return "".join(head) + "".join("".join(x) for x in lines)


def write_echo_wall_pdf(wall: EchoWall, out: Path | io.BytesIO) -> int:
    """Write the A4 PDF; returns the number of pages."""
    from reportlab.lib import colors
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import HRFlowable, KeepTogether, Paragraph, Spacer

    lines = [_item_lines(it) for it in wall.items]
    font, _ = embeddable_font(_all_text(wall, lines))

    def style(name: str, size: float, color=colors.black, lead: float = 1.45, **kw) -> ParagraphStyle:  # noqa: ANN001
        return ParagraphStyle(name, fontName=font, fontSize=size, leading=size * lead, textColor=color, wordWrap="CJK", **kw)

    s_title = style("title", 24, colors.HexColor("#b22222"), alignment=1, spaceAfter=4)
    s_sub = style("sub", 10.5, colors.HexColor("#444444"), alignment=1)
    s_item = style("item", 14, spaceBefore=8)
    s_meta = style("meta", 9.5, colors.HexColor("#555555"))
    s_body = style("body", 11)
    s_verdict = style("verdict", 11, colors.HexColor("#1d4f91"))

    def p(text: str, st: ParagraphStyle) -> Paragraph:
        return Paragraph(escape(text).replace("\n", "<br/>"), st)

    story = [
        p(wall.heading(), s_title),
        p(f"{wall.township} · {t('reports.wall.updated', date=date_text(wall.as_of))}", s_sub),
        p(wall.summary(), s_sub),
        Spacer(1, 4 * mm),
        HRFlowable(width="100%", thickness=1.2, color=colors.HexColor("#b22222")),
    ]
    if not lines:
        story.append(Spacer(1, 10 * mm))
        story.append(p(t("reports.wall.empty"), s_body))
    for title, meta, reply, verdict in lines:
        block = [p(title, s_item), p(meta, s_meta)]
        if reply:
            block.append(p(reply, s_body))
        if verdict:
            block.append(p(verdict, s_verdict))
        block.append(Spacer(1, 2 * mm))
        block.append(HRFlowable(width="100%", thickness=0.4, color=colors.HexColor("#bbbbbb")))
        story.append(KeepTogether(block))

    return build_a4(out, story, font, footer=t("reports.wall.footer"), title=wall.heading(),
                    author=wall.township, subject=t("reports.pdf.subject"))
