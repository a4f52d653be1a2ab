"""Voice notes: formats told by their magic bytes, durations read from the containers, the
size and length caps, and every refusal's code and one-line message (sync.voice); the
server's blob check takes voice notes and photos and nothing else (sync.server.blob_policy)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from sync import i18n, voice
from sync.records import ValidationError, check_record
from sync.server import blob_policy
from sync.server.errors import ServerError
from tests.support import voice_samples as vs


@contextlib.contextmanager
def use_language(lang: str) -> Iterator[None]:
    before = i18n.language()
    i18n.set_language(lang)
    try:
        yield
    finally:
        i18n.set_language(before)


@pytest.mark.parametrize(("make", "media_type"), [
    (lambda s: vs.wav(s), "audio/wav"),
    (lambda s: vs.ogg_opus(s), "audio/ogg"),
    (lambda s: vs.m4a(s), "audio/mp4"),
    (lambda s: vs.webm(s), "audio/webm"),
    (lambda s: vs.webm(s, with_duration=True), "audio/webm"),
    (lambda s: vs.mp3(s), "audio/mpeg"),
])
def test_each_accepted_container_is_told_and_its_length_read(make, media_type):
    note = voice.check_voice(make(42))
    assert note.media_type == media_type
    assert note.duration_ms is not None and abs(note.duration_ms - 42_000) <= 100
    assert len(note.sha256) == 64 and note.size == len(note.data)


@pytest.mark.parametrize("make", [lambda s: vs.wav(s, 4000), vs.ogg_opus, vs.m4a, vs.webm, vs.mp3])
def test_a_note_over_the_cap_is_refused_as_too_long(make):
    with use_language("zh"), pytest.raises(voice.VoiceError) as err:
        voice.check_voice(make(75))
    assert err.value.code == "too_long"
    assert str(err.value).startswith("录音太长（75 秒，上限 60 秒）")
    assert "\n" not in str(err.value)


def test_the_cap_leaves_room_for_the_recorders_stop():
    assert voice.check_voice(vs.ogg_opus(voice.MAX_SECONDS + 1)).duration_ms == 61_000


def test_too_many_bytes_is_refused_before_anything_is_parsed():
    data = b"RIFF" + b"\0" * voice.MAX_BYTES
    with use_language("en"), pytest.raises(voice.VoiceError) as err:
        voice.check_voice(data)
    assert err.value.code == "too_large"
    assert "limit 1024 KB" in str(err.value)


def test_a_file_too_large_is_refused_from_its_size(tmp_path):
    p = tmp_path / "long.wav"
    p.write_bytes(vs.wav(70))  # 8 kHz 16-bit: 1.1 MB
    with pytest.raises(voice.VoiceError) as err:
        voice.check_voice(p)
    assert err.value.code == "too_large"


@pytest.mark.parametrize(("data", "code", "zh"), [
    (b"", "empty", "录音是空的"),
    (b"hello, this is a text file", "not_audio", "这不是录音文件"),
    (b"\xff\xd8\xff\xe0" + b"\0" * 100, "not_audio", "这不是录音文件"),  # a JPEG photo
    (b"#!AMR\n" + b"\0" * 100, "unsupported", "不支持 AMR 格式"),
    (b"fLaC" + b"\0" * 100, "unsupported", "不支持 FLAC 格式"),
    (b"\0\0\0\x18ftypheic" + b"\0" * 100, "unsupported", "不支持 HEIC 格式"),
    (b"RIFF\x10\0\0\0WAVEjunk", "corrupt", "录音文件已损坏"),
    (b"OggS\x00\x02" + b"\0" * 10, "corrupt", "录音文件已损坏"),
    (b"\x1a\x45\xdf\xa3\x00", "corrupt", "录音文件已损坏"),
    (b"\xff\xfb\x10\xc4" + b"\x07" * 500, "not_audio", "这不是录音文件"),  # one header-like word
])
def test_refusals_have_a_code_and_a_message_that_says_what_to_do(data, code, zh):
    with use_language("zh"), pytest.raises(voice.VoiceError) as err:
        voice.check_voice(data)
    assert err.value.code == code
    assert str(err.value).startswith(zh)
    assert "，请" in str(err.value)  # what to do


def test_a_webm_cut_mid_way_keeps_what_was_read():
    full = vs.webm(40)
    note = voice.check_voice(full[: len(full) - 30])
    assert note.media_type == "audio/webm" and note.duration_ms is not None and note.duration_ms <= 40_000


def test_duration_text():
    assert voice.format_duration(42_400) == "0:42"
    assert voice.format_duration(60_600) == "1:01"
    assert voice.format_duration(None) == "?"


def test_the_voice_record_takes_the_formats_and_caps_of_sync_voice():
    att = {"kind": "visit", "id": "01890000-0000-7000-8000-000000000001"}
    sha = "a" * 64
    ok = {"sha256": sha, "size": 1000, "media_type": "audio/ogg", "duration_ms": 42_000, "attached_to": att}
    check_record("voice", ok)
    for bad in ({"media_type": "audio/flac"}, {"size": voice.MAX_BYTES + 1}, {"duration_ms": voice.MAX_MS + 1}):
        with pytest.raises(ValidationError):
            check_record("voice", {**ok, **bad})


def test_the_server_stores_voice_notes_beside_photos_and_refuses_the_rest():
    check = blob_policy.upload_check("grid_worker")
    assert check(vs.ogg_opus(20)) == "voice"
    assert check(vs.webm(20)) == "voice"
    with pytest.raises(ServerError) as err:
        check(vs.m4a(90))
    assert err.value.status == 422
    with pytest.raises(ServerError):
        check(b"#!AMR\n" + b"\0" * 100)
    with pytest.raises(ServerError):
        check(b"plain text, not a photo nor a voice note")
