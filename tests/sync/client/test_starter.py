"""A new device starts from a starter pack (docs/starter-pack.md): real HTTP on 127.0.0.1,
the real server, the real engine, the link emulator where a cut matters."""

from __future__ import annotations

import io
import zipfile

import pytest
import requests

from sync.bundles.format import BundleError
from sync.client import starter
from sync.client.bundles import apply_return
from sync.client.engine import SyncEngine
from sync.client.replica import MemoryReplica
from sync.server.api import Limits
from tests.support.linkemu import Fault
from tests.support.server import RealServer

SNAP = "/api/v1/snapshot"


@pytest.fixture
def big(tmp_path):
    """The real server offering starter packs from 30 records in scope, with a grid of 80
    households and their visits made by w1 (through the real sync)."""
    s = RealServer(tmp_path / "srv", Limits(snapshot_min_records=30))
    rep, en = s.device("w1")
    homes = [s.household(rep, head=f"户主{i}", phone=f"1380000{i:04d}")["id"] for i in range(80)]
    for i, h in enumerate(homes):
        rep.create("visit", s.org.grid, {"household": h, "visitor": rep.actor, "time": 1764000000000 + i,
                                         "kind": "routine", "people_met": "户主本人",
                                         "seen": f"院子干净整洁，第{i}户", "said": "暂无诉求"})
    assert SyncEngine(rep, s.url, en.token).sync_once().ok
    s.w1 = rep
    yield s
    s.stop()


def _new(real: RealServer, who: str, path=None):  # type: ignore[no-untyped-def]
    rep, en = real.device(who, path=path)
    return rep, en


def _pack_engine(rep, url, en, **kw) -> SyncEngine:  # type: ignore[no-untyped-def]
    return SyncEngine(rep, url, en.token, device_id=en.device_id, secret=en.secret, **kw)


def _state(rep: MemoryReplica) -> dict:
    return {rid: {k: r[k] for k in ("kind", "grid", "fields", "stamps")} for rid, r in rep.records.items()}


def test_pack_device_converges_with_paging_device(big):
    a, ea = _new(big, "w2")
    b, eb = _new(big, "w3")
    ra = (eng_a := _pack_engine(a, big.url, ea)).sync_once()
    rb = (eng_b := SyncEngine(b, big.url, eb.token, pull_limit=20, adaptive=False)).sync_once()
    assert ra.ok and rb.ok, (ra.error, rb.error)
    assert eng_a.transport.stats.by_path.get(SNAP) == 1 and SNAP not in eng_b.transport.stats.by_path
    assert rb.pages > 5 and ra.pages <= 2  # the offer, then one page of what is past the pack
    assert _state(a) == _state(b) and len(a.records) >= 160
    assert a.cursor() == b.cursor()
    again = eng_a.sync_once()
    assert again.ok and again.requests == 1 and eng_a.transport.stats.by_path.get(SNAP) == 1


def test_pack_then_only_changes_since(big):
    a, ea = _new(big, "w2")
    assert _pack_engine(a, big.url, ea).sync_once().ok
    hid = next(r for r in big.w1.records.values() if r["kind"] == "household")["id"]
    w1_token = big.enroll("w1").token
    big.w1.update(hid, {"head": "新户主"})
    assert SyncEngine(big.w1, big.url, w1_token).sync_once().ok
    eng = _pack_engine(a, big.url, ea)
    rep = eng.sync_once()
    assert rep.ok and rep.pulled == 1 and SNAP not in eng.transport.stats.by_path
    assert a.records[hid]["fields"]["head"] == "新户主"


def test_small_scope_pages_as_before(real, engine_for):
    a, ea = real.device("w2")
    eng = _pack_engine(a, real.url, ea)
    rep = eng.sync_once()
    assert rep.ok and rep.requests == 1 and SNAP not in eng.transport.stats.by_path


