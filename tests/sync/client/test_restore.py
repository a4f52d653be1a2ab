"""Backups without loss (issue 11, finding 3), end to end on 127.0.0.1: the real server, real
device stores driven by `gridwall sync now`, `gridwall admin backup` and `gridwall admin restore`.

Journey: back up; a device pushes 201 records (acknowledged, its outbox pruned); restore the
backup while the server runs; another device writes 75 records; every device syncs. Nothing
is lost, nobody skips, and the operator and the worker are told what happened."""

from __future__ import annotations

import json
import logging
import random
import shutil
import sqlite3

import pytest
from typer.testing import CliRunner

from app.store import Store
from sync.changes import new_record
from sync.client.cli import ENROLLMENT_KEY, make_sync_app
from sync.client.engine import SyncEngine, sync_status
from sync.client.replica import MemoryReplica
from sync.server import admin as server_admin
from sync.server import generation
from sync.server.cli import admin_app
from tests.support.server import RealServer

runner = CliRunner()
cli = make_sync_app(Store.open)


def _enroll(real, who, data) -> dict:
    _, code = real.run(server_admin.create_enrollment, real.org.users[who])
    r = runner.invoke(cli, ["enroll", "--data", str(data), "--server", real.url, "--code", code, "--name", who])
    assert r.exit_code == 0, r.output
    with Store.open(data) as st:
        return st.meta_get(ENROLLMENT_KEY)


def _add(real, data, en, n, head) -> list[str]:
    with Store.open(data) as st:
        ids = []
        for i in range(n):
            _, c = new_record("household", real.org.grid,
                              {"village": real.org.village, "address": f"{i}号", "head": f"{head}{i}"},
                              st.clock, en["user"]["id"])
            ids.append(st.save(c)["id"])
        return ids


def _now(data) -> str:
    r = runner.invoke(cli, ["now", "--data", str(data)])
    assert r.exit_code == 0, r.output
    return r.output


def _ids(data) -> set[str]:
    with Store.open(data) as st:
        return {r["id"] for r in st.all("household")}


def _server_ids(real) -> set[str]:
    return {rid for rid, r in real.state().items() if r["kind"] == "household"}


def _admin(real, *args: str):
    return runner.invoke(admin_app, ["--db", f"sqlite:///{real.root / 'server.sqlite'}", *args])


def test_restore_journey_nothing_lost_nobody_skips(real, tmp_path, caplog):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    ea, eb, ec = _enroll(real, "w1", a), _enroll(real, "w2", b), _enroll(real, "w3", c)
    early = _add(real, a, ea, 5, "早")
    for d in (a, b, c):
        _now(d)

    r = _admin(real, "backup", str(tmp_path / "daily.sqlite3"))
    assert r.exit_code == 0 and "已备份到" in r.output, r.output

    acked = _add(real, a, ea, 201, "新")
    _now(a)
    with Store.open(a) as st:
        assert st.outbox_size() == 0 and st.acked_count() == 206  # acknowledged, kept to re-offer
    _now(b)  # b's cursor is now past the head the backup will restore
    assert set(acked) <= _ids(b)

    with caplog.at_level(logging.WARNING, logger="gridwall.server"):
        r = _admin(real, "restore", str(tmp_path / "daily.sqlite3"))  # the server keeps running
    assert r.exit_code == 0, r.output
    assert "已从" in r.output and "新同步代次" in r.output and "恢复前的数据库已保存为" in r.output
    assert any("feed generation" in m and "restored from daily.sqlite3" in m for m in caplog.messages)
    assert _server_ids(real) & set(acked) == set()  # the server lost all 201
    assert set(early) <= _server_ids(real)

    later = _add(real, c, ec, 75, "后")  # written after the restore by a third device
    out_c = _now(c)
    assert "服务器" in out_c and "从备份恢复" in out_c

    with caplog.at_level(logging.WARNING, logger="gridwall.server"):
        out_a = _now(a)  # a notices, pulls from the start and offers again what it kept
    assert any(ea["device_id"] in m and "offer again" in m for m in caplog.messages)
    assert "重新提交了 206 条" in out_a and "其中 201 条" in out_a, out_a
    _now(b)  # b's cursor was past the restored head: it must not skip c's 75
    _now(c)  # c synced before a gave the 201 back: its next sync brings them

    server = _server_ids(real)
    assert set(early) | set(acked) | set(later) <= server  # nothing lost
    for d in (a, b, c):
        assert _ids(d) == server, d  # nobody skipped
    # The worker sees it in `gridwall sync status`, in plain words, with the numbers.
    st_out = runner.invoke(cli, ["status", "--data", str(a)]).output
    assert "全部已同步" in st_out and "从备份恢复" in st_out and "206" in st_out and "201" in st_out
    with Store.open(a) as st:
        assert st.acked_count() == 206  # acknowledged again by the new generation, kept again
    # Idle afterwards: one request each, no second restore.
    with Store.open(b) as st:
        rep = SyncEngine(st, real.url, eb["token"]).sync_once()
        assert rep.ok and rep.requests == 1 and not rep.restored


