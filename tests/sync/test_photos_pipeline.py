"""The photo pipeline: orientation, metadata stripping, sizes, colour modes, hashing, storing."""

from __future__ import annotations

import hashlib
import io
import os
import struct
from pathlib import Path

import pytest
from photo_samples import (
    BLUE,
    exif_bytes,
    is_blue,
    is_red,
    jpeg,
    jpeg_markers,
    marked_image,
    pixel_near,
    png,
)
from PIL import Image, ImageCms

from sync import photos

# JPEG header segments a clean output may contain: APP0 (JFIF), quantisation and Huffman
# tables, frame headers, restart interval, start of scan. No APP1 (EXIF/XMP), APP2 (ICC),
# APP13 (IPTC), COM ...
CLEAN_MARKERS = {0xE0, 0xDB, 0xC4, 0xC0, 0xC1, 0xC2, 0xDD, 0xDA}


def open_jpeg(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    assert im.format == "JPEG"
    im.load()
    return im


def assert_no_metadata(data: bytes) -> None:
    markers = jpeg_markers(data)
    assert set(markers) <= CLEAN_MARKERS, [hex(m) for m in markers]
    assert b"Exif" not in data and b"GridPhone" not in data and b"ICC_PROFILE" not in data
    im = open_jpeg(data)
    assert dict(im.getexif()) == {}
    assert "icc_profile" not in im.info and "exif" not in im.info and "comment" not in im.info


def test_phone_jpeg_is_rotated_stripped_resized_and_hashed(tmp_path: Path) -> None:
    # Landscape sensor data with orientation 6: the phone was held upright (portrait).
    src = jpeg(marked_image((3200, 2400)), exif=exif_bytes(orientation=6, gps=True))
    p = photos.process_photo(src)

    assert (p.width, p.height) == (1200, 1600)  # swapped and long edge 1600
    out = open_jpeg(p.jpeg)
    assert out.size == (1200, 1600)
    # Rotating 90 degrees clockwise moves the stored top-left corner to the top-right.
    assert is_red(pixel_near(out, "top-right"))
    assert is_blue(pixel_near(out, "top-left"))
    assert is_blue(pixel_near(out, "bottom-right"))

    assert_no_metadata(p.jpeg)  # no EXIF at all, so no GPS
    assert p.sha256 == hashlib.sha256(p.jpeg).hexdigest()
    assert p.taken_at == "2026-05-01T10:20:30+08:00"
    assert p.bytes_in == len(src)

    assert (p.thumb_width, p.thumb_height) == (240, 320)
    thumb = open_jpeg(p.thumb)
    assert thumb.size == (240, 320)
    assert is_red(pixel_near(thumb, "top-right", inset=4))
    assert_no_metadata(p.thumb)
    assert p.thumb == photos.make_thumbnail(p.jpeg)  # device and server thumbnails agree

    path = photos.store_photo(p, tmp_path / "photos")
    assert path == tmp_path / "photos" / f"{p.sha256}.jpg"
    assert path.read_bytes() == p.jpeg
    assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name.removesuffix(".jpg")
    assert (tmp_path / "photos" / f"{p.sha256}.thumb.jpg").read_bytes() == p.thumb
    assert sorted(os.listdir(tmp_path / "photos")) == sorted(
        [f"{p.sha256}.jpg", f"{p.sha256}.thumb.jpg"])  # no temp files left


# Where the stored top-left corner shows after applying each EXIF orientation.
ORIENTATIONS = {
    1: ("top-left", False), 2: ("top-right", False), 3: ("bottom-right", False),
    4: ("bottom-left", False), 5: ("top-left", True), 6: ("top-right", True),
    7: ("bottom-right", True), 8: ("bottom-left", True),
}


@pytest.mark.parametrize("orientation", sorted(ORIENTATIONS))
def test_every_exif_orientation(orientation: int) -> None:
    corner, swapped = ORIENTATIONS[orientation]
    p = photos.process_photo(jpeg(marked_image((2000, 1000)),
                                  exif=exif_bytes(orientation=orientation)))
    assert (p.width, p.height) == ((800, 1600) if swapped else (1600, 800))
    out = open_jpeg(p.jpeg)
    for c in ("top-left", "top-right", "bottom-left", "bottom-right"):
        assert is_red(pixel_near(out, c)) == (c == corner), (orientation, c)


def test_long_edge_is_1600_and_aspect_kept_for_portrait_png() -> None:
    p = photos.process_photo(png(marked_image((1500, 4500))))
    assert (p.width, p.height) == (533, 1600)
    assert (p.thumb_width, p.thumb_height) == (107, 320)
    assert p.taken_at is None


def test_png_alpha_becomes_white_not_black() -> None:
    im = Image.new("RGBA", (400, 300), (0, 0, 0, 0))  # fully transparent black
    im.paste((255, 0, 0, 255), (0, 0, 100, 75))
    p = photos.process_photo(png(im))
    out = open_jpeg(p.jpeg)
    assert out.mode == "RGB" and out.size == (400, 300)
    assert is_red(pixel_near(out, "top-left"))
    assert min(pixel_near(out, "bottom-right")) > 240  # white
    assert_no_metadata(p.jpeg)


def test_palette_with_transparency_and_grey_alpha() -> None:
    pal = marked_image((200, 100)).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    blue_index = pal.getpixel((199, 99))
    pal.info["transparency"] = blue_index  # the blue part is transparent
    out = open_jpeg(photos.process_photo(png(pal, transparency=blue_index)).jpeg)
    assert is_red(pixel_near(out, "top-left")) and min(pixel_near(out, "bottom-right")) > 240

    la = Image.new("LA", (120, 80), (0, 0))
    la.paste((30, 255), (0, 0, 30, 20))
    out = open_jpeg(photos.process_photo(png(la)).jpeg)
    assert max(pixel_near(out, "top-left", 4)) < 50 and min(pixel_near(out, "bottom-right")) > 240


def test_cmyk_jpeg_becomes_rgb_with_right_colours() -> None:
    cmyk = Image.new("CMYK", (600, 400), (0, 255, 255, 0))  # red in CMYK
    cmyk.paste((255, 255, 0, 0), (300, 200, 600, 400))  # blue in CMYK
    out = open_jpeg(photos.process_photo(jpeg(cmyk)).jpeg)
    assert out.mode == "RGB"
    assert is_red(pixel_near(out, "top-left"))
    r, g, b = pixel_near(out, "bottom-right")
    assert b > 150 and r < 60


def test_16_bit_grey_png_is_scaled_not_clipped() -> None:
    grey = Image.frombytes("I;16", (100, 80), struct.pack("<H", 32896) * (100 * 80))
    p = photos.process_photo(png(grey))
    r, g, b = open_jpeg(p.jpeg).getpixel((50, 40))
    assert 120 <= r <= 136 and r == g == b  # mid grey, not white


def test_icc_profile_is_converted_and_dropped() -> None:
    im = marked_image((300, 200))
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    p = photos.process_photo(jpeg(im, icc_profile=icc))
    assert_no_metadata(p.jpeg)
    assert is_red(pixel_near(open_jpeg(p.jpeg), "top-left"))


def test_tiny_image_is_not_upscaled() -> None:
    p = photos.process_photo(png(marked_image((48, 30))))
    assert (p.width, p.height) == (48, 30)
    assert (p.thumb_width, p.thumb_height) == (48, 30)
    assert open_jpeg(p.thumb).size == (48, 30)


def test_extreme_aspect_ratio_keeps_at_least_one_pixel() -> None:
    p = photos.process_photo(png(Image.new("RGB", (8000, 2), BLUE)))
    assert (p.width, p.height) == (1600, 1)
    assert (p.thumb_width, p.thumb_height) == (320, 1)


def test_same_input_same_bytes_different_input_different_sha(tmp_path: Path) -> None:
    src = jpeg(marked_image((2400, 1800)), exif=exif_bytes(orientation=3))
    a, b = photos.process_photo(src), photos.process_photo(src)
    assert a == b and a.sha256 == b.sha256 and a.jpeg == b.jpeg and a.thumb == b.thumb
    other = photos.process_photo(jpeg(marked_image((2400, 1800)), exif=exif_bytes(orientation=1)))
    assert other.sha256 != a.sha256
    # A file path gives the same result as its bytes.
    f = tmp_path / "IMG_0001.JPG"
    f.write_bytes(src)
    assert photos.process_photo(f) == a


def test_taken_at_absent_or_junk_is_none() -> None:
    none = photos.process_photo(jpeg(marked_image((64, 48)), exif=exif_bytes(taken=None)))
    assert none.taken_at is None
    junk = photos.process_photo(jpeg(marked_image((64, 48)),
                                     exif=exif_bytes(taken="0000:00:00 00:00:00")))
    assert junk.taken_at is None
    no_offset = photos.process_photo(jpeg(marked_image((64, 48)), exif=exif_bytes(offset=None)))
    assert no_offset.taken_at == "2026-05-01T10:20:30"


def test_store_is_idempotent_and_repairs_a_damaged_copy(tmp_path: Path) -> None:
    p = photos.process_photo(png(marked_image((640, 480))))
    d = tmp_path / "photos"
    first = photos.store_photo(p, d)
    inode = first.stat().st_ino
    again = photos.store_photo(p, d)
    assert again == first and again.stat().st_ino == inode  # not rewritten
    first.write_bytes(p.jpeg[:100])  # damaged by hand / a torn copy from elsewhere
    photos.store_photo(p, d)
    assert first.read_bytes() == p.jpeg
    assert len(os.listdir(d)) == 2


def test_store_refuses_a_photo_whose_hash_does_not_match(tmp_path: Path) -> None:
    p = photos.process_photo(png(marked_image((64, 48))))
    bad = photos.ProcessedPhoto(**{**p.__dict__, "sha256": "0" * 64})
    with pytest.raises(ValueError):
        photos.store_photo(bad, tmp_path / "photos")
    assert not (tmp_path / "photos").exists() or os.listdir(tmp_path / "photos") == []


def test_verify_sha256() -> None:
    data = b"photo bytes"
    sha = hashlib.sha256(data).hexdigest()
    assert photos.verify_sha256(data, sha)
    assert photos.verify_sha256(data, sha.upper())
    assert not photos.verify_sha256(data + b"x", sha)
    assert not photos.verify_sha256(data, sha[:-1])
    assert not photos.verify_sha256(data, "../../etc/passwd")


def test_comment_and_xmp_do_not_survive() -> None:
    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
           b'exif:GPSLatitude="30,15.09N"/></rdf:RDF></x:xmpmeta>')
    src = jpeg(marked_image((800, 600)), exif=exif_bytes(orientation=1), comment=b"home of Li Si",
               xmp=xmp)
    assert b"home of Li Si" in src and b"GPSLatitude" in src
    p = photos.process_photo(src)
    assert_no_metadata(p.jpeg)
    assert b"home of Li Si" not in p.jpeg and b"GPSLatitude" not in p.jpeg
    assert b"xmpmeta" not in p.jpeg and b"xmpmeta" not in p.thumb


@pytest.mark.parametrize("fmt", ["WEBP", "GIF", "BMP", "TIFF"])
def test_other_accepted_formats(fmt: str) -> None:
    buf = io.BytesIO()
    marked_image((1800, 900)).save(buf, fmt)
    p = photos.process_photo(buf.getvalue())
    assert (p.width, p.height) == (1600, 800)
    out = open_jpeg(p.jpeg)
    assert is_red(pixel_near(out, "top-left")) and is_blue(pixel_near(out, "bottom-right"))
