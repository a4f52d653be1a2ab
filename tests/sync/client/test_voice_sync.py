"""Voice notes over real HTTP (uvicorn, SQLite, 127.0.0.1) through the fault proxy: a note
travels like a photo (by sha256, resumable), reaches the server exactly once when the link
drops mid-upload, another device's TinyDB store gets it back as a voice file, and the server
refuses a note over the cap."""

from __future__ import annotations

import hashlib
import random

from sync.client.transport import Transport
from sync.client.upload import BlobUploader
from tests.support import voice_samples as vs
from tests.support.linkemu import Fault


def _voice_fields(sha: str, data: bytes, owner: str) -> dict:
    return {"sha256": sha, "size": len(data), "media_type": "audio/ogg", "duration_ms": 55_000,
            "attached_to": {"kind": "visit", "id": owner}}


def test_a_voice_note_reaches_the_server_once_and_resumes_after_dropped_connections(
        real, engine_for, proxy_for, tmp_path):
    from app.store import Store

    a, en = real.device("w1")
    h = real.household(a)
    visit = a.create("visit", real.org.grid, {"household": h["id"], "visitor": en.user["id"],
                                              "time": 1_780_000_000_000, "kind": "routine"})
    data = vs.ogg_opus(55, filler=160_000)  # ~55 s of Opus at 24 kbit/s
    sha = a.add_photo(data)  # the replica's blobs: photos and voice notes alike
    a.create("voice", real.org.grid, _voice_fields(sha, data, visit["id"]))
    p = proxy_for(real.port, seed=7)
    rng = random.Random(7)
    chunk = 32 * 1024
    for _ in range(4):  # the link drops in the middle of chunk uploads
        p.add(Fault.cut("up", rng.randint(0, chunk + 600), match=b"PUT /api/v1/blobs/"))
    p.add(Fault.cut("down", 5, match=b"PUT /api/v1/blobs/"))  # the last answer is lost
    e = engine_for(a, p.url, token=en.token, chunk_size=chunk, adaptive=False, max_attempts=20)
    rep = e.sync_once()
    assert rep.ok, rep.error
    assert len(p.stats.faults_fired) == 5
    assert real.blobs.has(sha)
    assert hashlib.sha256(real.blobs.open(sha).read()).hexdigest() == sha
    # exactly once: one voice record, each change applied once, the bytes sent once plus at
    # most one chunk per fault (resumed from the server's offset, not from zero)
    voices = [r for r in real.state().values() if r["kind"] == "voice"]
    assert len(voices) == 1 and voices[0]["fields"]["sha256"] == sha
    assert real.count("applied_changes") == 3  # household, visit, voice
    assert p.stats.bytes_up <= len(data) + len(p.stats.faults_fired) * (chunk + 2000) + 20_000
    assert a.photos_to_upload() == []
    again = e.sync_once()
    assert again.ok and again.requests == 1 and real.count("applied_changes") == 3

    # another device's TinyDB store pulls the record and then the bytes, kept as a voice note
    eb = real.enroll("w2")
    st = Store.open(tmp_path / "b", node=eb.device_id)
    try:
        rep_b = engine_for(st, real.url, token=eb.token).sync_once()
        assert rep_b.ok and rep_b.photos_downloaded == 1
        assert st.voice_bytes(sha) == data and not st.has_photo(sha)
        assert st.photos_to_upload() == [] and st.missing_photos() == []
    finally:
        st.close()


def test_the_server_refuses_a_voice_note_over_the_cap(real):
    _, en = real.device("w1")
    data = vs.m4a(90, filler=50_000)
    sha = hashlib.sha256(data).hexdigest()
    t = Transport(real.url, en.token)
    try:
        BlobUploader(t).upload(sha, data)
    except Exception as exc:  # noqa: BLE001 - the refusal is what is checked
        assert "录音太长（90 秒，上限 60 秒）" in str(exc)
    else:
        raise AssertionError("a 90 s voice note was stored")
    assert not real.blobs.has(sha)


def test_a_voice_note_carried_in_a_bundle_is_stored_once_and_one_over_the_cap_is_refused(real, tmp_path):
    from sync.client.bundles import export_bundle
    from sync.server.bundles import import_bundle

    rep, en = real.device("w1")
    h = real.household(rep)
    data = vs.webm(30)
    sha = rep.add_photo(data)
    rep.create("voice", real.org.grid, {**_voice_fields(sha, data, h["id"]), "media_type": "audio/webm",
                                        "attached_to": {"kind": "household", "id": h["id"]}})
    path = tmp_path / "w1.gwb"
    export_bundle(rep, path, device_id=en.device_id, user=en.user["id"], secret=bytes.fromhex(en.secret))
    for _ in range(2):  # carried in twice: stored once
        res = import_bundle(real.engine, real.blobs, path.read_bytes(), name=path.name)
        assert res.receipt["status"] == "ok", res.receipt
    assert real.blobs.has(sha) and real.blobs.open(sha).read() == data
    assert len([r for r in real.state().values() if r["kind"] == "voice"]) == 1

    rep2, en2 = real.device("w2")
    h2 = real.household(rep2)
    long = vs.webm(80)
    sha2 = rep2.add_photo(long)
    rep2.create("voice", real.org.grid, {**_voice_fields(sha2, long, h2["id"]), "media_type": "audio/webm",
                                         "duration_ms": 60_000, "attached_to": {"kind": "household", "id": h2["id"]}})
    path2 = tmp_path / "w2.gwb"
    export_bundle(rep2, path2, device_id=en2.device_id, user=en2.user["id"], secret=bytes.fromhex(en2.secret))
    res = import_bundle(real.engine, real.blobs, path2.read_bytes(), name=path2.name)
    assert res.receipt["status"] != "ok"
    assert "录音太长（80 秒，上限 60 秒）" in str(res.receipt)
    assert not real.blobs.has(sha2)
