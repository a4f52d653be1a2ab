"""Photos and location in the phone's browser build (Pyodide, no Pillow): a real camera-sized
photo (4000x3000 JPEG, EXIF orientation 6, GPS tags) picked through the app's photo flow is
stored oriented, 1600 px, with a 320 px thumbnail, no metadata, named by the sha256 of its
bytes; a non-image is refused with the PC's message; an issue saved with the position the
browser gives carries it, and one saved with the permission refused saves without it."""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from sync import i18n
from sync import photos as pc_photos
from tests.support.browser import CentralServer, Phone
from tests.sync.photo_samples import EXIF_IFD, GPS_IFD, exif_bytes, jpeg_markers

pytestmark = pytest.mark.browser

# Every file under a prefix of the app's IndexedDB mount (Emscripten IDBFS: one database named
# after the mount point, one object store, a record per path with its bytes in `contents`).
IDB_FILES = """async (prefix) => {
  const req = indexedDB.open("/gridwall");
  const db = await new Promise((ok, no) => { req.onsuccess = () => ok(req.result); req.onerror = () => no(req.error); });
  const store = db.transaction("FILE_DATA", "readonly").objectStore("FILE_DATA");
  const ask = (r) => new Promise((ok, no) => { r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
  const out = {};
  for (const key of await ask(store.getAllKeys())) {
    if (!key.startsWith(prefix)) continue;
    const v = await ask(store.get(key));
    if (!v || !v.contents) continue;
    const b = new Uint8Array(v.contents); let s = "";
    for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode.apply(null, b.subarray(i, i + 0x8000));
    out[key] = btoa(s);
  }
  db.close();
  return out;
}"""
PHOTOS = "/gridwall/data/photos/"


def camera_photo(path: Path) -> Path:
    """A 4000x3000 JPEG as a phone writes it lying on its side: EXIF orientation 6 (turn 90°
    clockwise to show), GPS tags, a red block in the stored top-left corner."""
    im = Image.new("RGB", (4000, 3000), (30, 90, 200))
    im.paste((255, 0, 0), (0, 0, 1000, 750))
    # sensor noise, so the JPEG is as big as a camera's (MBs)
    im = Image.blend(im, Image.effect_noise((4000, 3000), 40).convert("RGB"), 0.25)
    im.save(path, "JPEG", quality=92, exif=exif_bytes(orientation=6))
    assert path.stat().st_size > 1_000_000
    return path


def _stored(phone: Phone) -> dict[str, bytes]:
    files = phone.page.evaluate(IDB_FILES, PHOTOS)
    return {k[len(PHOTOS):]: base64.b64decode(v) for k, v in files.items()}


def _no_metadata(data: bytes) -> None:
    # only JFIF (APP0), tables, frame and scan: no APP1 (EXIF/XMP), APP2 (ICC), COM
    assert set(jpeg_markers(data)) <= {0xE0, 0xDB, 0xC4, 0xC0, 0xC2, 0xDD, 0xDA}, jpeg_markers(data)
    assert b"Exif" not in data and b"GPS" not in data
    with Image.open(io.BytesIO(data)) as im:
        exif = im.getexif()
        assert not exif and not exif.get_ifd(GPS_IFD) and not exif.get_ifd(EXIF_IFD)
        assert "icc_profile" not in im.info


def _pick(phone: Phone, path: Path) -> None:
    with phone.page.expect_file_chooser() as chooser:
        phone.page.get_by_role("button", name="拍照 / 选照片").click()
    # an image chooser: on a phone's browser it offers the camera as well as the gallery
    assert chooser.value.element.get_attribute("accept") == "image/*"
    chooser.value.set_files(str(path))


