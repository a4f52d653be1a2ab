"""The real FastAPI server (sync.server) in a uvicorn thread on 127.0.0.1, with the bundle
router mounted, an organisation and enrolled devices driven by the real sync engine."""

from __future__ import annotations

import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from sqlalchemy import text

from sync.client.engine import Enrollment, enroll
from sync.client.replica import MemoryReplica
from sync.server import admin
from sync.server.api import Limits, open_server
from sync.server.blobs import FsBlobStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
from server_helpers import photo_blob  # noqa: E402,F401 - one helper for both test folders


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Org:
    township: str
    village: str
    grid: str
    users: dict[str, str]


class RealServer:
    def __init__(self, root: Path, limits: Limits | None = None) -> None:
        self.root = Path(root)
        self.app = open_server(f"sqlite:///{self.root / 'server.sqlite'}", self.root / "blobs", limits)
        self.engine = self.app.state.engine
        self.blobs = FsBlobStore(self.root / "blobs")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._listen()
        self.org = self._org()

    def _listen(self) -> None:
        cfg = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                             access_log=False, timeout_keep_alive=60)
        self.server = uvicorn.Server(cfg)
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

    def run(self, fn, *args, **kw):  # type: ignore[no-untyped-def]
        with self.engine.begin() as conn:
            return fn(conn, *args, **kw)

    def _org(self) -> Org:
        def build(conn):  # type: ignore[no-untyped-def]
            tw = admin.create_township(conn, "青山镇")
            v = admin.create_village(conn, tw, "东村")
            g = admin.create_grid(conn, tw, "东村一网格", v)
            users = {
                "w1": admin.create_user(conn, "张网格", "grid_worker", grids=[g]),
                "w2": admin.create_user(conn, "李网格", "grid_worker", grids=[g]),
                "w3": admin.create_user(conn, "王网格", "grid_worker", grids=[g]),
                "staff": admin.create_user(conn, "赵干部", "township_staff", township=tw),
                "operator": admin.create_user(conn, "钱操作员", "operator", township=tw),
            }
            return Org(tw, v, g, users)

        return self.run(build)

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

    def count(self, table: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.engine.dispose()


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
