"""The sync engine against the real server (uvicorn, SQLite, 127.0.0.1), with injected faults:
a requests adapter that fails on command, and the TCP fault proxy."""

from __future__ import annotations

import hashlib
import os
import random
import time

import pytest
import requests

from sync.client.engine import SyncEngine, enroll, sync_status
from sync.client.transport import FaultAdapter, SyncError, Transport
from sync.server import admin as server_admin
from sync.server.blobs import FsBlobStore
from tests.support.linkemu import Fault, Link
from tests.support.server import photo_blob


def _session(plan: list[str]) -> tuple[requests.Session, FaultAdapter]:
    s = requests.Session()
    a = FaultAdapter(plan)
    s.mount("http://", a)
    return s, a


def _make(real, rep, n: int) -> list[str]:
    return [real.household(rep, head=f"户主{i}")["id"] for i in range(n)]


def _seed(real, engine_for, n: int, **fields) -> list[str]:
    """n households on the server, written by another device over the LAN."""
    rep, en = real.device("w3")
    ids = [real.household(rep, head=f"别人{i}", **fields)["id"] for i in range(n)]
    assert engine_for(rep, real.url, token=en.token, batch_size=500).sync_once().ok
    return ids


def test_idle_sync_is_exactly_one_request(real, engine_for):
    rep, en = real.device("w1")
    e = engine_for(rep, real.url, token=en.token)
    _make(real, rep, 3)
    assert e.sync_once().ok
    r = e.sync_once()
    assert r.ok and r.requests == 1 and r.pulled == 0
    assert e.status().state == "synced"


def test_push_then_other_device_pulls_every_page(real, engine_for):
    a, ea = real.device("w1")
    b, eb = real.device("w2")
    ids = _make(real, a, 37)
    rep = engine_for(a, real.url, token=ea.token, batch_size=10, adaptive=False).sync_once()
    assert rep.ok and rep.applied == 37 and a.outbox_size() == 0 and rep.pages == 4
    rep = engine_for(b, real.url, token=eb.token, pull_limit=10, adaptive=False).sync_once()
    assert rep.ok and rep.pages >= 4 and not rep.more
    assert set(ids) <= set(b.records)
    assert a.state() == b.state()


def test_lost_response_retries_and_gets_duplicate_acks(real, engine_for):
    rep, en = real.device("w1")
    _make(real, rep, 5)
    session, adapter = _session(["lost"])
    r = engine_for(rep, real.url, token=en.token, session=session).sync_once()
    assert r.ok
    assert r.duplicate == 5 and r.applied == 0  # the first attempt committed
    assert real.count("applied_changes") == 5  # nothing doubled
    assert rep.outbox_size() == 0 and adapter.seen[0].endswith("lost")


def test_server_fails_then_recovers_outbox_drains_without_new_writes(real, engine_for, proxy_for):
    rep, en = real.device("w1")
    _make(real, rep, 4)
    p = proxy_for(real.port)
    p.add(Fault.http_error(503, 0), Fault.http_error(503, 0), Fault.http_error(502, None), Fault.http_error(429, 0))
    e = engine_for(rep, p.url, token=en.token)
    r = e.sync_once()
    assert r.ok and rep.outbox_size() == 0 and real.count("applied_changes") == 4
    assert len(e.slept) == 4  # backed off between attempts


def test_retry_after_is_honoured(real, engine_for, proxy_for):
    rep, en = real.device("w1")
    p = proxy_for(real.port)
    p.add(Fault.http_error(503, retry_after=7), Fault.http_error(429, retry_after=3))
    e = engine_for(rep, p.url, token=en.token)
    assert e.sync_once().ok
    assert e.slept[0] >= 7 and e.slept[1] >= 3


def test_backoff_is_jittered_and_grows():
    tr = Transport("http://127.0.0.1:1", rng=random.Random(5), backoff_base_s=1, backoff_cap_s=30)
    draws = [[tr.backoff(n) for _ in range(200)] for n in range(6)]
    assert all(0 <= d <= min(30, 2**n) for n, ds in enumerate(draws) for d in ds)
    assert len({round(d, 3) for d in draws[3]}) > 100  # jittered, not a fixed schedule
    assert max(draws[5]) > max(draws[0])


