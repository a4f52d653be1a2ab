"""A voice note on emulated links: one visit with a 60 s voice note (Opus at 24 kbit/s, the
recorder's setting: ~180 KB) synced in one cycle, against the physical floor.

Real server (uvicorn, SQLite) and the real engine through the user-space link emulator
(tests/support/linkemu.py) on 127.0.0.1, as benchmarks/bench_sync.py does for visits and
photos; the floor is bench_sync.floor_s (bytes / bandwidth each way + one RTT per request and
per connection's handshake), and size / up-bandwidth alone for the note's bytes.

    .venv/bin/python benchmarks/bench_voice.py [--links 2g-rural,edge]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_sync import SAID, SEEN, floor_s, setup  # noqa: E402
from sync import voice  # noqa: E402
from sync.client.engine import SyncEngine  # noqa: E402
from tests.support import voice_samples  # noqa: E402
from tests.support.linkemu import LINKS, FaultProxy  # noqa: E402

SECONDS = voice.MAX_SECONDS


def note_bytes() -> bytes:
    """A 60 s note the size the recorder makes (bit rate x length), payload incompressible
    like real Opus."""
    size = voice.RECORD_BIT_RATE * SECONDS // 8
    data = voice_samples.ogg_opus(SECONDS, filler=size)
    body = bytearray(data)
    rnd = os.urandom(len(body))
    # Opus pages carry compressed audio: replace the filler with random bytes (gzip cannot help).
    for i in range(200, len(body)):
        if body[i] == 0x55:
            body[i] = rnd[i]
    return bytes(body)


def bench(link_name: str) -> dict:
    link = LINKS[link_name]
    with tempfile.TemporaryDirectory() as d:
        real, rep, en, homes = setup(Path(d))
        try:
            data = note_bytes()
            note = voice.check_voice(data)
            with FaultProxy(("127.0.0.1", real.port), link=link) as p:
                visit = rep.create("visit", real.org.grid, {
                    "household": homes[0], "visitor": rep.actor, "time": int(time.time() * 1000),
                    "kind": "care", "people_met": "户主本人", "seen": SEEN, "said": SAID})
                rep.add_photo(data)
                rep.create("voice", real.org.grid, {
                    "sha256": note.sha256, "size": note.size, "media_type": note.media_type,
                    "duration_ms": note.duration_ms, "attached_to": {"kind": "visit", "id": visit["id"]}})
                eng = SyncEngine(rep, p.url, en.token, deadline_s=600, read_timeout=300)
                t0 = time.perf_counter()
                r = eng.sync_once()
                dt = time.perf_counter() - t0
                assert r.ok and r.photos_uploaded == 1 and real.blobs.has(note.sha256), r.error
                floor = floor_s(p.stats.bytes_up, p.stats.bytes_down, r.requests, link,
                                p.stats.connections, p.handshake_rtts)
                return {"link": link_name, "s": dt, "floor_s": floor, "ratio": dt / floor,
                        "size_floor_s": note.size * 8 / link.up_bps, "requests": r.requests,
                        "connections": p.stats.connections, "up": p.stats.bytes_up,
                        "down": p.stats.bytes_down, "note": note.size}
        finally:
            real.stop()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--links", default="2g-rural,edge")
    args = ap.parse_args()
    print(f"# one visit + a {SECONDS} s voice note ({voice.RECORD_BIT_RATE // 1000} kbit/s), one sync cycle")
    for name in args.links.split(","):
        r = bench(name)
        print(f"{name:9s} {r['s']:.1f} s vs floor {r['floor_s']:.1f} s = {r['ratio']:.2f}x "
              f"(note alone, size / up-bandwidth: {r['size_floor_s']:.1f} s); note {r['note']} B; "
              f"{r['up']} B up / {r['down']} B down; {r['requests']} requests on {r['connections']} connection(s)")


if __name__ == "__main__":
    main()
