"""`gridwall admin backup` / `restore` on SQLite and on the real PostgreSQL of the fixture
(pg_dump / pg_restore), the feed generation in cursors, and hostile inputs that must be
refused in one line with the database unchanged (issue 11, finding 3)."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sync.server import admin as server_admin
from sync.server import generation
from sync.server.cli import admin_app
from tests.support.server import RunningServer, enroll_device, household, make_org


def gw(db_url: str, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(admin_app, ["--db", db_url, *args])


def _households(srv: RunningServer) -> int:
    return srv.run(lambda c: server_admin.status(c)["records"].get("household", 0))


def _snapshot(srv: RunningServer) -> tuple:
    """What a refused command must leave alone."""
    def read(c):  # type: ignore[no-untyped-def]
        st = server_admin.status(c)
        return st["feed_seq"], generation.current_epoch(c), sum(st["records"].values()), st["changes_applied"]

    return srv.run(read)


def _push(srv: RunningServer, dev, grid: str, village: str, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    changes = [household(dev, grid, village, head=f"户{i}")[1] for i in range(n)]
    r = dev.sync(changes)
    assert r.status_code == 200, r.text
    assert all(a["status"] == "applied" for a in r.json()["acks"])
    dev.cursor = r.json()["cursor"]
    return [c["id"] for c in changes]


def test_backup_and_restore_start_a_new_generation(db_url: str, tmp_path: Path) -> None:
    srv = RunningServer(db_url, tmp_path / "blobs")
    try:
        org = make_org(srv)
        dev = enroll_device(srv, org.users["worker_a"])
        _push(srv, dev, org.grid_a, org.village_a, 4)
        before_epoch = srv.run(generation.current_epoch)
        out = tmp_path / "nightly.backup"
        r = gw(db_url, "backup", str(out))
        assert r.exit_code == 0 and "已备份到" in r.output, r.output
        assert out.stat().st_size > 0 and out.stat().st_mode & 0o077 == 0  # holds the master key
        _push(srv, dev, org.grid_a, org.village_a, 6)
        assert _households(srv) == 10
        old_cursor = dev.cursor
        if db_url.startswith("postgresql"):
            srv.stop()  # pg_restore --clean drops tables: the server is stopped first (docs)
        r = gw(db_url, "restore", str(out))
        assert r.exit_code == 0, r.output
        assert "新同步代次" in r.output and "恢复前的数据库已保存为" in r.output
        if db_url.startswith("postgresql"):
            srv = RunningServer(db_url, tmp_path / "blobs")
            dev.api = srv.api
        assert _households(srv) == 4  # the database is the backup again
        epoch = srv.run(generation.current_epoch)
        assert epoch and epoch != before_epoch
        info = srv.run(generation.last_restore)
        assert info["source"] == f"restored from {out.name}" and info["backup"]["feed_seq"] > 0
        kept = sorted(tmp_path.glob("nightly.backup.before-restore-*"))
        assert len(kept) == 1 and kept[0].stat().st_size > 0  # the database as it was: kept
        assert kept[0].stat().st_mode & 0o077 == 0
        # The device's cursor names the old generation: told before anything is written.
        dev.cursor = old_cursor
        changes = [household(dev, org.grid_a, org.village_a)[1]]
        r = dev.sync(changes)
        assert r.status_code == 409 and r.json()["code"] == "generation_changed" and r.json()["epoch"] == epoch
        assert _households(srv) == 4
        dev.cursor = f"{epoch}:0"
        assert dev.sync(changes).status_code == 200
        figures = json.loads(gw(db_url, "status", "--json").output)
        assert figures["feed_generation"] == epoch and "restored from" in figures["last_restore"]
    finally:
        srv.stop()


def test_backup_copy_opened_as_live_database_starts_a_generation(tmp_path: Path) -> None:
    """A SQLite backup copied back by hand (not through `restore`) still starts a generation."""
    live = tmp_path / "server.sqlite3"
    url = f"sqlite:///{live}"
    srv = RunningServer(url, tmp_path / "blobs")
    make_org(srv)
    epoch = srv.run(generation.current_epoch)
    assert gw(url, "backup", str(tmp_path / "b.sqlite3")).exit_code == 0
    srv.stop()
    live.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{live}{suffix}").unlink(missing_ok=True)
    (tmp_path / "b.sqlite3").rename(live)
    srv = RunningServer(url, tmp_path / "blobs")
    try:
        assert srv.run(generation.current_epoch) != epoch
        assert "backup copy" in srv.run(generation.last_restore)["source"]
    finally:
        srv.stop()


# ---- hostile cases: each refused in one line, nothing changed --------------------------------


@pytest.fixture
def live(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    srv = RunningServer(url, tmp_path / "blobs")
    org = make_org(srv)
    dev = enroll_device(srv, org.users["worker_a"])
    _push(srv, dev, org.grid_a, org.village_a, 3)
    yield srv, url, dev, org
    srv.stop()


def _bad_backup(kind: str, path: Path) -> None:
    if kind == "text":
        path.write_text("这不是备份\n")
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "other_sqlite":
        c = sqlite3.connect(path)
        c.execute("CREATE TABLE notes (x TEXT)")
        c.commit()
        c.close()
    elif kind == "truncated":
        src = sqlite3.connect(path.with_name("whole.sqlite3"))
        src.execute("CREATE TABLE settings (key TEXT)")
        src.execute("CREATE TABLE feed (id INT)")
        src.execute("CREATE TABLE records (id TEXT, doc TEXT)")
        src.executemany("INSERT INTO records VALUES (?, ?)", [(str(i), "x" * 500) for i in range(400)])
        src.commit()
        src.close()
        data = path.with_name("whole.sqlite3").read_bytes()
        path.write_bytes(data[: len(data) // 3])
    elif kind == "zip":
        path.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    elif kind == "folder":
        path.mkdir()


@pytest.mark.parametrize("kind", ["text", "empty", "other_sqlite", "truncated", "zip", "folder", "missing"])
def test_restore_refuses_what_is_not_a_backup(live, tmp_path: Path, kind: str) -> None:
    srv, url, _, _ = live
    before = _snapshot(srv)
    bad = tmp_path / f"bad-{kind}"
    _bad_backup(kind, bad)
    r = gw(url, "restore", str(bad))
    assert r.exit_code == 1
    assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output
    assert _snapshot(srv) == before  # nothing changed, no new generation
    assert not list(tmp_path.glob("*.before-restore-*"))


def test_backup_never_overwrites_and_names_a_missing_folder(live, tmp_path: Path) -> None:
    srv, url, _, _ = live
    existing = tmp_path / "keep.sqlite3"
    existing.write_bytes(b"an older backup")
    r = gw(url, "backup", str(existing))
    assert r.exit_code == 1 and "已存在" in r.output and existing.read_bytes() == b"an older backup"
    r = gw(url, "backup", str(tmp_path / "no" / "such" / "b.sqlite3"))
    assert r.exit_code == 1 and "不存在" in r.output and len(r.output.strip().splitlines()) == 1
    r = gw(f"sqlite:///{tmp_path / 'nothing-here.sqlite3'}", "backup", str(tmp_path / "x.sqlite3"))
    assert r.exit_code == 1 and "找不到数据库" in r.output


def test_backup_is_consistent_while_devices_write(live, tmp_path: Path) -> None:
    """The online backup is one snapshot: every change it holds has its record (no half
    transaction), and it opens as a gridwall database."""
    srv, url, dev, org = live
    import threading

    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            _push(srv, dev, org.grid_a, org.village_a, 5)

    th = threading.Thread(target=writer)
    th.start()
    try:
        time.sleep(0)  # let the writer start; the assertions below do not depend on timing
        assert gw(url, "backup", str(tmp_path / "hot.sqlite3")).exit_code == 0
    finally:
        stop.set()
        th.join()
    c = sqlite3.connect(tmp_path / "hot.sqlite3")
    try:
        applied = {r[0] for r in c.execute("SELECT record_id FROM applied_changes")}
        have = {r[0] for r in c.execute("SELECT id FROM records")}
        head = c.execute("SELECT seq FROM feed").fetchone()[0]
        top = c.execute("SELECT max(seq) FROM records").fetchone()[0]
        mark = json.loads(c.execute("SELECT value FROM settings WHERE key='backup_of'").fetchone()[0])
        assert c.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
    finally:
        c.close()
    assert applied <= have and top <= head and mark["feed_seq"] == head


@pytest.mark.parametrize("cursor", ["zz:1", "ABCD:1", "abcd:", "abcd:x", ":5", "a" * 17 + ":1", "1:2:3"])
def test_bad_generation_cursors_are_refused_before_anything_is_written(live, cursor: str) -> None:
    srv, _, dev, org = live
    before = _snapshot(srv)
    dev.cursor = cursor
    r = dev.sync([household(dev, org.grid_a, org.village_a)[1]])
    assert r.status_code in (400, 422) and r.json()["code"] in ("bad_cursor", "invalid_request"), r.text
    assert _snapshot(srv) == before


def test_stale_generation_push_is_refused_and_writes_nothing(live) -> None:
    srv, _, dev, org = live
    before = _snapshot(srv)
    dev.cursor = "0badc0de:2"  # a generation this server never had (or no longer has)
    r = dev.sync([household(dev, org.grid_a, org.village_a)[1] for _ in range(3)])
    assert r.status_code == 409 and r.json()["code"] == "generation_changed"
    assert r.json()["epoch"] == before[1] and "备份" in r.json()["detail"]
    assert _snapshot(srv) == before


def test_cursor_past_the_head_means_the_feed_went_back(live) -> None:
    srv, _, dev, _ = live
    seq, epoch, *_ = _snapshot(srv)
    dev.cursor = f"{epoch}:{seq + 500}"
    r = dev.sync()
    assert r.status_code == 409 and r.json()["epoch"] != epoch
    assert srv.run(generation.last_restore)["source"] == "a device's cursor was past the feed head"
    dev.cursor = f"{epoch}:{seq}"  # the old generation is gone for every device now
    assert dev.sync().status_code == 409


def test_older_client_past_the_head_pulls_from_the_start(live) -> None:
    """A bare-number cursor (a client written before generations) past the feed head: the feed
    went back, so it gets everything again instead of skipping what is written next."""
    srv, _, dev, org = live
    seq = _snapshot(srv)[0]
    dev.cursor = str(seq + 1000)
    r = dev.sync()
    assert r.status_code == 200
    heads = [rec["fields"].get("head") for rec in r.json()["records"] if rec["kind"] == "household"]
    assert sorted(heads) == ["户0", "户1", "户2"]
