"""Helpers shared by the store tests and the crash writer: a merger and a change builder."""

from __future__ import annotations

import importlib

from sync.ids import new_id


def load_merger():
    """The shared merge (sync.merge); the store takes it as a parameter so tests can swap it."""
    return importlib.import_module("sync.merge")


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
