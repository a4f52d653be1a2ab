"""A sync that carries one new visit, from the phone's browser build and from the PC app, to a
real central server on 127.0.0.1 (loopback: what the I/O edge and the device cost, not the
link).

    .venv/bin/python benchmarks/bench_phone_sync.py [--runs 7] [--cpu-throttle 1]

- browser: the phone build at 390x844 in Debian's chromium (headless), enrolled by the link of
  `gridwall admin enroll`; each run records a visit on the 走访 form and the save's own sync
  (no tap) carries it. The figure is the engine's cycle as the app measures it
  (``SyncReport.elapsed_s``, printed by app.browser to the console): Pyodide, asyncio, the
  browser's fetch, the IndexedDB-backed store.
- PC app: the same engine in CPython with the blocking transport (requests) and the TinyDB
  store in a folder, as `gridwall app` runs it (its runner thread calls the same
  ``sync_once``): ``services.save_visit`` then ``SyncService.sync_now()``.
- PC, asyncio: the same again through the async transport (httpx standing in for fetch),
  to separate the cost of the I/O edge from the cost of the browser.

Medians over ``--runs``; the first sync after enrolment (the grid's reference records) is not
counted. ``--cpu-throttle N`` slows chromium's page and worker N times (a cheap phone).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.device import open_device  # noqa: E402
from app.webbuild import build  # noqa: E402
from sync.enroll_link import code_from_url  # noqa: E402
from tests.browser.test_phone_sync import HEAD, enrol, enrol_link, org  # noqa: E402
from tests.support.asyncfetch import HttpxFetch  # noqa: E402
from tests.support.browser import ARGS, CHROMIUM, CentralServer, Phone  # noqa: E402

LINE = re.compile(r"gridwall: sync ok in (\d+) ms: up (\d+)")


def browser_runs(server: str, data: Path, runs: int, throttle: float) -> list[float]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        phone = Phone(b)
        seen: list[str] = []
        phone.page.on("console", lambda m: seen.append(m.text) if "gridwall: sync" in m.text else None)
        if throttle > 1:
            cdp = phone.ctx.new_cdp_session(phone.page)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
        enrol(phone, enrol_link(data, "张网格", server))
        out: list[float] = []
        for i in range(runs):
            before = len(seen)
            page = phone.page
            phone.tap("tab", "走访")
            phone.tap("button", "记走访")
            page.get_by_role("textbox", name="走访住户 *").wait_for()
            phone.type_into("走访住户 *", HEAD)
            phone.wait_for("button", HEAD)
            phone.tap("button", HEAD)
            phone.type_into("看到的情况", f"第{i + 1}次走访")
            phone.tap("button", "保存走访")
            page.get_by_role("heading", name="走访详情").wait_for(timeout=30_000)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                hits = [m for line in seen[before:] if (m := LINE.search(line)) and int(m.group(2)) >= 1]
                if hits:
                    out.append(float(hits[0].group(1)))
                    break
                page.wait_for_timeout(200)
            else:
                raise SystemExit(f"run {i + 1}: no sync carried the visit: {seen[before:]}")
            phone.tap("button", "返回")
        b.close()
    return out


def pc_runs(server: str, data: Path, runs: int, folder: Path, aio: bool) -> list[float]:
    from sync.client.aio import AsyncTransport

    def factory(url: str, token: str | None = None, **rules: object) -> AsyncTransport:
        return AsyncTransport(url, token, fetch=HttpxFetch(), **rules)

    async def go() -> list[float]:
        opts = {"transport_factory": factory} if aio else {}
        device = open_device(folder, background=False, **opts)
        svc, services = device.sync, device.services
        try:
            code = code_from_url(enrol_link(data, "张网格", server))
            await svc.enroll_async(server, code, "PC")
            assert (await svc.sync_now_async()).ok
            hid = services.households()[0]["id"]
            out = []
            for i in range(runs):
                services.save_visit({"household": hid, "kind": "routine", "seen": f"PC 第{i + 1}次"}, [], [])
                rep = await svc.sync_now_async()
                assert rep.ok and rep.applied >= 1, rep.error
                out.append(rep.elapsed_s * 1000)
            return out
        finally:
            device.close()

    return asyncio.run(go())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--cpu-throttle", type=float, default=1.0)
    a = ap.parse_args()
    site = build(ROOT / ".test-tmp" / "phone-build").out
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        data = t / "server"
        org(data, t)
        central = CentralServer(data, site).start()
        try:
            figures = {
                "browser (Pyodide, fetch, IndexedDB store)": browser_runs(central.url, data, a.runs, a.cpu_throttle),
                "PC app (CPython, requests, TinyDB folder)": pc_runs(central.url, data, a.runs, t / "pc", aio=False),
                "PC, asyncio transport (httpx)": pc_runs(central.url, data, a.runs, t / "pc-aio", aio=True),
            }
        finally:
            central.stop()
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, {platform.python_version()}, "
          f"load {os.getloadavg()[0]:.1f}; runs {a.runs}; cpu throttle {a.cpu_throttle:g}x")
    for name, ms in figures.items():
        print(f"{name:45s} median {statistics.median(ms):7.0f} ms  (min {min(ms):.0f}, max {max(ms):.0f})")


if __name__ == "__main__":
    main()
