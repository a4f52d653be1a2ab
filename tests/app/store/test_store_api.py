"""The device store's API: saves, reads, outbox, refused, remote pages, cursor, clock, photos."""

from __future__ import annotations

import hashlib
import json

import pytest
from store_helpers import make_change
from tinydb import Query

from app.store import Store, StoreError, partition_name, tinydb_view
from app.store.store import TIME_SHARDS
from sync.clock import HybridClock
from sync.ids import new_id


def server_record(
    kind: str, rid: str, clock: HybridClock, grid: str = "g1", seen: dict | None = None, **fields
) -> dict:
    """A record as the server sends it; ``seen`` is the record its author had in front of them."""
    return {
        "id": rid, "kind": kind, "grid": grid,
        "fields": dict(fields), "stamps": {f: clock.now() for f in fields},
        "bases": {f: (seen or {}).get("stamps", {}).get(f) for f in fields},
    }


def test_save_get_all_query_and_reopen(open_store, tmp_path):
    s = open_store()
    hh = s.save(make_change(s, "household", address="东村3组12号", head="王秀英", members=3))
    v = s.save(make_change(s, "visit", household=hh["id"], note="身体好"))
    assert s.get("household", hh["id"])["fields"]["head"] == "王秀英"
    assert [r["id"] for r in s.all("visit")] == [v["id"]]
    assert s.query("household", lambda r: r["fields"]["members"] > 2) == [hh]
    assert s.query("household", lambda r: r["fields"]["members"] > 3) == []
    node = s.node
    s.close()

    s2 = open_store()
    assert s2.node == node
    assert s2.get("household", hh["id"]) == hh
    assert s2.get("visit", v["id"]) == v
    # The record lives in its own small partition file, a TinyDB document.
    part = tmp_path / "data" / "records" / f"{partition_name('visit', v['id'])}.json"
    db = tinydb_view(part)
    assert db.table("records").search(Query().fields.note == "身体好")[0]["id"] == v["id"]


def test_edit_merges_and_delete_hides(open_store):
    s = open_store()
    rec = s.save(make_change(s, "issue", title="路灯坏了", urgency="normal"))
    rec = s.save(make_change(s, "issue", rid=rec["id"], urgency="high"))
    assert rec["fields"] == {"title": "路灯坏了", "urgency": "high"}
    s.save(make_change(s, "issue", rid=rec["id"], _deleted=True))
    assert s.get("issue", rec["id"]) is None
    assert s.all("issue") == []
    assert s.get("issue", rec["id"], include_deleted=True)["fields"]["_deleted"] is True
    assert len(s.all("issue", include_deleted=True)) == 1


def id_at(ms: int) -> str:
    """A UUIDv7 with a given time (new_id never goes back in time within a process)."""
    h = f"{ms:012x}" + new_id()[14:].replace("-", "")
    h = h[:12] + "7" + h[13:]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def test_partitions_split_by_month_and_shard():
    july = id_at(1782864000000)  # 2026-07-01
    assert partition_name("visit", july).startswith("visit-2026-07-")
    assert partition_name("issue_event", july).startswith("issue_event-2026-07-")
    assert partition_name("household", july).startswith("household-")
    names = {partition_name("visit", id_at(1782864000000)) for _ in range(200)}
    assert 1 < len(names) <= TIME_SHARDS


def test_outbox_order_limit_ack_and_segments(open_store, tmp_path):
    s = open_store()
    changes = [make_change(s, "household", address=f"{i}号") for i in range(70)]
    for c in changes:
        s.save(c)
    ids = [c["change_id"] for c in changes]
    assert [c["change_id"] for c in s.pending_changes(1000)] == ids
    assert [c["change_id"] for c in s.pending_changes(5)] == ids[:5]
    segs = sorted((tmp_path / "data" / "outbox").glob("*.ndjson"))
    assert len(segs) == 3  # 32 + 32 + 6: a save rewrites a small segment only
    s.mark_acked(ids[:40])
    assert [c["change_id"] for c in s.pending_changes(1000)] == ids[40:]
    assert len(list((tmp_path / "data" / "outbox").glob("*.ndjson"))) == 2  # empty one removed
    s.close()
    s2 = open_store()
    assert [c["change_id"] for c in s2.pending_changes(1000)] == ids[40:]
    assert s2.stats()["outbox"] == 30
    assert len(s2.all("household")) == 70  # acked records stay


