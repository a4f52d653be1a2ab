"""The phone's journey, in the real browser at 390x844: the built app served by a real central
server, enrolled by the link `gridwall admin enroll` prints, a visit with a camera photo
(4000x3000, EXIF rotation and GPS) and an issue recorded with the network off, the browser reloaded and then killed and opened again offline (a
persistent profile), a new build put on the server meanwhile, and back online it syncs by
itself (the browser's online event): the server holds exactly those records and the photo
without metadata, and a second phone enrolled on the same grid sees them, photo included."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from sync.client.fetch import pull_records
from sync.server.cli import admin_app
from tests.browser.test_phone_build import INSTALL_NEW_BUILD
from tests.browser.test_phone_photos import _no_metadata, _pick, _stored, camera_photo
from tests.support.browser import CentralServer, InstalledPhone, Phone

pytestmark = pytest.mark.browser

HEAD = "王建国"
SEEN = "屋顶漏雨，已联系村里"
TITLE = "村口路灯不亮"


def admin(data: Path, *args: str) -> str:
    r = CliRunner().invoke(admin_app, ["--data", str(data), *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.stdout


def org(data: Path, tmp: Path) -> None:
    """A township with one grid, two grid workers on it and one household."""
    for args in (("create-township", "青山镇"), ("create-village", "东村", "--township", "青山镇"),
                 ("create-grid", "东村一网格", "--township", "青山镇", "--village", "东村"),
                 ("create-user", "张网格", "--role", "grid_worker", "--grid", "东村一网格"),
                 ("create-user", "李网格", "--role", "grid_worker", "--grid", "东村一网格")):
        admin(data, *args)
    csv = tmp / "households.csv"
    csv.write_text(f"户主,门牌/地址,人口数\n{HEAD},东村1组1号,3\n", encoding="utf-8")
    admin(data, "import-households", str(csv), "--grid", "东村一网格")


def enrol_link(data: Path, user: str, server: str) -> str:
    out = admin(data, "enroll", "--user", user, "--server", server, "--no-qr")
    return next(line for line in out.splitlines() if "#enroll=" in line)


def records(server: str, token: str, kind: str) -> list[dict]:
    return [r for r in pull_records(server, token) if r["kind"] == kind]


def enrol(phone: Phone, link: str) -> None:
    """Open the link: the enrol screen comes up with the code in it; the worker confirms."""
    phone.open(link, ready=("button", "注册并开始同步"))
    phone.shot("phone-sync-enrol", expect=(("button", "注册并开始同步"),))
    # Nothing is typed: the code came with the link, the server is this page's origin.
    phone.tap("button", "注册并开始同步")
    phone.wait_for("heading", "同步")
    _status(phone, "全部已同步")


def _status(phone: Phone, text: str, timeout_s: float = 90) -> None:
    loc = phone.page.locator(f'flt-semantics[aria-label*="{text}"], flt-semantics:has-text("{text}")')
    deadline = time.monotonic() + timeout_s
    n = 0
    while time.monotonic() < deadline:
        if loc.count():
            return
        n += 1
        phone.page.mouse.move(5 + n % 7, 400)  # frames, so the screen re-renders
        phone.page.wait_for_timeout(300)
    raise AssertionError(f"never showed {text!r}")


def record_visit_and_issue(phone: Phone, photo: Path) -> None:
    page = phone.page
    phone.tap("tab", "走访")
    phone.tap("button", "记走访")
    page.get_by_role("textbox", name="走访住户 *").wait_for()
    phone.type_into("走访住户 *", HEAD)
    phone.wait_for("button", HEAD)
    phone.tap("button", HEAD)
    phone.type_into("看到的情况", SEEN)
    _pick(phone, photo)
    phone.wait_for("button", "移除 1", timeout_s=120)  # processed in the browser, thumbnail shown
    phone.tap("button", "保存走访")
    page.get_by_role("heading", name="走访详情").wait_for(timeout=30_000)  # flushed to IndexedDB
    phone.tap("button", "返回")
    phone.tap("tab", "问题墙")
    phone.tap("button", "报问题")
    phone.type_into("标题 *", TITLE)
    phone.tap("button", "提交到问题墙")
    page.get_by_role("heading", name="问题详情").wait_for(timeout=30_000)
    phone.tap("button", "返回")


def both_there(phone: Phone) -> None:
    phone.tap("tab", "问题墙")
    phone.page.get_by_role("button", name=re.compile(TITLE)).first.wait_for(timeout=20_000)
    phone.tap("tab", "走访")
    phone.page.get_by_role("button", name=re.compile(HEAD)).first.wait_for(timeout=20_000)


def watch(phone: Phone, log: list[str]) -> None:
    """The app's console lines and its API requests, in order (shown when something fails)."""
    t0 = time.monotonic()

    def api(what: str) -> Any:
        return lambda r: log.append(f"{time.monotonic() - t0:.1f} {what} {r.method} {r.url.split('/api/v1')[-1][:40]}"
                                    f" {r.failure if what == 'failed' else ''}") if "/api/v1" in r.url else None

    phone.page.on("console", lambda m: log.append(m.text) if "gridwall:" in m.text else None)
    phone.ctx.on("request", api("sent"))
    phone.ctx.on("requestfinished", api("done"))
    phone.ctx.on("requestfailed", api("failed"))


