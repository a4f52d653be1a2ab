"""Bundles imported by the real server: same code path as online sync, idempotent, any order."""

from __future__ import annotations

import io
import os
import random
import zipfile

from sync.client.bundles import apply_return, export_bundle
from sync.records import RECORD_KINDS
from sync.server import admin
from sync.server.bundles import import_bundle


def _field_state(state: dict) -> dict:
    return {k: v for k, v in state.items() if v["kind"] in RECORD_KINDS}


def _tables(real) -> dict[str, int]:
    return {t: real.count(t) for t in ("records", "applied_changes", "conflicts", "blob_refs")}


def _jpeg() -> bytes:
    """A real (tiny, unique) JPEG of about 2,000 bytes: the server stores photos only."""
    from PIL import Image

    buf = io.BytesIO()
    Image.frombytes("RGB", (32, 32), os.urandom(32 * 32 * 3)).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def _photo(real, rep, h):
    data = _jpeg()
    sha = rep.add_photo(data)
    rep.create("photo", real.org.grid, {"sha256": sha, "size": len(data), "width": 4, "height": 3,
                                       "attached_to": {"kind": "household", "id": h["id"]}})
    return sha


def test_import_twice_in_shuffled_order_then_return_bundles(real, tmp_path, engine_for):
    devices = {}
    paths = []
    shas = []
    for who in ("w1", "w2", "w3"):
        rep, en = real.device(who)
        devices[who] = (rep, en)
        h = real.household(rep, head=f"{who} 的户")
        shas.append(_photo(real, rep, h))
        p1 = tmp_path / f"{who}-1.gwb"
        export_bundle(rep, p1, device_id=en.device_id, user=en.user["id"], secret=bytes.fromhex(en.secret))
        rep.update(h["id"], {"note": f"{who} 第二次"})
        p2 = tmp_path / f"{who}-2.gwb"  # a superset of the first: the outbox was not emptied
        export_bundle(rep, p2, device_id=en.device_id, user=en.user["id"], secret=bytes.fromhex(en.secret))
        paths += [p1, p2]
    total_changes = sum(r.outbox_size() for r, _ in devices.values())
    rng = random.Random(4)
    order = paths * 2
    rng.shuffle(order)
    receipts = {}
    returns = {}
    for p in order:
        res = import_bundle(real.engine, real.blobs, p.read_bytes(), name=p.name)
        assert res.receipt["status"] == "ok", res.receipt
        receipts.setdefault(p.name, []).append(res.receipt)
        returns.setdefault(p.name, []).append(res.return_bundle)
    accepted = sum(r["accepted"] for rs in receipts.values() for r in rs)
    assert accepted == total_changes  # each change applied exactly once over 12 imports
    assert real.count("applied_changes") == total_changes
    assert all(real.blobs.has(s) for s in shas)
    second = [rs[1] for rs in receipts.values()]
    assert all(r["accepted"] == 0 and r["duplicate"] == r["changes"] for r in second)
    # Every device applies its return bundles, old and new, in any order: outbox empties.
    for who, (rep, en) in devices.items():
        mine = [b for name, bs in returns.items() if name.startswith(who) for b in bs]
        rng.shuffle(mine)
        for b in mine:
            apply_return(rep, b, device_id=en.device_id, secret=bytes.fromhex(en.secret))
        assert rep.outbox_size() == 0 and rep.photos_to_upload() == []
    server = _field_state(real.state())
    for who, (rep, _) in devices.items():
        for rid, rec in _field_state(rep.state()).items():
            if rep.records[rid]["stamps"].keys() and rec["fields"].get("head", "").startswith(who):
                assert server[rid] == rec  # what it wrote, as the server holds it
            for f, stamp in rep.records[rid]["stamps"].items():
                assert stamp <= real_stamps(real)[rid][f]  # never ahead of the server
    # One online sync each afterwards: everyone identical.
    for rep, en in devices.values():
        assert engine_for(rep, real.url, token=en.token).sync_once().ok
    for rep, _ in devices.values():
        assert _field_state(rep.state()) == _field_state(real.state())


def real_stamps(real) -> dict:
    import json

    from sqlalchemy import text

    with real.engine.connect() as conn:
        return {json.loads(d)["id"]: json.loads(d)["stamps"] for (d,) in conn.execute(text("SELECT doc FROM records"))}


def test_online_then_bundle_of_the_same_changes_is_all_duplicate(real, tmp_path, engine_for):
    rep, en = real.device("w1")
    for i in range(5):
        real.household(rep, head=f"户{i}")
    path = tmp_path / "b.gwb"
    export_bundle(rep, path, device_id=en.device_id, user=en.user["id"], secret=bytes.fromhex(en.secret))
    assert engine_for(rep, real.url, token=en.token).sync_once().ok
    res = import_bundle(real.engine, real.blobs, path.read_bytes())
    assert res.receipt["duplicate"] == 5 and res.receipt["accepted"] == 0
    assert real.count("applied_changes") == 5