def test_saving_the_same_change_twice_queues_it_once(open_store):
    s = open_store()
    c = make_change(s, "visit", note="x")
    s.save(c)
    s.save(c)
    assert len(s.pending_changes(10)) == 1


def test_refused_changes_stay_visible(open_store):
    s = open_store()
    a = make_change(s, "issue_event", action="accept")
    b = make_change(s, "issue_event", action="comment")
    s.save(a)
    s.save(b)
    s.mark_refused(a["change_id"], "网格员不能受理问题")
    assert [c["change_id"] for c in s.pending_changes(10)] == [b["change_id"]]
    refused = s.refused_changes()
    assert refused[0]["change"]["change_id"] == a["change_id"]
    assert refused[0]["reason"] == "网格员不能受理问题"
    s.close()
    s2 = open_store()
    assert [r["change"]["change_id"] for r in s2.refused_changes()] == [a["change_id"]]
    assert [c["change_id"] for c in s2.pending_changes(10)] == [b["change_id"]]
    assert s2.stats()["refused"] == 1
    s2.save(a)  # saving a refused change again does not requeue it
    assert len(s2.pending_changes(10)) == 1


def test_apply_remote_inserts_merges_and_saves_cursor(open_store):
    s = open_store()
    srv = HybridClock("server")
    r1 = server_record("household", new_id(), srv, address="1号", head="李")
    s.apply_remote([r1], "c1")
    assert s.get("household", r1["id"])["fields"]["head"] == "李"
    assert s.cursor() == "c1"
    newer = dict(r1, fields={"head": "李四"}, stamps={"head": srv.now()})
    s.apply_remote([newer], "c2")
    assert s.get("household", r1["id"])["fields"] == {"address": "1号", "head": "李四"}
    older = dict(r1, fields={"head": "旧"}, stamps={"head": r1["stamps"]["head"]})
    s.apply_remote([older], "c3")
    assert s.get("household", r1["id"])["fields"]["head"] == "李四"
    s.close()
    s2 = open_store()
    assert s2.cursor() == "c3"
    assert s2.get("household", r1["id"])["fields"]["head"] == "李四"


def test_remote_never_overwrites_unacked_local_field(open_store):
    s = open_store()
    rec = s.save(make_change(s, "household", head="张", phone="111"))
    s.mark_acked([c["change_id"] for c in s.pending_changes(10)])
    local = make_change(s, "household", rid=rec["id"], phone="222")
    s.save(local)
    # The server has a later phone (staff edit) and a later head; our phone edit is unacked.
    srv = HybridClock("server", last=s.clock.last)
    srv_rec = server_record("household", rec["id"], srv, head="张三", phone="999")
    s.apply_remote([srv_rec], "c1")
    got = s.get("household", rec["id"])
    assert got["fields"]["phone"] == "222"  # held: our change is still in the outbox
    assert got["fields"]["head"] == "张三"  # a field we did not touch takes the server value
    assert s.cursor() == "c1"
    s.close()
    s = open_store()  # the held-back remote value survives a restart
    assert s.get("household", rec["id"])["fields"]["phone"] == "222"
    s.mark_acked([c["change_id"] for c in s.pending_changes(10)])
    got = s.get("household", rec["id"])
    assert got["fields"]["phone"] == "999"  # now the server's (higher stamp) value lands
    assert got["fields"]["head"] == "张三"
    # Staff had not seen our phone edit: the losing value is in the conflict log.
    lost = [c for c in s.conflicts() if c["field"] == "phone"]
    assert [(c["lost_value"], c["kept_value"]) for c in lost] == [("222", "999")]
    s.close()
    assert open_store().get("household", rec["id"])["fields"]["phone"] == "999"


