"""For real-browser journeys and the phone benchmarks: the app served by `gridwall app` in its
own process (``AppServer``), and Debian's chromium through Playwright at a phone viewport with
every non-local request refused (``Phone``)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tests.support.fontkit import ROOT
from tests.support.net import free_port
from tests.support.screencheck import check_screen

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        # keep timers and frames running in a headless tab (upload progress events need them)
        "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows"]
PHONE = {"width": 390, "height": 844}
# Screenshots refresh docs/screenshots (shown in the README) only when asked, so an ordinary
# test run leaves the work tree clean: GRIDWALL_SCREENSHOTS=1 scripts/test.sh -m browser
SHOTS = ROOT / ("docs/screenshots" if os.getenv("GRIDWALL_SCREENSHOTS") else ".test-tmp/screenshots")


def stop_process(proc: subprocess.Popen) -> None:
    """Ctrl+C a server the test started; kill it if it has not stopped within 20 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class AppServer:
    """`python -m app.cli app --data DIR --port N` in a child process."""

    def __init__(self, data: Path, assets: Path, demo: bool = False) -> None:
        self.data, self.assets, self.demo = data, assets, demo
        self.port = free_port()
        self.proc: subprocess.Popen[str] | None = None
        self.output = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> AppServer:
        env = dict(os.environ, GRIDWALL_ASSETS_DIR=str(self.assets))
        cmd = [sys.executable, "-m", "app.cli", "app", "--data", str(self.data), "--port", str(self.port)]
        if self.demo:
            cmd.append("--demo")
        self.proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"app exited: {self.proc.stdout.read()}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.2)
        raise AssertionError("app did not start listening")

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc)
        if self.proc and self.proc.stdout:
            self.output += self.proc.stdout.read()


class CentralServer:
    """`gridwall server --app-dir BUILD` in a child process on a free port (the phone build
    served at /app/)."""

    def __init__(self, data: Path, app_dir: Path) -> None:
        self.data, self.app_dir, self.port = data, app_dir, free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> CentralServer:
        import requests

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "server", "--data", str(self.data), "--port",
             str(self.port), "--app-dir", str(self.app_dir)],
            cwd=ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, "server exited"
            try:
                if requests.get(f"{self.url}/api/v1/health", timeout=2).ok:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        raise AssertionError("server did not start")

    def stop(self) -> None:
        if self.proc:
            stop_process(self.proc)


