"""The sync engine against a protocol server on 127.0.0.1, with injected faults."""

from __future__ import annotations

import hashlib
import os
import random

import pytest
import requests
from conftest import visit_fields

from sync.client.engine import SyncEngine, enroll, sync_status
from sync.client.faultproxy import Fault, Link
from sync.client.replica import MemoryReplica
from sync.client.transport import FaultAdapter, SyncError


def _session(plan: list[str]) -> tuple[requests.Session, FaultAdapter]:
    s = requests.Session()
    a = FaultAdapter(plan)
    s.mount("http://", a)
    return s, a


def _make(rep: MemoryReplica, n: int) -> list[str]:
    return [rep.edit(None, "visit", "g1", visit_fields(i))["id"] for i in range(n)]


def test_idle_sync_is_exactly_one_request(fake_server, engine_for, replica):
    e = engine_for(replica, fake_server.url)
    _make(replica, 3)
    assert e.sync_once().ok
    r = e.sync_once()
    assert r.ok and r.requests == 1 and r.pulled == 0
    assert e.status().state == "synced"


def test_push_then_other_device_pulls_every_page(fake_server, engine_for):
    a, b = MemoryReplica("dev-a"), MemoryReplica("dev-b")
    ids = _make(a, 37)
    ea = engine_for(a, fake_server.url, batch_size=10)
    rep = ea.sync_once()
    assert rep.ok and rep.applied == 37 and a.outbox_size() == 0
    eb = engine_for(b, fake_server.url, pull_limit=10, adaptive=False)
    rep = eb.sync_once()
    assert rep.ok and rep.pages >= 4 and not rep.more
    assert set(ids) <= set(b.records) and b.state() == a.state() == fake_server.state()


def test_lost_response_retries_and_gets_duplicate_acks(fake_server, engine_for, replica):
    _make(replica, 5)
    session, adapter = _session(["lost"])
    e = engine_for(replica, fake_server.url, session=session)
    rep = e.sync_once()
    assert rep.ok
    assert rep.duplicate == 5 and rep.applied == 0  # the first attempt committed
    assert fake_server.apply_count == 5  # nothing doubled
    assert replica.outbox_size() == 0 and len(fake_server.records) == 5


def test_server_fails_then_recovers_outbox_drains_without_new_writes(fake_server, engine_for, replica):
    _make(replica, 4)
    fake_server.fail_next = [503, 503, 502, 429]
    e = engine_for(replica, fake_server.url)
    rep = e.sync_once()
    assert rep.ok and replica.outbox_size() == 0 and fake_server.apply_count == 4
    assert len(e.slept) == 4  # backed off between attempts


def test_retry_after_is_honoured(fake_server, engine_for, replica, proxy_for):
    p = proxy_for(fake_server.url)
    p.add(Fault.http_error(503, retry_after=7), Fault.http_error(429, retry_after=3))
    e = engine_for(replica, p.url)
    assert e.sync_once().ok
    assert e.slept[0] >= 7 and e.slept[1] >= 3


def test_backoff_is_jittered_and_grows():
    from sync.client.transport import Transport

    tr = Transport("http://127.0.0.1:1", rng=random.Random(5), backoff_base_s=1, backoff_cap_s=30)
    draws = [[tr.backoff(n) for _ in range(200)] for n in range(6)]
    assert all(0 <= d <= min(30, 2**n) for n, ds in enumerate(draws) for d in ds)
    assert len({round(d, 3) for d in draws[3]}) > 100  # jittered, not a fixed schedule
    assert max(draws[5]) > max(draws[0])


def test_offline_keeps_everything_and_reports_in_plain_words(engine_for, replica):
    _make(replica, 2)
    e = engine_for(replica, "http://127.0.0.1:9", max_attempts=3, connect_timeout=0.5)
    rep = e.sync_once()
    assert not rep.ok and rep.error.code == "offline" and rep.error.retryable
    assert "网络" in rep.error.message and replica.outbox_size() == 2
    st = e.status()
    assert st.state == "error" and st.outbox == 2


def test_stalled_response_gives_up_within_deadline_then_retries(fake_server, engine_for, replica, proxy_for):
    p = proxy_for(fake_server.url)
    p.add(Fault.stall("down", after_bytes=0))
    _make(replica, 2)
    e = engine_for(replica, p.url, read_timeout=1.0, deadline_s=2.0)
    rep = e.sync_once()
    assert rep.ok and replica.outbox_size() == 0
    assert e.transport.stats.attempts_failed == 1
    assert fake_server.apply_count == 2


def test_trickling_response_hits_the_overall_deadline(fake_server, engine_for, replica, proxy_for):
    # 2 kbit/s down: every byte arrives well within the read timeout, the whole body does not.
    for i in range(40):
        fake_server.apply({"change_id": f"c{i}", "id": f"r{i}", "kind": "visit", "grid": "g1",
                           "fields": {"note": os.urandom(200).hex()},
                           "stamps": {"note": f"{1732435200000 + i:013d}-0000-srv"}, "bases": {"note": None},
                           "actor": "u", "node": "srv"})
    p = proxy_for(fake_server.url, link=Link(down_bps=2000))
    e = engine_for(replica, p.url, read_timeout=5.0, deadline_s=1.0, max_attempts=2)
    rep = e.sync_once()
    assert not rep.ok and rep.error.code == "timeout"
    assert replica.cursor() is None  # nothing half-applied


