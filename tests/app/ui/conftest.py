"""Fixtures for the UI harness tests: a fresh device per test (built by the app's composition
root, ``app.device.open_device``) and a running app.

A module or test chooses the device's sync options by overriding ``sync_options`` (a fixture,
or ``@pytest.mark.parametrize("sync_options", [...])``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from harness import Harness

from app.device import Device, open_device
from app.services import Services
from sync.i18n import set_language


@pytest.fixture
def sync_options() -> dict[str, Any]:
    """The device's SyncService options (the app's defaults unless a test says otherwise)."""
    return {}


@pytest.fixture
def device(tmp_path: Path, sync_options: dict[str, Any]):
    dev = open_device(tmp_path / "data", upload_dir=tmp_path / "uploads", **sync_options)
    yield dev
    dev.close()
    set_language("zh")


@pytest.fixture
def services(device: Device) -> Services:
    return device.services


@pytest.fixture
def sync_svc(device: Device):
    return device.sync


@pytest.fixture
def run_app(device: Device) -> Callable[..., Any]:
    """run_app(scenario) runs ``await scenario(h)`` against a live app session."""
    from app.ui.app import make_main

    def run(scenario: Callable[[Harness], Awaitable[None]], route: str = "/") -> None:
        async def go() -> None:
            h = await Harness.start(make_main(device), route=route)
            try:
                await scenario(h)
            finally:
                await h.close()

        asyncio.run(go())

    return run


@pytest.fixture
def server(tmp_path: Path):
    """The real server (uvicorn, SQLite) on 127.0.0.1 with an organisation."""
    from tests.support.server import RealServer

    s = RealServer(tmp_path / "srv")
    yield s
    s.stop()