def test_conflicts_logged_once_and_kept(open_store):
    s = open_store()
    rec = s.save(make_change(s, "issue", title="漏水"))
    s.mark_acked([c["change_id"] for c in s.pending_changes(10)])
    mine = make_change(s, "issue", rid=rec["id"], title="厨房漏水")  # made before the pull
    srv = HybridClock("server", last=s.clock.last)
    remote = server_record("issue", rec["id"], srv, seen=rec, title="屋顶漏水")
    s.apply_remote([remote], "c1")
    assert s.conflicts() == []  # staff saw our title before changing it: no conflict
    s.save(mine)  # loses to the later staff edit: kept in the conflict log
    assert s.get("issue", rec["id"])["fields"]["title"] == "屋顶漏水"
    s.apply_remote([remote], "c1")  # the same page again (retry after a kill)
    keys = [(c["id"], c["field"]) for c in s.conflicts()]
    assert keys.count((rec["id"], "title")) == 1
    s.close()
    s2 = open_store()  # reopening replays the unacked change: the same conflict, not a new one
    assert [(c["id"], c["field"]) for c in s2.conflicts()] == [(rec["id"], "title")]
    assert s2.stats()["conflicts"] == 1


def test_cursor_not_saved_when_data_write_fails(open_store, monkeypatch):
    s = open_store()
    srv = HybridClock("server")
    s.apply_remote([server_record("visit", new_id(), srv, note="a")], "c1")
    calls = {"n": 0}
    real = Store._write_part

    def failing(self, pname):
        calls["n"] += 1
        if calls["n"] == 2:
            raise StoreError("disk full")
        return real(self, pname)

    monkeypatch.setattr(Store, "_write_part", failing)
    page = [server_record("household", new_id(), srv, address=f"{i}") for i in range(40)]
    with pytest.raises(StoreError):
        s.apply_remote(page, "c2")
    monkeypatch.undo()
    s.close()
    s2 = open_store()
    assert s2.cursor() == "c1"  # the cursor never runs ahead of the data
    s2.apply_remote(page, "c2")
    assert s2.cursor() == "c2"
    assert len(s2.all("household")) == 40


def test_write_order_outbox_before_record_and_cursor_last(open_store, monkeypatch):
    from app.store import store as store_mod

    s = open_store()
    order: list[str] = []
    real = store_mod.AtomicJSONStorage.write
    real_append = store_mod.append_line

    def spy(self, data):
        order.append(self.path.parent.name + "/" + self.path.name)
        return real(self, data)

    def spy_append(path, line):
        order.append(path.parent.name + "/" + path.name)
        return real_append(path, line)

    monkeypatch.setattr(store_mod.AtomicJSONStorage, "write", spy)
    monkeypatch.setattr(store_mod, "append_line", spy_append)
    c = make_change(s, "visit", note="x")
    s.save(c)
    assert order[0].startswith("outbox/") and order[-1].startswith("records/")
    order.clear()
    srv = HybridClock("server")
    s.apply_remote([server_record("visit", new_id(), srv, note="y")], "c9")
    assert order[-1].endswith("meta.json")
    # the views' journal names the page's records before any partition is written
    assert order[0].endswith("summary.journal") and order[1].startswith("records/")


def test_kill_between_outbox_and_record_is_replayed(open_store, monkeypatch, tmp_path):
    s = open_store()
    first = s.save(make_change(s, "visit", note="before"))
    c = make_change(s, "visit", rid=first["id"], note="after")
    monkeypatch.setattr(Store, "_write_part", lambda self, p: (_ for _ in ()).throw(SystemExit))
    with pytest.raises(SystemExit):
        s.save(c)
    monkeypatch.undo()
    s.close()
    s2 = open_store()
    assert s2.get("visit", first["id"])["fields"]["note"] == "after"
    assert c["change_id"] in [x["change_id"] for x in s2.pending_changes(10)]
    # The replay wrote the record back, so raw files agree too.
    part = tmp_path / "data" / "records" / f"{partition_name('visit', first['id'])}.json"
    assert json.loads(part.read_text())["records"][first["id"]]["fields"]["note"] == "after"


