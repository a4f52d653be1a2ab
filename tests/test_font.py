"""The bundled CJK font (assets/fonts, made by scripts/make_font.py) covers what the field needs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
FONT = ROOT / "assets" / "fonts" / "NotoSansSC-gridwall.otf"

RARE_NAME_AND_PLACE = "堃喆昇赟珺琦曌垚燊淼翀玥蔺邬亓仉覃衢郴婺岑璟犇鑫䶮"
UI_WORDS = ["首页", "住户", "走访", "问题墙", "同步", "设置", "回音壁", "微心愿", "已销号",
            "已办结", "已回访", "网格员", "村（社区）", "手机号码"]
PUNCTUATION = "，。、；：？！“”‘’（）《》【】〔〕…—·￥％＋－＝～　〇"
FULLWIDTH = "０１２３４５６７８９ＡＢＣＸＹＺａｂｃｘｙｚ"
LATIN = "".join(chr(c) for c in range(0x20, 0x7F)) + "°±×÷éüāáǎàōóǒòǖǘǚǜ℃№①⑩Ⅻ㎡★■●→"


@pytest.fixture(scope="module")
def cmap() -> dict[int, str]:
    with TTFont(str(FONT), lazy=True) as font:
        return font.getBestCmap()


def _gb2312_hanzi() -> list[str]:
    chars = []
    for lead in range(0xB0, 0xF8):  # levels 1 and 2: the 6763 hanzi
        for trail in range(0xA1, 0xFF):
            try:
                chars.append(bytes((lead, trail)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def test_font_is_committed_with_licence_and_manifest() -> None:
    data = FONT.read_bytes()
    assert data[:4] == b"OTTO"  # OpenType with CFF outlines
    assert len(data) < 12 * 1024 * 1024  # the size budget for a slow office link
    manifest = json.loads(FONT.with_suffix(".json").read_text(encoding="utf-8"))
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest(), "re-run scripts/make_font.py"
    licence = (FONT.parent / "OFL.txt").read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence and "Adobe" in licence
    with TTFont(str(FONT), lazy=True) as font:
        name = font["name"]
        assert "SIL Open Font License" in name.getDebugName(13)
        assert name.getDebugName(1) == "Noto Sans SC gridwall"  # a modified version, renamed


def test_rare_name_and_place_characters(cmap: dict[int, str]) -> None:
    missing = [c for c in RARE_NAME_AND_PLACE if ord(c) not in cmap]
    assert missing == []


def test_ui_words_punctuation_fullwidth_latin(cmap: dict[int, str]) -> None:
    text = "".join(UI_WORDS) + PUNCTUATION + FULLWIDTH + LATIN
    assert [c for c in text if ord(c) not in cmap] == []


def test_all_of_gb2312_and_the_cjk_unified_block(cmap: dict[int, str]) -> None:
    hanzi = _gb2312_hanzi()
    assert len(hanzi) == 6763
    assert [c for c in hanzi if ord(c) not in cmap] == []
    # GBK / GB 18030 ideographs: U+4E00..U+9FA5 and Extension A.
    assert [hex(c) for c in range(0x4E00, 0x9FA6) if c not in cmap] == []
    assert [hex(c) for c in range(0x3400, 0x4DB6) if c not in cmap] == []


def test_glyphs_have_real_outlines() -> None:
    """FreeType (what Flutter's CanvasKit uses) draws the characters, not the missing-glyph box."""
    font = ImageFont.truetype(str(FONT), 40)

    def draw(text: str) -> bytes:
        im = Image.new("L", (60 * len(text) + 20, 70), 0)
        ImageDraw.Draw(im).text((6, 6), text, font=font, fill=255)
        return im.tobytes()

    notdef = draw("\U00020000")  # Extension B: deliberately not in the subset
    assert any(notdef)  # the .notdef box has an outline
    for ch in RARE_NAME_AND_PLACE + "问题墙回音壁":
        img = draw(ch)
        assert any(img), ch
        assert img != notdef, f"{ch} renders as the missing-glyph box"
    assert draw("问") != draw("题")