def test_cursor_past_head_without_the_restore_command_starts_a_generation(real, tmp_path):
    """A database copied back by hand (no backup mark, same generation): the first device whose
    cursor is past the head makes the server start a new generation."""
    dev = MemoryReplica("m1")
    en = real.enroll("w1")
    dev.actor = en.user["id"]
    eng = SyncEngine(dev, real.url, en.token)
    assert eng.sync_once().ok
    copy = real.root / "hand-copy.sqlite"
    src, dst = sqlite3.connect(real.root / "server.sqlite"), sqlite3.connect(copy)
    src.backup(dst)  # a plain copy: no backup mark, same generation
    src.close()
    dst.close()
    before = real.run(generation.current_epoch)
    for i in range(3):
        real.household(dev, head=f"户{i}")
    assert eng.sync_once().ok and dev.outbox_size() == 0
    real.stop()
    shutil.copy(copy, real.root / "server.sqlite")
    for suffix in ("-wal", "-shm"):
        (real.root / f"server.sqlite{suffix}").unlink(missing_ok=True)
    srv = RealServer(real.root, org=real.org)  # a server on the copied-back database
    try:
        assert srv.run(generation.current_epoch) == before  # nothing told it about the copy
        eng2 = SyncEngine(dev, srv.url, en.token)
        rep = eng2.sync_once()
        assert rep.ok and rep.restored and rep.recovered == 3, rep.error
        assert srv.run(generation.current_epoch) != before
        assert sum(1 for r in srv.state().values() if r["kind"] == "household") == 3
    finally:
        srv.stop()


def test_memory_replica_reoffers_in_order_before_new_changes(real):
    """An event written after the restore depends on an issue acknowledged before it: the
    issue is offered again first, so the event is never refused for a missing issue."""
    dev = MemoryReplica("m2")
    en = real.enroll("w1")
    dev.actor = en.user["id"]
    eng = SyncEngine(dev, real.url, en.token)
    eng.sync_once()
    backup = real.root / "b.sqlite3"
    assert _admin(real, "backup", str(backup)).exit_code == 0
    h = real.household(dev, head="先")
    assert eng.sync_once().ok
    assert _admin(real, "restore", str(backup)).exit_code == 0
    h2 = dev.update(h["id"], {"note": "后来改的"})
    assert list(dev.outbox) == [h2["change_id"]]
    rep = eng.sync_once()
    assert rep.ok and rep.restored and rep.reoffered == 1 and rep.recovered == 1 and not rep.refused
    assert real.state()[h["id"]]["fields"]["note"] == "后来改的"
    st = sync_status(dev)
    assert st.state == "synced" and any("从备份恢复" in n for n in st.notices)


def test_protocol_cursor_and_ack_carry_the_generation(real):
    import requests

    en = real.enroll("w1")
    hdr = {"Authorization": f"Bearer {en.token}"}
    body = requests.post(f"{real.url}/api/v1/sync", json={"cursor": "0", "changes": []}, headers=hdr, timeout=30).json()
    epoch = real.run(generation.current_epoch)
    assert body["epoch"] == epoch and body["cursor"].startswith(f"{epoch}:")
    # An older client's bare number is still a cursor of the current generation.
    legacy = requests.post(f"{real.url}/api/v1/sync", json={"cursor": "0"}, headers=hdr, timeout=30)
    assert legacy.status_code == 200
    stale = requests.post(f"{real.url}/api/v1/sync", json={"cursor": "abcd1234:5", "changes": []},
                          headers=hdr, timeout=30)
    assert stale.status_code == 409
    assert stale.json()["code"] == "generation_changed" and stale.json()["epoch"] == epoch
    assert json.loads(stale.text)["detail"]