def _build_of(phone: Phone) -> str:
    return phone.page.evaluate("document.documentElement.dataset.build")


def test_enrol_by_link_work_offline_killed_reopened_then_it_syncs_by_itself(
        playwright: Any, browser: Any, phone_build: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app import webbuild

    site = tmp_path / "site"
    shutil.copytree(phone_build, site)
    old = json.loads((site / "build.json").read_text(encoding="utf-8"))["version"]
    data = tmp_path / "server"
    central = CentralServer(data, site)
    org(data, tmp_path)
    central.start()
    token = _token(data)
    phone = InstalledPhone(playwright, tmp_path / "profile-a")
    online_events: list[str] = []
    try:
        watch(phone, online_events)
        enrol(phone, enrol_link(data, "张网格", central.url))
        phone.shot("phone-sync-enrolled", expect=(("button", "立即同步"),))
        page = phone.page
        page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=120_000)

        # No network from here: the visit and the issue are made and kept on the phone.
        phone.ctx.set_offline(True)
        record_visit_and_issue(phone, camera_photo(tmp_path / "IMG_20261201_101500.jpg"))
        phone.open(f"{central.url}/app/")  # reload, offline
        both_there(phone)
        phone.kill()  # the browser process dies: no shutdown

        # A new build reaches the server while the phone is off the network.
        monkeypatch.setattr(webbuild, "FORMAT", webbuild.FORMAT + 1000)
        new = webbuild.build(site).version
        assert new != old

        phone = InstalledPhone(playwright, tmp_path / "profile-a")
        watch(phone, online_events)
        phone.ctx.set_offline(True)
        phone.open(f"{central.url}/app/")
        assert _build_of(phone) == old
        both_there(phone)
        phone.tap("tab", "同步")
        _status(phone, "等待上传")
        assert not records(central.url, token, "visit") and not records(central.url, token, "issue")
        phone.shot("phone-sync-offline-pending", expect=(("button", "立即同步"),))

        # Back online: the worker's online event starts the sync; nobody taps.
        phone.ctx.set_offline(False)
        # The phone says when its sync has carried everything (records, then the photo);
        # waiting through Playwright lets the test's route handler pass its requests.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not any(
                "sync ok" in e and "photos up 1" in e for e in online_events):
            phone.page.mouse.move(3, 400)
            phone.page.wait_for_timeout(500)
        visits = [v for v in records(central.url, token, "visit") if v["fields"].get("seen") == SEEN]
        issues = [i for i in records(central.url, token, "issue") if i["fields"].get("title") == TITLE]
        assert len(visits) == 1 and len(issues) == 1  # exactly those, no doubles
        assert len(records(central.url, token, "visit")) == 1 and len(records(central.url, token, "issue")) == 1
        assert any("online again" in e for e in online_events), online_events
        # The photo follows its records, through the same async transport, without metadata.
        sha = (visits[0]["fields"].get("photos") or [None])[0]
        assert sha, visits[0]["fields"]
        blob = _blob(phone, central.url, token, sha, 120, online_events)
        assert hashlib.sha256(blob).hexdigest() == sha
        _no_metadata(blob)
        with Image.open(io.BytesIO(blob)) as im:
            assert im.size == (1200, 1600)  # upright, long edge 1600
        _status(phone, "全部已同步")
        phone.shot("phone-sync-synced", expect=(("button", "立即同步"),))
        # Online, the new build is fetched in the background; the running app stays on its
        # build and keeps working; the next start runs the new one, on the same data.
        assert phone.page.evaluate(INSTALL_NEW_BUILD) == "installed"
        assert _build_of(phone) == old
        phone.tap("button", "立即同步")
        _status(phone, "全部已同步")
        both_there(phone)
        phone.page.close()
        phone.page = phone.ctx.new_page()
        phone.open(f"{central.url}/app/")
        assert _build_of(phone) == new
        both_there(phone)
        phone.tap("tab", "同步")
        _status(phone, "全部已同步")  # still enrolled, nothing waiting

        # A second phone on the same grid gets them with its first sync.
        second = Phone(browser)
        try:
            enrol(second, enrol_link(data, "李网格", central.url))
            both_there(second)
            assert _stored(second).get(f"{sha}.jpg") == blob  # the photo came down too
            second.shot("phone-sync-second-phone", expect=(("tab", "走访"),))
        finally:
            second.close()
        assert len(records(central.url, token, "visit")) == 1 and len(records(central.url, token, "issue")) == 1
    finally:
        phone.close()
        central.stop()


def _token(data: Path) -> str:
    out = admin(data, "token", "--user", "张网格", "--name", "核对用")
    return re.search(r"令牌：(\S+)", out).group(1)


