"""Damage shown and repaired (issue 11, finding 5), at the store: what a damaged file held is
said in words, the pull starts over, enrollment survives a damaged meta.json, an outbox that
lost entries says how many, and the acknowledged log kept for a server restore."""

from __future__ import annotations

import json

from store_helpers import make_change

from app.store import partition_name
from app.store import store as store_mod
from sync.client.engine import sync_status

ENROLLMENT = {"server_url": "http://127.0.0.1:9", "device_id": "d1", "token": "tok", "secret": "s",
              "user": {"id": "u1", "name": "张网格"}, "scope": {"grids": ["g1"]}}


def _synced_store(open_store, n=20):
    s = open_store(node="dev1")
    s.meta_set("sync.enrollment", ENROLLMENT)
    hh = [s.save(make_change(s, "household", address=f"{i}号")) for i in range(n)]
    s.mark_acked([c["change_id"] for c in s.pending_changes(1000)])
    s.apply_remote([], "abcd:40")
    s.meta_set("sync.last", {"at_ms": 1, "ok": True, "more": False})
    return s, hh


def test_truncated_shard_says_what_it_held_and_pulls_everything_again(open_store, tmp_path):
    s, hh = _synced_store(open_store)
    assert sync_status(s).state == "synced"
    s.close()
    pname = partition_name("household", hh[0]["id"])
    path = tmp_path / "data" / "records" / f"{pname}.json"
    path.write_bytes(path.read_bytes()[:40])
    s2 = open_store()
    msg = s2.damaged_files()[0].message
    assert f"{pname}.json" in msg and "住户记录" in msg and "重新拉取" in msg
    assert s2.cursor() is None  # the next sync pulls everything the server has again
    st = sync_status(s2)
    assert st.state == "pending" and "全部已同步" not in st.message and "重新拉取" in st.message
    assert any(f"{pname}.json" in n for n in st.notices)
    s2.close()
    # Still said on the next open (the file was moved aside, the notice is kept in meta).
    s3 = open_store()
    assert s3.damaged_files() == [] and any(f"{pname}.json" in n for n in sync_status(s3).notices)


def test_visit_shard_names_its_month(open_store, tmp_path):
    s = open_store()
    v = s.save(make_change(s, "visit", note="ok"))
    s.close()
    pname = partition_name("visit", v["id"])
    (tmp_path / "data" / "records" / f"{pname}.json").write_text("{")
    msg = open_store().damaged_files()[0].message
    assert "走访记录" in msg and pname.split("-")[1] in msg


def test_damaged_meta_keeps_enrollment_from_its_second_copy(open_store, tmp_path):
    s, _ = _synced_store(open_store)
    s.close()
    assert json.loads((tmp_path / "data" / "enrollment.json").read_text())["kv"]["sync.enrollment"] == ENROLLMENT
    (tmp_path / "data" / "meta.json").write_text('{"meta": {"node": "dev1", "kv": {"sync.enr')
    s2 = open_store()
    assert s2.meta_get("sync.enrollment") == ENROLLMENT  # still enrolled: no "not enrolled"
    msg = s2.damaged_files()[0].message
    assert "meta.json" in msg and "enrollment.json" in msg and "无需重新注册" in msg
    assert s2.cursor() is None and s2.node == "dev1"
    assert any("meta.json" in n for n in sync_status(s2).notices)


def test_damaged_meta_and_enrollment_copy_say_enrol_again(open_store, tmp_path):
    s, _ = _synced_store(open_store)
    s.close()
    (tmp_path / "data" / "meta.json").write_bytes(b"\x00" * 10)
    (tmp_path / "data" / "enrollment.json").write_text("[]")
    s2 = open_store()
    assert s2.meta_get("sync.enrollment") is None
    names = sorted(r.name for r in s2.damaged_files())
    assert names == ["enrollment.json", "meta.json"]
    meta_msg = next(r.message for r in s2.damaged_files() if r.name == "meta.json")
    assert "重新注册" in meta_msg and "无需" not in meta_msg


def test_enrollment_copy_is_made_for_a_store_enrolled_before_it_existed(open_store, tmp_path):
    s, _ = _synced_store(open_store)
    s.close()
    (tmp_path / "data" / "enrollment.json").unlink()
    open_store().close()
    assert (tmp_path / "data" / "enrollment.json").exists()


def test_outbox_with_a_damaged_line_keeps_the_rest_and_counts_the_loss(open_store, tmp_path):
    s = open_store()
    changes = [make_change(s, "household", address=f"{i}号") for i in range(6)]
    for c in changes:
        s.save(c)
    s.close()
    seg = sorted((tmp_path / "data" / "outbox").glob("*.ndjson"))[0]
    lines = seg.read_bytes().split(b"\n")
    lines[2] = b'{"change_id": "broken'  # the third change is unreadable, the others are fine
    seg.write_bytes(b"\n".join(lines))
    s2 = open_store()
    rep = s2.damaged_files()
    assert [r.name for r in rep] == [seg.name]
    assert "1 条" in rep[0].message and "5 条" in rep[0].message and "丢失" in rep[0].message
    assert [c["change_id"] for c in s2.pending_changes(100)] == [
        c["change_id"] for i, c in enumerate(changes) if i != 2]
    assert (tmp_path / "data" / "damaged" / seg.name).exists()  # the original, kept
    assert any("丢失" in n for n in sync_status(s2).notices)


