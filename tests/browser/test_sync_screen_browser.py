"""同步 on enrolled devices in chromium (issue 9, findings 2 and 8): the bundle buttons are
drawn and work (no grey box) on the phone (390x844) and at a staff desk (1366x768); exports
are downloads in the browser, not paths on the server's disk; Flutter's own screen-reader
words are Chinese; touch targets are at least 48 px on the phone."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from app.demo import FIELD_USER, STAFF, prepare
from tests.support.browser import AppServer, Phone
from tests.support.net import free_port
from tests.support.screencheck import grey_boxes

pytestmark = pytest.mark.browser

DESK = {"width": 1366, "height": 768}
MIN_TAP = 47.5  # CSS px (48, less rounding of the semantics box)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("demo")
    info, server = prepare(root, free_port(), households=5)
    try:
        yield info
    finally:
        server.terminate()
        server.wait(10)


def test_the_grey_box_check_finds_a_flat_grey_rectangle(tmp_path):
    im = Image.new("RGB", (780, 1688), (255, 248, 247))
    draw = ImageDraw.Draw(im)
    draw.text((40, 40), "同步", fill=(35, 25, 24))
    draw.rectangle((24, 1000, 756, 1500), fill=(196, 196, 196))
    png = tmp_path / "grey.png"
    im.save(png)
    [(x0, y0, x1, y1)] = grey_boxes(png)  # found on the check's block grid, inside the box
    assert 24 <= x0 < x1 <= 757 and 1000 <= y0 < y1 <= 1501
    assert (x1 - x0) * (y1 - y0) >= 0.9 * 733 * 501
    im.paste((255, 248, 247), (0, 0, 780, 1688))
    im.save(png)
    assert grey_boxes(png) == []


def _labels(page: Any) -> list[str]:
    """What a screen reader reads: every semantics node's label or own text."""
    return page.evaluate("[...document.querySelectorAll('flt-semantics')]"
                         ".map(e => e.getAttribute('aria-label') || e.textContent).filter(Boolean)")


def _small_targets(page: Any) -> list[tuple[str, float]]:
    """Buttons and checkboxes shorter than a thumb, among those wholly in view (Flutter clips
    a semantics node to its scroll view, so one cut by the edge or the navigation bar measures
    short)."""
    out = []
    bottom = page.viewport_size["height"]
    tabs = page.get_by_role("tab")
    for i in range(tabs.count()):  # the list scrolls under the navigation bar
        box = tabs.nth(i).bounding_box()
        if box:
            bottom = min(bottom, box["y"])
    buttons = page.get_by_role("button")
    for i in range(buttons.count()):  # a form's fixed bottom bar (保存): the list scrolls under it
        box = buttons.nth(i).bounding_box()
        if box and box["y"] + box["height"] >= page.viewport_size["height"] - 16:
            bottom = min(bottom, box["y"])
    for role in ("button", "checkbox"):
        loc = page.get_by_role(role)
        for i in range(loc.count()):
            el = loc.nth(i)
            box = el.bounding_box()
            # the scroll view ends a padding above the bar: a node ending there may be cut
            if box is None or box["y"] <= 0 or box["y"] + box["height"] >= bottom - 24:
                continue
            if box["height"] < MIN_TAP:
                out.append((el.get_attribute("aria-label") or el.inner_text(), box["height"]))
    return out


def _export_downloads(phone: Phone, button: str, suffix: str, tmp_path: Path) -> Path:
    page = phone.page
    with page.expect_download(timeout=60_000) as dl:
        page.get_by_role("button", name=button).click()
    got = dl.value
    assert got.suggested_filename.endswith(suffix), got.suggested_filename
    path = tmp_path / got.suggested_filename
    got.save_as(path)
    return path


def test_field_sync_screen_buttons_downloads_and_chinese_semantics(browser, assets, demo, tmp_path):
    app = AppServer(Path(demo.devices[FIELD_USER]), assets).start()
    try:
        phone = Phone(browser).open(app.url)
        page = phone.page
        tabs = page.get_by_role("tab")
        assert [tabs.nth(i).get_attribute("aria-label") for i in range(tabs.count())] == \
            ["首页", "住户", "走访", "问题墙", "同步"]
        assert not [x for x in _labels(page) if "Tab " in x]
        phone.tap("tab", "同步")
        page.get_by_role("heading", name="同步").wait_for()
        page.get_by_text("没有网络时：同步包").wait_for()  # the bundles section is drawn
        shot = phone.shot("sync-enrolled-phone")
        assert grey_boxes(shot) == [], "a control was painted as a grey box"
        phone.wait_for("button", "导出同步包")
        assert page.get_by_role("button", name="导入回执包").is_visible()

        bundle = _export_downloads(phone, "导出同步包", ".gwb", tmp_path)
        with zipfile.ZipFile(bundle) as z:
            assert "manifest.json" in z.namelist()
        page.get_by_text("已交给浏览器下载", exact=False).wait_for()
        message = page.get_by_text("已交给浏览器下载", exact=False).inner_text()
        assert bundle.name in message and "/" not in message.split("：", 1)[1]  # a name, not a server path
        assert not _small_targets(page)
        # 导入回执包 opens the file chooser; a device's own bundle is no return bundle: said plainly
        with page.expect_file_chooser(timeout=30_000) as chooser:
            page.get_by_role("button", name="导入回执包").click()
        chooser.value.set_files(str(bundle))
        page.get_by_text("这是设备导出的同步包，这里需要操作员给回的回执包", exact=False).wait_for(timeout=60_000)

        # the forms a thumb works most: chips, 添加诉求, remove buttons
        for route, ready in (("issues/new", ("checkbox", "基础设施")), ("visits/new", ("button", "添加诉求"))):
            page.goto(app.url + route)
            page.wait_for_selector("#loading", state="detached", timeout=60_000)
            page.locator("flt-semantics-placeholder").dispatch_event("click")
            phone.wait_for(*ready)
            assert not _small_targets(page), route
        phone.tap("button", "添加诉求")
        page.get_by_text("诉求 1").wait_for()
        assert not _small_targets(page)
        phone.close()
    finally:
        app.stop()


def test_staff_sync_screen_and_ledger_download_at_a_desk(browser, assets, demo, tmp_path):
    app = AppServer(Path(demo.devices[STAFF]), assets).start()
    try:
        desk = Phone(browser).open(app.url, viewport=DESK, ready=("heading", "工单台"))
        page = desk.page
        labels = _labels(page)
        assert any("第 1 个标签，共 5 个" in x for x in labels) and not [x for x in labels if "Tab " in x]
        desk.tap("button", "同步")
        page.get_by_text("没有网络时：同步包").wait_for()
        shot = desk.shot("sync-enrolled-desk")
        assert grey_boxes(shot) == [], "a control was painted as a grey box"
        desk.wait_for("button", "导出同步包")
        assert page.get_by_role("button", name="导入回执包").is_visible()
        _export_downloads(desk, "导出同步包", ".gwb", tmp_path)

        desk.tap("button", "统计")
        desk.wait_for("button", "导出整改台账")
        ledger = _export_downloads(desk, "导出整改台账", ".xlsx", tmp_path)
        assert zipfile.is_zipfile(ledger)  # an XLSX is a zip
        page.get_by_text("已交给浏览器下载", exact=False).wait_for()
        assert page.get_by_text("已保存到", exact=False).count() == 0
        desk.close()
    finally:
        app.stop()
