"""Field app speed: start to first usable screen, household list open and search.

Grid scale (40 households, seeded demo) and township scale (3,000 households with months of
visits, issues and events). Measured in-process with the pure-Python harness (a real flet
Session: components render, patches are encoded with msgpack as they would be sent), so the
figures are the app's own work on this machine; the browser then paints what it receives.
With ``--browser`` it also times process start -> first painted home screen in Debian's
chromium (390x844, no internet).

    .venv/bin/python benchmarks/bench_app.py [--runs 7] [--browser]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.demo_seed import seed_demo  # noqa: E402
from app.services import Services  # noqa: E402
from tests.app.ui.harness import Harness  # noqa: E402

QUERIES = ["王", "wjg", "138", "3组", "李桂兰", "zxy"]


def seeded(scale: str, base: Path) -> Path:
    data = base / scale
    svc = Services.open(data)
    n = 40 if scale == "grid" else 3000
    t0 = time.perf_counter()
    seed_demo(svc.store, svc.grid_id, svc.user_id, svc.profile["village_id"], households=n,
              photos=6 if scale == "grid" else 20, rng_seed=11)
    counts = svc.store.stats()["counts"]
    svc.close()
    print(f"seeded {scale}: {counts} in {time.perf_counter() - t0:.1f} s")
    return data


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def show(label: str, values: list[float]) -> None:
    print(f"  {label:<46} median {statistics.median(values) * 1000:8.1f} ms   "
          f"p95 {pct(values, 95) * 1000:8.1f} ms   (n={len(values)})")


async def first_screen(data: Path) -> tuple[float, float, float]:
    """(open store, first render of 首页, total) for one cold app start in this process."""
    from app.ui.app import make_main

    t0 = time.perf_counter()
    svc = Services.open(data)
    t1 = time.perf_counter()
    h = await Harness.start(make_main(svc))
    assert "今日工作" in h.screen_text() or "Today" in h.screen_text()
    t2 = time.perf_counter()
    await h.close()
    svc.close()
    return t1 - t0, t2 - t1, t2 - t0


async def list_and_search(data: Path, runs: int) -> dict[str, list[float]]:
    from app.ui.app import make_main

    svc = Services.open(data)
    t0 = time.perf_counter()
    svc.households(query="wjg")
    cold = time.perf_counter() - t0
    h = await Harness.start(make_main(svc))
    out: dict[str, list[float]] = {"open": [], "search_ui": [], "search_service": [],
                                   "cold": [cold]}
    for _ in range(runs):
        await h.nav(0)
        t0 = time.perf_counter()
        await h.nav(1)
        out["open"].append(time.perf_counter() - t0 - SETTLE)
        for q in QUERIES:
            t0 = time.perf_counter()
            svc.households(query=q)
            out["search_service"].append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            await h.type("household-query", q)
            out["search_ui"].append(time.perf_counter() - t0 - SETTLE)
        await h.type("household-query", "")
    await h.close()
    svc.close()
    return out


SETTLE = 0.0


async def settle_cost() -> float:
    """The harness waits a fixed 10 ms per action for effects; subtract it from UI timings."""
    t0 = time.perf_counter()
    await asyncio.sleep(0.01)
    return time.perf_counter() - t0


def browser_first_paint(data: Path, runs: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    from tests.support.browser import ARGS, CHROMIUM, AppServer, Phone
    from tests.support.fontkit import assets_with_font

    assets = assets_with_font(Path(tempfile.mkdtemp()))
    times: dict[str, list[float]] = {"server": [], "page": [], "reload": [], "total": []}
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(runs):
            t0 = time.perf_counter()
            server = AppServer(data, assets).start()
            t1 = time.perf_counter()
            phone = Phone(b)
            for key in ("page", "reload"):  # a cold tab, then the same tab reloaded (cached)
                t2 = time.perf_counter()
                if key == "page":
                    phone.page.goto(server.url)
                else:
                    phone.page.reload()
                phone.page.wait_for_selector("#loading", state="detached", timeout=90_000)
                phone.page.locator("flt-semantics-placeholder").dispatch_event("click")
                phone.page.get_by_role("heading", name="今日工作").wait_for(timeout=60_000)
                times[key].append(time.perf_counter() - t2)
                if key == "page":
                    times["total"].append(time.perf_counter() - t0)
            times["server"].append(t1 - t0)
            phone.close()
            server.stop()
        b.close()
    return times


def main() -> None:
    global SETTLE
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--browser", action="store_true", help="also time first paint in chromium")
    args = ap.parse_args()
    SETTLE = asyncio.run(settle_cost())  # one ~10 ms wait per harness action
    base = Path(tempfile.mkdtemp(prefix="bench-app-"))
    for scale in ("grid", "township"):
        data = seeded(scale, base)
        starts = [asyncio.run(first_screen(data)) for _ in range(args.runs)]
        print(f"{scale}:")
        show("open store (load files)", [s[0] for s in starts])
        show("first render of 首页 (session -> patch)", [s[1] for s in starts])
        show("start -> first usable screen (in-process)", [s[2] for s in starts])
        if scale == "township":
            res = asyncio.run(list_and_search(data, args.runs))
            show("open 住户 list (tab tap -> patch)", res["open"])
            show("search as you type (keystroke -> patch)", res["search_ui"])
            show("search query in services only", res["search_service"])
            show("first search, index cold (no warm-up)", res["cold"])
        if args.browser:
            bt = browser_first_paint(data, 3)
            show("chromium: `gridwall app` start -> listening", bt["server"])
            show("chromium: new tab -> 首页 usable", bt["page"])
            show("chromium: reload (cached) -> 首页 usable", bt["reload"])
            show("chromium: process start -> 首页 usable", bt["total"])


if __name__ == "__main__":
    main()
