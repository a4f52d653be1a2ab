"""The photo pipeline (Pillow only): phone photo in, small clean JPEG + thumbnail out.

Shared by the device (a worker picks a photo) and the server (thumbnails of uploads), so it
imports neither the app nor Flet. What it does, in order:

1. refuse what is not a usable photo *before* decoding pixels: empty, too many bytes, not an
   image, a format we do not take (HEIC ...), too many pixels (decompression bomb), a broken
   file. Every refusal is a :class:`PhotoError` with a catalog message (what is wrong, what to
   do); nothing is written anywhere.
2. decode (JPEGs at a reduced DCT scale when that is still >= the target size: faster, less
   memory), apply the EXIF orientation, convert to sRGB RGB (alpha on white, CMYK, palette,
   16-bit grey), shrink so the long edge is at most 1600 px.
3. encode a JPEG (q75, optimized, progressive) with no metadata at all: no EXIF (GPS!), no XMP,
   no ICC, no comment. Its sha256 names it. The same input always gives the same bytes.
4. a thumbnail (long edge 320 px, q70) made from the stored JPEG by :func:`make_thumbnail`,
   the same function the server uses, so device and server thumbnails are identical.

See docs/photos.md.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re
import warnings
from datetime import datetime
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from sync.fileio import atomic_write_bytes
from sync.hashes import is_sha256
from sync.photo_contract import (  # the contract both pipelines keep; re-exported here
    JPEG_QUALITY,
    LONG_EDGE,
    MAX_DECODE_PIXELS,
    MAX_INPUT_BYTES,
    MAX_PIXELS,
    STORED_MAX_PIXELS,
    THUMB_EDGE,
    THUMB_QUALITY,
    PhotoError,
    ProcessedPhoto,
    bomb,
    check_size,
    fit_size,
    photo_error,
    read_input,
    sniff_unsupported,
)

__all__ = [  # the contract's names are part of this module's API too
    "JPEG_QUALITY", "LONG_EDGE", "MAX_DECODE_PIXELS", "MAX_INPUT_BYTES", "MAX_PIXELS",
    "STORED_MAX_PIXELS", "THUMB_EDGE", "THUMB_QUALITY", "PhotoError", "ProcessedPhoto",
    "check_stored_photo", "import_photo", "make_thumbnail", "photo_paths", "process_photo",
    "public_jpeg", "store_photo", "verify_sha256",
]

# Formats we decode. MPO: many phones (Samsung, some iPhones) write JPEG+MPO multi-picture files.
ALLOWED_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP", "TIFF", "AVIF")


# What Pillow's parsers and decoders raise for a broken file.
_BROKEN = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError)

# EXIF tags (numbers from the EXIF 2.3 spec).
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 0x9003
_OFFSET_TIME_ORIGINAL = 0x9011
_DATETIME = 0x0132


# --------------------------------------------------------------------------- reading input


def _formats() -> tuple[str, ...]:
    """ALLOWED_FORMATS that this Pillow build can read (MPO/AVIF register lazily)."""
    Image.init()
    return tuple(f for f in ALLOWED_FORMATS if f in Image.OPEN)


def _open(data: bytes, max_pixels: int, target_long_edge: int = LONG_EDGE) -> Image.Image:
    """Open (header only) and check format and pixel counts (``check_size``: the header's,
    and what decoding for ``target_long_edge`` will produce); no pixels are decoded here."""
    try:
        with warnings.catch_warnings():
            # Pillow warns between its own limit and 2x it; our max_pixels check below decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=_formats())
    except Image.DecompressionBombError as exc:
        # Pillow's own hard limit (2x MAX_IMAGE_PIXELS) fired while reading the header.
        m = re.search(r"\((\d+) pixels\)", str(exc))
        limit = min(max_pixels, 2 * (Image.MAX_IMAGE_PIXELS or max_pixels))
        raise bomb(int(m.group(1)) if m else 0, limit) from None
    except UnidentifiedImageError:
        fmt = sniff_unsupported(data) or _identify_other(data)
        if fmt:
            raise photo_error("unsupported", format=fmt) from None
        raise photo_error("not_image") from None
    except _BROKEN as exc:  # the header parsed as an image format but is broken
        raise photo_error("corrupt", detail=str(exc) or type(exc).__name__) from None
    try:
        check_size(im.format or "", *im.size, target_long_edge, max_pixels)
    except PhotoError:
        im.close()
        raise
    return im


def _identify_other(data: bytes) -> str | None:
    """Which other format Pillow recognises (header only), e.g. ICO or PSD; None if none."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(io.BytesIO(data)) as im:
                return im.format
    except Exception:  # noqa: BLE001 - any failure just means "not an image we know"
        return None