def test_offline_keeps_everything_and_reports_in_plain_words(real, engine_for):
    rep, en = real.device("w1")
    _make(real, rep, 2)
    e = engine_for(rep, "http://127.0.0.1:9", token=en.token, max_attempts=3, connect_timeout=0.5)
    r = e.sync_once()
    assert not r.ok and r.error.code == "offline" and r.error.retryable
    assert "网络" in r.error.message and rep.outbox_size() == 2
    st = e.status()
    assert st.state == "error" and st.outbox == 2


def test_stalled_response_gives_up_within_deadline_then_retries(real, engine_for, proxy_for):
    rep, en = real.device("w1")
    p = proxy_for(real.port)
    p.add(Fault.stall("down", after_bytes=0))
    _make(real, rep, 2)
    e = engine_for(rep, p.url, token=en.token, read_timeout=1.0, deadline_s=2.0)
    r = e.sync_once()
    assert r.ok and rep.outbox_size() == 0
    assert e.transport.stats.attempts_failed == 1
    assert real.count("applied_changes") == 2  # the stalled attempt committed; the retry was a duplicate


def test_trickling_response_hits_the_overall_deadline(real, engine_for, proxy_for):
    _seed(real, engine_for, 60, note=os.urandom(300).hex())
    rep, en = real.device("w1")
    # 2 kbit/s down: every byte arrives well within the read timeout, the whole body does not.
    p = proxy_for(real.port, link=Link(down_bps=2000))
    e = engine_for(rep, p.url, token=en.token, read_timeout=5.0, deadline_s=1.0, max_attempts=2)
    r = e.sync_once()
    assert not r.ok and r.error.code == "timeout"
    assert rep.cursor() is None and rep.records == {}  # nothing half-applied


def test_interrupted_pull_refetches_at_most_one_page_per_cut(real, engine_for, proxy_for):
    _seed(real, engine_for, 60)
    rep, en = real.device("w1")
    p = proxy_for(real.port, seed=3)
    rng = random.Random(7)
    for _ in range(4):
        p.add(Fault.cut("down", rng.randint(50, 1500), match=b"POST /api/v1/sync"))
    e = engine_for(rep, p.url, token=en.token, pull_limit=10, adaptive=False)
    r = e.sync_once()
    assert r.ok
    assert sum(1 for v in rep.records.values() if v["kind"] == "household") == 60
    clean = engine_for(type(rep)("other", actor=rep.actor), real.url, token=en.token, pull_limit=10, adaptive=False)
    pages = clean.sync_once().pages
    fired = len(p.stats.faults_fired)
    assert e.transport.stats.by_path["/api/v1/sync"] <= pages + fired  # each cut costs at most one page


def test_photo_upload_resumes_after_cuts_at_random_offsets(real, engine_for, proxy_for, monkeypatch):
    received: list[int] = []
    orig = FsBlobStore.write_chunk

    def counting(self, sha256, offset, data, total):  # type: ignore[no-untyped-def]
        received.append(len(data))
        return orig(self, sha256, offset, data, total)

    monkeypatch.setattr(FsBlobStore, "write_chunk", counting)
    rep, en = real.device("w1")
    data = photo_blob(300 * 1024)
    sha = rep.add_photo(data)
    chunk = 32 * 1024
    p = proxy_for(real.port, seed=11)
    rng = random.Random(11)
    for _ in range(4):
        p.add(Fault.cut("up", rng.randint(1, chunk + 400), match=b"PUT /api/v1/blobs"))
    p.add(Fault.cut("down", 5, match=b"PUT /api/v1/blobs"))  # the last answer lost
    p.add(Fault.drop_response(match=b"PUT /api/v1/blobs"))
    e = engine_for(rep, p.url, token=en.token, chunk_size=chunk, max_attempts=20, adaptive=False)
    r = e.sync_once()
    assert r.ok and r.photos_uploaded == 1, r.error
    assert hashlib.sha256(real.blobs.open(sha).read()).hexdigest() == sha
    faults = len(p.stats.faults_fired)
    assert faults == 6
    assert sum(received) <= len(data) + faults * chunk  # at most one chunk again per fault
    assert rep.photos_to_upload() == []
    assert e.sync_once().requests == 1  # the photo is not offered twice


