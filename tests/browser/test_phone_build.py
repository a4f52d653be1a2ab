"""The field app running in the phone's browser (Pyodide), served by the central server at
/app/ from `gridwall app build`: first start with Chinese from the bundled font, a record
that survives a reload (IndexedDB), and the app opening with the network off and the server
gone (service worker), at 390x844."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from tests.support.browser import CentralServer, Phone

pytestmark = pytest.mark.browser

# Requests that may fail without harm: Flutter tries one CDN script (rive) and goes on, and
# may ask for Google's split Noto SC fallback files before the theme font applies.
HARMLESS = ("rive_native.js", "/assets/fonts/notosanssc/")


def _served_as(url: str) -> dict[str, str]:
    r = requests.get(url, timeout=10)
    assert r.status_code == 200, url
    return {k.lower(): v for k, v in r.headers.items()}


def test_server_serves_the_build_with_types_and_app_routes(central: CentralServer, phone_build: Path) -> None:
    app = f"{central.url}/app/"
    assert _served_as(app + "pyodide/pyodide.asm.wasm")["content-type"] == "application/wasm"
    assert _served_as(app + "pyodide/pyodide.mjs")["content-type"].startswith("text/javascript")
    assert _served_as(app + "sw.js")["cache-control"] == "no-cache"
    # an app route (path URL strategy) is the page itself, so a reload there works
    page = requests.get(app + "issues/new", timeout=10)
    assert page.status_code == 200 and 'data-build="' in page.text
    assert requests.get(app + "no-such-file.js", timeout=10).status_code == 404
    assert requests.get(app + "assets/NO-SUCH-FILE", timeout=10).status_code == 404
    # the service worker precaches exactly the build's files
    info = json.loads((phone_build / "build.json").read_text(encoding="utf-8"))
    sw = requests.get(app + "sw.js", timeout=10).text
    assert f'"{info["version"]}"' in sw
    for f in info["files"]:
        assert f == "sw.js" or f'"{f}"' in sw, f


def _no_harmful_misses(phone: Phone) -> None:
    left = [u for u in phone.refused if not any(h in u for h in HARMLESS)]
    assert not left, left  # nothing but the known CDN try left 127.0.0.1
    missing = [u for u, s in phone.responses.items() if s >= 400 and not any(h in u for h in HARMLESS)]
    assert not missing, missing


def test_phone_app_keeps_records_across_reload_and_opens_offline(
        browser, central: CentralServer, phone_build: Path) -> None:
    version = json.loads((phone_build / "build.json").read_text(encoding="utf-8"))["version"]
    phone = Phone(browser)
    page = phone.page
    try:
        phone.open(f"{central.url}/app/")
        assert page.get_by_role("heading", name="今日工作").count() == 1
        phone.shot("phone-build-home")
        _no_harmful_misses(phone)
        # the Pyodide runtime and the app came from our server, and Python runs in the page
        assert phone.responses.get(f"{central.url}/app/pyodide/pyodide.asm.wasm") == 200
        assert phone.responses.get(f"{central.url}/app/app.tar.gz") == 200

        phone.tap("tab", "问题墙")
        phone.tap("button", "报问题")
        phone.type_into("标题 *", "村口路灯不亮")
        phone.tap("button", "提交到问题墙")
        # the detail opens only after the save is flushed to IndexedDB
        page.get_by_role("heading", name="问题详情").wait_for(timeout=30_000)

        # the service worker holds the whole build before we go offline
        page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=120_000)
        page.evaluate("navigator.serviceWorker.ready")

        phone.open(f"{central.url}/app/")  # reload: the record came back from IndexedDB
        phone.tap("tab", "问题墙")
        page.get_by_role("button", name="村口路灯不亮").first.wait_for(timeout=15_000)

        central.stop()  # no server at all, and the browser offline
        phone.ctx.set_offline(True)
        phone.open(f"{central.url}/app/")
        phone.tap("tab", "问题墙")
        page.get_by_role("button", name="村口路灯不亮").first.wait_for(timeout=15_000)
        phone.shot("phone-build-offline")
        # 设置 shows which build runs
        phone.tap("tab", "首页")
        phone.tap("button", "设置")
        page.get_by_role("heading", name="设置").wait_for()
        # (the accessibility tree, not the page source: index.html carries the version too)
        about = page.locator(f'flt-semantics[aria-label*="{version}"], flt-semantics:has-text("{version}")')
        about.first.wait_for(timeout=10_000)
        # and how much browser storage the data uses (navigator.storage.estimate in the worker)
        used = page.locator('flt-semantics[aria-label*="浏览器存储"], flt-semantics:has-text("浏览器存储")')
        used.first.wait_for(timeout=10_000)
        phone.shot("phone-build-settings")
    finally:
        phone.close()


INSTALL_NEW_BUILD = """async () => {
  const reg = await navigator.serviceWorker.getRegistration();
  await reg.update();
  const w = reg.installing;
  if (!w) return reg.waiting ? "installed" : "no update";
  if (w.state === "installed" || w.state === "redundant") return w.state;
  return await new Promise((resolve) => w.addEventListener("statechange", () => {
    if (w.state === "installed" || w.state === "redundant") resolve(w.state);
  }));
}"""


def _running_build(phone: Phone) -> str:
    return phone.page.evaluate("document.documentElement.dataset.build")


def test_a_new_build_is_used_at_the_next_start_and_never_half_applied(
        browser, phone_build: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from app import webbuild

    site = tmp_path / "site"
    shutil.copytree(phone_build, site)
    old = json.loads((site / "build.json").read_text(encoding="utf-8"))["version"]
    server = CentralServer(tmp_path / "server", site).start()
    phone = Phone(browser)
    page = phone.page
    try:
        phone.open(f"{server.url}/app/")
        page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=120_000)
        assert _running_build(phone) == old

        # a new build appears on the server, but one of its files cannot be fetched
        monkeypatch.setattr(webbuild, "FORMAT", webbuild.FORMAT + 1000)  # same files, new version
        new = webbuild.build(site).version
        assert new != old
        notices = site / "assets" / "NOTICES"
        kept = notices.read_bytes()
        notices.unlink()
        assert page.evaluate(INSTALL_NEW_BUILD) == "redundant"  # refused whole
        phone.open(f"{server.url}/app/")
        assert _running_build(phone) == old  # still the old build, complete

        notices.write_bytes(kept)
        assert page.evaluate(INSTALL_NEW_BUILD) == "installed"  # fetched in the background
        assert _running_build(phone) == old  # the running app is left alone
        # the next start (the app closed and opened again) uses it
        phone.page.close()
        phone.page = page = phone.ctx.new_page()
        phone.open(f"{server.url}/app/")
        assert _running_build(phone) == new
        phone.tap("button", "设置")
        page.get_by_role("heading", name="设置").wait_for()
        page.locator(f'flt-semantics[aria-label*="{new}"], flt-semantics:has-text("{new}")').first.wait_for(
            timeout=10_000)
        # and it opens offline as the new build
        server.stop()
        phone.ctx.set_offline(True)
        phone.open(f"{server.url}/app/")
        assert _running_build(phone) == new
    finally:
        phone.close()
        server.stop()
