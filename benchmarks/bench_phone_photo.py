"""Photo processing of a 12-megapixel phone photo inside the phone's browser build (no Pillow:
the browser's image APIs, app.browser_photos), beside Pillow on this PC (sync.photos).

    .venv/bin/python benchmarks/bench_phone_photo.py [--runs 5] [--cpu-throttle 4]

The input is bench_photos.phone_jpeg(): 4000x3000, JPEG q92, EXIF orientation 6 and GPS.
Three figures, medians over ``--runs``:

- app: in the phone build at 390x844 (Debian's chromium, headless), the photo picked on the
  new-issue form until its thumbnail is on the screen: the picked bytes travel from Flutter to
  the Python worker, are decoded, oriented, resized, encoded, hashed, written to the IndexedDB
  mount, and the thumbnail drawn. The photo is removed between runs.
- browser APIs: the same image work in JavaScript on the page's main thread
  (createImageBitmap from-image, OffscreenCanvas 1200x1600 and 240x320, convertToBlob): what
  the browser itself costs, without Python and the transfer.
- Pillow: sync.photos.process_photo on this PC.

``--cpu-throttle N`` slows chromium's page N times (DevTools Emulation.setCPUThrottlingRate),
a stand-in for a cheap Android phone.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_photos import phone_jpeg  # noqa: E402

from app.webbuild import build  # noqa: E402
from sync import photos  # noqa: E402
from tests.support.browser import ARGS, CHROMIUM, CentralServer, Phone  # noqa: E402

BROWSER_APIS = """async (b64) => {
  const raw = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const t0 = performance.now();
  const bmp = await createImageBitmap(new Blob([raw]), {imageOrientation: "from-image"});
  const big = new OffscreenCanvas(1200, 1600), ctx = big.getContext("2d");
  ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, 1200, 1600);
  ctx.imageSmoothingQuality = "high"; ctx.drawImage(bmp, 0, 0, 1200, 1600); bmp.close();
  const jpeg = await big.convertToBlob({type: "image/jpeg", quality: 0.75});
  const small = new OffscreenCanvas(240, 320), c2 = small.getContext("2d");
  c2.fillStyle = "#fff"; c2.fillRect(0, 0, 240, 320);
  c2.imageSmoothingQuality = "high"; c2.drawImage(big, 0, 0, 240, 320);
  const thumb = await small.convertToBlob({type: "image/jpeg", quality: 0.70});
  await jpeg.arrayBuffer(); await thumb.arrayBuffer();
  return [performance.now() - t0, jpeg.size, thumb.size];
}"""


def _median_ms(values: list[float]) -> str:
    return f"median {statistics.median(values):.0f} ms (runs: {', '.join(f'{v:.0f}' for v in values)})"


def main() -> None:
    import base64

    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cpu-throttle", type=float, default=1.0)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    data = phone_jpeg()
    print(f"input: 4000x3000 JPEG, {len(data):,} bytes; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; throttle {args.cpu_throttle}x")
    pil = []
    for _ in range(args.runs + 1):
        t0 = time.perf_counter()
        p = photos.process_photo(data)
        pil.append((time.perf_counter() - t0) * 1000)
    print(f"Pillow process_photo: {_median_ms(pil[1:])}; stored {p.width}x{p.height} {len(p.jpeg):,} B")

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "IMG_12MP.jpg"
        src.write_bytes(data)
        out = build(ROOT / ".test-tmp" / "phone-build").out
        server = CentralServer(Path(tmp) / "server", out).start()
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                phone = Phone(browser)
                page = phone.page
                if args.cpu_throttle > 1:
                    cdp = phone.ctx.new_cdp_session(page)
                    cdp.send("Emulation.setCPUThrottlingRate", {"rate": args.cpu_throttle})
                phone.open(f"{server.url}/app/")
                b64 = base64.b64encode(data).decode()
                apis = [page.evaluate(BROWSER_APIS, b64) for _ in range(args.runs + 1)][1:]
                print(f"browser APIs (main thread): {_median_ms([a[0] for a in apis])}; "
                      f"JPEG {apis[0][1]:,} B, thumbnail {apis[0][2]:,} B")
                phone.tap("tab", "问题墙")
                phone.tap("button", "报问题")
                app = []
                for _ in range(args.runs + 1):
                    with page.expect_file_chooser() as chooser:
                        page.get_by_role("button", name="拍照 / 选照片").click()
                    t0 = time.perf_counter()
                    chooser.value.set_files(str(src))
                    page.get_by_role("button", name="移除 1").wait_for(timeout=300_000)
                    app.append((time.perf_counter() - t0) * 1000)
                    page.get_by_role("button", name="移除 1").click()
                    page.get_by_role("button", name="移除 1").wait_for(state="detached", timeout=30_000)
                print(f"app, pick to thumbnail shown: {_median_ms(app[1:])}")
                phone.close()
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
