"""Real-browser journeys: the app served by `gridwall app` in its own process, driven by
Debian's chromium through Playwright at a phone viewport, with every non-local request
refused (no internet). The helpers live in tests/support/browser.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import ARGS, CHROMIUM
from tests.support.fontkit import assets_with_font


@pytest.fixture(scope="session")
def assets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return assets_with_font(tmp_path_factory.mktemp("assets"), extra_text="王建国屋顶漏雨村口路灯不亮")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()
