"""`gridwall demo`: the README's main command, end to end on 127.0.0.1."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from app.demo import FIELD_USER, STAFF, prepare
from app.store import Store

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _counts(device_dir: str) -> dict[str, int]:
    with Store.open(Path(device_dir)) as st:
        return {k: len(st.all(k)) for k in ("household", "visit", "issue", "issue_event", "photo")} | {
            "outbox": st.outbox_size(), "grids": len({r["grid"] for r in st.all("household")})}


def test_prepare_seeds_once_and_rerun_duplicates_nothing(tmp_path):
    info, server = prepare(tmp_path, _free_port(), households=6)
    try:
        field = _counts(info.devices[FIELD_USER])
        staff = _counts(info.devices[STAFF])
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
    # Re-running reuses the township and the enrolled devices: nothing doubled.
    saved = json.loads((tmp_path / "demo.json").read_text(encoding="utf-8"))
    info2, server = prepare(tmp_path, _free_port(), households=6)
    try:
        assert info2.users == info.users and info2.devices == info.devices
        assert _counts(info.devices[FIELD_USER]) == field
        assert _counts(info.devices[STAFF]) == staff
    finally:
        server.terminate()
        server.wait(10)
    assert json.loads((tmp_path / "demo.json").read_text(encoding="utf-8")) == saved


def test_demo_command_serves_server_field_app_and_reviewer(tmp_path):
    ports = [_free_port() for _ in range(3)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "demo", "--dir", str(tmp_path / "demo"),
         "--server-port", str(ports[0]), "--field-port", str(ports[1]),
         "--staff-port", str(ports[2]), "--households", "5"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        out = ""
        deadline = time.monotonic() + 240
        while "Ctrl+C" not in out and time.monotonic() < deadline and proc.poll() is None:
            out += proc.stdout.readline()
        assert "演示已就绪" in out, out
        assert f"http://127.0.0.1:{ports[1]}/" in out and f"http://127.0.0.1:{ports[2]}/" in out
        for port in ports[1:]:
            for _ in range(120):  # the Flet web server takes a moment to listen
                try:
                    r = requests.get(f"http://127.0.0.1:{port}/", timeout=5)
                    break
                except requests.ConnectionError:
                    time.sleep(0.5)
            assert r.status_code == 200 and "<html" in r.text.lower()
        health = requests.get(f"http://127.0.0.1:{ports[0]}/api/v1/health", timeout=5)
        assert health.status_code == 200
        wall = [line.split(": ", 1)[1] for line in out.splitlines() if "回音壁: http" in line]
        page = requests.get(wall[0].strip(), timeout=10) if wall else None
        # The seeded township has re-checked issues published with staff's public wording.
        assert page is not None and page.status_code == 200 and "群众回访表示满意" in page.text
        from sync.public_guard import care_words

        assert not [w for w in care_words() if w in page.text]  # issue 9 finding 7: no 低保 in public
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    assert proc.returncode == 0
