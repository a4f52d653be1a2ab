"""The photo pipeline inside the phone's browser, where there is no Pillow: the browser's own
image APIs, called from Python through Pyodide's ``js`` module in the web worker.

Same contract as ``sync.photos`` (``sync.photo_contract``: limits, refusals and their
messages, sizes, qualities, names by sha256, ``ProcessedPhoto``):

1. refusals before decoding: empty, too large, not an image, a format we do not take, too
   many pixels (from the header, read here in Python: a decompression bomb never reaches the
   decoder);
2. ``createImageBitmap(blob, {imageOrientation: "from-image"})`` decodes and applies the EXIF
   orientation (and converts colour profiles to sRGB); a failed decode is ``corrupt``;
3. an ``OffscreenCanvas`` filled white (transparency on white) draws it with the long edge at
   most 1600 px; ``convertToBlob({type: "image/jpeg", quality: 0.75})`` encodes it. A canvas
   holds pixels only, so the JPEG carries no EXIF (no GPS), XMP, ICC or comment;
4. the thumbnail (320 px, q0.70) is drawn from that 1600 px canvas;
5. Chromium's encoder writes the canvas's sRGB colour profile (an APP2 ICC segment, ~0.5 KB)
   into the JPEG: every segment but JFIF, tables, frame and scan is dropped (``bare_jpeg``),
   so the stored bytes hold what Pillow's do.

The bytes differ from Pillow's (another encoder), so the same photo picked on a PC and in a
browser gets two names; within one browser the same input gives the same bytes.
Not kept here: ``taken_at`` (None: the app stamps the time a photo is attached).
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any

from sync.photo_contract import (
    JPEG_QUALITY,
    LONG_EDGE,
    THUMB_EDGE,
    THUMB_QUALITY,
    ProcessedPhoto,
    check_size,
    fit_size,
    photo_error,
    read_input,
    sniff_unsupported,
)

# What browsers decode (createImageBitmap) of the formats sync.photos takes: not TIFF
# (only Safari decodes it), so it is refused here as unsupported.
DECODED = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "AVIF")


# --------------------------------------------------------------------------- the header (pure Python)

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_format(data: bytes) -> str | None:
    """The image format named by the file's first bytes (Pillow's names), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data.startswith(b"BM") and len(data) >= 26:
        return "BMP"
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "WEBP"
    if data[4:8] == b"ftyp" and data[8:12] in (b"avif", b"avis"):
        return "AVIF"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if data[:4] == b"\x00\x00\x01\x00":
        return "ICO"
    return None


