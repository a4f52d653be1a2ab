"""Bad input is refused with its own clear message, and nothing is written anywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from photo_samples import exif_bytes, jpeg, marked_image, png, png_bomb

from sync import i18n, photos


@pytest.fixture(autouse=True)
def chinese():
    before = i18n.language()
    i18n.set_language("zh")
    yield
    i18n.set_language(before)


def _good_jpeg() -> bytes:
    return jpeg(marked_image((1200, 900)), exif=exif_bytes(orientation=6))


def _truncated_jpeg() -> bytes:
    data = _good_jpeg()
    return data[: len(data) // 2]  # a copy cut off half way


def _truncated_png() -> bytes:
    data = png(marked_image((600, 400)))
    return data[: len(data) // 2]


def _heic_header() -> bytes:
    return b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 200


CASES = {
    # name: (data, code, a phrase the Chinese message must contain)
    "text": (lambda: "这是一段文字，不是照片\n".encode() * 20, "not_image", "这不是图片文件"),
    "zip": (lambda: b"PK\x03\x04" + b"\x00" * 200, "not_image", "请选择 JPG 或 PNG"),
    "truncated_jpeg": (_truncated_jpeg, "corrupt", "已损坏或不完整"),
    "truncated_png": (_truncated_png, "corrupt", "已损坏或不完整"),
    "bomb_png_header": (lambda: png_bomb(50000, 50000), "bomb", "像素太多"),
    "empty": (lambda: b"", "empty", "文件是空的"),
    "heic": (_heic_header, "unsupported", "HEIC"),
    "pdf": (lambda: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n" + b" " * 100, "unsupported", "PDF"),
}


def _listing(d: Path) -> list[tuple[str, int]]:
    return sorted((str(p.relative_to(d)), p.stat().st_size) for p in d.rglob("*"))


@pytest.fixture
def photos_dir(tmp_path: Path) -> Path:
    """A photos dir that already holds one photo, so 'untouched' is a real comparison."""
    d = tmp_path / "photos"
    photos.import_photo(png(marked_image((320, 240))), d)
    return d


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_refused_and_nothing_is_written(case: str, photos_dir: Path) -> None:
    make, code, phrase = CASES[case]
    data = make()
    before = _listing(photos_dir)
    with pytest.raises(photos.PhotoError) as info:
        photos.import_photo(data, photos_dir)
    err = info.value
    assert err.code == code
    assert phrase in str(err) and str(err) == err.message
    assert "Traceback" not in str(err) and "PIL" not in str(err)
    assert _listing(photos_dir) == before
    # The same refusal through the other entry points.
    with pytest.raises(photos.PhotoError) as again:
        photos.process_photo(data)
    assert again.value.code == code
    if code != "empty":
        with pytest.raises(photos.PhotoError):
            photos.make_thumbnail(data)


def test_each_kind_of_refusal_has_its_own_message(photos_dir: Path) -> None:
    messages: dict[str, str] = {}
    for make, code, _ in CASES.values():
        with pytest.raises(photos.PhotoError) as info:
            photos.process_photo(make())
        messages.setdefault(code, str(info.value))
    with pytest.raises(photos.PhotoError) as info:
        photos.process_photo(b"\xff" * 2048, max_input_bytes=1024)
    messages["too_large"] = str(info.value)
    assert set(messages) == {"not_image", "corrupt", "bomb", "empty", "unsupported", "too_large"}
    assert len(set(messages.values())) == len(messages)
    for text in messages.values():
        assert "请" in text  # every message says what to do


def test_too_large_bytes_refused_before_decoding(photos_dir: Path) -> None:
    before = _listing(photos_dir)
    big = _good_jpeg() + b"\0" * (photos.MAX_INPUT_BYTES + 1)  # a valid JPEG with a huge tail
    with pytest.raises(photos.PhotoError) as info:
        photos.import_photo(big, photos_dir)
    assert info.value.code == "too_large"
    assert "30.0 MB" in str(info.value) and "文件太大" in str(info.value)
    assert _listing(photos_dir) == before


def test_too_large_file_path_refused(tmp_path: Path, photos_dir: Path) -> None:
    f = tmp_path / "huge.jpg"
    f.write_bytes(_good_jpeg())
    before = _listing(photos_dir)
    with pytest.raises(photos.PhotoError) as info:
        photos.import_photo(f, photos_dir, max_input_bytes=1000)
    assert info.value.code == "too_large"
    assert _listing(photos_dir) == before


def test_missing_file_path_refused_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(photos.PhotoError) as info:
        photos.process_photo(tmp_path / "IMG_404.jpg")
    assert info.value.code == "unreadable" and "IMG_404.jpg" in str(info.value)


def test_pixel_cap_applies_to_real_images_below_pillows_limit(photos_dir: Path) -> None:
    """A genuine 4 MP PNG with max_pixels=1 MP: our own check refuses it before decoding."""
    data = png(marked_image((2000, 2000)))
    before = _listing(photos_dir)
    with pytest.raises(photos.PhotoError) as info:
        photos.import_photo(data, photos_dir, max_pixels=1_000_000)
    assert info.value.code == "bomb" and "4.0" in str(info.value)
    assert _listing(photos_dir) == before
    assert photos.process_photo(data, max_pixels=4_000_000).width == 1600  # at the cap: fine


@pytest.mark.parametrize(("w", "h"), [(10950, 10950), (7000, 7000), (40000, 1001)])
def test_png_under_the_pixel_cap_but_over_the_decode_budget_is_refused(w: int, h: int) -> None:
    """A tiny PNG declaring ~120 MP (under MAX_PIXELS) decodes whole (no JPEG draft): it
    would take ~700 MB. Refused from its header, by the pipeline and the thumbnailer."""
    assert w * h <= photos.MAX_PIXELS and w * h > photos.MAX_DECODE_PIXELS
    for make in (photos.process_photo, photos.make_thumbnail):
        with pytest.raises(photos.PhotoError) as info:
            make(png_bomb(w, h))
        assert info.value.code == "bomb"


def test_large_phone_jpeg_is_still_taken() -> None:
    """A JPEG decodes at a reduced scale (1/4 here): 108 MP costs ~7 MP, within the budget."""
    from sync.photo_contract import decoded_pixels

    assert decoded_pixels("PNG", 12000, 9000, photos.LONG_EDGE) == 108_000_000  # not a JPEG: whole
    assert decoded_pixels("JPEG", 12000, 9000, photos.LONG_EDGE) == 3000 * 2250 < photos.MAX_DECODE_PIXELS


def test_bomb_just_over_the_default_cap_is_refused() -> None:
    # 11000 x 11000 = 121 MP: above our 120 MP cap but below Pillow's own hard limit.
    with pytest.raises(photos.PhotoError) as info:
        photos.process_photo(png_bomb(11000, 11000))
    assert info.value.code == "bomb"


def test_messages_follow_the_language() -> None:
    i18n.set_language("en")
    with pytest.raises(photos.PhotoError) as info:
        photos.process_photo(b"not a photo at all")
    assert str(info.value) == "This is not an image file; choose a JPG or PNG photo"


def test_an_image_format_we_do_not_take_is_named() -> None:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32, 32), (1, 2, 3)).save(buf, "ICO")
    with pytest.raises(photos.PhotoError) as info:
        photos.process_photo(buf.getvalue())
    assert info.value.code == "unsupported" and "ICO" in str(info.value)
