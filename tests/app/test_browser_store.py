"""The browser build's durability plumbing, driven in CPython: the IndexedDB flusher (one
``FS.syncfs`` at a time, a flush started after every write, failures reported and retried),
``runtime.after_durable``, and the server's answer before the build exists."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from app import runtime
from app.browser import IdbFlusher
from sync.server.phone_app import phone_app


class FakeFS:
    """``FS.syncfs`` that finishes a moment later; records overlap and what each flush carried."""

    def __init__(self, state: dict[str, int]) -> None:
        self.state = state  # {"written": n}: what the "memory file system" holds
        self.inflight = 0
        self.max_inflight = 0
        self.carried: list[int] = []
        self.fail: list[str] = []

    def syncfs(self, populate: bool, callback: Any) -> None:
        self.inflight += 1
        self.max_inflight = max(self.max_inflight, self.inflight)
        seen = self.state["written"]  # IDBFS reads the files when the flush starts
        err = self.fail.pop(0) if self.fail else None

        def finish() -> None:
            self.inflight -= 1
            if err is None:
                self.carried.append(seen)
            callback(err)

        asyncio.get_running_loop().call_later(0.01, finish)


def test_flushes_run_one_at_a_time_and_carry_every_write() -> None:
    async def go() -> None:
        state = {"written": 0}
        fs = FakeFS(state)
        f = IdbFlusher(fs)
        for _ in range(3):
            state["written"] += 1
            f.wrote()
        await asyncio.sleep(0)  # the flush has started with 3 writes
        state["written"] += 1  # a write while it runs
        f.wrote()
        await f.wait()
        assert fs.max_inflight == 1  # IDBFS forbids two at once
        assert fs.carried[-1] == 4  # the last write is in IndexedDB when wait() returns
        await f.wait()  # nothing new: returns at once
        assert len(fs.carried) == 2

    asyncio.run(go())


def test_a_failed_flush_is_reported_and_retried() -> None:
    async def go() -> None:
        state = {"written": 1}
        fs = FakeFS(state)
        fs.fail = ["QuotaExceededError"]
        f = IdbFlusher(fs)
        f.retry_s = 0.01
        f.wrote()
        try:
            await f.wait()
        except OSError as exc:
            assert "QuotaExceededError" in str(exc)
        else:
            raise AssertionError("a failed flush must not look durable")
        await f.wait()  # the retry carries the write
        assert fs.carried == [1] and f.error is None

    asyncio.run(go())


def test_after_durable_waits_for_the_flush_and_reports_failure() -> None:
    told: list[str] = []
    runtime.after_durable(lambda: told.append("now"))  # a PC: the write is already on disk
    assert told == ["now"]

    async def go() -> None:
        gate = asyncio.Event()

        async def waiter() -> None:
            await gate.wait()

        runtime.set_durable_waiter(waiter)
        try:
            runtime.after_durable(lambda: told.append("durable"))
            await asyncio.sleep(0.01)
            assert told == ["now"]  # not before the flush
            gate.set()
            await asyncio.sleep(0.01)
            assert told == ["now", "durable"]

            async def broken() -> None:
                raise OSError("QuotaExceededError")

            runtime.set_durable_waiter(broken)
            runtime.after_durable(lambda: told.append("wrong"), lambda err: told.append(f"failed: {err}"))
            await asyncio.sleep(0.01)
            assert told[-1] == "failed: QuotaExceededError"
        finally:
            runtime.set_durable_waiter(None)

    asyncio.run(go())


def test_server_says_how_to_build_when_the_app_is_missing(tmp_path: Path) -> None:
    client = TestClient(Starlette(routes=[Mount("/app", phone_app(tmp_path / "none"))]))
    r = client.get("/app/")
    assert r.status_code == 404 and "gridwall app build" in r.text


def test_app_routes_get_the_page_and_missing_files_stay_missing(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<html>page</html>")
    (tmp_path / "assets" / "NOTICES").write_text("licences")
    client = TestClient(Starlette(routes=[Mount("/app", phone_app(tmp_path))]))
    assert client.get("/app/issues/new").text == "<html>page</html>"
    assert client.get("/app/assets/NOTICES").text == "licences"
    (tmp_path / "assets" / "NOTICES").unlink()
    assert client.get("/app/assets/NOTICES").status_code == 404  # not the page in its place
    assert client.get("/app/gone.js").status_code == 404
    assert client.get("/app/").headers["cache-control"] == "no-cache"

