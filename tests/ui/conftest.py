"""Fixtures for the UI harness tests: a fresh device store per test and a running app."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from harness import Harness

from app.services import Services
from sync.i18n import set_language


@pytest.fixture
def services(tmp_path: Path):
    svc = Services.open(tmp_path / "data")
    svc.upload_dir = tmp_path / "uploads"
    yield svc
    svc.close()
    set_language("zh")


@pytest.fixture
def run_app(services: Services) -> Callable[..., Any]:
    """run_app(scenario) runs ``await scenario(h)`` against a live app session."""
    from app.ui.app import make_main

    def run(scenario: Callable[[Harness], Awaitable[None]], route: str = "/") -> None:
        async def go() -> None:
            h = await Harness.start(make_main(services), route=route)
            try:
                await scenario(h)
            finally:
                await h.close()

        asyncio.run(go())

    return run


@pytest.fixture
def server(tmp_path: Path):
    """The real server (uvicorn, SQLite) on 127.0.0.1 with an organisation."""
    from realsync import RealServer

    s = RealServer(tmp_path / "srv")
    yield s
    s.stop()