def test_interrupted_pull_refetches_at_most_one_page_per_cut(fake_server, engine_for, replica, proxy_for):
    for i in range(60):
        fake_server.apply({"change_id": f"c{i}", "id": f"r{i:03d}", "kind": "visit", "grid": "g1",
                           "fields": {"n": i}, "stamps": {"n": f"{1732435200000 + i:013d}-0000-srv"},
                           "bases": {"n": None}, "actor": "u", "node": "srv"})
    p = proxy_for(fake_server.url, seed=3)
    rng = random.Random(7)
    cuts = 0
    for _ in range(4):
        p.add(Fault.cut("down", rng.randint(50, 1500), match=b"POST /api/v1/sync"))
        cuts += 1
    e = engine_for(replica, p.url, pull_limit=10, adaptive=False)
    rep = e.sync_once()
    assert rep.ok and len(replica.records) == 60
    pages = 6
    assert fake_server.sync_requests <= pages + cuts  # each cut costs at most one page


def test_photo_upload_resumes_after_cuts_at_random_offsets(fake_server, engine_for, replica, proxy_for):
    data = os.urandom(300 * 1024)
    sha = replica.add_photo(data)
    chunk = 32 * 1024
    p = proxy_for(fake_server.url, seed=11)
    rng = random.Random(11)
    offsets = sorted(rng.sample(range(1, len(data)), 4)) + [len(data) + 300]  # incl. after the last byte
    for off in offsets:
        p.add(Fault.cut("up", off % (chunk + 400), match=b"PUT /api/v1/blobs"))
    p.add(Fault.drop_response(match=b"PUT /api/v1/blobs"))
    e = engine_for(replica, p.url, chunk_size=chunk, max_attempts=20, adaptive=False)
    rep = e.sync_once()
    assert rep.ok and rep.photos_uploaded == 1
    assert hashlib.sha256(fake_server.blobs[sha]).hexdigest() == sha
    received = sum(n for s, _, n in fake_server.chunk_puts if s == sha)
    faults = len(p.stats.faults_fired)
    assert received <= len(data) + faults * chunk  # at most one chunk again per fault
    assert replica.photos_to_upload() == []
    # Idle again afterwards: the photo is not offered twice.
    assert e.sync_once().requests == 1


def test_photos_download_for_pulled_records(fake_server, engine_for):
    a, b = MemoryReplica("dev-a"), MemoryReplica("dev-b")
    data = os.urandom(5000)
    sha = a.add_photo(data)
    a.edit(None, "photo", "g1", {"sha256": sha, "size": len(data)})
    assert engine_for(a, fake_server.url).sync_once().ok
    rep = engine_for(b, fake_server.url).sync_once()
    assert rep.ok and rep.photos_downloaded == 1 and b.photos[sha] == data
    assert sync_status(b).state == "synced"


def test_status_is_truthful(fake_server, engine_for, replica):
    e = engine_for(replica, fake_server.url)
    assert e.status().state == "never"
    _make(replica, 1)
    e.sync_once()
    assert e.status().state == "synced" and e.status().message == "全部已同步"
    replica.add_photo(b"x" * 100)
    assert e.status().state == "pending"
    replica.edit(None, "visit", "g1", {"n": 1})
    st = e.status()
    assert st.state == "pending" and st.outbox == 1 and st.photos_to_upload == 1
    e.sync_once()
    assert e.status().state == "synced"


def test_refused_changes_stay_visible_with_reason(fake_server, engine_for, replica):
    orig = fake_server.apply

    def refuse_some(change):
        return "refused" if change["fields"].get("n") == 1 else orig(change)

    fake_server.apply = refuse_some
    real_handle = fake_server.handle

    def handle(method, path, q, body, headers):
        status, obj = real_handle(method, path, q, body, headers)
        for a in obj.get("acks", []) if isinstance(obj, dict) else []:
            if a["status"] == "refused":
                a.update(code="scope", reason="不在你的网格内")
        return status, obj

    fake_server.handle = handle
    _make(replica, 3)
    e = engine_for(replica, fake_server.url)
    rep = e.sync_once()
    assert rep.ok and [r["reason"] for r in rep.refused] == ["不在你的网格内"]
    assert replica.outbox_size() == 0 and len(replica.refused_changes()) == 1
    assert replica.refused_changes()[0]["reason"] == "不在你的网格内"
    assert e.status().state == "refused"


