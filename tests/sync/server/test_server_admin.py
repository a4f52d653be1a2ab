"""The admin commands, household import (CSV and XLSX), migrations, and `gridwall server` as a
real process that a device enrolls with, pushes to, pulls from and uploads a photo to."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import requests
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from openpyxl import Workbook
from typer.testing import CliRunner, Result

from sync.server import auth, db
from sync.server.cli import admin_app
from tests.support.net import free_port
from tests.support.server import photo_blob

GRIDWALL = str(Path(sys.executable).with_name("gridwall"))


def gw(*args: str, db_url: str, cwd: Path) -> Result:
    """`gridwall admin --db URL ...` in process (the entry point is run for real below)."""
    return CliRunner().invoke(admin_app, ["--db", db_url, *args], catch_exceptions=False)


def _setup(db_url: str, cwd: Path) -> None:
    for args in (
        ("create-township", "青山镇"),
        ("create-village", "东村", "--township", "青山镇"),
        ("create-village", "西村", "--township", "青山镇"),
        ("create-grid", "东村一网格", "--township", "青山镇", "--village", "东村"),
        ("create-user", "张网格", "--role", "grid_worker", "--grid", "东村一网格"),
    ):
        r = gw(*args, db_url=db_url, cwd=cwd)
        assert r.exit_code == 0, r.stderr


def test_schema_matches_migrations(db_url: str) -> None:
    engine = db.make_engine(db_url)
    db.migrate(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
    engine.dispose()
    assert diff == []


def test_admin_commands_and_clear_errors(tmp_path: Path) -> None:
    # The commands share one code path for both databases (the import and end-to-end tests
    # below run on both); SQLite keeps this many-process test quick.
    db_url = f"sqlite:///{tmp_path / 'server.sqlite3'}"
    _setup(db_url, tmp_path)
    users = gw("list-users", db_url=db_url, cwd=tmp_path)
    assert "张网格" in users.stdout and "东村一网格" in users.stdout
    code = gw("enroll", "--user", "张网格", db_url=db_url, cwd=tmp_path)
    assert code.exit_code == 0 and "注册码" in code.stdout
    cleaned = gw("cleanup-partials", "--days", "7", "--blobs", str(tmp_path / "blobs"), db_url=db_url, cwd=tmp_path)
    assert cleaned.exit_code == 0 and "0" in cleaned.stdout
    devices = gw("list-devices", db_url=db_url, cwd=tmp_path)
    assert "待注册" in devices.stdout
    for day in ("2026-11-20", "2026-11-20"):  # adding the same date twice keeps one
        assert gw("add-holiday", day, "--township", "青山镇", "--name", "县庆", db_url=db_url, cwd=tmp_path).exit_code == 0
    assert gw("add-holiday", "2026-11-21", "--township", "青山镇", "--working", db_url=db_url, cwd=tmp_path).exit_code == 0
    days = gw("list-holidays", db_url=db_url, cwd=tmp_path).stdout
    assert days.count("2026-11-20") == 1 and "县庆" in days and "2026-11-21" in days and "调休上班" in days
    for bad in (
        ("create-user", "李四", "--role", "boss", "--grid", "东村一网格"),
        ("create-user", "王五", "--role", "grid_worker"),
        ("enroll", "--user", "没有这个人"),
        ("create-grid", "x", "--township", "不存在镇"),
        ("revoke-device", "0000"),
        ("create-township", "青山镇"),
        ("add-holiday", "2026-11-31", "--township", "青山镇"),
        ("add-holiday", "2026-11-30", "--township", "不存在镇"),
    ):
        r = gw(*bad, db_url=db_url, cwd=tmp_path)
        assert r.exit_code != 0, bad
        assert "Traceback" not in r.stderr and r.stderr.strip().count("\n") == 0, r.stderr
        assert r.stderr.startswith("错误"), r.stderr
    # an office PC's token, given at once: it authenticates as the user, until revoked
    issued = gw("token", "--user", "张网格", "--name", "台账电脑", db_url=db_url, cwd=tmp_path)
    assert issued.exit_code == 0, issued.stderr
    token = issued.stdout.split("令牌：", 1)[1].split()[0]
    engine = db.make_engine(db_url)
    with engine.connect() as conn:
        assert auth.authenticate(conn, token).name == "张网格"
    engine.dispose()
    assert "台账电脑" in gw("list-devices", db_url=db_url, cwd=tmp_path).stdout
    assert gw("--help", db_url=db_url, cwd=tmp_path).exit_code == 0
    # the real entry point: one line on stderr, exit 1, no traceback
    real = subprocess.run(
        [GRIDWALL, "admin", "--db", db_url, "enroll", "--user", "没有这个人"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert real.returncode == 1 and real.stderr.startswith("错误") and "Traceback" not in real.stderr


def test_import_households_csv_and_xlsx(db_url: str, tmp_path: Path) -> None:
    _setup(db_url, tmp_path)
    csv_path = tmp_path / "花名册.csv"
    csv_path.write_text(
        "户主,门牌/地址,电话,人口数,关爱标签,备注,村\n"
        "刘大爷,东村3组12号,13800138000,3,独居老人、低保户,腿脚不便,\n"
        ",东村3组13号,,2,,,\n"  # no head: refused
        "陈奶奶,东村3组14号,12345,2,,,\n"  # bad phone: refused
        "孙叔,东村3组15号,,很多,,,\n"  # bad count: refused
        "周阿姨,西村1组1号,,1,留守儿童,,西村\n"
        "吴伯,北村1号,,1,,,北村\n",  # unknown village: refused
        encoding="gbk",  # as Excel in China saves it
    )
    r = gw("import-households", str(csv_path), "--grid", "东村一网格", "--json", db_url=db_url, cwd=tmp_path)
    assert r.exit_code == 2, r.stderr  # some rows refused
    report = json.loads(r.stdout)
    assert report["accepted"] == [2, 6]
    assert [row for row, _ in report["refused"]] == [3, 4, 5, 7]
    assert all(reason for _, reason in report["refused"])
    assert "北村" in dict(report["refused"])[7]
    # importing again adds nothing: rows already present are skipped
    figures = json.loads(gw("status", "--json", db_url=db_url, cwd=tmp_path).stdout)
    assert figures["records"]["household"] == 2 and figures["feed_seq"] >= 2
    assert "变更序号" in gw("status", db_url=db_url, cwd=tmp_path).stdout
    again = json.loads(gw("import-households", str(csv_path), "--grid", "东村一网格", "--json", db_url=db_url, cwd=tmp_path).stdout)
    assert again["accepted"] == [] and [row for row, _ in again["skipped"]] == [2, 6]

    wb = Workbook()
    ws = wb.active
    ws.append(["户主", "地址", "人口数", "关爱标签"])
    ws.append(["郑大哥", "东村5组1号", 4, "党员户"])
    ws.append(["冯婆婆", "东村5组2号", 1, "不存在的标签"])
    xlsx = tmp_path / "households.xlsx"
    wb.save(xlsx)
    r = gw("import-households", str(xlsx), "--grid", "东村一网格", db_url=db_url, cwd=tmp_path)
    assert r.exit_code == 2 and "接受 1 行" in r.stdout and "拒绝 1 行" in r.stdout

    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a workbook")
    r = gw("import-households", str(bad), "--grid", "东村一网格", db_url=db_url, cwd=tmp_path)
    assert r.exit_code == 1 and "XLSX" in r.stderr and "Traceback" not in r.stderr
    nohead = tmp_path / "nohead.csv"
    nohead.write_text("姓名x,门\n1,2\n", encoding="utf-8")
    r = gw("import-households", str(nohead), "--grid", "东村一网格", db_url=db_url, cwd=tmp_path)
    assert r.exit_code == 1 and "户主" in r.stderr


def test_gridwall_server_process_end_to_end(db_url: str, tmp_path: Path) -> None:
    _setup(db_url, tmp_path)
    code = gw("enroll", "--user", "张网格", db_url=db_url, cwd=tmp_path).stdout.split("：")[1].split("（")[0]
    port = free_port()
    proc = subprocess.Popen(
        [GRIDWALL, "server", "--db", db_url, "--data", str(tmp_path / "data"), "--port", str(port)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        api = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{api}/health", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.2)
        en = requests.post(f"{api}/enroll", json={"code": code}, timeout=30).json()
        h = {"Authorization": f"Bearer {en['token']}"}
        first = requests.post(f"{api}/sync", json={"cursor": "0"}, headers=h, timeout=30).json()
        grid = next(r for r in first["records"] if r["kind"] == "grid")
        village = grid["fields"]["village"]
        from sync.changes import new_record
        from sync.clock import HybridClock

        clock = HybridClock(en["device_id"])
        hh, ch = new_record("household", grid["id"], {"village": village, "address": "1号", "head": "甲"}, clock, en["user"]["id"])
        photo = photo_blob()
        sha = hashlib.sha256(photo).hexdigest()
        pfields = {"sha256": sha, "size": len(photo), "width": 1, "height": 1, "attached_to": {"kind": "household", "id": hh["id"]}}
        _, pch = new_record("photo", grid["id"], pfields, clock, en["user"]["id"])
        body = requests.post(f"{api}/sync", json={"cursor": first["cursor"], "changes": [ch, pch]}, headers=h, timeout=30).json()
        assert [a["status"] for a in body["acks"]] == ["applied", "applied"]
        assert {r["id"] for r in body["records"]} == {hh["id"], pch["id"]}
        put = requests.put(
            f"{api}/blobs/{sha}", params={"offset": 0, "size": len(photo)}, data=photo,
            headers={**h, "X-Chunk-Sha256": sha}, timeout=30,
        )  # fmt: skip
        assert put.json()["complete"] is True
        assert requests.get(f"{api}/blobs/{sha}", headers=h, timeout=30).content == photo
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    # one JSON log line per request, with the device
    lines = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    assert any(x["path"] == "/api/v1/sync" and x["device"] == en["device_id"] and x["status"] == 200 for x in lines)


def test_unreadable_household_file_is_one_clear_message(tmp_path: Path, monkeypatch) -> None:
    from sync.server import households
    from sync.server.errors import ServerError

    f = tmp_path / "户籍.csv"
    f.write_text("户主,门牌\n王建国,1组2号\n", encoding="utf-8")

    def denied(self: Path) -> bytes:  # root reads any file: simulate the permission error
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_bytes", denied)
    try:
        households.read_rows(f)
    except ServerError as exc:
        assert "读不了文件 户籍.csv" in exc.message() and "Permission denied" in exc.message()
    else:
        raise AssertionError("an unreadable file must be refused")
