"""What a processed photo is, wherever it is made: the limits, the refusals with their catalog
messages, the output sizes and the result type. No Pillow here, so both photo pipelines use it:
``sync.photos`` (Pillow: PCs, phones, the server) and ``app.browser_photos`` (the browser's
own image APIs, inside the phone's browser, where there is no Pillow). See docs/photos.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sync.i18n import t

LONG_EDGE = 1600
JPEG_QUALITY = 75
THUMB_EDGE = 320
THUMB_QUALITY = 70
# 30 MB: a 108 MP phone JPEG is ~25 MB; anything bigger is not a phone photo.
MAX_INPUT_BYTES = 30 * 1024 * 1024
# 120 MP covers 108 MP phone cameras; a decompression bomb claims far more (50000x50000 = 2500 MP).
MAX_PIXELS = 120_000_000
# Pixels actually decoded: a JPEG decodes at 1/2..1/8 scale (draft), so a 108 MP photo costs
# ~7 MP; a PNG/WebP/... decodes whole. 40 MP is ~160 MB as RGBA: a tiny PNG that declares
# 120 MP (700 MB once decoded) is refused before a pixel is read.
MAX_DECODE_PIXELS = 40_000_000
# What the pipeline stores (and so all a server has reason to decode): a JPEG of at most
# LONG_EDGE x LONG_EDGE.
STORED_MAX_PIXELS = LONG_EDGE * LONG_EDGE

# ISO-BMFF brands of HEIC/HEIF (iPhone default): recognised so the message can say what to do.
HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")


class PhotoError(ValueError):
    """A photo that is refused. ``code`` is stable (for programs); ``message`` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.detail = ""

    def __str__(self) -> str:
        return self.message


def photo_error(code: str, detail: str = "", **params: object) -> PhotoError:
    """The refusal ``code`` with its catalog message (``photos.error.<code>``)."""
    err = PhotoError(code, t(f"photos.error.{code}", **params))
    err.detail = detail  # technical cause (English) for logs, not for people
    return err


@dataclass(frozen=True)
class ProcessedPhoto:
    sha256: str  # hex sha256 of ``jpeg`` (the stored bytes)
    jpeg: bytes
    thumb: bytes
    width: int
    height: int
    thumb_width: int
    thumb_height: int
    taken_at: str | None  # EXIF DateTimeOriginal as ISO 8601, or None
    bytes_in: int


def read_input(data: bytes | bytearray | memoryview | Path | str, max_input_bytes: int = MAX_INPUT_BYTES) -> bytes:
    """The input's bytes; refuses (``PhotoError``) an empty, too large or unreadable input."""
    if isinstance(data, (str, Path)):
        path = Path(data)
        try:
            size = path.stat().st_size
            if size > max_input_bytes:  # refuse before reading 2 GB into memory
                raise photo_error("too_large", size_mb=_mb(size), max_mb=_mb(max_input_bytes))
            data = path.read_bytes()
        except PhotoError:
            raise
        except OSError as exc:
            raise photo_error("unreadable", name=path.name, reason=exc.strerror or str(exc)) from None
    data = bytes(data)
    if not data:
        raise photo_error("empty")
    if len(data) > max_input_bytes:
        raise photo_error("too_large", size_mb=_mb(len(data)), max_mb=_mb(max_input_bytes))
    return data


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f}"


def sniff_unsupported(data: bytes) -> str | None:
    """The name of a known image format we do not take, to tell people what to do."""
    if data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS:
        return "HEIC"
    if data.startswith(b"%PDF"):
        return "PDF"
    if data.startswith(b"8BPS"):
        return "PSD"
    head = data[:512].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in head):
        return "SVG"
    return None


def bomb(pixels: int, max_pixels: int) -> PhotoError:
    """The refusal of an image with ``pixels`` pixels where at most ``max_pixels`` are taken."""
    return photo_error("bomb", mp=_mp(pixels), max_mp=_mp(max_pixels))


def _mp(pixels: int) -> str:
    mp = pixels / 1e6
    return f"{mp:,.0f}" if mp >= 10 else f"{mp:.1f}"


def decoded_pixels(fmt: str, width: int, height: int, target_long_edge: int) -> int:
    """How many pixels decoding a ``fmt`` image for ``target_long_edge`` produces (a JPEG
    decodes at 1/2, 1/4 or 1/8 scale while the result still covers the target)."""
    scale = 1
    if fmt in ("JPEG", "MPO"):
        while scale < 8 and max(width, height) // (scale * 2) >= target_long_edge:
            scale *= 2
    return -(-width // scale) * -(-height // scale)


def check_size(fmt: str, width: int, height: int, target_long_edge: int = LONG_EDGE,
               max_pixels: int = MAX_PIXELS) -> None:
    """Refuse (``bomb``/``corrupt``) from the header's size, before any pixel is decoded."""
    if width <= 0 or height <= 0:
        raise photo_error("corrupt", detail=f"size {width}x{height}")
    if width * height > max_pixels:
        raise bomb(width * height, max_pixels)
    pixels = decoded_pixels(fmt, width, height, target_long_edge)
    limit = min(max_pixels, MAX_DECODE_PIXELS)
    if pixels > limit:
        raise bomb(pixels, limit)


def fit_size(width: int, height: int, long_edge: int) -> tuple[int, int]:
    """The size with the long edge at most ``long_edge`` (never upscaled, aspect kept)."""
    if max(width, height) <= long_edge:
        return width, height
    scale = long_edge / max(width, height)
    if width >= height:
        return long_edge, max(1, round(height * scale))
    return max(1, round(width * scale)), long_edge