def test_clock_offset_is_applied(engine_for, replica):
    import time

    from fakeserver import FakeServer

    day = 86_400_000
    s = FakeServer(now_ms=int(time.time() * 1000) + day)
    try:
        e = engine_for(replica, s.url)
        assert e.sync_once().ok
        assert abs(replica.clock.offset_ms - day) < 60_000
        # A second sync sees (almost) no offset and leaves the clock alone.
        before = replica.clock.offset_ms
        e.sync_once()
        assert replica.clock.offset_ms == before
    finally:
        s.close()


def test_local_unacked_change_is_not_overwritten_by_pull(fake_server, engine_for):
    a, b = MemoryReplica("dev-a"), MemoryReplica("dev-b")
    rid = a.edit(None, "household", "g1", {"note": "v0"})["id"]
    engine_for(a, fake_server.url).sync_once()
    engine_for(b, fake_server.url).sync_once()
    b.edit(rid, "household", "g1", {"note": "from b"})
    engine_for(b, fake_server.url).sync_once()
    a.edit(rid, "household", "g1", {"note": "from a, not yet sent"})
    # A pull whose push is lost: the server value arrives while a's change is unacked.
    a.apply_remote([fake_server.records[rid]], "999")
    assert a.records[rid]["fields"]["note"] == "from a, not yet sent"
    assert engine_for(a, fake_server.url).sync_once().ok
    assert a.records[rid]["fields"] == fake_server.records[rid]["fields"]
    assert fake_server.records[rid]["fields"]["note"] == "from a, not yet sent"  # newer stamp


def test_batch_size_adapts_to_the_link(fake_server, engine_for, proxy_for):
    slow, fast = MemoryReplica("dev-s"), MemoryReplica("dev-f")
    _make(slow, 30)
    _make(fast, 30)
    p = proxy_for(fake_server.url, link=Link(up_bps=20_000, down_bps=20_000, latency_s=0.05))
    es = engine_for(slow, p.url, batch_size=10, deadline_s=60)
    ef = engine_for(fast, fake_server.url, batch_size=10)
    assert es.sync_once().ok and ef.sync_once().ok
    assert es.batch_size < ef.batch_size
    assert es.batch_size >= SyncEngine.MIN_BATCH and ef.batch_size <= SyncEngine.MAX_BATCH


def test_enroll(fake_server):
    en = enroll(fake_server.url, " GOOD-CODE ", "李四的手机")
    assert en.device_id == "dev-1" and en.token == "tok" and len(en.secret) == 64
    with pytest.raises(SyncError) as ei:
        enroll(fake_server.url, "WRONG", "x")
    assert ei.value.code == "bad_code" and "注册码" in ei.value.message


def test_unauthorized_is_not_retried_and_says_what_to_do(fake_server, engine_for, replica):
    fake_server.fail_next = [401]
    _make(replica, 1)
    e = engine_for(replica, fake_server.url)
    rep = e.sync_once()
    assert rep.error.code == "unauthorized" and not rep.error.retryable
    assert "注册" in rep.error.message and e.slept == [] and replica.outbox_size() == 1


def test_interrupted_first_pull_is_not_reported_as_synced(fake_server, engine_for, replica):
    for i in range(30):
        fake_server.apply({"change_id": f"c{i}", "id": f"r{i:03d}", "kind": "visit", "grid": "g1",
                           "fields": {"n": i}, "stamps": {"n": f"{1732435200000 + i:013d}-0000-srv"},
                           "bases": {"n": None}, "actor": "u", "node": "srv"})
    session, _ = _session(["ok", "offline"])
    e = engine_for(replica, fake_server.url, session=session, pull_limit=10, adaptive=False, max_attempts=1)
    rep = e.sync_once()
    assert not rep.ok and rep.more and len(replica.records) == 10
    st = e.status()
    assert st.state == "error" and st.state != "synced" and "没有完成" in st.message
    assert e.sync_once().ok and len(replica.records) == 30 and e.status().state == "synced"


@pytest.mark.parametrize("cut_at", [5, 30, 60])
def test_response_cut_inside_the_headers_is_retried(fake_server, engine_for, replica, proxy_for, cut_at):
    p = proxy_for(fake_server.url)
    p.add(Fault.cut("down", cut_at, match=b"POST /api/v1/sync"))
    _make(replica, 2)
    rep = engine_for(replica, p.url).sync_once()
    assert rep.ok and replica.outbox_size() == 0 and fake_server.apply_count == 2
    assert p.stats.faults_fired == [f"cut down {cut_at}"]


def test_progress_reports_records_photos_and_bytes(fake_server, engine_for, replica):
    seen = []
    _make(replica, 12)
    replica.add_photo(os.urandom(50_000))
    e = engine_for(replica, fake_server.url, batch_size=5, adaptive=False, chunk_size=16 * 1024,
                   on_progress=lambda p: seen.append((p.phase, p.records_sent, p.photos_sent, p.bytes_sent + p.bytes_received)))
    assert e.sync_once().ok
    assert seen[-1][0] == "done" and seen[-1][1] == 12 and seen[-1][2] == 1
    totals = [s[3] for s in seen]
    assert totals == sorted(totals) and totals[-1] > 50_000
    assert [s[1] for s in seen if s[0] == "records"] == [5, 10, 12]