def test_clock_monotonic_across_restarts_and_offset(open_store):
    s = open_store(node="dev1")
    issued = [s.clock.now() for _ in range(3)]
    s.save(make_change(s, "visit", note="x"))
    # A far-future server stamp seen in a pull moves the clock on.
    future = "4102444800000-0000-server"  # year 2100
    s.apply_remote([{"id": new_id(), "kind": "visit", "grid": "g1",
                     "fields": {"note": "f"}, "stamps": {"note": future}}], "c1")
    assert s.clock.now() > future  # observed at once, not only after a restart
    s.set_clock_offset(-5000)
    s.close()
    s2 = open_store()
    assert s2.node == "dev1"
    assert s2.clock.offset_ms == -5000
    nxt = s2.clock.now()
    assert nxt > future and all(nxt > x for x in issued)


def test_clock_recovers_from_outbox_when_meta_is_stale(open_store, tmp_path):
    s = open_store(node="dev1")
    meta_before = (tmp_path / "data" / "meta.json").read_bytes()
    c = make_change(s, "visit", note="x")
    s.save(c)
    stamp = c["stamps"]["note"]
    s.close()
    (tmp_path / "data" / "meta.json").write_bytes(meta_before)  # last stamp not persisted
    assert open_store().clock.now() > stamp


def test_photos_stored_by_hash(open_store, tmp_path):
    s = open_store()
    data = b"\xff\xd8fake jpeg bytes"
    sha = hashlib.sha256(data).hexdigest()
    assert not s.has_photo(sha)
    path = s.put_photo_file(sha, data, thumbnail=b"thumb")
    assert path == tmp_path / "data" / "photos" / f"{sha}.jpg"
    assert s.has_photo(sha) and s.photo_bytes(sha) == data
    assert s.thumb_path(sha).read_bytes() == b"thumb"
    with pytest.raises(StoreError, match="不符"):
        s.put_photo("0" * 64, data)
    with pytest.raises(StoreError, match="sha256"):
        s.photo_path("../../etc/passwd")
    other = "a" * 64
    s.save(make_change(s, "photo", sha256=other, size=10))
    s.save(make_change(s, "photo", sha256=sha, size=len(data)))
    assert s.missing_photos() == [other]
    assert s.photos_to_upload() == [sha]  # taken here: queued
    s.mark_photo_uploaded(sha)
    assert s.photos_to_upload() == []
    s.close()
    s = open_store()
    assert s.photos_to_upload() == []
    fetched = b"bytes from the server"
    fsha = hashlib.sha256(fetched).hexdigest()
    srv = HybridClock("server")
    s.apply_remote([server_record("photo", new_id(), srv, sha256=fsha, size=len(fetched))], "c1")
    assert fsha in s.missing_photos()
    s.put_photo(fsha, fetched)  # bytes a pulled record waited for: the server has them
    assert s.has_photo(fsha) and s.photos_to_upload() == [] and s.missing_photos() == [other]
    local = b"bytes taken here"
    lsha = hashlib.sha256(local).hexdigest()
    s.put_photo(lsha, local)  # no record waiting for them: taken here, to upload
    assert s.photos_to_upload() == [lsha]


def test_meta_values_and_stats(open_store):
    s = open_store()
    s.meta_set("language", "en")
    s.meta_set("last_sync", {"at": 123, "ok": True})
    s.save(make_change(s, "household", address="1"))
    s.save(make_change(s, "visit", note="1"))
    s.save(make_change(s, "visit", note="2"))
    st = s.stats()
    assert st["counts"] == {"household": 1, "visit": 2}
    assert st["outbox"] == 3 and st["refused"] == 0
    assert st["last_sync"] == {"at": 123, "ok": True}
    s.close()
    s2 = open_store()
    assert s2.meta_get("language") == "en"
    assert s2.meta_get("missing", "d") == "d"