def test_refused_change_comes_back_with_its_reason(real, tmp_path):
    rep, en = real.device("w1")
    real.household(rep)
    other_grid = real.run(lambda c: admin.create_grid(c, real.org.township, "别的网格"))
    rep.create("household", other_grid, {"village": real.org.village, "address": "外面", "head": "外人"})
    path = tmp_path / "b.gwb"
    export_bundle(rep, path, device_id=en.device_id, user=en.user["id"], secret=bytes.fromhex(en.secret))
    res = import_bundle(real.engine, real.blobs, path.read_bytes())
    assert res.receipt["status"] == "refused" and res.receipt["accepted"] == 1
    assert res.receipt["refused"][0]["code"] == "scope" and res.receipt["refused"][0]["reason"]
    s = apply_return(rep, res.return_bundle, device_id=en.device_id, secret=bytes.fromhex(en.secret))
    assert rep.outbox_size() == 0 and len(rep.refused_changes()) == 1 and len(s.refused) == 1


def _tamper(data: bytes) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(buf, "w") as zout:
        for info in zin.infolist():
            body = zin.read(info)
            if info.filename == "changes.ndjson":
                body = body.replace("户主".encode(), "坏人".encode())
            zout.writestr(info.filename, body)
    return buf.getvalue()


def test_bad_bundles_change_nothing_on_the_server(real, tmp_path):
    rep, en = real.device("w1")
    real.household(rep, head="户主甲")
    path = tmp_path / "b.gwb"
    export_bundle(rep, path, device_id=en.device_id, user=en.user["id"], secret=bytes.fromhex(en.secret))
    good = path.read_bytes()
    before = _tables(real)
    for bad, code in [(_tamper(good), "hash"), (good[: len(good) // 2], "damaged"), (b"not a zip", "not_zip")]:
        res = import_bundle(real.engine, real.blobs, bad)
        assert res.receipt["status"] == "invalid" and res.receipt["code"] == code
        assert res.return_bundle is None and res.receipt["message"]
        assert _tables(real) == before
    # Signed with another device's secret: the signature check fails.
    rep2, en2 = real.device("w2")
    forged = tmp_path / "f.gwb"
    export_bundle(rep, forged, device_id=en.device_id, user=en.user["id"], secret=bytes.fromhex(en2.secret))
    assert import_bundle(real.engine, real.blobs, forged.read_bytes()).receipt["code"] == "signature"
    # A revoked device's bundle is refused.
    real.run(admin.revoke_device, en.device_id)
    assert import_bundle(real.engine, real.blobs, good).receipt["code"] == "revoked_device"
    assert _tables(real) == before


def test_old_bundle_after_a_delete_keeps_the_record_deleted(real, tmp_path, engine_for):
    from sync.changes import delete_change

    a, ea = real.device("w1")
    b, eb = real.device("w2")
    h = real.household(a, note="原来")
    assert engine_for(a, real.url, token=ea.token).sync_once().ok
    assert engine_for(b, real.url, token=eb.token).sync_once().ok
    a.update(h["id"], {"note": "离线时改的"})  # travels in a bundle that arrives late
    path = tmp_path / "old.gwb"
    export_bundle(a, path, device_id=ea.device_id, user=ea.user["id"], secret=bytes.fromhex(ea.secret))
    b.save_change(delete_change(b.records[h["id"]], b.clock, b.actor))
    assert engine_for(b, real.url, token=eb.token).sync_once().ok
    res = import_bundle(real.engine, real.blobs, path.read_bytes())
    assert res.receipt["accepted"] == 1
    rec = real.state()[h["id"]]
    assert rec["fields"]["_deleted"] is True  # stays deleted
    assert rec["fields"]["note"] == "离线时改的"  # the late-arriving edit is kept, not lost
    assert engine_for(a, real.url, token=ea.token).sync_once().ok
    assert a.records[h["id"]]["fields"]["_deleted"] is True  # and the device learns of the delete


def test_big_export_is_split_into_parts_that_import_in_any_order(real, tmp_path, engine_for):
    rep, en = real.device("w1")
    h = real.household(rep)
    shas = [_photo(real, rep, h) for _ in range(6)]  # about 2,000 bytes each
    s = export_bundle(rep, tmp_path / "big.gwb", device_id=en.device_id, user=en.user["id"],
                      secret=bytes.fromhex(en.secret), max_part_bytes=4500)
    assert len(s.paths) >= 3 and s.paths[1].name == "big-2.gwb" and s.photos == 6
    from sync.bundles.format import read_bundle

    parts_read = [read_bundle(p, lambda d: bytes.fromhex(en.secret)) for p in s.paths]
    assert [len(b.changes) for b in parts_read] == [7] + [0] * (len(s.paths) - 1)
    assert all(sum(map(len, b.blobs.values())) <= 4500 for b in parts_read[1:])
    assert sorted(x for b in parts_read for x in b.blobs) == sorted(shas)
    parts = list(reversed(s.paths))  # photos first, records last
    for p in parts:
        res = import_bundle(real.engine, real.blobs, p.read_bytes(), name=p.name)
        assert res.receipt["status"] == "ok", res.receipt
        apply_return(rep, res.return_bundle, device_id=en.device_id, secret=bytes.fromhex(en.secret))
    assert all(real.blobs.has(x) for x in shas)
    assert rep.outbox_size() == 0 and rep.photos_to_upload() == []
    assert real.count("applied_changes") == 7
