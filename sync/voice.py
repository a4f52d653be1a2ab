"""Voice notes: what a short recording may be, checked from its bytes (pure Python, no codec).

Device and server share it (it imports neither the app nor Flet, nor any audio library):
the device checks a recording or a picked file before keeping it, the server checks every
voice blob it receives (sync.server.blob_policy). A voice note is kept as it came (no
re-encoding: there is no codec here, and the phone's recorder already compresses); these
checks decide whether it is one:

1. size: not empty, at most ``MAX_BYTES``;
2. container, from the first bytes (magic): WebM/Matroska, Ogg (Opus/Vorbis), MP4/M4A
   (AAC), MP3 (ID3 or a frame header), WAV (RIFF/WAVE). Other audio we recognise (AMR, FLAC,
   AIFF ...) gets an ``unsupported`` message that names it; anything else ``not_audio``;
3. duration, read from the container where it says (WAV header, Ogg last granule, MP4
   ``mvhd``, WebM ``Duration`` or the last block's timecode, MP3 from the frame bitrate): more
   than ``MAX_MS`` is refused. A broken header is ``corrupt``. A duration that cannot be
   read is ``None`` (the size cap still bounds it: 1 MiB is ~5 min at 24 kbit/s).

Every refusal is a :class:`VoiceError` with a stable ``code`` and a one-line catalog message
(``sync/locale/voice.json``: what is wrong, what to do). See docs/model.md ("Voice notes").
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

from sync.i18n import t

MAX_SECONDS = 60  # a short note; the recorder stops itself here
# The recorder's stop lands a little after the timer: that much over the cap is still taken.
MAX_MS = MAX_SECONDS * 1000 + 1500
# 1 MiB: 60 s of 8 kHz 16-bit mono WAV (the uncompressed worst case a PC gives) is 960 KB;
# the phone's AAC/Opus at RECORD_BIT_RATE is ~180 KB.
MAX_BYTES = 1024 * 1024
RECORD_BIT_RATE = 24_000  # bit/s: speech stays clear, 60 s is ~180 KB
RECORD_SAMPLE_RATE = 16_000  # wideband speech

# media type of each accepted container (what the record's ``media_type`` holds)
MEDIA_TYPES = ("audio/webm", "audio/ogg", "audio/mp4", "audio/mpeg", "audio/wav")
EXTENSIONS = {"audio/webm": "webm", "audio/ogg": "ogg", "audio/mp4": "m4a", "audio/mpeg": "mp3", "audio/wav": "wav"}
# For the file picker: the extensions people's files carry.
PICK_EXTENSIONS = ("webm", "ogg", "opus", "oga", "m4a", "mp4", "aac", "mp3", "wav")

# ISO-BMFF brands that are video/images, not audio (HEIC photos share the box layout).
_NOT_AUDIO_BRANDS = (b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"avif", b"qt  ")


class VoiceError(ValueError):
    """A voice note that is refused. ``code`` is stable; ``message`` is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


def voice_error(code: str, **params: object) -> VoiceError:
    return VoiceError(code, t(f"voice.error.{code}", **params))


@dataclass(frozen=True)
class VoiceNote:
    sha256: str  # hex sha256 of ``data`` (the stored bytes, as recorded)
    data: bytes
    media_type: str
    duration_ms: int | None  # None when the container does not say

    @property
    def size(self) -> int:
        return len(self.data)


