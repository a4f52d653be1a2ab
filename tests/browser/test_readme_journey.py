"""The README's journey as a newcomer walks it: the exact demo command (`gridwall demo`, what
scripts/demo.sh runs, with its default relative `demo-data/`) started in a scratch working
directory, the field app at 390x844 in Debian's chromium, a visit with a real JPEG, the visit
and its photo on the server, then the 同步 screen and the staff board. Every screenshot is
checked (screencheck): expected controls present, no empty grey box."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PIL import Image, ImageDraw

from tests.support.browser import Phone
from tests.support.fontkit import ROOT
from tests.support.net import free_port

pytestmark = pytest.mark.browser

DESK = {"width": 1366, "height": 768}
SEEN = "院墙新裂缝约两米，已拍照"


def _camera_jpeg(path: Path) -> Path:
    """A real JPEG as a phone makes one: 1600x1200, a sky, a wall with a crack, some grain."""
    w, h = 1600, 1200
    im = Image.new("RGB", (w, h))
    d = ImageDraw.Draw(im)
    for y in range(h):
        d.line([0, y, w, y], fill=(120 + y * 60 // h, 160 + y * 40 // h, 220 - y * 80 // h))
    d.rectangle([200, 500, 1400, 1100], fill=(205, 190, 170), outline=(90, 80, 70), width=8)
    d.line([700, 500, 760, 700, 720, 900, 790, 1100], fill=(60, 50, 40), width=10)
    for i in range(0, w * h, 997):  # grain, so it is not a flat drawing
        x, y = i % w, i // w
        im.putpixel((x, y), (x * 7 % 256, y * 5 % 256, (x + y) % 256))
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=88)
    path.write_bytes(buf.getvalue())
    return path


class Demo:
    """`gridwall demo` as scripts/demo.sh runs it, from ``cwd``, on free ports."""

    def __init__(self, cwd: Path, assets: Path) -> None:
        self.cwd = cwd
        self.ports = [free_port() for _ in range(3)]
        gridwall = Path(sys.executable).with_name("gridwall")  # .venv/bin/gridwall
        env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(ROOT), GRIDWALL_ASSETS_DIR=str(assets))
        self.proc = subprocess.Popen(
            [str(gridwall), "demo", "--server-port", str(self.ports[0]),
             "--field-port", str(self.ports[1]), "--staff-port", str(self.ports[2])],
            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.out = ""
        deadline = time.monotonic() + 400
        while "Ctrl+C" not in self.out and time.monotonic() < deadline and self.proc.poll() is None:
            self.out += self.proc.stdout.readline()
        assert "演示已就绪" in self.out, self.out
        self.server = f"http://127.0.0.1:{self.ports[0]}"
        self.field = f"http://127.0.0.1:{self.ports[1]}/"
        self.staff = f"http://127.0.0.1:{self.ports[2]}/"
        self.token = re.search(r"report ledger .*--token (\S+)", self.out).group(1)
        self.info = json.loads((cwd / "demo-data" / "demo.json").read_text(encoding="utf-8"))

    def records(self, kind: str) -> list[dict]:
        """The township's records of ``kind`` as the server holds them (staff token's pull)."""
        from sync.client.fetch import pull_records

        return [r for r in pull_records(self.server, self.token) if r["kind"] == kind]

    def blob(self, sha256: str) -> bytes | None:
        r = requests.get(f"{self.server}/api/v1/blobs/{sha256}",
                         headers={"Authorization": f"Bearer {self.token}"}, timeout=30)
        return r.content if r.status_code == 200 else None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # Ctrl+C
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def demo(tmp_path: Path, assets: Path) -> Iterator[Demo]:
    scratch = tmp_path / "newcomer"
    scratch.mkdir()
    d = Demo(scratch, assets)
    try:
        yield d
    finally:
        d.stop()


def _visit_on_server(demo: Demo, timeout_s: float) -> dict | None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for v in demo.records("visit"):
            if v["fields"].get("seen") == SEEN:
                return v
        time.sleep(2)
    return None


def test_readme_demo_visit_with_a_photo_reaches_the_server(browser, demo, tmp_path):
    # a household of 张晓燕's grid, as the server knows it
    grid = demo.info["grids"][demo.info["users"]["张晓燕"]["grid"]]
    head = next(h["fields"]["head"] for h in demo.records("household") if h["grid"] == grid)
    photo = _camera_jpeg(tmp_path / "wall.jpg")

    phone = Phone(browser).open(demo.field)
    page = phone.page
    phone.shot("journey-home", expect=(("tab", "走访"), ("tab", "同步")))
    phone.tap("tab", "走访")
    phone.tap("button", "记走访")
    page.get_by_role("textbox", name="走访住户 *").wait_for()
    phone.type_into("走访住户 *", head)
    phone.wait_for("button", head)  # the search answers as the worker types
    phone.tap("button", head)
    phone.type_into("看到的情况", SEEN)
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="拍照 / 选照片").click()
    chooser.value.set_files(str(photo))
    phone.wait_for("button", "移除 1")  # uploaded, processed, thumbnail shown
    phone.shot("journey-visit-form", expect=(("button", "保存走访"), ("button", "移除 1")))
    phone.tap("button", "保存走访")
    page.get_by_role("heading", name="走访详情").wait_for(timeout=30_000)
    phone.shot("journey-visit-detail")

    # Sync follows the worker; until it does by itself, the worker taps 立即同步.
    visit = _visit_on_server(demo, 20)
    phone.tap("button", "返回")
    phone.tap("tab", "同步")
    page.get_by_role("heading", name="同步").wait_for()
    if visit is None:
        phone.tap("button", "立即同步")
        visit = _visit_on_server(demo, 90)
    assert visit is not None, "the visit never reached the server"
    assert visit["fields"]["household"] and len(visit["fields"].get("photos") or []) == 1
    sha = visit["fields"]["photos"][0]
    deadline = time.monotonic() + 90  # photos follow their records
    data = demo.blob(sha)
    while data is None and time.monotonic() < deadline:
        time.sleep(2)
        data = demo.blob(sha)
    assert data is not None and hashlib.sha256(data).hexdigest() == sha
    with Image.open(io.BytesIO(data)) as im:
        assert max(im.size) == 1600 and not im.getexif()  # the pipeline's copy, EXIF stripped
    assert any(p["fields"]["sha256"] == sha for p in demo.records("photo"))

    desk = Phone(browser).open(demo.staff, viewport=DESK, ready=("heading", "工单台"))
    desk.shot("journey-staff-board", expect=(("heading", "工单台"),))
    desk.close()

    # 同步 on the worker's enrolled phone: the bundle buttons a worker without network needs
    phone.wait_for("button", "立即同步")
    phone.shot("journey-sync", expect=(("button", "立即同步"), ("button", "导出同步包"), ("button", "导入回执包")))
    phone.close()
