"""Make the CJK font the web app bundles: a subset of Noto Sans CJK SC (SIL OFL 1.1).

Why: in web mode with no internet, Chinese shows as boxes unless the page has a CJK font of its
own (docs/fonts.md). The full Noto Sans CJK SC face is ~16 MB; this keeps what a village grid
needs, including rare characters in people's and place names.

Run (needs Debian's fonts-noto-cjk and fontTools, both installed by scripts/setup.sh --test):

    .venv/bin/python scripts/make_font.py            # writes assets/fonts/NotoSansSC-gridwall.otf
    .venv/bin/python scripts/make_font.py --check    # rebuild in a temp dir, compare with the repo

Deterministic: the same source font and fontTools version give the same bytes (the head table
keeps the source's timestamps; nothing depends on time or dict order). The output is OpenType
with CFF outlines (.otf): Flutter web (CanvasKit/FreeType) loads TTF/OTF; WOFF2 is not assumed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

import fontTools
from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

ROOT = Path(__file__).resolve().parents[1]
SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SOURCE_NAME = "Noto Sans CJK SC"  # the face to take from the collection (checked by name)
OUT = ROOT / "assets" / "fonts" / "NotoSansSC-gridwall.otf"
DEBIAN_COPYRIGHT = Path("/usr/share/doc/fonts-noto-cjk/copyright")
LICENSE_OUT = OUT.parent / "OFL.txt"

FAMILY = "Noto Sans SC gridwall"  # a modified version gets its own name (OFL: no confusion)
PS_NAME = "NotoSansSC-gridwall-Regular"

# Unicode blocks kept whole (only the characters the font has are kept).
RANGES: list[tuple[int, int, str]] = [
    (0x0020, 0x007E, "ASCII"),
    (0x00A0, 0x00FF, "Latin-1"),
    (0x0100, 0x017F, "Latin Extended-A (pinyin ā ē ī ō ū)"),
    (0x01CD, 0x01DC, "pinyin ǎ ǐ ǒ ǔ ǖ ǘ ǚ ǜ"),
    (0x02C6, 0x02DD, "spacing modifiers (ˇ ˉ ˊ ˋ)"),
    (0x2000, 0x206F, "General Punctuation (— … ‘’ “” ‰ ※)"),
    (0x2100, 0x218F, "Letterlike, Number Forms (℃ № Ⅰ Ⅻ)"),
    (0x2190, 0x21FF, "Arrows"),
    (0x2460, 0x24FF, "Enclosed Alphanumerics (① ⑴ ⒈)"),
    (0x2500, 0x257F, "Box Drawing"),
    (0x25A0, 0x25FF, "Geometric Shapes (■ □ ▲ ● ○)"),
    (0x2600, 0x26FF, "Miscellaneous Symbols (★ ☆ ☎)"),
    (0x2E80, 0x2EFF, "CJK Radicals Supplement"),
    (0x3000, 0x303F, "CJK Symbols and Punctuation"),
    (0x3200, 0x33FF, "Enclosed CJK, CJK Compatibility (㈠ ㊣ ㎡ ㎏)"),
    (0x3400, 0x4DBF, "CJK Unified Ideographs Extension A (GB 18030)"),
    (0x4E00, 0x9FFF, "CJK Unified Ideographs (all of it, GB 18030)"),
    (0xFE30, 0xFE4F, "CJK Compatibility Forms"),
    (0xFF00, 0xFFEF, "Halfwidth and Fullwidth Forms"),
]

# Horizontal UI text only: no 'locl' (would pull in JP/KR/TC glyph variants), no vertical forms.
LAYOUT_FEATURES = ["ccmp", "kern", "liga", "calt", "rlig", "mark", "mkmk"]


def _double_byte_charset(codec: str) -> set[int]:
    """Every character a double-byte code of codec (gb2312, gbk) stands for."""
    chars: set[int] = set()
    for lead in range(0x81, 0xFF):
        for trail in range(0x40, 0xFF):
            try:
                text = bytes((lead, trail)).decode(codec)
            except UnicodeDecodeError:
                continue
            if len(text) == 1:
                chars.add(ord(text))
    return chars


def wanted_codepoints() -> set[int]:
    """The characters asked for: the ranges above plus everything in GBK (symbols, Greek,
    Cyrillic, kana, compatibility ideographs ...). GBK contains GB2312."""
    wanted = _double_byte_charset("gbk")
    for lo, hi, _ in RANGES:
        wanted.update(range(lo, hi + 1))
    return wanted


def _source_index(path: Path) -> int:
    with TTCollection(str(path), lazy=True) as coll:
        for i, font in enumerate(coll.fonts):
            if font["name"].getDebugName(4) == SOURCE_NAME:
                return i
    raise SystemExit(f"{path} has no face named {SOURCE_NAME!r}; is fonts-noto-cjk installed?")


def _rename(font: TTFont) -> None:
    names = {1: FAMILY, 3: f"2.004;gridwall-subset;{PS_NAME}", 4: FAMILY, 6: PS_NAME,
             16: FAMILY}
    table = font["name"]
    for rec in list(table.names):
        if rec.nameID in names:
            table.removeNames(nameID=rec.nameID)
    for name_id, text in names.items():
        if name_id == 16:
            continue  # only written when the source had it (it did not for Noto CJK 2.004)
        table.setName(text, name_id, 3, 1, 0x409)
        table.setName(text, name_id, 1, 0, 0)
    if "CFF " in font:
        cff = font["CFF "].cff
        top = cff.topDictIndex[0]
        cff.fontNames = [PS_NAME]
        for attr in ("FullName", "FamilyName"):
            if hasattr(top, attr):
                setattr(top, attr, FAMILY)


def build(source: Path, out: Path) -> dict:
    index = _source_index(source)
    font = TTFont(str(source), fontNumber=index, recalcTimestamp=False, recalcBBoxes=True)
    cmap = font.getBestCmap()
    wanted = wanted_codepoints()
    keep = sorted(c for c in wanted if c in cmap)
    opts = subset.Options()
    opts.layout_features = LAYOUT_FEATURES
    opts.hinting = False  # CanvasKit renders unhinted anyway; saves ~10 %
    opts.desubroutinize = False  # keep CFF subroutines: much smaller
    opts.name_IDs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]  # keep the licence
    opts.notdef_outline = True
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=keep)
    sub.subset(font)
    _rename(font)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    font.save(str(tmp))
    tmp.replace(out)
    data = out.read_bytes()
    return {
        "file": out.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "source": str(source),
        "source_face": f"{SOURCE_NAME} (index {index})",
        "source_version": font["name"].getDebugName(5),
        "fonttools": fontTools.version,
        "characters_wanted": len(wanted),
        "characters_kept": len(keep),
        "missing_from_source": len(wanted) - len(keep),
        "glyphs": len(font.getGlyphOrder()),
        "layout_features": LAYOUT_FEATURES,
    }


def license_text(copyright_file: Path = DEBIAN_COPYRIGHT, font: Path = OUT) -> str:
    """OFL.txt for the bundled font: the copyright notices and the SIL OFL 1.1 text, copied from
    the Debian package's copyright file (the font's own name table carries the same licence)."""
    lines = copyright_file.read_text(encoding="utf-8").splitlines()
    # The stand-alone licence paragraph is the last "License: SIL-1.1" (the first one only names
    # the licence of the "Files: *" stanza).
    start = len(lines) - lines[::-1].index("License: SIL-1.1")
    body = []
    for line in lines[start:]:
        if not line.startswith(" "):
            break  # the next stanza
        body.append("" if line.strip() == "." else line[1:])
    holders = [ln.split(":", 1)[1].strip() for ln in lines
               if ln.startswith("Copyright:") and "Google" in ln]
    with TTFont(str(font), lazy=True) as f:
        notice = f["name"].getDebugName(0)
    head = [
        f"{font.name}: a subset of {SOURCE_NAME} (Noto Sans CJK, upstream Source Han Sans),",
        "made by scripts/make_font.py from Debian's fonts-noto-cjk. It is a Modified Version",
        f"under the licence below and is renamed \"{FAMILY}\".",
        "",
        notice,
        *(f"Copyright {h}" for h in holders),
        "Noto is a trademark of Google Inc.",
        "",
    ]
    return "\n".join(head + body).rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Make assets/fonts/NotoSansSC-gridwall.otf")
    ap.add_argument("--source", type=Path, default=SOURCE)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", action="store_true",
                    help="rebuild in a temp dir and compare with --out; exit 1 if different")
    ap.add_argument("--license-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if not args.source.exists():
        print(f"{args.source} not found: install Debian's fonts-noto-cjk "
              "(scripts/setup.sh --test does)", file=sys.stderr)
        return 2
    if args.license_only:  # refresh OFL.txt without the ~2 minute rebuild
        (args.out.parent / LICENSE_OUT.name).write_text(license_text(font=args.out), encoding="utf-8")
        return 0
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            info = build(args.source, Path(tmp) / args.out.name)
        same = args.out.exists() and hashlib.sha256(args.out.read_bytes()).hexdigest() == info["sha256"]
        print(("same as " if same else "DIFFERENT from ") + str(args.out))
        return 0 if same else 1
    info = build(args.source, args.out)
    manifest = args.out.with_suffix(".json")
    manifest.write_text(json.dumps(info, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    lic = args.out.parent / LICENSE_OUT.name
    lic.write_text(license_text(font=args.out), encoding="utf-8")
    print(f"wrote {args.out} ({info['bytes']:,} bytes, {info['characters_kept']:,} characters, "
          f"{info['glyphs']:,} glyphs), {manifest.name} and {lic.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
