"""The sync engine end to end against the real server (uvicorn, SQLite) through the fault proxy."""

from __future__ import annotations

import hashlib
import random
import time

import pytest

from sync.records import RECORD_KINDS
from tests.support.linkemu import Fault
from tests.support.server import photo_blob


def _field_state(state: dict) -> dict:
    return {k: v for k, v in state.items() if v["kind"] in RECORD_KINDS}


def test_enroll_push_pull_idle(real, engine_for):
    a, ea = real.device("w1")
    b, eb = real.device("w2")
    ids = [real.household(a, head=f"户主{i}")["id"] for i in range(12)]
    e1 = engine_for(a, real.url, token=ea.token)
    rep = e1.sync_once()
    assert rep.ok and rep.applied == 12 and a.outbox_size() == 0, rep.error
    rep = engine_for(b, real.url, token=eb.token).sync_once()
    assert rep.ok and set(ids) <= set(b.records)
    assert _field_state(a.state()) == _field_state(b.state()) == _field_state(real.state())
    idle = e1.sync_once()
    assert idle.ok and idle.requests == 1 and e1.status().state == "synced"


@pytest.mark.parametrize("kind", [b"POST /api/v1/sync", b"POST /api/v1/blobs/missing", b"PUT /api/v1/blobs/"])
def test_lost_response_after_commit_for_every_request_kind(real, engine_for, proxy_for, kind):
    a, en = real.device("w1")
    h = real.household(a)
    data = photo_blob(70_000)
    sha = a.add_photo(data)
    a.create("photo", real.org.grid, {"sha256": sha, "size": len(data), "width": 10, "height": 10,
                                     "attached_to": {"kind": "household", "id": h["id"]}})
    p = proxy_for(real.port)
    p.add(Fault.drop_response(match=kind))
    e = engine_for(a, p.url, token=en.token, chunk_size=32 * 1024, adaptive=False)
    rep = e.sync_once()
    assert rep.ok, rep.error
    assert p.stats.faults_fired == ["drop_response"]
    assert real.count("applied_changes") == 2  # nothing doubled
    assert a.outbox_size() == 0 and a.photos_to_upload() == []
    assert real.blobs.has(sha) and hashlib.sha256(real.blobs.open(sha).read()).hexdigest() == sha
    assert e.sync_once().requests == 1


def test_photo_upload_cut_at_random_offsets_resumes(real, engine_for, proxy_for):
    a, en = real.device("w1")
    data = photo_blob(300 * 1024)
    sha = a.add_photo(data)
    p = proxy_for(real.port, seed=5)
    rng = random.Random(5)
    chunk = 32 * 1024
    for _ in range(5):
        p.add(Fault.cut("up", rng.randint(0, chunk + 600), match=b"PUT /api/v1/blobs/"))
    p.add(Fault.cut("down", 5, match=b"PUT /api/v1/blobs/"))  # after the last byte went up
    e = engine_for(a, p.url, token=en.token, chunk_size=chunk, adaptive=False, max_attempts=20)
    rep = e.sync_once()
    assert rep.ok, rep.error
    assert real.blobs.has(sha)
    assert hashlib.sha256(real.blobs.open(sha).read()).hexdigest() == sha
    # Bytes that went up in PUT bodies: the photo once, plus at most one chunk per fault.
    assert p.stats.bytes_up <= len(data) + len(p.stats.faults_fired) * (chunk + 2000) + 20_000


def test_offline_a_simulated_year_with_a_wrong_clock(real, engine_for):
    year = 365 * 86_400
    skew = {"s": year}  # the device clock runs a year ahead
    a, ea = real.device("w1", wall=lambda: time.time() + skew["s"])
    b, eb = real.device("w2")
    e_a = engine_for(a, real.url, token=ea.token)
    e_b = engine_for(b, real.url, token=eb.token)
    h = real.household(a, note="最初")
    assert e_a.sync_once().ok
    # The offset told by the server is applied: a's clock is right again...
    assert abs(a.clock.wall_ms() - time.time() * 1000) < 60_000
    # ...then its clock jumps to a year ahead again (battery pulled), and it stays offline.
    a.clock.offset_ms = 0
    offline = [real.household(a, head=f"离线户{i}")["id"] for i in range(30)]
    a.update(h["id"], {"note": "离线时改的（时钟快一年）"})
    # Meanwhile, a year of other people's work on the server.
    assert e_b.sync_once().ok
    for i in range(40):
        real.household(b, head=f"新户{i}")
    assert e_b.sync_once().ok
    # a comes back: everything pushes, nothing is reset.
    rep = e_a.sync_once()
    assert rep.ok and rep.applied == 31 and a.outbox_size() == 0
    assert set(offline) <= set(real.state())
    # Its stamp was clamped to server time, so an edit made after that wins, as it should.
    assert e_b.sync_once().ok
    b.update(h["id"], {"note": "后来改的"})
    assert e_b.sync_once().ok and e_a.sync_once().ok
    assert real.state()[h["id"]]["fields"]["note"] == "后来改的"
    assert a.records[h["id"]]["fields"]["note"] == "后来改的"
    assert _field_state(a.state()) == _field_state(b.state()) == _field_state(real.state())


