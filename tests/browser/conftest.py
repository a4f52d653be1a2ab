"""Real-browser journeys: the app served by `gridwall app` in its own process, driven by
Debian's chromium through Playwright at a phone viewport, with every non-local request
refused (no internet). The helpers live in tests/support/browser.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import ARGS, CHROMIUM, ROOT, CentralServer
from tests.support.fontkit import assets_with_font


@pytest.fixture(scope="session")
def assets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return assets_with_font(tmp_path_factory.mktemp("assets"), extra_text="王建国屋顶漏雨村口路灯不亮")


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Any) -> Iterator[Any]:
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    yield b
    b.close()


@pytest.fixture(scope="session")
def phone_build() -> Path:
    """One phone build (`gridwall app build`) per session, kept between sessions (rebuilt
    only when its inputs change)."""
    from app.webbuild import build

    return build(ROOT / ".test-tmp" / "phone-build").out


@pytest.fixture
def central(phone_build: Path, tmp_path: Path) -> Iterator[CentralServer]:
    """The central server serving the phone build at /app/."""
    server = CentralServer(tmp_path / "server", phone_build).start()
    yield server
    server.stop()
