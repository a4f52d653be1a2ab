"""The field app in the phone's browser (`gridwall app build`, served by the central server at
/app/) against the PC-served web mode (`gridwall app`: Python on the PC, the browser draws),
in the same run, with chromium's CPU unthrottled and throttled (DevTools
``Emulation.setCPUThrottlingRate``; 4x stands in for a cheap Android phone).

Per mode and throttle, each run uses a new browser profile holding a grid of 500 households
(``seed_demo``: the phone's store is written into its IndexedDB before the first start, the
PC's data folder is seeded), and every start is a fresh chromium process:

- first start: nothing cached (the phone build then installs its service worker);
- later start: a new chromium process on the same profile (phone: the service worker cache);
- search: on 住户, the query typed -> the list holds exactly the matching households;
- save: on a filled 记走访 form, the tap on 保存走访 -> 走访详情 shown (the phone build shows
  it only after the save is flushed to IndexedDB: the durable "走访已保存").

"start" = navigation until the 首页 tab is in the accessibility tree (Python has rendered
the first screen). Debian's chromium, headless, 390x844.

    .venv/bin/python benchmarks/bench_phone.py [--runs 3] [--throttles 1,4] [--modes phone,pc]
        [--photo] [--build DIR]

``--photo`` also times a 12-megapixel camera JPEG picked on 记走访 (pick -> thumbnail shown);
the phone build needs the browser's photo pipeline for it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

from app.demo_seed import seed_demo  # noqa: E402
from app.services import Services  # noqa: E402
from app.webbuild import build  # noqa: E402
from tests.support.browser import ARGS, CHROMIUM, PHONE, AppServer  # noqa: E402
from tests.support.fontkit import assets_with_font  # noqa: E402

try:  # where the phone-build fixtures live once the photo branch is merged
    from tests.support.browser import CentralServer  # type: ignore[attr-defined]  # noqa: E402
except ImportError:
    from tests.browser.test_phone_build import CentralServer  # noqa: E402

SEARCH = "wjg"  # pinyin initials: the search the phone's index exists for
MOUNT = "/gridwall"  # app.browser.DATA_MOUNT: Emscripten's IDBFS keeps it in IndexedDB

# IDBFS's layout (pyodide.asm.mjs): database = mount point, version 21, object store
# FILE_DATA with a "timestamp" index; key = path, value = {timestamp, mode, contents}.
SEED_IDB = """async ([mount, entries]) => {
  const db = await new Promise((ok, bad) => {
    const r = indexedDB.open(mount, 21);
    r.onupgradeneeded = () => {
      const s = r.result.createObjectStore("FILE_DATA");
      s.createIndex("timestamp", "timestamp", { unique: false });
    };
    r.onsuccess = () => ok(r.result);
    r.onerror = () => bad(r.error);
  });
  const tx = db.transaction("FILE_DATA", "readwrite");
  const store = tx.objectStore("FILE_DATA");
  store.clear();
  for (const [path, mode, b64] of entries) {
    const v = { timestamp: new Date(), mode };
    if (b64 !== null) v.contents = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    store.put(v, path);
  }
  await new Promise((ok, bad) => { tx.oncomplete = ok; tx.onerror = () => bad(tx.error); });
  db.close();
  return entries.length;
}"""


def seeded_store(base: Path, households: int) -> tuple[Path, str, int]:
    """A device store with ``households`` households (and their visits); returns the folder,
    the name the search finds first and how many households it finds."""
    data = base / "data"
    svc = Services.open(data)
    seed_demo(svc.store, svc.grid_id, svc.user_id, svc.profile["village_id"],
              households=households, photos=0, rng_seed=11)
    hits = svc.households(SEARCH)
    svc.close()
    return data, hits[0]["title"], len(hits)


def idb_entries(data: Path) -> list[tuple[str, int, str | None]]:
    import base64

    out: list[tuple[str, int, str | None]] = [(f"{MOUNT}/data", 0o40755, None)]
    for p in sorted(data.rglob("*")):
        path = f"{MOUNT}/data/{p.relative_to(data).as_posix()}"
        if p.is_dir():
            out.append((path, 0o40755, None))
        elif p.is_file() and not p.name.endswith(".lock"):
            out.append((path, 0o100644, base64.b64encode(p.read_bytes()).decode()))
    return out


class Chromium:
    """One chromium process on a profile folder, CPU throttled in every page it opens."""

    def __init__(self, pw: Any, profile: Path, throttle: float) -> None:
        self.ctx = pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=ARGS, viewport=PHONE,
            device_scale_factor=2)
        self.page = self.ctx.pages[0] if self.ctx.pages else self.ctx.new_page()
        if throttle > 1:
            self.ctx.new_cdp_session(self.page).send("Emulation.setCPUThrottlingRate", {"rate": throttle})

    def start(self, url: str) -> float:
        p = self.page
        t0 = time.perf_counter()
        p.goto(url)
        p.wait_for_selector("#loading", state="detached", timeout=600_000)
        p.locator("flt-semantics-placeholder").dispatch_event("click")
        p.get_by_role("tab", name="首页").wait_for(timeout=600_000)
        return time.perf_counter() - t0

    def downloaded(self) -> int:
        """Bytes on the wire for the page and what it loaded (compressed sizes)."""
        return int(self.page.evaluate(
            "performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
            ".reduce((n, e) => n + (e.transferSize || 0), 0)"))

    def tap(self, role: str, name: str) -> None:
        self.page.get_by_role(role, name=name).first.click()

    def fill(self, box: Any, text: str) -> float:
        """Type ``text`` into ``box``; the time just before the text that the field took (on
        a busy machine Flutter sometimes swaps its editing element after the focus and the
        text goes nowhere: then type again, as tests.support.browser.Phone does)."""
        p = self.page
        for _ in range(5):
            p.bring_to_front()  # else, in a persistent profile, the click focuses nothing
            box.click()
            try:
                p.wait_for_function(
                    "['INPUT','TEXTAREA'].includes(document.activeElement && document.activeElement.tagName)",
                    timeout=20_000)
            except PlaywrightTimeout:
                continue
            t0 = time.perf_counter()
            try:
                p.locator(":focus").fill(text, timeout=5_000)
            except PlaywrightTimeout:
                continue
            if p.evaluate("document.activeElement && document.activeElement.value") == text:
                return t0
        raise AssertionError(f"the field did not take {text!r}")

    def search(self, first: str, count: int) -> float:
        """On 住户: type the query; seconds until the screen says it found ``count``
        households ("共 N 户") and shows ``first``."""
        p = self.page
        self.tap("tab", "住户")
        box = p.get_by_role("textbox", name="姓名、门牌、电话或拼音首字母")
        box.wait_for(timeout=120_000)
        p.wait_for_timeout(500)
        for _ in range(3):  # typed again if the text went to a swapped editing element
            t0 = self.fill(box, SEARCH)
            try:
                p.wait_for_function(
                    """([first, said]) => {
                         const texts = [...document.querySelectorAll('flt-semantics')]
                           .map((e) => (e.getAttribute('aria-label') || '') + ' ' + (e.textContent || ''));
                         return texts.some((x) => x.includes(said)) && texts.some((x) => x.includes(first));
                       }""", arg=[first, f"共 {count} 户"], timeout=30_000, polling="raf")
                return time.perf_counter() - t0
            except PlaywrightTimeout:
                p.locator(":focus").fill("") if p.locator(":focus").count() else None
        raise AssertionError(f"searching {SEARCH!r} did not show {first}")

    def save_visit(self, first: str) -> float:
        """记走访 for ``first``, a note, then the tap on 保存走访 -> 走访详情 (seconds)."""
        p = self.page
        self.tap("tab", "走访")
        self.tap("button", "记走访")
        p.get_by_role("textbox", name="走访住户 *").wait_for(timeout=120_000)
        self.fill(p.get_by_role("textbox", name="走访住户 *"), SEARCH)
        p.get_by_role("button", name=first).first.click()
        p.wait_for_timeout(500)
        self.fill(p.get_by_role("textbox", name="看到的情况"), "屋顶漏雨，墙面潮湿")
        p.wait_for_timeout(800)
        save = p.get_by_role("button", name="保存走访").first
        save.wait_for(timeout=60_000)
        t0 = time.perf_counter()
        save.click()
        p.get_by_role("heading", name="走访详情").wait_for(timeout=120_000)
        return time.perf_counter() - t0

    def photo(self, first: str, jpeg: Path) -> float:
        """记走访 for ``first``, then a 12-megapixel photo picked: seconds from the pick until
        its thumbnail shows (decode, orient, resize, encode, thumbnail, store)."""
        p = self.page
        back = p.get_by_role("button", name="返回")
        if back.count():  # from the saved visit's page back to the tabs
            back.first.click()
            p.get_by_role("tab", name="走访").wait_for(timeout=60_000)
        self.tap("tab", "走访")
        self.tap("button", "记走访")
        p.get_by_role("textbox", name="走访住户 *").wait_for(timeout=120_000)
        self.fill(p.get_by_role("textbox", name="走访住户 *"), SEARCH)
        p.get_by_role("button", name=first).first.click()
        p.wait_for_timeout(800)
        with p.expect_file_chooser(timeout=120_000) as chooser:
            p.get_by_role("button", name="拍照 / 选照片").first.click()
        t0 = time.perf_counter()
        chooser.value.set_files(str(jpeg))
        p.get_by_role("button", name="移除 1").wait_for(timeout=300_000)
        return time.perf_counter() - t0

    def close(self) -> None:
        self.ctx.close()


def run_phone(pw: Any, build_dir: Path, data: Path, first: str, count: int,
              throttle: float, jpeg: Path | None = None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        server = CentralServer(Path(tmp) / "server", build_dir).start()
        url = f"{server.url}/app/"
        profile = Path(tmp) / "profile"
        try:
            c = Chromium(pw, profile, 1)
            c.page.goto(f"{server.url}/api/v1/health")  # same origin, outside the app's scope
            c.page.evaluate(SEED_IDB, [MOUNT, idb_entries(data)])
            c.close()
            c = Chromium(pw, profile, throttle)
            res = {"first": c.start(url)}
            c.page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=600_000)
            c.page.evaluate("navigator.serviceWorker.ready")
            c.page.wait_for_timeout(2000)
            c.close()
            c = Chromium(pw, profile, throttle)
            res["later"] = c.start(url)
            c.page.wait_for_timeout(3000)  # the search index is built after the first screen
            res["search"] = c.search(first, count)
            res["save"] = c.save_visit(first)
            if jpeg:
                res["photo"] = c.photo(first, jpeg)
            c.close()
        finally:
            server.stop()
    return res


def run_pc(pw: Any, data: Path, assets: Path, first: str, count: int,
           throttle: float, jpeg: Path | None = None) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "data"
        shutil.copytree(data, copy)
        server = AppServer(copy, assets).start()
        profile = Path(tmp) / "profile"
        try:
            c = Chromium(pw, profile, throttle)
            res = {"first": c.start(server.url)}
            res["bytes"] = c.downloaded()
            c.close()
            c = Chromium(pw, profile, throttle)
            res["later"] = c.start(server.url)
            c.page.wait_for_timeout(3000)
            res["search"] = c.search(first, count)
            res["save"] = c.save_visit(first)
            if jpeg:
                res["photo"] = c.photo(first, jpeg)
            c.close()
        finally:
            server.stop()
    return res


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), "?")
    return f"{os.cpu_count()} cores ({cpu}); {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--throttles", default="1,4")
    ap.add_argument("--modes", default="phone,pc")
    ap.add_argument("--households", type=int, default=500)
    ap.add_argument("--json", type=Path, help="also write every figure here")
    ap.add_argument("--photo", action="store_true",
                    help="also time a 12-megapixel photo (bench_photos.phone_jpeg) picked on 记走访")
    ap.add_argument("--build", type=Path, help="time this existing build (e.g. an older one) "
                    "instead of building the work tree's")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    print("machine:", machine())
    base = Path(tempfile.mkdtemp(prefix="gw-phone-bench-"))
    if args.build:
        out, info = args.build.resolve(), json.loads((args.build / "build.json").read_text(encoding="utf-8"))
    else:
        out = build(base / "build").out
        info = json.loads((out / "build.json").read_text(encoding="utf-8"))
    print(f"build {info['version']}: {len(info['files'])} files, {info['bytes']:,} bytes, "
          f"{info['gzip_bytes']:,} bytes gzip (what a phone downloads to install), "
          f"bytecode {info.get('bytecode', False)}")
    data, first, count = seeded_store(base, args.households)
    print(f"store: {args.households} households; search {SEARCH!r} finds {count}, first {first}")
    assets = assets_with_font(base / "assets")
    jpeg = None
    if args.photo:
        from bench_photos import phone_jpeg

        jpeg = base / "phone-photo.jpg"
        jpeg.write_bytes(phone_jpeg())
    results: dict[str, list[dict[str, float]]] = {}
    with sync_playwright() as pw:
        for throttle in [float(x) for x in args.throttles.split(",")]:
            for mode in args.modes.split(","):
                key = f"{mode} x{throttle:g}"
                for i in range(args.runs):
                    if mode == "phone":
                        res = run_phone(pw, out, data, first, count, throttle, jpeg)
                    else:
                        res = run_pc(pw, data, assets, first, count, throttle, jpeg)
                    print(f"{key} run {i + 1}: " + ", ".join(
                        f"{k} {v:,.0f}" if k == "bytes" else f"{k} {v:.3f} s" for k, v in res.items()),
                        flush=True)
                    results.setdefault(key, []).append(res)
    print("after:", machine())
    print(f"\n{'median of ' + str(args.runs):<14}" + "".join(f"{k:>14}" for k in results))
    for what in ("first", "later", "search", "save", "photo"):
        if all(what in r for runs in results.values() for r in runs):
            print(f"{what:<14}" + "".join(
                f"{statistics.median(r[what] for r in runs):>13.2f}s" for runs in results.values()))
    if args.json:
        args.json.write_text(json.dumps({"build": info["gzip_bytes"], "results": results}, indent=1))


if __name__ == "__main__":
    main()
