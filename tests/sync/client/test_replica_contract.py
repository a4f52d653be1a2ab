"""The Replica protocol is whole: every method is required, both replicas implement every one,
and the engine calls them without probing."""

from __future__ import annotations

import ast
from pathlib import Path

from app.store import Store
from sync.client.replica import MemoryReplica, Replica

ROOT = Path(__file__).resolve().parents[3]


def _protocol_members() -> set[str]:
    return {n for cls in Replica.__mro__ if cls.__name__ in ("Replica", "Meta")
            for n, v in vars(cls).items() if not n.startswith("_") and (callable(v) or isinstance(v, property))}


def test_both_replicas_implement_every_method(tmp_path):
    members = _protocol_members()
    assert {"photos_to_upload", "mark_photo_uploaded", "set_clock_offset", "meta_get", "meta_set",
            "outbox_size", "refused_changes", "server_restored", "apply_remote", "clock"} <= members
    for cls in (MemoryReplica, Store):
        missing = sorted(m for m in members if not hasattr(cls, m))
        assert missing == [], (cls.__name__, missing)
    with Store.open(tmp_path / "dev", node="dev-a") as store:
        assert isinstance(store, Replica)
    assert isinstance(MemoryReplica("n"), Replica)


def test_an_incomplete_replica_is_not_a_replica():
    class Partial:
        def pending_changes(self, limit: int) -> list[dict]:
            return []

    assert not isinstance(Partial(), Replica)


def test_the_client_never_probes_a_replica_with_getattr():
    # getattr/hasattr on a replica hid an incomplete contract behind fallbacks.
    for path in (ROOT / "sync" / "client").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr"):
                first = node.args[0] if node.args else None
                name = ast.unparse(first) if first is not None else ""
                assert "replica" not in name and "store" not in name, (path.name, ast.unparse(node))