def _decode(im: Image.Image, target_long_edge: int) -> Image.Image:
    """Decode pixels (JPEG at a reduced DCT scale when that still covers the target size)."""
    w, h = im.size
    if im.format in ("JPEG", "MPO") and max(w, h) > target_long_edge:
        scale = target_long_edge / max(w, h)
        # draft() keeps the decoded size >= the requested size, so quality does not drop.
        im.draft(im.mode if im.mode in ("RGB", "L", "CMYK") else "RGB",
                 (max(1, int(w * scale + 0.999)), max(1, int(h * scale + 0.999))))
    try:
        im.load()
    except _BROKEN as exc:  # "image file is truncated", "broken data stream", bad Huffman tables ...
        raise photo_error("corrupt", detail=str(exc) or type(exc).__name__) from None
    return im


# --------------------------------------------------------------------------- pixels


def _oriented(im: Image.Image) -> Image.Image:
    try:
        out = ImageOps.exif_transpose(im)
    except Exception:  # noqa: BLE001 - broken EXIF must not lose the photo; keep it unrotated
        return im
    return out if out is not None else im


def _to_srgb(im: Image.Image) -> Image.Image:
    """Convert any mode to RGB; embedded colour profiles (Display P3 ...) are converted to sRGB
    because the stored JPEG carries no profile."""
    icc = im.info.get("icc_profile")
    mode = im.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        # 16/32-bit grey: convert("L") would clip everything above 255 to white; scale the
        # 16-bit range (0..65535) down instead. 32-bit data beyond that is scaled by its maximum.
        hi = im.getextrema()[1] or 0
        if mode.startswith("I;16") or 255 < hi <= 65535:
            factor = 255.0 / 65535.0
        elif hi > 65535:
            factor = 255.0 / hi
        else:
            factor = 1.0
        im = im.convert("F").point(lambda v: v * factor).convert("L")
        mode = "L"
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode in ("LA", "PA", "La", "RGBa"):
        im = im.convert("RGBA")
    elif mode == "RGBA" or mode == "RGB":
        pass
    elif mode == "CMYK" and icc:
        pass  # the profile conversion below handles CMYK -> sRGB properly
    else:
        im = im.convert("RGB")
    if icc:
        im = _apply_icc(im, icc)
    if im.mode == "RGBA":
        # Transparent areas become white (black would look like a hole in the photo).
        bg = Image.new("RGB", im.size, (255, 255, 255))
        bg.paste(im, mask=im.getchannel("A"))
        im = bg
    if im.mode != "RGB":
        im = im.convert("RGB")
    return im


def _apply_icc(im: Image.Image, icc: bytes) -> Image.Image:
    try:
        from PIL import ImageCms

        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        dst = ImageCms.createProfile("sRGB")
        out_mode = "RGBA" if im.mode == "RGBA" else "RGB"
        if im.mode not in ("RGB", "RGBA", "CMYK", "L"):
            im = im.convert("RGB")
        converted = ImageCms.profileToProfile(im, src, dst, outputMode=out_mode)
        return converted if converted is not None else im
    except Exception:  # noqa: BLE001 - an odd profile only costs colour accuracy, not the photo
        return im.convert("RGB") if im.mode == "CMYK" else im


def _fit(im: Image.Image, long_edge: int) -> Image.Image:
    size = fit_size(*im.size, long_edge)
    if size == im.size:
        return im  # never upscale
    # reducing_gap: a cheap box pre-shrink before Lanczos; output stays deterministic.
    return im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _encode(im: Image.Image, quality: int) -> bytes:
    # A fresh image: no info dict, so Pillow writes no comment/XMP/ICC/EXIF from the source.
    clean = Image.new("RGB", im.size)
    clean.paste(im)
    buf = io.BytesIO()
    clean.save(buf, "JPEG", quality=quality, optimize=True, progressive=True)
    return buf.getvalue()