def test_cut_download_resumes_without_fetching_again(big, proxy_for, tmp_path):
    a, ea = _new(big, "w2", path=tmp_path / "a.json")
    size = len(requests.get(big.url + SNAP, headers={"Authorization": f"Bearer {ea.token}"}, timeout=30).content)
    assert size > 3000
    p = proxy_for(big.url)
    p.add(Fault.cut("down", size // 2, match=b"GET /api/v1/snapshot"))
    # One attempt only: the cut ends this sync, and what arrived stays beside the store.
    rep = _pack_engine(a, p.url, ea, max_attempts=1).sync_once()
    assert not rep.ok and rep.error.code == "offline"
    part = starter.partial_path(a)
    held = part.stat().st_size
    assert 0 < held < size and a.records == {} and a.cursor() is None
    # A later sync (a new engine, as after a restart) asks only for the rest.
    eng = _pack_engine(MemoryReplica(a.node, path=tmp_path / "a.json", actor=a.actor), p.url, ea)
    rep = eng.sync_once()
    assert rep.ok, rep.error
    got = rep.bytes_received
    pages = eng.transport.stats.by_path
    assert pages.get(SNAP) == 1 and not part.exists()
    assert got < size - held + 4000  # the rest of the pack and a page, not the pack again
    b, eb = _new(big, "w3")
    assert SyncEngine(b, big.url, eb.token).sync_once().ok
    assert _state(eng.replica) == _state(b)


def test_cut_within_one_sync_resumes_by_range(big, proxy_for):
    a, ea = _new(big, "w2")
    size = len(requests.get(big.url + SNAP, headers={"Authorization": f"Bearer {ea.token}"}, timeout=30).content)
    p = proxy_for(big.url)
    p.add(Fault.cut("down", size // 3, match=b"GET /api/v1/snapshot"))
    eng = _pack_engine(a, p.url, ea, backoff_base_s=0.01)
    rep = eng.sync_once()
    assert rep.ok, rep.error
    assert eng.transport.stats.by_path[SNAP] == 2  # the cut one and the rest
    assert rep.bytes_received < size * 1.34 + 4000  # a third again at most, not twice the pack


def test_tampered_partial_is_refused_and_changes_nothing(big, tmp_path):
    a, ea = _new(big, "w2", path=tmp_path / "a.json")
    r = requests.get(big.url + SNAP, headers={"Authorization": f"Bearer {ea.token}"}, timeout=30)
    data = bytearray(r.content)
    # someone's bytes in the kept half: the resumed file no longer matches its signed manifest
    data[len(data) // 3] ^= 0xFF
    part = starter.partial_path(a)
    part.write_bytes(bytes(data[: len(data) // 2]))
    a.meta_set(starter.META, {"etag": r.headers["ETag"]})
    rep = _pack_engine(a, big.url, ea).sync_once()
    assert not rep.ok and rep.error.code == "snapshot"
    assert "起步包" in rep.error.message and ("校验" in rep.error.message or "签名" in rep.error.message
                                            or "损坏" in rep.error.message or "看不懂" in rep.error.message)
    assert a.records == {} and a.cursor() is None and not part.exists()
    eng = _pack_engine(a, big.url, ea)
    assert eng.sync_once().ok and eng.transport.stats.by_path[SNAP] == 1  # the next sync fetches it whole
    assert len(a.records) >= 160


def test_a_server_sending_bad_packs_does_not_stop_the_device(big, tmp_path):
    a, ea = _new(big, "w2", path=tmp_path / "a.json")
    r = requests.get(big.url + SNAP, headers={"Authorization": f"Bearer {ea.token}"}, timeout=30)
    for _ in range(2):  # as if every pack came damaged
        starter.partial_path(a).write_bytes(b"PK" + b"\0" * (len(r.content) // 2))
        a.meta_set(starter.META, {"etag": r.headers["ETag"]})
        rep = _pack_engine(a, big.url, ea).sync_once()
        assert not rep.ok and rep.error.code == "snapshot" and a.records == {}
    eng = _pack_engine(a, big.url, ea)
    rep = eng.sync_once()  # after two refusals: page by page
    assert rep.ok and SNAP not in eng.transport.stats.by_path and len(a.records) >= 160


def _repack(data: bytes, change) -> bytes:  # type: ignore[no-untyped-def]
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info in src.infolist():
            z.writestr(info, change(info.filename, src.read(info.filename)))
    return out.getvalue()


def test_tampered_pack_file_refused_on_import(big):
    a, ea = _new(big, "w2")
    data = requests.get(big.url + SNAP, headers={"Authorization": f"Bearer {ea.token}"}, timeout=30).content
    secret = bytes.fromhex(ea.secret)

    def flip(name, b):  # type: ignore[no-untyped-def]
        return b[:-10] + bytes([b[-10] ^ 1]) + b[-9:] if name == "snapshot.bin" else b

    def recount(name, b):  # type: ignore[no-untyped-def]
        return b.replace(b'"records": ', b'"records": 1') if name == "manifest.json" else b

    for bad, code in ((_repack(data, flip), "hash"), (_repack(data, recount), "signature"),
                      (data[: len(data) // 2], "damaged")):
        with pytest.raises(BundleError) as exc:
            apply_return(a, bad, device_id=ea.device_id, secret=secret)
        assert exc.value.code == code and exc.value.message
        assert a.records == {} and a.cursor() is None
    # another device's pack is not for this one
    b, eb = _new(big, "w3")
    with pytest.raises(BundleError) as exc:
        apply_return(b, data, device_id=eb.device_id, secret=bytes.fromhex(eb.secret))
    assert exc.value.code == "not_for_device" and b.records == {}
    # the untouched pack imports through the return-bundle path and the next sync pulls on from it
    s = apply_return(a, data, device_id=ea.device_id, secret=secret)
    assert s.records >= 160 and s.cursor_moved
    eng = SyncEngine(a, big.url, ea.token)
    rep = eng.sync_once()
    assert rep.ok and rep.pulled <= 2 and SNAP not in eng.transport.stats.by_path


def test_if_range_with_another_scope_id_gets_own_pack(big):
    from tests.support.server import enroll_user

    a, ea = _new(big, "w2")
    other = enroll_user(big, big.org.users["worker_c"])  # 绿水镇's grid worker: another scope
    mine = requests.get(big.url + SNAP, headers={"Authorization": f"Bearer {ea.token}"}, timeout=30)
    r = requests.get(big.url + SNAP, timeout=30, headers={
        "Authorization": f"Bearer {other.token}", "Range": "bytes=100-", "If-Range": mine.headers["ETag"]})
    assert r.status_code == 200 and r.headers["ETag"] != mine.headers["ETag"]
    again = requests.get(big.url + SNAP, timeout=30, headers={
        "Authorization": f"Bearer {ea.token}", "Range": "bytes=100-", "If-Range": mine.headers["ETag"]})
    assert again.status_code == 206 and again.content == mine.content[100:]
    assert again.headers["Content-Range"] == f"bytes 100-{len(mine.content) - 1}/{len(mine.content)}"


def test_operator_pack_imported_on_a_tinydb_store_then_only_changes(big, tmp_path):
    from typer.testing import CliRunner

    from app.store import Store
    from sync.client.cli import ENROLLMENT_KEY, make_sync_app
    from sync.server import admin
    from sync.server.cli import admin_app

    runner, cli, data = CliRunner(), make_sync_app(Store.open), tmp_path / "phone"
    _, code = big.run(admin.create_enrollment, big.org.users["w2"])
    assert runner.invoke(cli, ["enroll", "--data", str(data), "--server", big.url, "--code", code]).exit_code == 0
    db_url = f"sqlite:///{big.root / 'server.sqlite'}"
    admin = ["--db", db_url, "starter-pack", "--blobs", str(big.root / "blobs")]
    r = runner.invoke(admin_app, [*admin, "--out", str(tmp_path / "p.gwb")])
    assert r.exit_code == 1 and "--user" in r.output  # which device is it for?
    r = runner.invoke(admin_app, [*admin, "--user", "周网格", "--out", str(tmp_path / "p.gwb")])
    assert r.exit_code == 1 and "gridwall admin enroll" in r.output and not (tmp_path / "p.gwb").exists()
    r = runner.invoke(admin_app, [*admin, "--user", "孙网格", "--out", str(tmp_path / "p.gwb")])
    assert r.exit_code == 0 and "起步包已写入" in r.output, r.output
    r = runner.invoke(cli, ["import-return", str(tmp_path / "p.gwb"), "--data", str(data)])
    assert r.exit_code == 0 and "起步包已导入" in r.output, r.output
    st = Store.open(data)
    try:
        n, cursor = len(st.all("household")) + len(st.all("visit")), st.cursor()
        en = st.meta_get(ENROLLMENT_KEY)
    finally:
        st.close()
    assert n == 160 and cursor not in (None, "0")
    r = runner.invoke(cli, ["now", "--data", str(data)])
    assert r.exit_code == 0 and "同步完成" in r.output, r.output
    st = Store.open(data)
    try:
        eng = SyncEngine(st, big.url, en["token"])
        again = eng.sync_once()
        assert again.ok and again.requests == 1 and SNAP not in eng.transport.stats.by_path
        assert len(st.all("household")) == 80
    finally:
        st.close()


def test_pack_cursor_moves_forward_only():
    rec = {"id": "r1", "kind": "household", "grid": "g", "fields": {"head": "甲"},
           "stamps": {"head": "1764000000000-0000-srv"}, "bases": {"head": None}, "seq": 5}
    r = MemoryReplica("n")
    assert starter.apply_pack(r, {"cursor": "g2.40"}, [rec]) and r.cursor() == "g2.40"  # never pulled: any form
    r = MemoryReplica("n")
    r.apply_remote([], "50")
    assert not starter.apply_pack(r, {"cursor": "40"}, [rec]) and r.cursor() == "50"  # not back
    assert r.records["r1"]["fields"] == {"head": "甲"}  # the records still merge
    assert starter.apply_pack(r, {"cursor": "60"}, [rec]) and r.cursor() == "60"