class Phone:
    """One browser tab at phone size; requests off 127.0.0.1 are aborted and recorded.

    Every request waits for this process's route handler, which runs only while the test is
    inside a Playwright call: wait with ``page.wait_for_timeout``, never ``time.sleep``, while
    the app is expected to talk to a server."""

    def __init__(self, browser: Any, block: tuple[str, ...] = (), ctx: Any = None) -> None:
        self.ctx = ctx or browser.new_context(viewport=PHONE, device_scale_factor=2)
        self.page = self.ctx.new_page()
        self.requests: list[str] = []
        self.responses: dict[str, int] = {}
        self.refused: list[str] = []

        def route(r: Any) -> None:
            url = r.request.url
            self.requests.append(url)
            if not url.startswith("http://127.0.0.1") or any(b in url for b in block):
                self.refused.append(url)
                r.abort()
            else:
                r.continue_()

        self.ctx.route("**/*", route)
        self.page.on("response", lambda resp: self.responses.__setitem__(resp.url, resp.status))

    def open(self, url: str, *, viewport: dict[str, int] | None = None,
             ready: tuple[str, str] = ("tab", "首页")) -> Phone:
        """Load the app (at ``viewport``, else phone size) and wait until the ``ready``
        element (role, name) shows: the field app's 首页 tab, or the staff board's heading."""
        p = self.page
        if viewport:
            p.set_viewport_size(viewport)
        p.goto(url)
        p.wait_for_selector("#loading", state="detached", timeout=90_000)
        p.wait_for_load_state("networkidle", timeout=60_000)
        p.locator("flt-semantics-placeholder").dispatch_event("click")
        p.get_by_role(ready[0], name=ready[1]).wait_for(timeout=30_000)
        p.wait_for_timeout(1500)  # let CanvasKit paint the first frame with the font
        return self

    def type_into(self, label: str, text: str) -> None:
        """Type into the field named ``label`` and check that the field holds the text: on a
        busy machine Flutter sometimes swaps its editing element just after the focus, and
        what was typed into the old one is lost (seen as a saved form with an empty field)."""
        for _ in range(3):
            box = self.page.get_by_role("textbox", name=label)
            box.click()
            self.page.wait_for_function(
                "['INPUT','TEXTAREA'].includes(document.activeElement && document.activeElement.tagName)")
            self.page.locator(":focus").fill(text)
            self.page.wait_for_timeout(300)
            held = self.page.evaluate(
                "document.activeElement && 'value' in document.activeElement ? document.activeElement.value : null")
            if held == text:
                return
        raise AssertionError(f"the field {label!r} did not take {text!r}")

    def tap(self, role: str, name: str, exact: bool = False) -> None:
        self.page.get_by_role(role, name=name, exact=exact).first.click()
        self.page.wait_for_timeout(500)

    def wait_for(self, role: str, name: str, timeout_s: float = 60) -> None:
        """Wait for an element (role and name, or role "id" and a semantics identifier),
        drawing frames meanwhile: headless chromium delivers some Flutter events (upload
        progress) only when a frame is produced."""
        if role == "id":
            loc = self.page.locator(f'[flt-semantics-identifier="{name}"]')
        else:
            loc = self.page.get_by_role(role, name=name)
        deadline = time.monotonic() + timeout_s
        n = 0
        while time.monotonic() < deadline:
            if loc.count() and loc.first.is_visible():
                return
            n += 1
            self.page.mouse.move(5 + n % 7, 400)
            if n % 4 == 0:
                self.page.screenshot()  # forces a frame
            self.page.wait_for_timeout(250)
        raise AssertionError(f"{role} {name!r} did not appear")

    def shot(self, name: str, expect: tuple[tuple[str, str], ...] = ()) -> Path:
        """Save a screenshot and check it (screencheck.check_screen): the ``expect``ed
        controls (role, name) are there and nothing was drawn as an empty grey box."""
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        self.page.mouse.move(1, 1)  # no hover tooltip in the picture
        self.page.wait_for_timeout(600)
        self.page.screenshot(path=str(path))
        check_screen(self.page, path, expect)
        return path

    def close(self) -> None:
        self.ctx.close()


class InstalledPhone(Phone):
    """A phone whose browser keeps its profile on disk (``launch_persistent_context``): the
    app's IndexedDB and service worker outlive the browser, even a killed one."""

    def __init__(self, pw: Any, profile: Path, block: tuple[str, ...] = ()) -> None:
        self.profile = profile
        ctx = pw.chromium.launch_persistent_context(str(profile), executable_path=CHROMIUM, args=ARGS,
                                                    viewport=PHONE, device_scale_factor=2)
        for blank in ctx.pages:
            blank.close()
        super().__init__(None, block, ctx=ctx)

    def kill(self) -> None:
        """SIGKILL this profile's browser process (no shutdown, no flush: a crash)."""
        mine = f"--user-data-dir={self.profile}".encode()
        killed = 0
        for proc in Path("/proc").iterdir():
            try:
                args = (proc / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if mine in args and not any(a.startswith(b"--type=") for a in args):
                os.kill(int(proc.name), signal.SIGKILL)  # the browser this test launched
                killed += 1
        assert killed == 1, f"{killed} browser processes for {self.profile}"
        try:
            self.ctx.close()
        except Exception:  # noqa: BLE001 - the browser is gone: Playwright may say so
            pass
