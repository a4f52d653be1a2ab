"""The TinyDB store and the sync engine's in-memory replica must agree.

The engine is tested against ``sync.client.replica.MemoryReplica``; the app runs on the
store. Random sequences of local saves, pulled pages (older, newer and concurrent server
edits), acks and restarts are applied to both, and after every step both hold the same
records, the same outbox and the same cursor.
"""

from __future__ import annotations

import random

import pytest

from app.store import Store
from sync.client.replica import MemoryReplica
from sync.clock import HybridClock
from sync.ids import new_id

FIELDS = ["a", "b", "c"]


def _state(store: Store, rids: list[tuple[str, str]]) -> dict:
    out = {}
    for kind, rid in rids:
        r = store.get(kind, rid, include_deleted=True)
        if r is not None:
            out[rid] = r["fields"]
    return out


def _mem_state(mem: MemoryReplica) -> dict:
    return {rid: r["fields"] for rid, r in mem.records.items()}


@pytest.mark.parametrize("seed", range(12))
def test_store_matches_memory_replica(tmp_path, seed):
    rng = random.Random(seed)
    data = tmp_path / "d"
    store = Store.open(data, node="dev1")
    mem = MemoryReplica("dev1")
    dev = HybridClock("dev1")
    # The server's clock runs ahead, behind or with the device.
    skew = rng.choice([-3_600_000, 0, 60_000])
    srv = HybridClock("server", offset_ms=skew)
    server: dict[str, dict] = {}
    rids: list[tuple[str, str]] = []
    page_no = 0
    try:
        for _step in range(40):
            op = rng.random()
            if op < 0.35 or not rids:  # a local save (new record or edit)
                if rids and rng.random() < 0.6:
                    kind, rid = rng.choice(rids)
                else:
                    kind, rid = rng.choice(["household", "issue"]), new_id()
                    rids.append((kind, rid))
                cur = mem.records.get(rid)
                fields = {f: f"dev-{rng.randrange(100)}" for f in rng.sample(FIELDS, rng.randint(1, 2))}
                change = {
                    "change_id": new_id(), "id": rid, "kind": kind, "grid": "g1",
                    "fields": fields, "stamps": {f: dev.now() for f in fields},
                    "bases": {f: (cur["stamps"].get(f) if cur else None) for f in fields},
                    "actor": "u1", "node": "dev1",
                }
                store.save(change)
                mem.save_change(change)
            elif op < 0.65:  # a pulled page: server-side edits of known and new records
                page = []
                for _ in range(rng.randint(1, 4)):
                    if rids and rng.random() < 0.8:
                        kind, rid = rng.choice(rids)
                    else:
                        kind, rid = "household", new_id()
                        rids.append((kind, rid))
                    rec = server.setdefault(rid, {"id": rid, "kind": kind, "grid": "g1",
                                                  "fields": {}, "stamps": {}, "bases": {}})
                    seen = mem.records.get(rid) if rng.random() < 0.5 else None
                    for f in rng.sample(FIELDS, rng.randint(1, 2)):
                        rec["fields"][f] = f"srv-{rng.randrange(100)}"
                        rec["stamps"][f] = srv.now()
                        rec["bases"][f] = seen["stamps"].get(f) if seen else None
                    page.append({k: (dict(v) if isinstance(v, dict) else v) for k, v in rec.items()})
                page_no += 1
                store.apply_remote(page, str(page_no))
                mem.apply_remote(page, str(page_no))
            elif op < 0.9:  # the server acks some of the oldest changes
                pending = [c["change_id"] for c in mem.pending_changes(100)]
                if pending:
                    acked = pending[: rng.randint(1, len(pending))]
                    store.mark_acked(acked)
                    mem.mark_acked(acked)
            else:  # the app restarts
                store.close()
                store = Store.open(data)
            assert _state(store, rids) == _mem_state(mem)
            assert [c["change_id"] for c in store.pending_changes(1000)] == [
                c["change_id"] for c in mem.pending_changes(1000)
            ]
            assert store.cursor() == mem.cursor()
    finally:
        store.close()
