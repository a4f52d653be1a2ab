"""Browser journeys at 390x844 with no internet: first paint with Chinese glyphs from the
bundled font, a visit with a photo and an issue recorded, both still there after a restart."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tests.support.browser import AppServer, Phone

pytestmark = pytest.mark.browser


def _region(png: Path, box: tuple[int, int, int, int]) -> Image.Image:
    return Image.open(png).convert("L").crop(box)


def _dark_pixels(im: Image.Image) -> int:
    return sum(1 for v in im.get_flattened_data() if v < 100)


def test_first_paint_offline_renders_chinese_with_the_bundled_font(browser, assets, tmp_path):
    server = AppServer(tmp_path / "data", assets, demo=True).start()
    try:
        phone = Phone(browser).open(server.url)
        font = [u for u in phone.responses if "/fonts/NotoSansSC-gridwall." in u]
        assert font and phone.responses[font[0]] == 200, phone.requests
        # nothing left the machine: every request off 127.0.0.1 was refused and none was needed
        assert all(u.startswith("http://127.0.0.1") for u in phone.responses), phone.responses
        assert phone.page.get_by_role("heading", name="今日工作").count() == 1
        assert phone.page.get_by_role("tab", name="问题墙").count() == 1
        with_font = phone.shot("home")
        _tour(phone)
        phone.close()
        # the same screen with the font refused: glyphs cannot be drawn (tofu or nothing)
        tofu = Phone(browser, block=("/fonts/NotoSansSC-gridwall.",)).open(server.url)
        tofu_png = tmp_path / "tofu.png"
        tofu.page.screenshot(path=str(tofu_png))
        tofu.close()
        title = (20, 20, 240, 100)  # the app bar title "今日工作", in device pixels
        a, b = _region(with_font, title), _region(tofu_png, title)
        assert _dark_pixels(a) > 300  # real strokes in the title
        diff = sum(1 for x, y in zip(a.get_flattened_data(), b.get_flattened_data(), strict=True) if abs(x - y) > 60)
        assert diff > 300, "the title looks the same without the CJK font"
    finally:
        server.stop()


def _tour(phone: Phone) -> None:
    """Screenshots of the main screens on the demo grid (docs/screenshots, used by the README)."""
    page = phone.page
    phone.tap("tab", "住户")
    page.get_by_role("heading", name="住户").wait_for()
    phone.shot("households")
    page.get_by_role("button").filter(has_text="上次走访").first.click()
    page.get_by_role("heading", name="住户详情").wait_for()
    phone.shot("household-detail")
    phone.tap("button", "返回")
    phone.tap("tab", "问题墙")
    page.get_by_role("heading", name="问题墙").wait_for()
    phone.shot("issue-wall")
    phone.tap("tab", "同步")
    page.get_by_role("heading", name="同步").wait_for()
    phone.shot("sync")
    phone.tap("button", "设置")
    phone.tap("checkbox", "English")  # a selectable chip
    page.get_by_role("heading", name="Settings").wait_for()
    phone.shot("settings-en")
    phone.tap("checkbox", "中文")
    page.get_by_role("heading", name="设置").wait_for()


def _jpeg(path: Path) -> Path:
    im = Image.new("RGB", (1200, 900), (70, 120, 200))
    for x in range(0, 1200, 60):
        for y in range(900):
            im.putpixel((x, y), (250, 250, 250))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=90)
    path.write_bytes(buf.getvalue())
    return path


def test_visit_with_photo_and_issue_persist_across_restart(browser, assets, tmp_path):
    from app.services import Services

    data = tmp_path / "data"
    svc = Services.open(data)
    hid, errors = svc.save_household({"head": "王建国", "address": "东风村3组12号"})
    assert not errors
    svc.close()
    photo = _jpeg(tmp_path / "roof.jpg")

    server = AppServer(data, assets).start()
    try:
        phone = Phone(browser).open(server.url)
        page = phone.page
        phone.tap("tab", "走访")
        phone.tap("button", "记走访")
        page.get_by_role("textbox", name="走访住户 *").wait_for()
        phone.type_into("走访住户 *", "wjg")
        phone.tap("button", "王建国")
        phone.type_into("看到的情况", "屋顶漏雨，墙面潮湿")
        with page.expect_file_chooser() as chooser:
            page.get_by_role("button", name="拍照 / 选照片").click()
        chooser.value.set_files(str(photo))
        # uploaded to our server, processed, thumbnail shown with its remove button
        phone.wait_for("button", "移除 1")
        phone.shot("visit-form")
        phone.tap("button", "保存走访")
        page.get_by_role("heading", name="走访详情").wait_for(timeout=30_000)
        phone.shot("visit-detail")
        phone.tap("button", "返回")
        phone.tap("tab", "问题墙")
        phone.tap("button", "报问题")
        phone.type_into("标题 *", "村口路灯不亮")
        phone.tap("button", "提交到问题墙")
        page.get_by_role("heading", name="问题详情").wait_for(timeout=30_000)
        phone.shot("issue-detail")
        phone.close()
    finally:
        server.stop()

    svc = Services.open(data)  # the server process is gone: read what it wrote
    try:
        [visit] = svc.visits()
        assert visit["household"] == hid and visit["seen"] == "屋顶漏雨，墙面潮湿"
        assert len(visit["photos"]) == 1 and svc.photo(visit["photos"][0])
        assert [i["title"] for i in svc.issues()] == ["村口路灯不亮"]
        assert not list((data / "uploads").rglob("*.jpg"))  # upload copies cleaned up
    finally:
        svc.close()

    server = AppServer(data, assets).start()
    try:
        phone = Phone(browser).open(server.url)
        phone.tap("tab", "走访")
        assert phone.page.get_by_role("button", name="王建国").count() >= 1
        phone.tap("tab", "问题墙")
        phone.page.get_by_role("button", name="村口路灯不亮").first.wait_for(timeout=15_000)
        phone.close()
    finally:
        server.stop()
