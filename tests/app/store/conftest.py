"""Fixtures for the device store tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from store_helpers import load_merger


@pytest.fixture
def merger():
    return load_merger()


@pytest.fixture
def open_store(tmp_path, merger):
    """open_store(path=None, node=None) -> Store; closes every store it opened."""
    from app.store import Store

    opened = []

    def _open(path: Path | None = None, node: str | None = None):
        s = Store.open(path or tmp_path / "data", node=node, merger=merger)
        opened.append(s)
        return s

    yield _open
    for s in opened:
        s.close()
