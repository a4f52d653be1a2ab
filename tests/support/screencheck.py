"""Screenshot checks for the browser journeys: a screen passes when the controls it should
show are in Flutter's semantics tree and no control was drawn as an empty grey box.

Flutter draws a widget that failed to lay out (in a release build, as Flet serves it) as a
flat grey rectangle, RenderErrorBox's 0xF0C0C0C0 (about rgb(196,196,196) over a light page),
with no semantics node: the screen looks half-finished and the buttons that should be there
are gone. ``grey_boxes`` finds such rectangles in a PNG with Pillow alone: pixels of that
grey, flat in their neighbourhood, grouped in 4x4 blocks, then the largest all-grey
rectangle of blocks, confirmed as one flat colour.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image, ImageChops, ImageFilter

BLOCK = 4  # device pixels per cell of the grid the rectangle search works on
GREY = (184, 208)  # the error box's grey over any light background, inclusive
MIN_SIDE_CSS = 24  # a control: at least this tall and wide (CSS pixels)
MIN_AREA_CSS = 3000  # and this large (a 48 px high row of buttons is ~17000)


def _grey_cells(im: Image.Image) -> tuple[list[list[bool]], int, int]:
    """Cells (BLOCK x BLOCK device pixels) that are entirely flat error-box grey."""
    r, g, b = im.convert("RGB").split()
    neutral = ImageChops.lighter(ImageChops.difference(r, g), ImageChops.difference(g, b))
    lo, hi = GREY
    ok = ImageChops.multiply(
        neutral.point(lambda v: 255 if v <= 3 else 0),
        g.point(lambda v: 255 if lo <= v <= hi else 0),
    )
    # flat: no change within one pixel around (text, borders and photos are not flat)
    bumpy = ImageChops.difference(g.filter(ImageFilter.MaxFilter(3)), g.filter(ImageFilter.MinFilter(3)))
    ok = ImageChops.multiply(ok, bumpy.point(lambda v: 255 if v <= 2 else 0))
    cols, rows = im.width // BLOCK, im.height // BLOCK
    small = ok.crop((0, 0, cols * BLOCK, rows * BLOCK)).reduce(BLOCK)
    data = list(small.get_flattened_data())
    return [[data[y * cols + x] == 255 for x in range(cols)] for y in range(rows)], cols, rows


def _largest_rectangle(cells: list[list[bool]], cols: int) -> tuple[int, int, int, int, int]:
    """(area, x0, y0, x1, y1) in cells of the largest all-True rectangle (histogram method)."""
    heights = [0] * cols
    best = (0, 0, 0, 0, 0)
    for y, row in enumerate(cells):
        heights = [h + 1 if c else 0 for h, c in zip(heights, row, strict=True)]
        stack: list[int] = []
        for x in range(cols + 1):
            h = heights[x] if x < cols else 0
            while stack and heights[stack[-1]] >= h:
                top = stack.pop()
                height = heights[top]
                left = stack[-1] + 1 if stack else 0
                area = height * (x - left)
                if area > best[0]:
                    best = (area, left, y - height + 1, x, y + 1)
            stack.append(x)
    return best


def grey_boxes(png: Path | str, scale: float = 1.0) -> list[tuple[int, int, int, int]]:
    """Empty grey boxes in a screenshot, as (x0, y0, x1, y1) in device pixels; ``scale`` is
    the device pixel ratio the screenshot was taken at. Finds the largest, masks it, repeats."""
    im = Image.open(png).convert("RGB")
    cells, cols, rows = _grey_cells(im)
    found = []
    min_side = MIN_SIDE_CSS * scale / BLOCK
    min_area = MIN_AREA_CSS * scale * scale / (BLOCK * BLOCK)
    for _ in range(8):
        area, x0, y0, x1, y1 = _largest_rectangle(cells, cols)
        if area < min_area:
            break
        for y in range(y0, y1):
            cells[y][x0:x1] = [False] * (x1 - x0)
        if min(x1 - x0, y1 - y0) < min_side:
            continue
        box = (x0 * BLOCK, y0 * BLOCK, x1 * BLOCK, y1 * BLOCK)
        lows, highs = zip(*im.crop(box).getextrema(), strict=True)
        if max(highs) - min(lows) <= 6:  # one flat colour from edge to edge
            found.append(box)
    return found


def check_screen(page: Any, png: Path | str, expect: tuple[tuple[str, str], ...] = ()) -> None:
    """Fail when an expected control (role, accessible name) is missing from the semantics
    tree, or when the screenshot holds an empty grey box; the message names the PNG."""
    missing = [f"{role} {name!r}" for role, name in expect
               if not page.get_by_role(role, name=name).count()]
    scale = Image.open(png).width / page.viewport_size["width"]
    boxes = grey_boxes(png, scale)
    problems = []
    if missing:
        problems.append("missing: " + ", ".join(missing))
    if boxes:
        css = [tuple(round(v / scale) for v in box) for box in boxes]
        problems.append(f"empty grey box(es) at {css} (CSS px; a control that failed to lay out)")
    assert not problems, f"{png}: " + "; ".join(problems)
