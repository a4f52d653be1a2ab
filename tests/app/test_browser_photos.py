"""The browser's photo pipeline (app.browser_photos), the part that runs in CPython: the header
it reads before any pixel is decoded agrees with Pillow, and it refuses what sync.photos
refuses before decoding, with the same code and message. (The decoding and encoding run in a
real browser: tests/browser/test_phone_photos.py.)"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from app import browser_photos
from sync import i18n, photos
from sync.photo_contract import read_input
from tests.sync.photo_samples import exif_bytes, jpeg, marked_image, png, png_bomb

# Refused before any pixel is decoded (a truncated file is refused by the decoder: the
# browser test covers that).
REFUSED = {
    "text": lambda: "这是一段文字，不是照片\n".encode() * 20,
    "zip": lambda: b"PK\x03\x04" + b"\x00" * 200,
    "empty": lambda: b"",
    "too_large": lambda: b"\xff\xd8\xff" + b"\x00" * photos.MAX_INPUT_BYTES,
    "heic": lambda: b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 200,
    "pdf": lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n" + b" " * 100,
    "svg": lambda: b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>',
    "ico": lambda: _saved(marked_image((32, 32)), "ICO"),
    "bomb_png_header": lambda: png_bomb(50000, 50000),
}


@pytest.fixture(autouse=True)
def chinese():
    before = i18n.language()
    i18n.set_language("zh")
    yield
    i18n.set_language(before)


def _saved(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


SAMPLES = {
    "jpeg_exif": lambda: jpeg(marked_image((1203, 901)), exif=exif_bytes(orientation=6)),
    "jpeg_progressive": lambda: jpeg(marked_image((640, 479)), progressive=True),
    "png": lambda: png(marked_image((333, 4001))),
    "gif": lambda: _saved(marked_image((300, 200)).convert("P"), "GIF"),
    "bmp": lambda: _saved(marked_image((257, 129)), "BMP"),
    "webp_lossy": lambda: _saved(marked_image((1001, 703)), "WEBP", quality=80),
    "webp_lossless": lambda: _saved(marked_image((513, 257)), "WEBP", lossless=True),
    "webp_alpha": lambda: _saved(marked_image((401, 203), "RGBA"), "WEBP", quality=80),
    "avif": lambda: _saved(marked_image((640, 360)), "AVIF"),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_header_size_and_format_agree_with_pillow(name: str) -> None:
    data = SAMPLES[name]()
    with Image.open(io.BytesIO(data)) as im:
        expected = (im.format if im.format != "MPO" else "JPEG", *im.size)
    assert browser_photos.check_header(data) == expected


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_before_decoding_with_the_pc_message(case: str) -> None:
    data = REFUSED[case]()
    with pytest.raises(photos.PhotoError) as pc:
        photos.process_photo(data)
    with pytest.raises(photos.PhotoError) as here:
        browser_photos.check_header(read_input(data))  # what process_photo does first
    assert (here.value.code, str(here.value)) == (pc.value.code, str(pc.value))


def test_a_bomb_just_over_the_cap_and_a_huge_jpeg_are_judged_as_on_a_pc() -> None:
    with pytest.raises(photos.PhotoError) as info:
        browser_photos.check_header(png_bomb(11000, 11000))  # 121 MP
    assert info.value.code == "bomb"
    # a 108 MP phone JPEG (header only) is taken: it decodes at a reduced scale
    im = jpeg(marked_image((1200, 900)))
    sof = im.index(b"\xff\xc0")
    big = im[:sof + 5] + (9000).to_bytes(2, "big") + (12000).to_bytes(2, "big") + im[sof + 9:]
    assert browser_photos.check_header(big) == ("JPEG", 12000, 9000)


def test_tiff_is_taken_on_a_pc_but_not_decoded_by_browsers() -> None:
    data = _saved(marked_image((64, 48)), "TIFF")
    assert photos.process_photo(data).width == 64
    with pytest.raises(photos.PhotoError) as info:
        browser_photos.check_header(data)
    assert info.value.code == "unsupported" and "TIFF" in str(info.value)


def test_a_broken_jpeg_header_is_corrupt() -> None:
    with pytest.raises(photos.PhotoError) as info:
        browser_photos.check_header(b"\xff\xd8\xff\xe0\x00\x10JFIF" + b"\x00" * 5)
    assert info.value.code == "corrupt"


def test_bare_jpeg_drops_exif_icc_and_comments_and_keeps_the_pixels() -> None:
    from tests.sync.photo_samples import jpeg_markers

    im = marked_image((320, 240))
    icc = b"\0" * 400  # only its bytes matter here: the segment must go
    data = jpeg(im, exif=exif_bytes(orientation=6), icc_profile=icc, comment=b"taken by GP-1")
    assert {0xE1, 0xE2, 0xFE} <= set(jpeg_markers(data))
    bare = browser_photos.bare_jpeg(data)
    assert set(jpeg_markers(bare)) <= {0xE0, 0xDB, 0xC4, 0xC0, 0xDA}
    with Image.open(io.BytesIO(data)) as a, Image.open(io.BytesIO(bare)) as b:
        assert a.convert("RGB").tobytes() == b.convert("RGB").tobytes()
        assert not b.getexif() and "icc_profile" not in b.info
