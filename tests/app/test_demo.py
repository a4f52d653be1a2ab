"""`gridwall demo`: the README's main command, end to end on 127.0.0.1."""

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from app.demo import COUNTY_STAFF, FIELD_USER, STAFF, prepare
from app.store import Store
from tests.support.net import free_port

ROOT = Path(__file__).resolve().parents[2]


def _counts(device_dir: str) -> dict[str, int]:
    with Store.open(Path(device_dir)) as st:
        return {k: len(st.all(k)) for k in ("household", "visit", "issue", "issue_event", "photo")} | {
            "outbox": st.outbox_size(), "grids": len({r["grid"] for r in st.all("household")})}


def test_prepare_seeds_once_and_rerun_duplicates_nothing(tmp_path):
    info, server = prepare(tmp_path, free_port(), households=6)
    try:
        field = _counts(info.devices[FIELD_USER])
        staff = _counts(info.devices[STAFF])
        county = _counts(info.devices[COUNTY_STAFF])
    finally:
        server.terminate()
        server.wait(10)
    # The grid worker pulled their own grid only; staff the whole township.
    assert field["household"] == 6 and field["grids"] == 1
    assert staff["grids"] == 4 and staff["household"] > field["household"]
    assert field["issue"] > 0 and field["issue_event"] > field["issue"] and field["photo"] > 0
    assert field["outbox"] == staff["outbox"] == 0
    with Store.open(Path(info.devices[STAFF])) as st:
        assert st.meta_get("profile")["role"] == "township_staff"
        assert not [r for r in st.all("issue") if r["fields"].get("source") == "hotline"]  # 绿水镇's
    # a county of three townships: the county staff's device holds all of them
    assert set(info.townships) == {"青山镇", "绿水镇", "白云镇"}
    assert county["grids"] == 6 and county["household"] > staff["household"]
    with Store.open(Path(info.devices[COUNTY_STAFF])) as st:
        assert st.meta_get("profile")["role"] == "county_staff"
        [hot] = [r for r in st.all("issue") if r["fields"].get("source") == "hotline"]
        assert hot["fields"]["contact_phone"] and hot["grid"] == info.grids["南溪村第一网格"]
        types = [e["fields"]["type"] for e in st.all("issue_event") if e["fields"]["issue"] == hot["id"]]
        assert "county_supervise" in types
        assert {r["fields"]["name"] for r in st.all("township")} == {"青山镇", "绿水镇", "白云镇"}
        assert {r["id"] for r in st.all("unit") if r["fields"].get("level") == "county"} >= {"county-env"}
        # a worker's voice note on an issue of each grid, bytes synced: playable on the board
        voices = st.all("voice")
        assert len(voices) == county["grids"] and st.missing_photos() == []  # one per grid
        assert all(st.voice_bytes(v["fields"]["sha256"]) for v in voices)
    # Re-running reuses the township and the enrolled devices: nothing doubled.
    saved = json.loads((tmp_path / "demo.json").read_text(encoding="utf-8"))
    info2, server = prepare(tmp_path, free_port(), households=6)
    try:
        assert info2.users == info.users and info2.devices == info.devices
        assert _counts(info.devices[FIELD_USER]) == field
        assert _counts(info.devices[STAFF]) == staff
    finally:
        server.terminate()
        server.wait(10)
    assert json.loads((tmp_path / "demo.json").read_text(encoding="utf-8")) == saved


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_demo_command_from_a_scratch_folder_serves_everything_and_stops_on_sigterm(tmp_path):
    """The README's command as a newcomer runs it: the default relative demo-data/ in the
    working directory. "Ready" means every URL answers now; the printed commands work from
    another folder; SIGTERM stops the server and both apps."""
    ports = [free_port() for _ in range(3)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "demo", "--server-port", str(ports[0]),
         "--field-port", str(ports[1]), "--staff-port", str(ports[2]), "--households", "5"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        out = ""
        deadline = time.monotonic() + 300
        while "Ctrl+C" not in out and time.monotonic() < deadline and proc.poll() is None:
            out += proc.stdout.readline()
        assert "演示已就绪" in out, out
        children = _children(proc.pid)
        assert len(children) == 3, children  # server, field app, reviewer app
        # the data went where the command was run, relative to it, not into the package
        assert (tmp_path / "demo-data" / "demo.json").exists()
        assert not (ROOT / "app" / "demo-data").exists()
        for port in ports[1:]:  # ready means ready: no retry
            r = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
            assert r.status_code == 200 and "<html" in r.text.lower()
        server = f"http://127.0.0.1:{ports[0]}"
        front = requests.get(f"{server}/", timeout=10)
        assert front.status_code == 200 and "青山镇" in front.text and "绿水镇" in front.text
        for port in ports[1:]:
            assert f'href="http://127.0.0.1:{port}/"' in front.text
        walls = [line.split(": ", 1)[1].strip() for line in out.splitlines() if "回音壁: http" in line]
        # 青山镇's three villages, one each in 绿水镇 and 白云镇
        assert len(walls) == 5 and all(f'href="{w.removeprefix(server)}"' in front.text for w in walls)
        page = requests.get(walls[0], timeout=10)
        # The seeded township has re-checked issues published with staff's public wording.
        assert page.status_code == 200 and "群众回访表示满意" in page.text
        # the county's journey (issue 14): the county desk, where the bulletin is, a lookup
        assert f"县级工作台（吴建华）: http://127.0.0.1:{ports[2]}/" in out and "工作简报" in out
        lookup = next(line.split(": ", 1)[1].strip() for line in out.splitlines() if "查询码查询" in line)
        found = requests.get(lookup, timeout=10)
        code = lookup.rsplit("code=", 1)[1]
        # status only: neither the title nor the caller (the seeded 12345 problem is dispatched)
        assert found.status_code == 200 and code in found.text and "已派单" in found.text
        assert "河道垃圾堆积" not in found.text and "钱先生" not in found.text
        from sync.public_guard import care_words

        assert not [w for w in care_words() if w in page.text]  # issue 9 finding 7: no 低保 in public
        # The printed commands run as printed, from another folder.
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        lines = out.splitlines()
        admin = next(line for line in lines if " admin --data " in line and "list-users" in line)
        r = subprocess.run(shlex.split(admin[admin.index(sys.executable):]), cwd=elsewhere, env=env,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and "张晓燕" in r.stdout, r.stderr
        # the phone: the printed enrol command gives the /app/ link with a code that enrolls
        phone = next(line for line in lines if " enroll --user " in line)
        r = subprocess.run(shlex.split(phone[phone.index(sys.executable):]), cwd=elsewhere, env=env,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        [link] = [x for x in r.stdout.splitlines() if x.startswith(f"{server}/app/#enroll=")]
        from sync.client import enroll

        assert enroll(server, link.split("#enroll=", 1)[1], "手机").user["name"] == "张晓燕"
        ledger = next(line for line in lines if " report ledger " in line)
        r = subprocess.run(shlex.split(ledger[ledger.index(sys.executable):]), cwd=elsewhere, env=env,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        assert list(elsewhere.glob("整改台账-*.xlsx"))
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert not [pid for pid in children if _alive(pid)]


def test_port_check_sees_a_port_in_time_wait_as_free():
    """A restart right after Ctrl+C: the closed server's port lingers in TIME_WAIT."""
    from app.main import port_free

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn (server, Flet) does
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = listener.accept()
    assert not port_free("127.0.0.1", port)  # something listens: taken
    conn.close()  # the server side closes first: its end goes to TIME_WAIT
    client.recv(1)
    client.close()
    listener.close()
    assert port_free("127.0.0.1", port)


def test_gridwall_app_hands_flet_absolute_folders_from_the_working_directory(tmp_path, monkeypatch):
    """`gridwall app --data ./demo-data`: Flet resolves a relative upload folder against its
    own script folder, so the photos the browser uploads must go to an absolute one, inside
    the data folder that the working directory names."""
    import flet as ft

    from app.main import serve

    seen = {}
    monkeypatch.setattr(ft, "run", lambda main, **kw: seen.update(kw))
    monkeypatch.chdir(tmp_path)
    serve(Path("demo-data"), port=free_port(), assets_dir=Path("assets"))
    upload = Path(seen["upload_dir"])
    assert upload.is_absolute() and upload == tmp_path / "demo-data" / "uploads" and upload.is_dir()
    assert Path(seen["assets_dir"]).is_absolute()
    assert (tmp_path / "demo-data").is_dir() and not (ROOT / "app" / "demo-data").exists()
