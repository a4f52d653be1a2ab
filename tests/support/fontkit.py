"""The CJK font for browser tests: the bundled one, or (before it is built) a subset of the
system Noto Sans CJK SC made here with fontTools, covering the app's own text."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repo root
SYSTEM_TTC = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SC_INDEX = 2  # Noto Sans CJK SC inside the collection


def assets_with_font(tmp: Path, extra_text: str = "") -> Path:
    """An assets folder whose fonts/ holds NotoSansSC-gridwall.(otf|ttf)."""
    from app.main import bundled_font

    if bundled_font(ROOT / "assets") is not None:
        return ROOT / "assets"
    from fontTools import subset
    from fontTools.ttLib import TTCollection

    out = tmp / "assets"
    (out / "fonts").mkdir(parents=True, exist_ok=True)
    for f in (ROOT / "assets").glob("*"):
        if f.is_file():
            shutil.copy(f, out / f.name)
    text = set(extra_text)
    for cat in (ROOT / "app" / "locale").glob("*.json"):
        for entry in json.loads(cat.read_text(encoding="utf-8")).values():
            text.update("".join(entry.values()))
    text.update((ROOT / "app" / "demo_seed.py").read_text(encoding="utf-8"))
    text.update((ROOT / "sync" / "records.py").read_text(encoding="utf-8"))
    for cat in (ROOT / "sync" / "locale").glob("*.json"):
        text.update(cat.read_text(encoding="utf-8"))
    font = TTCollection(str(SYSTEM_TTC)).fonts[SC_INDEX]
    options = subset.Options()
    options.layout_features = ["*"]
    sub = subset.Subsetter(options)
    sub.populate(text="".join(sorted(text)) + "".join(chr(c) for c in range(0x20, 0x7F)))
    sub.subset(font)
    font.save(str(out / "fonts" / "NotoSansSC-gridwall.otf"))
    return out