def test_photos_download_for_pulled_records(real, engine_for):
    a, ea = real.device("w1")
    b, eb = real.device("w2")
    h = real.household(a)
    data = photo_blob(5000)
    sha = a.add_photo(data)
    a.create("photo", real.org.grid, {"sha256": sha, "size": len(data), "width": 4, "height": 3,
                                     "attached_to": {"kind": "household", "id": h["id"]}})
    assert engine_for(a, real.url, token=ea.token).sync_once().ok
    r = engine_for(b, real.url, token=eb.token).sync_once()
    assert r.ok and r.photos_downloaded == 1 and b.photos[sha] == data
    assert sync_status(b).state == "synced"


def test_status_is_truthful(real, engine_for):
    rep, en = real.device("w1")
    e = engine_for(rep, real.url, token=en.token)
    assert e.status().state == "never"
    h = real.household(rep)
    e.sync_once()
    assert e.status().state == "synced" and e.status().message == "全部已同步"
    data = photo_blob(100)
    sha = rep.add_photo(data)
    assert e.status().state == "pending"
    rep.create("photo", real.org.grid, {"sha256": sha, "size": 100, "width": 1, "height": 1,
                                       "attached_to": {"kind": "household", "id": h["id"]}})
    st = e.status()
    assert st.state == "pending" and st.outbox == 1 and st.photos_to_upload == 1
    e.sync_once()
    assert e.status().state == "synced"


def test_refused_changes_stay_visible_with_reason(real, engine_for):
    rep, en = real.device("w1")
    _make(real, rep, 2)
    other = real.run(lambda c: server_admin.create_grid(c, real.org.township, "别的网格"))
    rep.create("household", other, {"village": real.org.village, "address": "外面", "head": "外人"})
    e = engine_for(rep, real.url, token=en.token)
    r = e.sync_once()
    assert r.ok and r.applied == 2 and len(r.refused) == 1 and r.refused[0]["code"] == "scope"
    assert rep.outbox_size() == 0 and len(rep.refused_changes()) == 1
    assert rep.refused_changes()[0]["reason"] == r.refused[0]["reason"] and r.refused[0]["reason"]
    assert e.status().state == "refused"
    assert e.sync_once().requests == 1  # not sent again


def test_clock_offset_is_applied(real, engine_for):
    day = 86_400
    rep, en = real.device("w1", wall=lambda: time.time() - day)  # the device is a day behind
    e = engine_for(rep, real.url, token=en.token)
    assert e.sync_once().ok
    assert abs(rep.clock.offset_ms - day * 1000) < 60_000
    before = rep.clock.offset_ms
    e.sync_once()  # now (almost) no offset: the clock is left alone
    assert rep.clock.offset_ms == before


def test_local_unacked_change_is_not_overwritten_by_pull(real, engine_for):
    a, ea = real.device("w1")
    b, eb = real.device("w2")
    h = real.household(a, note="v0")
    rid = h["id"]
    engine_for(a, real.url, token=ea.token).sync_once()
    engine_for(b, real.url, token=eb.token).sync_once()
    b.update(rid, {"note": "b 改的"})
    engine_for(b, real.url, token=eb.token).sync_once()
    a.update(rid, {"note": "a 还没发出去的"})
    # A pull arrives while a's change is unacked (its push was lost on the way).
    server_rec = {"id": rid, **real.state()[rid], "stamps": b.records[rid]["stamps"]}
    a.apply_remote([server_rec], None)
    assert a.records[rid]["fields"]["note"] == "a 还没发出去的"
    assert engine_for(a, real.url, token=ea.token).sync_once().ok
    assert real.state()[rid]["fields"]["note"] == "a 还没发出去的"  # newer stamp
    assert a.records[rid]["fields"] == real.state()[rid]["fields"]