def test_sneakernet_device_notices_the_restore_through_its_return_bundle(real, tmp_path):
    """A device that only ever syncs by bundles: its acknowledged changes lost by a restore go
    out again in its next bundle, and the return bundle's records start from the beginning."""
    from sync.client.bundles import apply_return, export_bundle
    from sync.server.bundles import import_bundle

    dev, en = real.device("w1")
    secret = bytes.fromhex(en.secret)

    def round_trip(name: str) -> dict:
        path = tmp_path / name
        export_bundle(dev, path, device_id=en.device_id, user=en.user["id"], secret=secret)
        res = import_bundle(real.engine, real.blobs, path.read_bytes())
        apply_return(dev, res.return_bundle, device_id=en.device_id, secret=secret)
        return res.receipt

    round_trip("first.gwb")  # the device's cursor now names the current generation
    assert _admin(real, "backup", str(tmp_path / "b.sqlite3")).exit_code == 0
    hh = [real.household(dev, head=f"离线{i}")["id"] for i in range(4)]
    assert round_trip("second.gwb")["accepted"] == 4 and dev.outbox_size() == 0
    assert _admin(real, "restore", str(tmp_path / "b.sqlite3")).exit_code == 0
    round_trip("third.gwb")  # the return bundle says the generation changed: re-queued
    assert dev.outbox_size() == 4 and dev.meta["sync.restore"]["offered"] == 4
    receipt = round_trip("fourth.gwb")
    assert receipt["accepted"] == 4 and dev.outbox_size() == 0
    assert set(hh) <= set(real.state())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_backups_restores_and_writes_converge_without_loss(real, tmp_path, seed):
    """Random interleavings of writes, syncs, backups and restores of any earlier backup (online):
    after every device has synced, the server and every device hold the same records, and
    every record ever written is there (all writers are alive: each can give its own back)."""
    from sync.server import backup

    rng = random.Random(seed)
    url = f"sqlite:///{real.root / 'server.sqlite'}"
    devices = []
    for who in ("w1", "w2", "w3"):
        en = real.enroll(who)
        rep = MemoryReplica(en.device_id, actor=en.user["id"])
        devices.append((rep, SyncEngine(rep, real.url, en.token)))
    backups: list = []
    restores = 0
    written: dict[str, str] = {}  # record id -> the head it was last given
    owner: dict[str, MemoryReplica] = {}  # each record is edited by the device that made it
    for step in range(40):
        op = rng.choice(["write", "write", "sync", "sync", "backup", "restore"])
        rep, eng = rng.choice(devices)
        if op == "write":
            mine = [rid for rid, o in owner.items() if o is rep]
            if mine and rng.random() < 0.4:
                rid = rng.choice(mine)
                written[rid] = f"改{step}"
                rep.update(rid, {"head": written[rid]})
            else:
                h = real.household(rep, head=f"户{step}")
                written[h["id"]], owner[h["id"]] = f"户{step}", rep
        elif op == "sync":
            assert eng.sync_once().ok
        elif op == "backup":
            path = tmp_path / f"b{step}.sqlite3"
            backup.backup(url, path)
            backups.append(path)
        elif op == "restore" and backups:
            backup.restore(url, rng.choice(backups))
            restores += 1
    for _ in range(2):  # everyone gives back, then everyone pulls what the others gave back
        for _rep, eng in devices:
            done = eng.sync_once()
            assert done.ok, done.error
    assert restores >= 2 and any("sync.restore" in rep.meta for rep, _ in devices)  # it was tried
    server = {rid: r["fields"]["head"] for rid, r in real.state().items() if r["kind"] == "household"}
    assert set(written) <= set(server)  # nothing lost
    assert {rid: server[rid] for rid in written} == written  # the newest value of each wins
    for rep, _ in devices:
        assert {rid: r["fields"]["head"] for rid, r in rep.records.items() if r["kind"] == "household"} == server