def test_bad_input_is_a_clear_error(open_store, tmp_path):
    s = open_store()
    with pytest.raises(StoreError, match="change_id"):
        s.save({"id": "x", "kind": "visit", "fields": {}, "stamps": {}})
    with pytest.raises(StoreError, match="stamp"):
        s.save({"change_id": "c", "id": "x", "kind": "visit", "fields": {"a": 1},
                "stamps": {"a": "yesterday"}})
    with pytest.raises(StoreError, match="记录"):
        s.apply_remote([{"kind": "visit"}], "c1")
    assert s.cursor() is None
    with pytest.raises(StoreError, match="另一个程序"):
        Store.open(tmp_path / "data")
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(StoreError, match="不是文件夹"):
        Store.open(f)


def test_leftover_temp_files_are_removed(open_store, tmp_path):
    s = open_store()
    s.save(make_change(s, "visit", note="x"))
    s.close()
    junk = tmp_path / "data" / "records" / ".visit-2026-05-1.json.123.tmp"
    junk.write_text('{"records": {')
    s2 = open_store()
    assert not junk.exists()
    assert len(s2.all("visit")) == 1
    assert s2.damaged_files() == []


def test_unmergeable_input_changes_nothing(open_store):
    s = open_store()
    rec = s.save(make_change(s, "household", address="1号"))
    bad = make_change(s, "household", rid=rec["id"], grid="other-grid", address="2号")
    with pytest.raises(StoreError):
        s.save(bad)  # a record cannot move grids: refused before it reaches the outbox
    assert len(s.pending_changes(10)) == 1
    srv = HybridClock("server", last=s.clock.last)
    good = server_record("visit", new_id(), srv, note="ok")
    wrong = server_record("household", rec["id"], srv, grid="other-grid", address="3号")
    with pytest.raises(StoreError, match="记录"):
        s.apply_remote([good, wrong], "c1")
    assert s.get("visit", good["id"]) is None and s.cursor() is None
    assert s.get("household", rec["id"])["fields"]["address"] == "1号"
    with pytest.raises(StoreError, match="stamp"):
        s.apply_remote([dict(good, stamps={"note": "soon"})], "c1")


def test_torn_outbox_append_is_ignored_and_next_session_uses_a_new_segment(open_store, tmp_path):
    s = open_store()
    kept = [make_change(s, "visit", note=str(i)) for i in range(3)]
    for c in kept:
        s.save(c)
    s.close()
    seg = sorted((tmp_path / "data" / "outbox").glob("*.ndjson"))[-1]
    with seg.open("ab") as f:
        f.write(b'{"change_id": "01a2", "id": "x", "ki')  # killed in the middle of an append
    s2 = open_store()
    assert s2.damaged_files() == []
    assert [c["change_id"] for c in s2.pending_changes(10)] == [c["change_id"] for c in kept]
    s2.save(make_change(s2, "visit", note="next"))
    assert len(list((tmp_path / "data" / "outbox").glob("*.ndjson"))) == 2
    s2.close()
    assert len(open_store().pending_changes(10)) == 4


def test_processed_photo_goes_through_the_pipeline_writer(open_store):
    import io

    from PIL import Image

    from sync.photos import process_photo

    buf = io.BytesIO()
    Image.new("RGB", (800, 600), (200, 120, 40)).save(buf, "JPEG")
    processed = process_photo(buf.getvalue())
    s = open_store()
    path = s.put_processed_photo(processed)
    assert path == s.photo_path(processed.sha256)
    assert s.has_photo(processed.sha256)
    assert hashlib.sha256(s.photo_bytes(processed.sha256)).hexdigest() == processed.sha256
    assert s.thumb_path(processed.sha256).read_bytes() == processed.thumb
    assert s.photos_to_upload() == [processed.sha256]
    assert s.stats()["photos_to_upload"] == 1
    # Bytes fetched from the server get a thumbnail made here.
    srv = HybridClock("server")
    s.apply_remote([server_record("photo", new_id(), srv, sha256=processed.sha256)], "c1")
    s.thumb_path(processed.sha256).unlink()
    s.photo_path(processed.sha256).unlink()
    s.put_photo(processed.sha256, processed.jpeg)
    assert s.thumb_path(processed.sha256).exists() and s.photos_to_upload() == []


