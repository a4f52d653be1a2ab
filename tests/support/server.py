"""The one real server for tests and benchmarks: the FastAPI app (sync.server) served by uvicorn
in a thread on 127.0.0.1 (``RunningServer``; ``RealServer`` adds SQLite in a folder, the field
organisation and devices driven by the real sync engine), enrolled HTTP devices, the server
suite's organisation, changes built through the shared model the way a device builds them, and a
throwaway PostgreSQL cluster."""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import requests
import uvicorn
from sqlalchemy import text

from sync.changes import edit_change, new_record
from sync.client.engine import Enrollment, enroll
from sync.client.replica import MemoryReplica
from sync.clock import HybridClock
from sync.server import admin
from sync.server.api import Limits, open_server
from sync.server.blobs import FsBlobStore
from sync.workflow import new_event
from tests.support.net import free_port


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run scripts/setup.sh (Debian package postgresql)")
    return found[-1]


@dataclass
class PgCluster:
    """A throwaway PostgreSQL cluster (its own data dir, port and socket dir)."""

    port: int
    root: Path
    as_postgres: list[str]
    _n: Any = field(default_factory=lambda: itertools.count(1))

    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def new_database(self) -> str:
        name = f"gw_{os.getpid()}_{next(self._n)}"
        with psycopg.connect(self.admin_url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        subprocess.run(
            [*self.as_postgres, _pg_bin("pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )
        shutil.rmtree(self.root, ignore_errors=True)


def start_pg_cluster(fsync: bool = False) -> PgCluster:
    """initdb + pg_ctl start on 127.0.0.1 and a free port (as the postgres user when root:
    postgres refuses to run as root). Tests run with fsync off; the benchmark with it on."""
    root = Path(tempfile.mkdtemp(prefix="gridwall-pg-"))
    data, sock = root / "data", root / "sock"
    data.mkdir()
    sock.mkdir()
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        for p in (root, data, sock):
            os.chown(p, pw.pw_uid, pw.pw_gid)
        as_postgres = ["runuser", "-u", "postgres", "--"]
    os.chmod(root, 0o755)
    subprocess.run(
        [*as_postgres, _pg_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
         "--locale=C.UTF-8"],
        check=True, capture_output=True,
    )  # fmt: skip
    port = free_port()
    opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c max_connections=300"
    if not fsync:
        opts += " -c fsync=off"
    subprocess.run(
        [*as_postgres, _pg_bin("pg_ctl"), "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    return PgCluster(port, root, as_postgres)


class RunningServer:
    """The app served by uvicorn in a thread on 127.0.0.1."""

    def __init__(self, db_url: str, blobs: Path, limits: Limits | None = None) -> None:
        self.app = open_server(db_url, blobs, limits)
        self.engine = self.app.state.engine
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api = f"{self.url}/api/v1"
        self._listen()

    def _listen(self) -> None:
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False,
            limit_concurrency=1000, timeout_keep_alive=60,
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)

    def start_again(self) -> None:
        """After ``stop()``: the same server (database, blobs, port) comes back."""
        self._listen()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.engine.dispose()

    def run(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        with self.engine.begin() as conn:
            return fn(conn, *args, **kwargs)

    def count(self, table: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


class RealServer(RunningServer):
    """A ``RunningServer`` on SQLite in ``root`` with the test organisation (``make_org``), for
    tests that drive devices through the real sync engine."""

    def __init__(self, root: Path, limits: Limits | None = None, org: Org | None = None) -> None:
        """``org``: the organisation the database in ``root`` already holds (a restart)."""
        self.root = Path(root)
        super().__init__(f"sqlite:///{self.root / 'server.sqlite'}", self.root / "blobs", limits)
        self.blobs = FsBlobStore(self.root / "blobs")
        self.org = org or make_org(self)

    def enroll(self, who: str, url: str | None = None) -> Enrollment:
        _, code = self.run(admin.create_enrollment, self.org.users[who])
        return enroll(url or self.url, code, f"{who} 的手机")

    def device(self, who: str, path: Path | None = None, wall=None) -> tuple[MemoryReplica, Enrollment]:  # type: ignore[no-untyped-def]
        en = self.enroll(who)
        return MemoryReplica(en.device_id, path=path, actor=en.user["id"], wall=wall), en

    def household(self, rep: MemoryReplica, head: str = "刘大爷", **extra) -> dict:  # type: ignore[no-untyped-def]
        fields = {"village": self.org.village, "address": "东村3组12号", "head": head, **extra}
        return rep.create("household", self.org.grid, fields)

    def state(self) -> dict[str, dict]:
        """Field records as the server holds them: {id: {kind, grid, fields}}."""
        import json

        out = {}
        with self.engine.connect() as conn:
            for (doc,) in conn.execute(text("SELECT doc FROM records")):
                r = json.loads(doc)
                out[r["id"]] = {"kind": r["kind"], "grid": r["grid"], "fields": r["fields"]}
        return out


def new_team(real: RealServer, tag: str) -> tuple[str, dict[str, str]]:
    """A fresh grid with three grid workers; staff is the township's (shared)."""

    def build(conn):  # type: ignore[no-untyped-def]
        g = admin.create_grid(conn, real.org.township, f"网格{tag}", real.org.village)
        users = {f"w{i}": admin.create_user(conn, f"网格员{tag}{i}", "grid_worker", grids=[g]) for i in range(3)}
        return g, users

    return real.run(build)


def enroll_user(real: RealServer, user_id: str, url: str | None = None) -> Enrollment:
    _, code = real.run(admin.create_enrollment, user_id)
    return enroll(url or real.url, code, "手机")


@dataclass
class Device:
    """A test device: its enrollment answer, a session and a clock."""

    api: str
    device_id: str
    token: str
    user_id: str
    role: str
    grids: list[str]
    session: requests.Session
    clock: HybridClock
    cursor: str = "0"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def sync(self, changes: list[dict[str, Any]] | None = None, **extra: Any) -> requests.Response:
        body = {"device_time_ms": int(time.time() * 1000), "cursor": self.cursor, "changes": changes or [], **extra}
        return self.session.post(f"{self.api}/sync", json=body, headers=self.headers(), timeout=60)

    def pull_all(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            r = self.sync()
            assert r.status_code == 200, r.text
            body = r.json()
            out.extend(body["records"])
            self.cursor = body["cursor"]
            if not body["more"]:
                return out


@dataclass
class Org:
    """The one test organisation. 青山镇: 东村 with ``grid_a`` (grid workers ``worker_a`` (alias
    ``w1``), ``w2``, ``w3``), 西村 with ``grid_b`` (``worker_b``), township ``staff`` and an
    ``operator``; 绿水镇: 南村 with ``users["grid_c"]`` (``worker_c``), for scope that stops at
    the township. ``village``/``grid`` name the first village and grid."""

    township: str
    village_a: str
    village_b: str
    grid_a: str
    grid_b: str
    users: dict[str, str]

    @property
    def village(self) -> str:
        return self.village_a

    @property
    def grid(self) -> str:
        return self.grid_a


def make_org(srv: RunningServer) -> Org:
    def build(conn):  # type: ignore[no-untyped-def]
        tw = admin.create_township(conn, "青山镇")
        va = admin.create_village(conn, tw, "东村")
        vb = admin.create_village(conn, tw, "西村")
        ga = admin.create_grid(conn, tw, "东村一网格", va)
        gb = admin.create_grid(conn, tw, "西村一网格", vb)
        other_tw = admin.create_township(conn, "绿水镇")
        vc = admin.create_village(conn, other_tw, "南村")
        gc = admin.create_grid(conn, other_tw, "南村一网格", vc)
        worker_a = admin.create_user(conn, "张网格", "grid_worker", grids=[ga])
        users = {
            "worker_a": worker_a,
            "w1": worker_a,
            "w2": admin.create_user(conn, "孙网格", "grid_worker", grids=[ga]),
            "w3": admin.create_user(conn, "周网格", "grid_worker", grids=[ga]),
            "worker_b": admin.create_user(conn, "李网格", "grid_worker", grids=[gb]),
            "worker_c": admin.create_user(conn, "王网格", "grid_worker", grids=[gc]),
            "staff": admin.create_user(conn, "赵干部", "township_staff", township=tw),
            "operator": admin.create_user(conn, "钱操作员", "operator", township=tw),
        }
        return Org(tw, va, vb, ga, gb, users | {"grid_c": gc})

    return srv.run(build)


def enroll_device(srv: RunningServer, user: str) -> Device:
    _, code = srv.run(admin.create_enrollment, user)
    r = requests.post(f"{srv.api}/enroll", json={"code": code, "device_name": "test phone"}, timeout=30)
    assert r.status_code == 200, r.text
    b = r.json()
    return Device(
        srv.api, b["device_id"], b["token"], b["user"]["id"], b["user"]["role"], b["scope"]["grids"],
        requests.Session(), HybridClock(b["device_id"]),
    )  # fmt: skip


def household(dev: Device, grid: str, village: str, head: str = "刘大爷", **extra: Any) -> tuple[dict, dict]:
    fields = {"village": village, "address": "东村3组12号", "head": head, **extra}
    return new_record("household", grid, fields, dev.clock, dev.user_id)


def issue(dev: Device, grid: str, title: str = "路灯坏了") -> tuple[dict, dict]:
    fields = {"issue_kind": "problem", "title": title, "reporter": dev.user_id, "urgency": "normal"}
    return new_record("issue", grid, fields, dev.clock, dev.user_id)


def event(dev: Device, issue_rec: dict, etype: str, data: dict | None = None) -> tuple[dict, dict]:
    return new_event(issue_rec, etype, data, dev.clock, dev.user_id, dev.role)


def edit(dev: Device, record: dict, **fields: Any) -> dict:
    return edit_change(record, fields, dev.clock, dev.user_id)


def photo_blob(size: int = 2000) -> bytes:
    """``size`` bytes the server accepts as a photo (it stores only JPEGs the pipeline could
    have made): a tiny JPEG, unique per call, padded with random bytes after its end marker."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.frombytes("RGB", (8, 8), os.urandom(8 * 8 * 3)).save(buf, "JPEG", quality=90)
    head = buf.getvalue()
    return head + os.urandom(max(0, size - len(head)))
