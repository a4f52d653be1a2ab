"""Test images made with Pillow (no binary fixtures in the repo)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image


def make_jpeg(path: Path, color: tuple[int, int, int] = (200, 40, 40), size: tuple[int, int] = (640, 480)) -> Path:
    im = Image.new("RGB", size, color)
    for x in range(0, size[0], 40):  # some structure, so the JPEG is not trivial
        for y in range(size[1]):
            im.putpixel((x, y), (255, 255, 255))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    path.write_bytes(buf.getvalue())
    return path


def picker_answer(paths: list[Path]):
    """What the client answers to pick_files on a phone/desktop: names and paths."""
    def answer(_args: dict) -> list[dict]:
        return [{"id": i, "name": p.name, "path": str(p), "size": p.stat().st_size}
                for i, p in enumerate(paths)]
    return answer