def check_voice(data: bytes | bytearray | Path, *, max_bytes: int = MAX_BYTES, max_ms: int = MAX_MS) -> VoiceNote:
    """The voice note these bytes (or this file) are; raises VoiceError (empty, too_large,
    unreadable, not_audio, unsupported, corrupt, too_long). Writes nothing."""
    if isinstance(data, Path):
        try:
            if data.stat().st_size > max_bytes:
                raise voice_error("too_large", size_kb=data.stat().st_size // 1024, max_kb=max_bytes // 1024)
            data = data.read_bytes()
        except OSError as exc:
            raise voice_error("unreadable", reason=exc.strerror or str(exc)) from None
    data = bytes(data)
    if not data:
        raise voice_error("empty")
    if len(data) > max_bytes:
        raise voice_error("too_large", size_kb=len(data) // 1024, max_kb=max_bytes // 1024)
    media_type = sniff(data)
    if media_type is None:
        other = sniff_other(data)
        if other:
            raise voice_error("unsupported", format=other)
        raise voice_error("not_audio")
    try:
        ms = _DURATION[media_type](data)
    except (struct.error, IndexError, ValueError, ZeroDivisionError, OverflowError):
        raise voice_error("corrupt") from None
    if ms is not None and ms > max_ms:
        raise voice_error("too_long", seconds=round(ms / 1000), max_seconds=MAX_SECONDS)
    return VoiceNote(hashlib.sha256(data).hexdigest(), data, media_type, ms)


def sniff(data: bytes) -> str | None:
    """The media type of an accepted container, from its first bytes; None otherwise."""
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "audio/webm"  # EBML: WebM or Matroska (what a browser's MediaRecorder writes)
    if data[:4] == b"OggS":
        return "audio/ogg"
    if data[4:8] == b"ftyp" and data[8:12] not in _NOT_AUDIO_BRANDS:
        return "audio/mp4"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "audio/wav"
    if data[:3] == b"ID3" or _mp3_frame(data, 0) is not None:
        return "audio/mpeg"
    return None


def sniff_other(data: bytes) -> str | None:
    """The name of audio (or a look-alike) we recognise but do not take, for the message."""
    if data.startswith(b"#!AMR"):
        return "AMR"
    if data.startswith(b"fLaC"):
        return "FLAC"
    if data[:4] == b"FORM" and data[8:12] in (b"AIFF", b"AIFC"):
        return "AIFF"
    if data[4:8] == b"ftyp":
        return data[8:12].decode("ascii", "replace").strip().upper() or "MP4"
    if len(data) > 1 and data[0] == 0xFF and data[1] & 0xF6 == 0xF0:
        return "AAC (ADTS)"
    return None


def format_duration(ms: int | None) -> str:
    """``0:42`` for people; ``?`` when unknown."""
    if ms is None:
        return "?"
    s = max(0, round(ms / 1000))
    return f"{s // 60}:{s % 60:02d}"


# --------------------------------------------------------------------------- durations


def _wav_ms(data: bytes) -> int:
    pos, byte_rate, data_len = 12, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack_from("<I", data, pos + 4)[0]
        if cid == b"fmt ":
            byte_rate = struct.unpack_from("<I", data, pos + 16)[0]
        elif cid == b"data":
            data_len = min(size, len(data) - pos - 8)  # a recorder killed mid-way: what is there
            break
        pos += 8 + size + (size & 1)
    if not byte_rate or data_len is None:
        raise ValueError("wav without fmt/data")
    return data_len * 1000 // byte_rate


def _ogg_ms(data: bytes) -> int | None:
    if data[4] != 0 or len(data) < 28 + data[26]:
        raise ValueError("ogg page header")
    head = data[28:64]
    if head.startswith(b"OpusHead"):
        rate, skip = 48_000, struct.unpack_from("<H", head, 10)[0]
    elif head.startswith(b"\x01vorbis"):
        rate, skip = struct.unpack_from("<I", head, 12)[0], 0
    else:
        return None
    last = data.rfind(b"OggS")
    granule = struct.unpack_from("<q", data, last + 6)[0]
    if granule < 0:
        return None
    return max(0, granule - skip) * 1000 // rate


def _mp4_ms(data: bytes) -> int | None:
    def boxes(start: int, end: int):
        pos = start
        while pos + 8 <= end:
            size, typ = struct.unpack_from(">I4s", data, pos)
            hdr = 8
            if size == 1:
                size, hdr = struct.unpack_from(">Q", data, pos + 8)[0], 16
            elif size == 0:
                size = end - pos
            if size < hdr:
                raise ValueError("mp4 box size")
            yield typ, pos + hdr, min(pos + size, end)
            pos += size

    for typ, body, end in boxes(0, len(data)):
        if typ != b"moov":
            continue
        for sub, sbody, _ in boxes(body, end):
            if sub == b"mvhd":
                if data[sbody] == 1:
                    scale, dur = struct.unpack_from(">IQ", data, sbody + 20)
                else:
                    scale, dur = struct.unpack_from(">II", data, sbody + 12)
                return dur * 1000 // scale
    return None  # moov at the end and cut off: unknown


_MP3_BITRATES = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)  # MPEG-1 layer III
_MP3_BITRATES_2 = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)  # MPEG-2/2.5 layer III


_MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mp3_header(data: bytes, pos: int) -> tuple[int, int] | None:
    """(bitrate in kbit/s, frame length) of a layer III frame header at ``pos``, or None."""
    if pos + 4 > len(data) or data[pos] != 0xFF or data[pos + 1] & 0xE0 != 0xE0:
        return None
    version, layer = (data[pos + 1] >> 3) & 3, (data[pos + 1] >> 1) & 3
    index, rate_index = data[pos + 2] >> 4, (data[pos + 2] >> 2) & 3
    if layer != 1 or version == 1 or index in (0, 15) or rate_index == 3:
        return None
    kbps = (_MP3_BITRATES if version == 3 else _MP3_BITRATES_2)[index]
    per_frame = 144_000 if version == 3 else 72_000
    return kbps, per_frame * kbps // _MP3_RATES[version][rate_index] + ((data[pos + 2] >> 1) & 1)


def _mp3_frame(data: bytes, pos: int) -> int | None:
    """The bitrate (kbit/s) of an MP3 stream starting at ``pos``: a frame header there and,
    unless the data ends with that frame, another right after it (two bytes that merely look
    like a header are not an MP3 file); None otherwise."""
    first = _mp3_header(data, pos)
    if first is None:
        return None
    kbps, length = first
    if pos + length < len(data) and _mp3_header(data, pos + length) is None:
        return None
    return kbps


def _mp3_ms(data: bytes) -> int:
    pos = 0
    if data[:3] == b"ID3":
        size = data[6:10]
        pos = 10 + ((size[0] << 21) | (size[1] << 14) | (size[2] << 7) | size[3])
    kbps = _mp3_frame(data, pos)
    if kbps is None:
        raise ValueError("no mp3 frame after the tag")
    # Constant bitrate assumed (a VBR file's first frame may differ; the size cap still holds).
    return (len(data) - pos) * 8 // kbps


_EBML_CONTAINERS = {0x18538067, 0x1549A966, 0x1F43B675, 0xA0}  # Segment, Info, Cluster, BlockGroup


def _vint(data: bytes, pos: int, keep_marker: bool) -> tuple[int, int, bool]:
    """(value, length, all-ones) of an EBML variable-size integer at ``pos``."""
    first = data[pos]
    length = 1
    while length <= 8 and not first & (0x80 >> (length - 1)):
        length += 1
    if length > 8:
        raise ValueError("ebml vint")
    value = first if keep_marker else first & (0xFF >> length)
    for b in data[pos + 1 : pos + length]:
        value = (value << 8) | b
    if pos + length > len(data):
        raise ValueError("ebml cut")
    ones = not keep_marker and value == (1 << (7 * length)) - 1
    return value, length, ones


def _webm_ms(data: bytes) -> int | None:
    """The Duration element, else the last block's time (a browser's MediaRecorder writes no
    Duration): the elements are walked with containers opened in place."""
    scale, duration, cluster, last = 1_000_000, None, 0, None
    pos, end = 0, len(data)
    while pos < end:
        eid, n, _ = _vint(data, pos, True)
        size, m, unknown = _vint(data, pos + n, False)
        body = pos + n + m
        if eid in _EBML_CONTAINERS:
            pos = body  # open it: its children follow
            continue
        if unknown or body + size > end:
            break  # a cut recording: what was read so far stands
        if eid == 0x2AD7B1:  # TimecodeScale (ns)
            scale = int.from_bytes(data[body : body + size], "big") or scale
        elif eid == 0x4489:  # Duration (float, in TimecodeScale units)
            duration = struct.unpack(">f" if size == 4 else ">d", data[body : body + size])[0]
        elif eid == 0xE7:  # Cluster timecode
            cluster = int.from_bytes(data[body : body + size], "big")
        elif eid in (0xA3, 0xA1):  # SimpleBlock / Block: track vint, then int16 relative time
            _, tn, _ = _vint(data, body, False)
            rel = struct.unpack_from(">h", data, body + tn)[0]
            last = max(last or 0, cluster + rel)
        pos = body + size
    if data[:4] != b"\x1a\x45\xdf\xa3":
        raise ValueError("ebml")
    units = duration if duration is not None else last
    return None if units is None else int(units * scale // 1_000_000)


_DURATION = {
    "audio/wav": _wav_ms, "audio/ogg": _ogg_ms, "audio/mp4": _mp4_ms,
    "audio/mpeg": _mp3_ms, "audio/webm": _webm_ms,
}


def wav_bytes(pcm16: bytes, sample_rate: int = RECORD_SAMPLE_RATE, channels: int = 1) -> bytes:
    """A WAV file around raw 16-bit little-endian PCM (what the recorder streams in a PC's
    browser view)."""
    byte_rate = sample_rate * channels * 2
    return (b"RIFF" + struct.pack("<I", 36 + len(pcm16)) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, channels, sample_rate, byte_rate, channels * 2, 16)
            + b"data" + struct.pack("<I", len(pcm16)) + pcm16)
