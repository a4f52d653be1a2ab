"""The field app in the phone's browser (`gridwall app build`, served by the central server at
/app/): bytes a phone downloads to install it, first start (cold: nothing cached), a later
start online (service worker cache) and a start with the network off and the server gone.
Debian's chromium, 390x844, headless; "start" = navigation until the 首页 tab is in the
accessibility tree (Python has rendered the first screen).

    .venv/bin/python benchmarks/bench_phone.py [--runs 3] [--cpu-throttle 4]

``--cpu-throttle N`` slows chromium's CPU N times (DevTools ``Emulation.setCPUThrottlingRate``),
a stand-in for a cheap Android phone.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.webbuild import build  # noqa: E402
from tests.browser.test_phone_build import CentralServer  # noqa: E402
from tests.support.browser import ARGS, CHROMIUM, PHONE  # noqa: E402


def _start(page, url: str) -> float:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("#loading", state="detached", timeout=180_000)
    page.locator("flt-semantics-placeholder").dispatch_event("click")
    page.get_by_role("tab", name="首页").wait_for(timeout=180_000)
    return time.perf_counter() - t0


def run_once(browser, build_dir: Path, throttle: float) -> dict[str, float]:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as tmp:
        server = CentralServer(Path(tmp) / "server", build_dir).start()
        ctx = browser.new_context(viewport=PHONE, device_scale_factor=2)
        try:
            page = ctx.new_page()
            if throttle > 1:
                cdp = ctx.new_cdp_session(page)
                cdp.send("Emulation.setCPUThrottlingRate", {"rate": throttle})
            url = f"{server.url}/app/"
            first = _start(page, url)
            page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=300_000)
            page.evaluate("navigator.serviceWorker.ready")
            later = _start(page, url)
            server.stop()
            ctx.set_offline(True)
            offline = _start(page, url)
        finally:
            ctx.close()
            server.stop()
    return {"first": first, "later": later, "offline": offline}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cpu-throttle", type=float, default=1.0)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    out = Path(tempfile.mkdtemp(prefix="gw-phone-bench-")) / "build"
    r = build(out)
    print(f"build {r.version}: {r.files} files, {r.bytes:,} bytes, {r.gzip_bytes:,} bytes gzip (download)")
    info = json.loads((out / "build.json").read_text(encoding="utf-8"))
    biggest = sorted(info["files"].items(), key=lambda kv: -kv[1])[:6]
    print("largest:", ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in biggest))
    results = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for i in range(args.runs):
            res = run_once(browser, out, args.cpu_throttle)
            print(f"run {i + 1}: " + ", ".join(f"{k} {v:.1f} s" for k, v in res.items()))
            results.append(res)
        browser.close()
    for key in ("first", "later", "offline"):
        vals = [r[key] for r in results]
        print(f"{key:8s} median {statistics.median(vals):.1f} s  max {max(vals):.1f} s")


if __name__ == "__main__":
    main()