def test_batch_size_adapts_to_the_link(real, engine_for, proxy_for):
    slow, es_ = real.device("w1")
    fast, ef_ = real.device("w2")
    _make(real, slow, 30)
    _make(real, fast, 30)
    p = proxy_for(real.port, link=Link(up_bps=20_000, down_bps=20_000, latency_s=0.05))
    es = engine_for(slow, p.url, token=es_.token, batch_size=10, deadline_s=60)
    ef = engine_for(fast, real.url, token=ef_.token, batch_size=10)
    assert es.sync_once().ok and ef.sync_once().ok
    assert es.batch_size < ef.batch_size
    assert es.batch_size >= SyncEngine.MIN_BATCH and ef.batch_size <= SyncEngine.MAX_BATCH


def test_enroll(real):
    _, code = real.run(server_admin.create_enrollment, real.org.users["w1"])
    en = enroll(real.url, f" {code.lower()} ", "李四的手机")
    assert en.user["id"] == real.org.users["w1"] and en.token and len(en.secret) == 64
    with pytest.raises(SyncError) as ei:
        enroll(real.url, code, "x")  # used once already
    assert ei.value.code == "bad_code" and "注册码" in ei.value.message


def test_unauthorized_is_not_retried_and_says_what_to_do(real, engine_for):
    rep, en = real.device("w1")
    _make(real, rep, 1)
    real.run(server_admin.revoke_device, en.device_id)
    e = engine_for(rep, real.url, token=en.token)
    r = e.sync_once()
    assert r.error.code == "unauthorized" and not r.error.retryable
    assert "注册" in r.error.message and e.slept == [] and rep.outbox_size() == 1


def test_interrupted_first_pull_is_not_reported_as_synced(real, engine_for):
    _seed(real, engine_for, 30)
    rep, en = real.device("w1")
    session, _ = _session(["ok", "offline"])
    e = engine_for(rep, real.url, token=en.token, session=session, pull_limit=10, adaptive=False, max_attempts=1)
    r = e.sync_once()
    assert not r.ok and r.more and len(rep.records) == 10
    st = e.status()
    assert st.state == "error" and "没有完成" in st.message
    r = e.sync_once()
    assert r.ok and e.status().state == "synced"
    assert sum(1 for v in rep.records.values() if v["kind"] == "household") == 30


@pytest.mark.parametrize("cut_at", [5, 30, 60])
def test_response_cut_inside_the_headers_is_retried(real, engine_for, proxy_for, cut_at):
    rep, en = real.device("w1")
    p = proxy_for(real.port)
    p.add(Fault.cut("down", cut_at, match=b"POST /api/v1/sync"))
    _make(real, rep, 2)
    r = engine_for(rep, p.url, token=en.token).sync_once()
    assert r.ok and rep.outbox_size() == 0 and real.count("applied_changes") == 2
    assert p.stats.faults_fired == [f"cut down {cut_at}"]


def test_progress_reports_records_photos_and_bytes(real, engine_for):
    rep, en = real.device("w1")
    seen = []
    _make(real, rep, 12)
    rep.add_photo(photo_blob(50_000))
    e = engine_for(rep, real.url, token=en.token, batch_size=5, adaptive=False, chunk_size=16 * 1024,
                   on_progress=lambda p: seen.append((p.phase, p.records_sent, p.photos_sent, p.bytes_sent + p.bytes_received)))
    assert e.sync_once().ok
    assert seen[-1][0] == "done" and seen[-1][1] == 12 and seen[-1][2] == 1
    totals = [s[3] for s in seen]
    assert totals == sorted(totals) and totals[-1] > 50_000
    assert [s[1] for s in seen if s[0] == "records"] == [5, 10, 12]


def test_a_store_that_does_not_drop_acked_changes_does_not_loop(real, engine_for):
    rep, en = real.device("w1")
    _make(real, rep, 3)
    rep.mark_acked = lambda ids: None  # a broken store
    e = engine_for(rep, real.url, token=en.token)
    r = e.sync_once()
    assert not r.ok and r.error.code == "store" and r.requests == 1  # caught before sending again
    assert real.count("applied_changes") == 3


def test_a_store_error_is_reported_not_raised(real, engine_for):
    rep, en = real.device("w1")
    _make(real, rep, 2)

    def broken(records, cursor):
        raise OSError(28, "No space left on device")

    rep.apply_remote = broken
    r = engine_for(rep, real.url, token=en.token).sync_once()
    assert not r.ok and r.error.code == "internal" and "No space left" in r.error.message
    assert "没有丢失" in r.error.message