def test_clock_in_1970_loses_concurrent_edit_but_it_is_kept_as_a_conflict(real, engine_for):
    a, ea = real.device("w1", wall=lambda: 86_400.0)  # 1970-01-02
    b, eb = real.device("w2")
    e_a = engine_for(a, real.url, token=ea.token)
    e_b = engine_for(b, real.url, token=eb.token)
    h = real.household(b, note="原来")
    assert e_b.sync_once().ok and e_a.sync_once().ok
    a.clock.offset_ms = 0  # wrong again, offline
    b.update(h["id"], {"note": "b 改的"})
    a.update(h["id"], {"note": "a 改的"})  # concurrent: a had not seen b's edit
    assert e_b.sync_once().ok and e_a.sync_once().ok and e_b.sync_once().ok
    # HLC: a's edit sorts after what a had seen, but a did not see b's: b wins...
    assert real.state()[h["id"]]["fields"]["note"] == "b 改的"
    assert a.records[h["id"]]["fields"]["note"] == "b 改的"
    # ...and a's value is not lost: it is in the server's conflict log.
    assert real.count("conflicts") >= 1


def test_tinydb_store_gets_photos_and_then_idles_in_one_request(real, engine_for, tmp_path):
    from app.store import Store

    a, ea = real.device("w1")
    h = real.household(a)
    data = photo_blob(40_000)
    sha = a.add_photo(data)
    a.create("photo", real.org.grid, {"sha256": sha, "size": len(data), "width": 10, "height": 10,
                                     "attached_to": {"kind": "household", "id": h["id"]}})
    assert engine_for(a, real.url, token=ea.token).sync_once().ok
    eb = real.enroll("w2")
    st = Store.open(tmp_path / "b", node=eb.device_id)
    try:
        e = engine_for(st, real.url, token=eb.token)
        rep = e.sync_once()
        assert rep.ok and rep.photos_downloaded == 1 and st.photo_bytes(sha) == data
        assert e.status().state == "synced"
        assert e.sync_once().requests == 1
    finally:
        st.close()


def test_lost_answers_to_the_gets_resume_offset_and_download(real, engine_for, proxy_for):
    a, en = real.device("w1")
    h = real.household(a)
    data = photo_blob(100_000)
    sha = a.add_photo(data)
    a.create("photo", real.org.grid, {"sha256": sha, "size": len(data), "width": 10, "height": 10,
                                     "attached_to": {"kind": "household", "id": h["id"]}})
    p = proxy_for(real.port)
    # First sync: the upload is cut for good after the first chunk (one attempt only).
    p.add(Fault.cut("up", 40_000, match=b"PUT /api/v1/blobs/"))
    e = engine_for(a, p.url, token=en.token, chunk_size=32 * 1024, adaptive=False, max_attempts=1)
    assert not e.sync_once().ok and not real.blobs.has(sha)
    # Next sync resumes: it asks the server for its offset (that answer is lost once).
    p.add(Fault.drop_response(match=b"GET /api/v1/blobs/" + sha.encode() + b"/upload"))
    e.transport.max_attempts = 6
    r = e.sync_once()
    assert r.ok and real.blobs.has(sha) and p.stats.faults_fired == ["cut up 40000", "drop_response"]
    assert e.transport.stats.by_path[f"/api/v1/blobs/{sha}/upload"] == 2
    # Another device downloads it; the first answer is lost.
    b, eb = real.device("w2")
    p.add(Fault.drop_response(match=b"GET /api/v1/blobs/" + sha.encode() + b" "))
    r = engine_for(b, p.url, token=eb.token).sync_once()
    assert r.ok and r.photos_downloaded == 1 and b.photos[sha] == data
    assert p.stats.faults_fired[-1] == "drop_response"
