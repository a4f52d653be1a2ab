"""Photo pipeline benchmark: a 12-megapixel phone JPEG to the stored photo and thumbnail.

Run: .venv/bin/python benchmarks/bench_photos.py [--runs 9]

The input is made in code and is the same every run: 4000x3000, natural-ish content (smooth
shapes at several scales plus sensor-like fine noise), JPEG q92 with EXIF (orientation 6, GPS,
DateTimeOriginal) like a phone camera writes. Each run processes the bytes and stores the result
in a fresh directory (so the write + fsync is really done). Prints medians and p95.
"""

from __future__ import annotations

import argparse
import io
import platform
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from sync import photos  # noqa: E402

W, H = 4000, 3000


def _noise(size: tuple[int, int], rng: random.Random) -> Image.Image:
    return Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))


def phone_jpeg(seed: int = 12) -> bytes:
    """A deterministic 12 MP 'phone photo' of a few MB."""
    rng = random.Random(seed)
    channels = []
    for _ in range(3):
        # Large soft shapes (sky, walls), mid-size texture (foliage, bricks), fine sensor noise.
        big = _noise((16, 12), rng).resize((W, H), Image.Resampling.BICUBIC)
        mid = _noise((400, 300), rng).resize((W, H), Image.Resampling.BICUBIC)
        mid = mid.filter(ImageFilter.GaussianBlur(2))
        fine = _noise((W, H), rng).filter(ImageFilter.GaussianBlur(0.6))
        ch = Image.blend(Image.blend(big, mid, 0.35), fine, 0.2)
        channels.append(ch)
    im = Image.merge("RGB", channels)
    # Some hard edges (a house, a sign) so it is not all blur.
    for _ in range(40):
        x, y = rng.randrange(W - 400), rng.randrange(H - 300)
        colour = tuple(rng.randrange(256) for _ in range(3))
        im.paste(colour, (x, y, x + rng.randrange(40, 400), y + rng.randrange(30, 300)))
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "GridPhone", "GP-12", 6
    exif[0x8825] = {1: "N", 2: (30.0, 15.0, 5.5), 3: "E", 4: (120.0, 10.0, 1.0)}
    exif[0x8769] = {0x9003: "2026:05:01 10:20:30", 0x9011: "+08:00"}
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=92, exif=exif.tobytes())
    return buf.getvalue()


def p95(xs: list[float]) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args()

    data = phone_jpeg()
    proc_ms, store_ms, total_ms = [], [], []
    p = None
    with tempfile.TemporaryDirectory() as tmp:
        photos.process_photo(data)  # warm-up: plugin imports, first-call costs
        for i in range(args.runs):
            t0 = time.perf_counter()
            p = photos.process_photo(data)
            t1 = time.perf_counter()
            photos.store_photo(p, Path(tmp) / f"run{i}")
            t2 = time.perf_counter()
            proc_ms.append((t1 - t0) * 1000)
            store_ms.append((t2 - t1) * 1000)
            total_ms.append((t2 - t0) * 1000)
        thumb_ms = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            photos.make_thumbnail(p.jpeg)
            thumb_ms.append((time.perf_counter() - t0) * 1000)
    assert p is not None
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"python {platform.python_version()}, Pillow {Image.__version__}, "
          f"{platform.machine()}, runs={args.runs}")
    print(f"input: {W}x{H} JPEG q92 with EXIF orientation 6 + GPS, {len(data):,} bytes")
    print(f"output: {p.width}x{p.height} JPEG {len(p.jpeg):,} bytes; "
          f"thumb {p.thumb_width}x{p.thumb_height} {len(p.thumb):,} bytes; "
          f"stored/in = {len(p.jpeg) / len(data):.1%}")
    for name, xs in (("process_photo", proc_ms), ("store_photo", store_ms),
                     ("process+store", total_ms), ("make_thumbnail(server)", thumb_ms)):
        print(f"{name:24s} median {statistics.median(xs):7.1f} ms   p95 {p95(xs):7.1f} ms")
    print(f"peak RSS of the benchmark process: {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