def test_refusing_the_local_change_lets_the_held_server_value_land(open_store):
    s = open_store()
    rec = s.save(make_change(s, "issue", title="路面坑洼", urgency="normal"))
    s.mark_acked([c["change_id"] for c in s.pending_changes(10)])
    mine = make_change(s, "issue", rid=rec["id"], urgency="critical")
    s.save(mine)
    srv = HybridClock("server", last=s.clock.last)
    s.apply_remote([server_record("issue", rec["id"], srv, seen=rec, urgency="urgent")], "c1")
    assert s.get("issue", rec["id"])["fields"]["urgency"] == "critical"
    s.mark_refused(mine["change_id"], "紧急程度只能由镇街工作人员设定")
    assert s.get("issue", rec["id"])["fields"]["urgency"] == "urgent"
    assert s.refused_changes()[0]["change"]["fields"] == {"urgency": "critical"}


def test_acked_future_stamped_values_yield_to_the_servers_clamped_version(open_store):
    s = open_store(node="dev1")
    rec = s.save(make_change(s, "household", address="1号", head="王"))
    future = "4102444800000-0000-dev1"  # a device clock set to 2100
    wrong = make_change(s, "household", rid=rec["id"], head="王五")
    wrong["stamps"] = {"head": future}
    s.save(wrong)
    srv = HybridClock("server")
    clamped = {"id": rec["id"], "kind": "household", "grid": "g1",
               "fields": {"address": "1号", "head": "王五(服务器)"},
               "stamps": {"address": rec["stamps"]["address"], "head": srv.now()},
               "bases": {"address": None, "head": rec["stamps"]["head"]}}
    s.apply_remote([clamped], "c1")
    assert s.get("household", rec["id"])["fields"]["head"] == "王五"  # unacked: ours stays
    s.mark_acked([c["change_id"] for c in s.pending_changes(10)])
    s.apply_remote([clamped], "c2")
    # Acked and far in the future: the server clamped it, its version is the one that counts.
    assert s.get("household", rec["id"])["fields"]["head"] == "王五(服务器)"


def test_reads_while_another_thread_pulls(open_store):
    import threading

    s = open_store()
    srv = HybridClock("server")
    errors: list[BaseException] = []
    done = threading.Event()

    def puller():
        try:
            for n in range(30):
                s.apply_remote([server_record("visit", new_id(), srv, note=str(i)) for i in range(20)], str(n))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            done.set()

    th = threading.Thread(target=puller)
    th.start()
    reads = 0
    while not done.is_set():
        try:
            s.all("visit")
            s.query("visit", lambda r: r["fields"]["note"] == "3")
            s.stats()
            reads += 1
        except RuntimeError as exc:  # "dictionary changed size during iteration"
            errors.append(exc)
            break
    th.join()
    assert errors == [] and reads > 0
    assert len(s.all("visit")) == 600


def test_a_folder_is_opened_by_one_store_at_a_time(open_store, tmp_path):
    """The second opener is told in words (another program holds the folder); after the
    first closes, the folder opens again."""
    s = open_store()
    with pytest.raises(StoreError, match="正被另一个程序使用"):
        Store.open(tmp_path / "data")
    s.close()
    open_store().close()


def test_the_store_opens_where_the_os_has_no_fcntl(tmp_path):
    """A Windows township PC has no ``fcntl``: the store module must not need it."""
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys\n"
        "class NoFcntl:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'fcntl':\n"
        "            raise ImportError('no fcntl on this OS')\n"
        "sys.meta_path.insert(0, NoFcntl())\n"
        "sys.modules.pop('fcntl', None)\n"
        "from app.store import Store\n"
        f"s = Store.open({str(tmp_path / 'data')!r})\n"
        "s.close()\n"
        "print('opened')\n"
    )
    root = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], cwd=root, capture_output=True,
                         text=True, timeout=120, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0 and out.stdout.strip() == "opened", out.stderr
