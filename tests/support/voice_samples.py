"""Voice-note test files built byte by byte (no codec here, no binary fixtures in the repo):
each has the container's real header layout, so the checks in sync.voice read them as a
recorder's file; the payload is silence or filler."""

from __future__ import annotations

import struct

from sync.voice import wav_bytes


def wav(seconds: float, rate: int = 8000) -> bytes:
    return wav_bytes(b"\0\0" * int(rate * seconds), rate)


def _ogg_page(granule: int, seq: int, body: bytes, flags: int = 0) -> bytes:
    segs = []
    n = len(body)
    while n >= 255:
        segs.append(255)
        n -= 255
    segs.append(n)
    return (b"OggS" + bytes([0, flags]) + struct.pack("<qIII", granule, 1, seq, 0)
            + bytes([len(segs)]) + bytes(segs) + body)


def ogg_opus(seconds: float, filler: int = 2000) -> bytes:
    """OpusHead (pre-skip 312) then one data page whose granule is the end time at 48 kHz."""
    head = b"OpusHead" + bytes([1, 1]) + struct.pack("<HIhB", 312, 16000, 0, 0)
    out = _ogg_page(0, 0, head, 2) + _ogg_page(0, 1, b"OpusTags" + b"\0" * 8)
    per_page = 254 * 255  # a page holds at most 255 lacing values
    pages = max(1, -(-filler // per_page))
    end = 312 + int(seconds * 48000)
    for i in range(pages):
        body = b"\x55" * min(per_page, filler - i * per_page)
        out += _ogg_page(312 + (end - 312) * (i + 1) // pages, 2 + i, body, 4 if i == pages - 1 else 0)
    return out


def _box(typ: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + typ + body


def m4a(seconds: float, filler: int = 2000) -> bytes:
    """ftyp M4A, mdat, then moov/mvhd (version 0, timescale 1000) as phones write it."""
    mvhd = _box(b"mvhd", bytes(4) + struct.pack(">IIII", 0, 0, 1000, int(seconds * 1000)) + bytes(80))
    return _box(b"ftyp", b"M4A \0\0\0\0M4A mp42isom") + _box(b"mdat", b"\x21" * filler) + _box(b"moov", mvhd)


def _ebml(eid: int, body: bytes, unknown: bool = False) -> bytes:
    idb = eid.to_bytes((eid.bit_length() + 7) // 8, "big")
    size = b"\x01\xff\xff\xff\xff\xff\xff\xff" if unknown else b"\x01" + len(body).to_bytes(7, "big")
    return idb + size + body


def webm(seconds: float, with_duration: bool = False, blocks: int = 5) -> bytes:
    """What a browser's MediaRecorder writes: unknown-size Segment and Clusters, no Duration
    (unless asked), SimpleBlocks with 16-bit times relative to their cluster (ms)."""
    header = _ebml(0x1A45DFA3, _ebml(0x4282, b"webm"))
    info_body = _ebml(0x2AD7B1, (1_000_000).to_bytes(3, "big"))
    if with_duration:
        info_body += _ebml(0x4489, struct.pack(">d", seconds * 1000))
    clusters = b""
    end_ms = int(seconds * 1000)
    for c in range(0, end_ms + 1, 20_000):  # one cluster per 20 s, as recorders do
        body = _ebml(0xE7, c.to_bytes(4, "big"))
        span = min(20_000, end_ms - c)
        for i in range(blocks):
            rel = span * i // max(1, blocks - 1)
            body += _ebml(0xA3, b"\x81" + struct.pack(">h", rel) + b"\x80" + b"\x33" * 40)
        clusters += _ebml(0x1F43B675, body, unknown=True)
    return header + _ebml(0x18538067, _ebml(0x1549A966, info_body) + clusters, unknown=True)


def mp3(seconds: float, kbps: int = 32) -> bytes:
    """An ID3 tag, then MPEG-1 layer III frames at ``kbps`` (constant bitrate)."""
    index = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128).index(kbps)
    frame_len = 144 * kbps * 1000 // 44100
    frame = bytes([0xFF, 0xFB, index << 4, 0xC4]) + b"\0" * (frame_len - 4)
    n = int(seconds * kbps * 1000 / 8 / frame_len)
    return b"ID3\x03\0\0\0\0\0\x0a" + b"\0" * 10 + frame * n