def _blob(phone: Phone, server: str, token: str, sha: str, timeout_s: float, log: list[str]) -> bytes:
    import requests

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        r = requests.get(f"{server}/api/v1/blobs/{sha}", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        if r.status_code == 200:
            return r.content
        # Wait through Playwright, never time.sleep: the phone's requests pass this test's
        # route handler, which runs only while the test calls into Playwright (a sleep here
        # held the photo's upload until the wait ran out).
        phone.page.wait_for_timeout(1000)
    raise AssertionError(f"the photo {sha} never reached the server: {log}")


# The page goes to the background and comes back, as when the worker switches apps (headless
# chromium never hides a page by itself).
VISIBILITY = """(state) => {
  Object.defineProperty(document, "visibilityState", {value: state, configurable: true});
  Object.defineProperty(document, "hidden", {value: state === "hidden", configurable: true});
  document.dispatchEvent(new Event("visibilitychange"));
  window.dispatchEvent(new Event(state === "hidden" ? "blur" : "focus"));
}"""


def test_coming_back_to_the_foreground_syncs(browser: Any, central: CentralServer, tmp_path: Path) -> None:
    org(central.data, tmp_path)
    phone = Phone(browser)
    syncs: list[str] = []
    phone.page.on("console", lambda m: syncs.append(m.text) if "gridwall: sync ok" in m.text else None)
    try:
        enrol(phone, enrol_link(central.data, "张网格", central.url))
        assert syncs, "the first sync after enrolment"
        before = len(syncs)
        phone.page.evaluate(VISIBILITY, "hidden")
        phone.page.wait_for_timeout(1000)
        phone.page.evaluate(VISIBILITY, "visible")  # Flet: app lifecycle "show", "resume"
        deadline = time.monotonic() + 60
        while len(syncs) == before and time.monotonic() < deadline:
            phone.page.wait_for_timeout(250)
        assert len(syncs) > before, "no sync when the app came back"
    finally:
        phone.close()


def test_a_stalled_answer_is_abandoned_and_retried_in_the_browser(
        browser: Any, central: CentralServer, tmp_path: Path) -> None:
    """The browser's fetch under the transport's time limit: a server that accepts the request
    and never answers is given up on (AbortController) and the request is sent again."""
    from tests.support.linkemu import Fault, FaultProxy

    org(central.data, tmp_path)
    proxy = FaultProxy(("127.0.0.1", central.port))  # the phone reaches the server through it
    phone = Phone(browser)
    log: list[str] = []
    try:
        watch(phone, log)
        enrol(phone, enrol_link(central.data, "张网格", proxy.url))
        proxy.cut_all()  # the next request opens a new connection: the one with the fault
        proxy.add(Fault.stall("down", 0, match=b"POST /api/v1/sync"))
        before = sum("sync ok" in e for e in log)
        phone.tap("button", "立即同步")
        deadline = time.monotonic() + 180
        while sum("sync ok" in e for e in log) == before and time.monotonic() < deadline:
            phone.page.wait_for_timeout(500)
        done = [e for e in log if "sync ok" in e][before:]
        assert done, log
        assert "requests 2" in done[0], done  # the stalled attempt and the one that worked
        assert proxy.stats.faults_fired and proxy.stats.faults_fired[0].startswith("stall"), proxy.stats.faults_fired
        assert any("failed POST /sync" in e for e in log), log  # aborted by the app
        _status(phone, "全部已同步")
    finally:
        phone.close()
        proxy.close()


def test_a_new_phone_on_a_big_grid_starts_from_the_starter_pack(
        browser: Any, central: CentralServer, tmp_path: Path) -> None:
    """A grid over the server's starter-pack threshold (1,000 records): the phone's first sync
    takes the pack in ranges (sync.client.starter.download_steps), then only what changed
    since; every household is on the phone, counted on 住户 against the server's truth."""
    org(central.data, tmp_path)
    csv = tmp_path / "more.csv"
    csv.write_text("户主,门牌/地址,人口数\n" + "".join(f"户主{i},东村2组{i}号,2\n" for i in range(1200)),
                   encoding="utf-8")
    admin(central.data, "import-households", str(csv), "--grid", "东村一网格")  # all or nothing
    phone = Phone(browser)
    log: list[str] = []
    watch(phone, log)
    packs: list[int] = []  # statuses of the pack's answers (chromium may call a whole 206 "aborted" after it)
    phone.ctx.on("response", lambda r: packs.append(r.status) if "/api/v1/snapshot" in r.url else None)
    try:
        enrol(phone, enrol_link(central.data, "张网格", central.url))
        first = next(x for x in log if "gridwall: sync ok" in x)
        assert packs == [206], "\n".join(log)  # one range: the whole pack of this grid (~17 KB)
        assert "down 1256" in first and "requests 3" in first, "\n".join(log)  # offer, pack, the rest
        phone.tap("tab", "住户")
        _status(phone, "共 1201 户")  # the one household of org() and the 1,200 imported
        phone.shot("phone-starter-pack-households", expect=(("tab", "住户"),))
    finally:
        phone.close()