def test_a_camera_photo_is_stored_oriented_small_and_clean_and_a_non_image_is_refused(
        browser, central: CentralServer, tmp_path: Path) -> None:
    photo = camera_photo(tmp_path / "IMG_20261201_101500.jpg")
    text = tmp_path / "notes.jpg"
    text.write_bytes("这是一段文字，不是照片\n".encode() * 50)
    phone = Phone(browser)
    page = phone.page
    try:
        phone.open(f"{central.url}/app/")
        phone.tap("tab", "问题墙")
        phone.tap("button", "报问题")
        phone.type_into("标题 *", "路边电线杆倾斜")

        # a non-image is refused with the message a PC gives
        _pick(phone, text)
        before = i18n.language()
        i18n.set_language("zh")
        try:
            with pytest.raises(pc_photos.PhotoError) as pc:
                pc_photos.process_photo(text.read_bytes())
        finally:
            i18n.set_language(before)
        refusal = f"notes.jpg: {pc.value}"
        page.locator(f'flt-semantics:has-text("{refusal}"), [aria-label="{refusal}"]').first.wait_for(timeout=60_000)
        page.mouse.move(195, 500)
        page.mouse.wheel(0, 3000)  # down to the photo strip
        phone.shot("phone-photo-refused")

        _pick(phone, photo)
        phone.wait_for("button", "移除 1", timeout_s=120)
        page.mouse.move(195, 500)
        page.mouse.wheel(0, 3000)  # down to the photo strip
        phone.shot("phone-photo-form", expect=(("button", "移除 1"),))
        phone.tap("button", "提交到问题墙")
        page.get_by_role("heading", name="问题详情").wait_for(timeout=30_000)  # after the flush
        phone.shot("phone-photo-issue")

        stored = _stored(phone)
        names = sorted(stored)
        assert len(names) == 2, names  # one photo and its thumbnail
        sha = names[0].removesuffix(".jpg")
        assert names == [f"{sha}.jpg", f"{sha}.thumb.jpg"]
        big, thumb = stored[f"{sha}.jpg"], stored[f"{sha}.thumb.jpg"]
        assert hashlib.sha256(big).hexdigest() == sha  # named by the sha256 of its bytes
        with Image.open(io.BytesIO(big)) as im:
            assert im.format == "JPEG" and im.size == (1200, 1600)  # turned upright, long edge 1600
            rgb = im.convert("RGB")
            # orientation 6: the stored top-left corner shows at the top right
            r, g, b = rgb.getpixel((1200 - 20, 20))
            assert r > 200 and g < 60 and b < 60, (r, g, b)
            r, g, b = rgb.getpixel((20, 20))
            assert b > 150 and r < 80, (r, g, b)
        with Image.open(io.BytesIO(thumb)) as im:
            assert im.format == "JPEG" and im.size == (240, 320)
        _no_metadata(big)
        _no_metadata(thumb)
        # the stored photo passes the server's check of a photo blob
        assert pc_photos.check_stored_photo(big) == (1200, 1600)
    finally:
        phone.close()


def _text_shown(phone: Phone, text: str) -> Any:
    return phone.page.locator(f'flt-semantics:has-text("{text}"), [aria-label*="{text}"]')


def test_a_visit_carries_the_browsers_position_and_without_permission_saves_without(
        browser, central: CentralServer) -> None:
    app = f"{central.url}/app/"
    phone = Phone(browser)
    page = phone.page
    phone.ctx.grant_permissions(["geolocation"], origin=central.url)
    phone.ctx.set_geolocation({"latitude": 30.252678, "longitude": 120.168742, "accuracy": 12})
    try:
        phone.open(app)
        phone.tap("tab", "住户")
        phone.tap("button", "新增住户")
        phone.type_into("户主姓名 *", "王建国")
        phone.type_into("门牌地址 *", "东风村3组12号")
        phone.tap("button", "保存")
        phone.tap("button", "记走访")
        phone.type_into("看到的情况", "屋顶漏雨，墙面潮湿")
        phone.tap("button", "保存走访")
        page.get_by_role("heading", name="走访详情").wait_for(timeout=30_000)
        phone.shot("phone-visit-location")
        _text_shown(phone, "位置 30.25268, 120.16874（误差约 12 米）").first.wait_for(timeout=10_000)
    finally:
        phone.close()

    refused = Phone(browser)  # no permission granted: the browser says no
    try:
        refused.open(app)
        refused.tap("tab", "问题墙")
        refused.tap("button", "报问题")
        refused.type_into("标题 *", "村口路灯不亮")
        refused.tap("button", "提交到问题墙")
        refused.page.get_by_role("heading", name="问题详情").wait_for(timeout=30_000)
        assert _text_shown(refused, "村口路灯不亮").count()
        assert _text_shown(refused, "位置").count() == 0
        refused.shot("phone-issue-no-location")
    finally:
        refused.close()
