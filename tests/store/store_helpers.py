"""Helpers shared by the store tests and the crash writer: a merger and a change builder."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from sync.ids import new_id

HERE = Path(__file__).resolve().parent


def load_merger():
    """sync.merge once it exists; until then the stand-in next to these tests."""
    try:
        return importlib.import_module("sync.merge")
    except ImportError:
        sys.path.insert(0, str(HERE))
        return importlib.import_module("simple_merge")


def make_change(store, kind: str, rid: str | None = None, grid: str = "g1", **fields) -> dict:
    """A change made on this device: stamps from the store's clock, bases from the record."""
    rid = rid or new_id()
    cur = store.get(kind, rid, include_deleted=True)
    return {
        "change_id": new_id(),
        "id": rid,
        "kind": kind,
        "grid": grid,
        "fields": dict(fields),
        "stamps": {f: store.clock.now() for f in fields},
        "bases": {f: (cur["stamps"].get(f) if cur else None) for f in fields},
        "actor": "u-test",
        "node": store.node,
    }
