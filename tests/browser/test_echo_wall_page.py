"""The resident-facing echo-wall page in real chromium (Debian's /usr/bin/chromium, Playwright
sync API): nothing private in the rendered DOM text, Chinese renders, phone width fits, print
layout works. Run as its own pytest invocation: ``pytest -p no:asyncio -m browser tests/browser``.
"""

import threading
import time
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from sync.server.wall import make_wall_router
from tests.support.net import free_port
from tests.support.reports_factory import march_town

ROOT = Path(__file__).resolve().parents[2]
PRIVATE = ["张三丰", "13812345678", "东风村3组18号", "张小明", "独居老人", "低保户", "李网格员",
           "张三丰家门口路灯坏了", "水渠清淤", "想要一台轮椅", "广场噪音"]  # fmt: skip


@pytest.fixture(scope="module")
def town():
    return march_town()


@pytest.fixture(scope="module")
def wall_url(town):
    town, _ = town
    app = FastAPI()
    app.include_router(make_wall_router(lambda v: town.records, {"ab" * 32: b"\xff\xd8"}.get))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.mark.browser
def test_echo_wall_page_on_a_phone(browser, wall_url):
    page = browser.new_page(viewport={"width": 375, "height": 740}, device_scale_factor=2)
    resp = page.goto(f"{wall_url}/wall/v1")
    assert resp.status == 200
    text = page.inner_text("body")
    for s in PRIVATE:
        assert s not in text, s
    html = page.content()
    for s in PRIVATE:
        assert s not in html, s
    assert page.inner_text("h1") == "东风村回音壁"
    assert page.locator("article").count() == 1
    assert page.inner_text("article h2") == "3组路灯已修好"
    assert "居民评价：已解决，满意" in text
    # Chinese renders with a CJK font: a CJK character is about as wide as it is tall
    # (a missing glyph box or a fallback would differ), and a CJK face is available
    w = page.evaluate(
        "() => { const s = document.createElement('span'); s.style.fontSize = '40px';"
        " s.textContent = '回音壁'; document.body.appendChild(s);"
        " const r = s.getBoundingClientRect().width; s.remove(); return r; }"
    )
    assert 110 <= w <= 130, w
    assert page.evaluate("() => document.fonts.check('16px \"Noto Sans CJK SC\"')")
    # fits a phone: no sideways scrolling
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert page.evaluate("() => document.scripts.length") == 0
    from tests.support.browser import SHOTS

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "echo-wall-phone.png"), full_page=True)
    page.close()


@pytest.mark.browser
def test_echo_wall_prints(browser, wall_url, tmp_path):
    page = browser.new_page()
    page.goto(f"{wall_url}/wall/v1")
    page.emulate_media(media="print")
    assert page.evaluate("() => getComputedStyle(document.querySelector('.photos')).display") == "none"
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)")
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF") and len(pdf) > 1000
    page.close()


@pytest.mark.browser
def test_unknown_village_page(browser, wall_url):
    page = browser.new_page()
    resp = page.goto(f"{wall_url}/wall/nowhere")
    assert resp.status == 404
    assert "没有找到这个回音壁" in page.inner_text("body")
    page.close()


@pytest.mark.browser
def test_lookup_by_code_on_a_phone(browser, wall_url, town):
    """A resident types the code from the 回执 (lower case, with a space) into the wall's form:
    the problem's status and public reply, nothing private; a wrong code says what to do."""
    from sync.public_code import public_code
    from tests.support.browser import SHOTS

    code = public_code(town[1]["a"]["id"])
    page = browser.new_page(viewport={"width": 375, "height": 740}, device_scale_factor=2)
    page.goto(f"{wall_url}/wall/v1")
    assert "本村在办问题 3 件" in page.inner_text("#open-counts")
    page.get_by_label("查询码").fill(code.lower().replace("-", " "))
    with page.expect_navigation():
        page.get_by_role("button", name="查询办理进度").click()
    assert "/wall/v1/lookup?code=" in page.url
    result = page.inner_text("#lookup-result")
    assert f"查询码 {code}" in result and "已销号" in result and "恢复照明" in result
    assert "居民评价：已解决，满意" in result
    html = page.content()
    for s in PRIVATE:
        assert s not in html, s
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "echo-wall-lookup-phone.png"), full_page=True)
    # a misread code: the check letter catches it; the form is there to try again
    wrong = code[:-1] + ("A" if code[-1] != "A" else "B")
    page.get_by_label("查询码").fill(wrong)
    with page.expect_navigation():
        page.get_by_role("button", name="查询办理进度").click()
    assert "查询码不对" in page.inner_text("#lookup-result")
    with page.expect_navigation():
        page.click("#back-to-wall")
    assert page.url.endswith("/wall/v1") and page.inner_text("h1") == "东风村回音壁"
    page.close()
