"""Make the app icon (assets/icon.png, 1024x1024): 网 in white on the app's red, drawn with
the bundled CJK font. `flet build apk` makes the launcher icons from it; the phone browser
build uses it for the home-screen icon.

    .venv/bin/python scripts/make_icon.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.main import bundled_font  # noqa: E402

SIZE = 1024
RED = (198, 40, 40)  # Colors.RED_800, the theme seed


def main() -> None:
    font_path = bundled_font(ROOT / "assets")
    if font_path is None:
        raise SystemExit("assets/fonts has no CJK font yet (see docs/fonts.md)")
    im = Image.new("RGB", (SIZE, SIZE), RED)
    draw = ImageDraw.Draw(im)
    font = ImageFont.truetype(str(font_path), int(SIZE * 0.62))
    left, top, right, bottom = draw.textbbox((0, 0), "网", font=font)  # centre the ink, not the line
    draw.text(((SIZE - left - right) / 2, (SIZE - top - bottom) / 2), "网", font=font, fill="white")
    out = ROOT / "assets" / "icon.png"
    im.save(out, optimize=True)
    print(out)


if __name__ == "__main__":
    main()
