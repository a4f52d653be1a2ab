"""Find a control Flutter could not lay out in a screenshot: a release build paints it as a
flat, neutral grey rectangle (an ErrorWidget), while the app's own colours are all tinted by
its colour scheme."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from PIL import Image, ImageChops

MIN_SIDE = 40  # device px: smaller flat greys are icons, dividers, text anti-aliasing


def grey_boxes(png: Path) -> list[tuple[int, int, int, int]]:
    """Boxes (left, top, right, bottom) at least 90 % filled with one neutral grey."""
    im = Image.open(png).convert("RGB")
    found = []
    for (r, g, b), n in Counter(im.get_flattened_data()).items():
        if not (r == g == b and 96 <= r <= 232) or n < MIN_SIDE * MIN_SIDE:
            continue
        # where all three channels hold that grey: the darker (AND) of the per-channel masks
        red, green, blue = (band.point(lambda v, c=r: 255 if v == c else 0) for band in im.split())
        box = ImageChops.darker(ImageChops.darker(red, green), blue).getbbox()
        if box is None:
            continue
        w, h = box[2] - box[0], box[3] - box[1]
        if w >= MIN_SIDE and h >= MIN_SIDE and n >= 0.9 * w * h:
            found.append(box)
    return found
