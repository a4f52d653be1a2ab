"""Test images made in code (Pillow), and a JPEG marker reader to prove metadata is gone."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

RED = (255, 0, 0)
BLUE = (0, 0, 200)

GPS_IFD = 0x8825
EXIF_IFD = 0x8769
ORIENTATION = 0x0112


def exif_bytes(orientation: int | None = None, gps: bool = True,
               taken: str | None = "2026:05:01 10:20:30", offset: str | None = "+08:00") -> bytes:
    ex = Image.Exif()
    ex[0x010F] = "GridPhone"  # Make
    ex[0x0110] = "GP-1"  # Model
    if orientation is not None:
        ex[ORIENTATION] = orientation
    if gps:
        ex[GPS_IFD] = {1: "N", 2: (30.0, 15.0, 5.5), 3: "E", 4: (120.0, 10.0, 1.0)}
    sub = {}
    if taken is not None:
        sub[0x9003] = taken
    if offset is not None:
        sub[0x9011] = offset
    if sub:
        ex[EXIF_IFD] = sub
    return ex.tobytes()


def marked_image(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """Blue image with a red block in the stored top-left corner (a quarter of each side)."""
    w, h = size
    im = Image.new("RGB", size, BLUE)
    im.paste(RED, (0, 0, w // 4, h // 4))
    return im.convert(mode) if mode != "RGB" else im


def jpeg(im: Image.Image, quality: int = 92, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality, **kw)
    return buf.getvalue()


def png(im: Image.Image, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", **kw)
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 50000, height: int = 50000) -> bytes:
    """A ~100-byte PNG whose header claims width x height RGB pixels (7.5 GB decoded)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
            + _chunk(b"IDAT", zlib.compress(b"\0" * 4096)) + _chunk(b"IEND", b""))


def jpeg_markers(data: bytes) -> list[int]:
    """Marker codes of the JPEG header segments, from SOI up to and including SOS."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    pos, markers = 2, []
    while pos < len(data):
        assert data[pos] == 0xFF, f"bad marker at {pos}"
        marker = data[pos + 1]
        markers.append(marker)
        if marker == 0xDA:  # SOS: entropy-coded data follows
            break
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        pos += 2 + length
    return markers


def pixel_near(im: Image.Image, corner: str, inset: int = 8) -> tuple[int, int, int]:
    w, h = im.size
    x = inset if "left" in corner else w - 1 - inset
    y = inset if "top" in corner else h - 1 - inset
    return im.convert("RGB").getpixel((x, y))


def is_red(px: tuple[int, int, int]) -> bool:
    r, g, b = px
    return r > 200 and g < 60 and b < 60


def is_blue(px: tuple[int, int, int]) -> bool:
    r, g, b = px
    return r < 60 and g < 60 and b > 150