def _taken_at(im: Image.Image) -> str | None:
    """EXIF DateTimeOriginal (with OffsetTimeOriginal when present) as ISO 8601, else None."""
    try:
        exif = im.getexif()
        sub = exif.get_ifd(_EXIF_IFD)
        raw = sub.get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
        offset = sub.get(_OFFSET_TIME_ORIGINAL)
    except Exception:  # noqa: BLE001 - unreadable EXIF: the time is simply unknown
        return None
    if not isinstance(raw, str):
        return None
    try:
        dt = datetime.strptime(raw.strip("\x00 ").strip(), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None  # "0000:00:00 00:00:00" and other junk cameras write
    iso = dt.isoformat()
    if isinstance(offset, str) and re.fullmatch(r"[+-]\d\d:\d\d", offset.strip("\x00 ")):
        iso += offset.strip("\x00 ")
    return iso


# --------------------------------------------------------------------------- public API


def process_photo(
    data: bytes | Path,
    *,
    max_input_bytes: int = MAX_INPUT_BYTES,
    max_pixels: int = MAX_PIXELS,
) -> ProcessedPhoto:
    """Turn picked bytes (or a file) into the stored JPEG and its thumbnail.

    Raises PhotoError (code: empty, too_large, unreadable, not_image, unsupported, bomb,
    corrupt) with a message for people. Writes nothing."""
    raw = read_input(data, max_input_bytes)
    with _open(raw, max_pixels) as src:
        taken_at = _taken_at(src)
        im = _decode(src, LONG_EDGE)
        im = _oriented(im)
        im = _to_srgb(im)
        im = _fit(im, LONG_EDGE)
        jpeg = _encode(im, JPEG_QUALITY)
        width, height = im.size
    thumb, tw, th = _thumbnail(jpeg)
    return ProcessedPhoto(
        sha256=hashlib.sha256(jpeg).hexdigest(), jpeg=jpeg, thumb=thumb,
        width=width, height=height, thumb_width=tw, thumb_height=th,
        taken_at=taken_at, bytes_in=len(raw),
    )


def _thumbnail(data: bytes, max_pixels: int = MAX_PIXELS) -> tuple[bytes, int, int]:
    raw = read_input(data, MAX_INPUT_BYTES)
    with _open(raw, max_pixels, THUMB_EDGE) as src:
        im = _decode(src, THUMB_EDGE)
        im = _oriented(im)  # stored JPEGs have no EXIF; an upload from elsewhere might
        im = _to_srgb(im)
        im = _fit(im, THUMB_EDGE)
        return _encode(im, THUMB_QUALITY), im.size[0], im.size[1]


def make_thumbnail(jpeg_bytes: bytes, max_pixels: int = MAX_PIXELS) -> bytes:
    """The thumbnail (long edge 320 px, JPEG q70) of an image; raises PhotoError if it is not
    one or has more than ``max_pixels`` (checked from the header, before decoding)."""
    return _thumbnail(jpeg_bytes, max_pixels)[0]


def check_stored_photo(data: bytes) -> tuple[int, int]:
    """(width, height) of bytes that can be a stored photo: a JPEG whose long edge is at most
    LONG_EDGE that decodes completely. What a server accepts as a photo blob; raises
    PhotoError (not_image, unsupported, bomb, corrupt, not_stored) otherwise."""
    raw = read_input(data, MAX_INPUT_BYTES)
    with _open(raw, STORED_MAX_PIXELS) as im:
        if im.format != "JPEG":
            raise photo_error("not_stored", edge=LONG_EDGE)
        w, h = im.size
        if max(w, h) > LONG_EDGE:
            raise photo_error("not_stored", edge=LONG_EDGE)
        _decode(im, LONG_EDGE)  # a truncated or broken file fails here (cheap: <= 2.6 MP)
        return w, h


def public_jpeg(data: bytes, max_pixels: int = STORED_MAX_PIXELS) -> bytes:
    """The image rebuilt from its pixels (decoded, re-encoded, nothing else kept: no EXIF,
    XMP, comment, ICC or trailing bytes), for showing to the public. Raises PhotoError."""
    return process_photo(data, max_pixels=max_pixels).jpeg


def verify_sha256(data: bytes, sha: str) -> bool:
    """True when sha is the lowercase/uppercase hex sha256 of data."""
    if not isinstance(sha, str) or not is_sha256(sha.lower()):
        return False
    return hmac.compare_digest(hashlib.sha256(data).hexdigest(), sha.lower())


def photo_paths(photos_dir: Path, sha256: str) -> tuple[Path, Path]:
    """(photo, thumbnail) file paths for a sha256 under photos_dir."""
    if not is_sha256(sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return photos_dir / f"{sha256}.jpg", photos_dir / f"{sha256}.thumb.jpg"


def _has(path: Path, data: bytes) -> bool:
    try:
        return path.read_bytes() == data
    except OSError:
        return False


def store_photo(processed: ProcessedPhoto, photos_dir: Path) -> Path:
    """Write ``<sha256>.jpg`` and ``<sha256>.thumb.jpg`` atomically; returns the photo's path.

    Idempotent: files already holding the right bytes are left alone (a damaged one is
    rewritten). The thumbnail is written first, so a present photo always has its thumbnail."""
    if not verify_sha256(processed.jpeg, processed.sha256):
        raise ValueError("ProcessedPhoto.sha256 does not match its jpeg bytes")
    photos_dir = Path(photos_dir)
    photos_dir.mkdir(parents=True, exist_ok=True)
    photo, thumb = photo_paths(photos_dir, processed.sha256)
    # atomic_write_bytes fsyncs the folder after each rename: the thumbnail's rename is
    # durable before the photo's, so a power cut cannot leave a photo without its thumbnail.
    if not _has(thumb, processed.thumb):
        atomic_write_bytes(thumb, processed.thumb)
    if not _has(photo, processed.jpeg):
        atomic_write_bytes(photo, processed.jpeg)
    return photo


def import_photo(
    data: bytes | Path,
    photos_dir: Path,
    *,
    max_input_bytes: int = MAX_INPUT_BYTES,
    max_pixels: int = MAX_PIXELS,
) -> tuple[ProcessedPhoto, Path]:
    """process_photo then store_photo; on refusal (PhotoError) nothing is written."""
    processed = process_photo(data, max_input_bytes=max_input_bytes, max_pixels=max_pixels)
    return processed, store_photo(processed, photos_dir)