def test_outbox_that_is_all_garbage_counts_every_line(open_store, tmp_path):
    s = open_store()
    for i in range(4):
        s.save(make_change(s, "household", address=f"{i}号"))
    s.close()
    seg = sorted((tmp_path / "data" / "outbox").glob("*.ndjson"))[0]
    seg.write_bytes(b"\xff\xfe garbage\n" * 4)
    s2 = open_store()
    assert "4 条" in s2.damaged_files()[0].message and s2.outbox_size() == 0
    assert not seg.exists()


def test_acked_changes_are_kept_and_offered_again_before_new_ones(open_store, tmp_path):
    s = open_store()
    old = [s.save(make_change(s, "household", address=f"{i}号")) for i in range(3)]
    ids = [c["change_id"] for c in s.pending_changes(100)]
    s.mark_acked(ids)
    new = make_change(s, "household", rid=old[0]["id"], note="后来")
    s.save(new)
    assert s.acked_count() == 3 and s.outbox_size() == 1
    back = s.server_restored("beef")
    assert back == ids
    assert [c["change_id"] for c in s.pending_changes(100)] == ids + [new["change_id"]]
    assert s.cursor() == "beef:0" and s.acked_count() == 0
    s.close()
    s2 = open_store()  # durable, same order
    assert [c["change_id"] for c in s2.pending_changes(100)] == ids + [new["change_id"]]
    assert s2.get("household", old[0]["id"])["fields"]["note"] == "后来"
    assert s2.meta_get("sync.restore")["offered"] == 3


def test_acked_log_drops_what_is_older_than_the_kept_days(open_store, tmp_path, monkeypatch):
    s = open_store()
    for i in range(3):
        s.save(make_change(s, "household", address=f"{i}号"))
    s.mark_acked([c["change_id"] for c in s.pending_changes(100)])
    s.close()
    seg = next((tmp_path / "data" / "acked").glob("*.ndjson"))
    old_ms = 1_000_000  # 1970: far past ACKED_DAYS
    seg.write_bytes(b"".join(json.dumps({**json.loads(x), "acked_ms": old_ms}).encode() + b"\n"
                             for x in seg.read_bytes().splitlines()))
    s2 = open_store()
    assert s2.acked_count() == 0 and not seg.exists()
    monkeypatch.setattr(store_mod, "ACKED_MAX", 4)
    monkeypatch.setattr(store_mod, "ACKED_SEGMENT_MAX", 2)
    for _ in range(5):
        s2.save(make_change(s2, "household", address="x"))
        s2.mark_acked([c["change_id"] for c in s2.pending_changes(100)])
    assert s2.acked_count() <= 4 + 2  # at most the cap and one segment being filled


def test_damaged_acked_log_is_reported(open_store, tmp_path):
    s = open_store()
    for i in range(3):
        s.save(make_change(s, "household", address=f"{i}号"))
    s.mark_acked([c["change_id"] for c in s.pending_changes(100)])
    s.close()
    seg = next((tmp_path / "data" / "acked").glob("*.ndjson"))
    seg.write_bytes(b"not json\n" + seg.read_bytes())
    s2 = open_store()  # open reads only the tail of the log (cheap); the damage is found when used
    back = s2.server_restored("beef")
    assert len(back) == 3 and "1 行" in s2.damaged_files()[0].message
    assert any("1 行" in n for n in sync_status(s2).notices)
    s2.close()
    assert list((tmp_path / "data" / "acked").glob("*.ndjson")) == []  # offered again: the log starts over


def test_acked_log_with_a_bad_last_line_is_checked_at_open(open_store, tmp_path):
    s = open_store()
    for i in range(2):
        s.save(make_change(s, "household", address=f"{i}号"))
    s.mark_acked([c["change_id"] for c in s.pending_changes(100)])
    s.close()
    seg = next((tmp_path / "data" / "acked").glob("*.ndjson"))
    seg.write_bytes(seg.read_bytes() + b'{"change_id": "cut\n')
    s2 = open_store()
    assert "1 行" in s2.damaged_files()[0].message and s2.acked_count() == 2


def test_server_restored_killed_midway_loses_and_doubles_nothing(open_store, tmp_path, monkeypatch):
    """Killed after the new outbox segments were written, before the old ones were removed: the
    reopened store holds every change once, still names the old generation, and the step
    runs again when the server says so again."""
    import pytest

    s = open_store()
    for i in range(40):
        s.save(make_change(s, "household", address=f"{i}号"))
    acked = [c["change_id"] for c in s.pending_changes(1000)][:35]
    s.mark_acked(acked)
    s.apply_remote([], "abcd:9")
    pending = [c["change_id"] for c in s.pending_changes(1000)]

    def killed(_path):
        raise SystemExit("killed")

    monkeypatch.setattr(store_mod, "remove_durably", killed)
    with pytest.raises(SystemExit):
        s.server_restored("beef")
    monkeypatch.undo()
    s._closed = True  # the process died: no orderly close
    s._dir_lock.release()  # (as the OS does for a dead process)

    s2 = open_store()
    ids = [c["change_id"] for c in s2.pending_changes(1000)]
    assert ids == acked + pending  # each once, in the order the interrupted step chose
    assert s2.cursor() == "abcd:9"  # not moved: the next sync is told again
    assert s2.server_restored("beef") == []  # already in the outbox: nothing offered twice
    assert [c["change_id"] for c in s2.pending_changes(1000)] == ids
    assert s2.cursor() == "beef:0"
    s2.close()
    assert [c["change_id"] for c in open_store().pending_changes(1000)] == ids  # old segments gone