def image_size(fmt: str, data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header of a ``fmt`` image, None when the header is broken."""
    try:
        if fmt == "JPEG":
            return _jpeg_size(data)
        if fmt == "PNG" and data[12:16] == b"IHDR":
            return struct.unpack(">II", data[16:24])
        if fmt == "GIF":
            return struct.unpack("<HH", data[6:10])
        if fmt == "BMP":
            w, h = struct.unpack("<ii", data[18:26])
            return w, abs(h)  # a negative height is a top-down bitmap
        if fmt == "WEBP":
            return _webp_size(data)
        if fmt == "AVIF":
            i = data.find(b"ispe")  # the image spatial extents property
            return struct.unpack(">II", data[i + 8:i + 16]) if i > 0 else None
    except struct.error:
        return None
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            i += 2
            continue
        (length,) = struct.unpack(">H", data[i + 2:i + 4])
        if marker in _JPEG_SOF:
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return w, h
        if marker == 0xDA:  # scan data before a frame header: broken
            return None
        i += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L":
        b = int.from_bytes(data[21:25], "little")
        return (b & 0x3FFF) + 1, ((b >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def check_header(raw: bytes) -> tuple[str, int, int]:
    """(format, width, height) of an image we can take here; else the contract's refusal:
    ``unsupported`` (HEIC, PDF, TIFF ...), ``not_image``, ``corrupt``, ``bomb``."""
    fmt = image_format(raw)
    if fmt is None:
        other = sniff_unsupported(raw)
        raise photo_error("unsupported", format=other) if other else photo_error("not_image")
    if fmt not in DECODED:
        raise photo_error("unsupported", format=fmt)
    size = image_size(fmt, raw)
    if size is None:
        raise photo_error("corrupt", detail=f"{fmt} header")
    check_size(fmt, *size)
    return fmt, size[0], size[1]


def bare_jpeg(data: bytes) -> bytes:
    """The JPEG without its APP1..APP15 and comment segments (EXIF, XMP, ICC, ...): the
    pixels, JFIF header and coding tables are kept byte for byte."""
    out = bytearray(data[:2])
    i = 2
    while i + 4 <= len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xDA:  # start of scan: the entropy-coded data follows, keep the rest
            return bytes(out + data[i:])
        end = i + 2 + int.from_bytes(data[i + 2:i + 4], "big")
        if not (0xE1 <= marker <= 0xEF or marker == 0xFE):
            out += data[i:end]
        i = end
    raise photo_error("corrupt", detail="encoder output without a scan")


# --------------------------------------------------------------------------- the browser's image APIs


def _js_options(**kw: Any) -> Any:
    import js
    from pyodide.ffi import to_js

    return to_js(kw, dict_converter=js.Object.fromEntries)


async def _encode(source: Any, width: int, height: int, quality: int) -> bytes:
    """``source`` (bitmap or canvas) drawn at width x height on white, as JPEG bytes."""
    canvas = _canvas(source, width, height)
    return await _jpeg(canvas, quality)


async def _jpeg(canvas: Any, quality: int) -> bytes:
    blob = await canvas.convertToBlob(_js_options(type="image/jpeg", quality=quality / 100))
    return bare_jpeg((await blob.arrayBuffer()).to_bytes())


def _canvas(source: Any, width: int, height: int) -> Any:
    import js

    canvas = js.OffscreenCanvas.new(width, height)
    ctx = canvas.getContext("2d")
    ctx.fillStyle = "#ffffff"  # transparency becomes white, as in sync.photos
    ctx.fillRect(0, 0, width, height)
    ctx.imageSmoothingEnabled = True
    ctx.imageSmoothingQuality = "high"
    ctx.drawImage(source, 0, 0, width, height)
    return canvas


async def _decode(raw: bytes) -> Any:
    import js
    from pyodide.ffi import to_js

    buf = js.Uint8Array.new(len(raw))
    buf.assign(raw)
    blob = js.Blob.new(to_js([buf]))
    try:
        return await js.createImageBitmap(blob, _js_options(imageOrientation="from-image"))
    except Exception as exc:  # noqa: BLE001 - a JsException: the browser could not decode it
        raise photo_error("corrupt", detail=str(exc)) from None


async def process_photo(data: bytes) -> ProcessedPhoto:
    """``sync.photos.process_photo`` in the browser: the stored JPEG and its thumbnail.
    Raises ``PhotoError`` (the same codes and messages). Writes nothing."""
    raw = read_input(data)
    check_header(raw)
    bitmap = await _decode(raw)
    try:
        width, height = fit_size(bitmap.width, bitmap.height, LONG_EDGE)  # oriented size
        canvas = _canvas(bitmap, width, height)
    finally:
        bitmap.close()  # the decoded pixels (48 MB for 12 MP) go at once
    jpeg = await _jpeg(canvas, JPEG_QUALITY)
    tw, th = fit_size(width, height, THUMB_EDGE)
    thumb = await _encode(canvas, tw, th, THUMB_QUALITY)
    return ProcessedPhoto(
        sha256=hashlib.sha256(jpeg).hexdigest(), jpeg=jpeg, thumb=thumb, width=width,
        height=height, thumb_width=tw, thumb_height=th, taken_at=None, bytes_in=len(raw))
