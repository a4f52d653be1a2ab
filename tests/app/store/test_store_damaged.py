"""A store file damaged by hand: reported by name, moved aside (kept), the rest readable."""

from __future__ import annotations

from store_helpers import make_change

from app.store import partition_name
from sync.i18n import t


def _fill(s):
    hh = [s.save(make_change(s, "household", address=f"{i}号")) for i in range(20)]
    vs = [s.save(make_change(s, "visit", household=h["id"], note="ok")) for h in hh]
    return hh, vs


def test_invalid_json_partition_is_moved_aside_and_reported(open_store, tmp_path):
    s = open_store()
    hh, vs = _fill(s)
    s.mark_acked([c["change_id"] for c in s.pending_changes(1000)])
    s.close()
    victim = vs[0]
    pname = partition_name("visit", victim["id"])
    path = tmp_path / "data" / "records" / f"{pname}.json"
    original = path.read_bytes()
    path.write_bytes(original[: len(original) // 2])  # truncated by hand

    s2 = open_store()  # opens regardless
    reports = s2.damaged_files()
    assert [r.name for r in reports] == [f"{pname}.json"]
    assert f"{pname}.json" in reports[0].message and "damaged/" in reports[0].message
    assert "已损坏" in reports[0].message
    assert reports[0].moved_to.read_bytes() == original[: len(original) // 2]  # kept, not deleted
    assert not path.exists()
    assert s2.get("visit", victim["id"]) is None
    lost = {v["id"] for v in vs if partition_name("visit", v["id"]) == pname}
    assert {v["id"] for v in s2.all("visit")} == {v["id"] for v in vs} - lost
    assert len(s2.all("household")) == 20
    assert s2.stats()["damaged"] == [f"{pname}.json"]
    # English too, through the catalog.
    assert "damaged" in t("store.damaged_file", lang="en", name="x.json", reason="r")


def test_damaged_partition_with_unacked_changes_is_rebuilt_from_outbox(open_store, tmp_path):
    s = open_store()
    _, vs = _fill(s)
    s.close()
    pname = partition_name("visit", vs[3]["id"])
    (tmp_path / "data" / "records" / f"{pname}.json").write_text("not json at all")
    s2 = open_store()
    assert [r.name for r in s2.damaged_files()] == [f"{pname}.json"]
    # Every visit is still in the outbox, so replaying it restores the lost partition.
    assert {v["id"] for v in s2.all("visit")} == {v["id"] for v in vs}
    assert (tmp_path / "data" / "damaged" / f"{pname}.json").read_text() == "not json at all"


def test_damaged_meta_and_outbox_segment(open_store, tmp_path):
    s = open_store(node="dev7")
    _fill(s)
    s.apply_remote([], "c5")
    s.close()
    (tmp_path / "data" / "meta.json").write_text('{"meta": {"node": ')
    seg = sorted((tmp_path / "data" / "outbox").glob("*.ndjson"))[0]
    seg.write_bytes(b"[1, 2\n" + seg.read_bytes())  # a bad line before good ones: damage
    s2 = open_store()
    names = sorted(r.name for r in s2.damaged_files())
    assert names == sorted(["meta.json", seg.name])
    outbox_msg = next(r.message for r in s2.damaged_files() if r.name == seg.name)
    assert "待上传" in outbox_msg
    assert s2.cursor() is None  # a lost cursor means a full pull again: safe, merge is idempotent
    assert s2.node == "dev7"  # recovered from the changes still in the outbox
    assert len(s2.all("household")) == 20
    s2.close()
    # The next open is clean: the damaged files were moved, not left to fail again.
    assert open_store().damaged_files() == []


def test_wrong_shape_is_damaged_too(open_store, tmp_path):
    s = open_store()
    _fill(s)
    s.close()
    (tmp_path / "data" / "conflicts.json").write_text('{"conflicts": [1, 2]}')
    s2 = open_store()
    assert [r.name for r in s2.damaged_files()] == ["conflicts.json"]
    assert s2.conflicts() == []
    assert len(s2.all("visit")) == 20


def test_valid_json_with_wrong_records_is_damaged(open_store, tmp_path):
    s = open_store()
    _, vs = _fill(s)
    s.mark_acked([c["change_id"] for c in s.pending_changes(1000)])
    s.close()
    pname = partition_name("visit", vs[0]["id"])
    (tmp_path / "data" / "records" / f"{pname}.json").write_text('{"records": {"x": 5}}')
    s2 = open_store()
    assert [r.name for r in s2.damaged_files()] == [f"{pname}.json"]
    assert len(s2.all("household")) == 20


def test_hand_edited_meta_values_do_not_stop_open(open_store, tmp_path):
    import json

    import pytest

    from app.store import Store, StoreError

    s = open_store(node="dev1")
    c = make_change(s, "visit", note="x")
    s.save(c)
    s.close()
    meta = tmp_path / "data" / "meta.json"
    doc = json.loads(meta.read_text())
    doc["meta"].update(clock_last="zzz-not-a-stamp", clock_offset="soon")
    meta.write_text(json.dumps(doc))
    s2 = open_store()
    assert s2.clock.now() > c["stamps"]["note"]
    assert s2.clock.offset_ms == 0
    s2.close()
    with pytest.raises(StoreError, match="设备编号"):
        Store.open(tmp_path / "data", node="bad node with spaces")
    assert open_store().node == "dev1"  # the failed open let go of the folder
