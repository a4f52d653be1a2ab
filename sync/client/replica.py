"""The Replica interface the sync engine works against, and an in-memory replica.

The device store (``app/store``, TinyDB) implements the same methods; the engine never sees
anything else. ``MemoryReplica`` is used by tests, benchmarks and the bundle tools; with a
``path`` it persists itself atomically to one JSON file after every change (enough for the
kill tests: a save that returned survives a SIGKILL).
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from sync import merge
from sync.changes import edit_change, new_record
from sync.clock import HybridClock
from sync.fileio import atomic_write_bytes
from sync.ids import new_id
from sync.merge import drop_future_values
from sync.records import ATTACHMENT_KINDS

# Meta keys a replica writes and the engine reads (notices shown for NOTICE_DAYS):
RESTORE_KEY = "sync.restore"  # the last server restore this device noticed (server_restored)
DAMAGE_KEY = "store.damage"  # files found damaged when the store opened
ENROLLMENT_KEY = "sync.enrollment"  # the enrollment (shell, app and starter packs read it)


class Meta(Protocol):
    """Small named values a device keeps (sync history, uploads begun, notices)."""

    def meta_get(self, key: str, default: Any = None) -> Any: ...

    def meta_set(self, key: str, value: Any) -> None: ...


@runtime_checkable
class Replica(Meta, Protocol):
    """What the sync engine needs from a device store (docs/architecture.md). Every method
    is required: the engine calls them all, and both replicas (app/store's Store and
    MemoryReplica) implement them."""

    @property
    def clock(self) -> HybridClock: ...

    def pending_changes(self, limit: int) -> list[dict]: ...

    def mark_acked(self, change_ids: Iterable[str]) -> None: ...

    def mark_refused(self, change_id: str, reason: str) -> None: ...

    def apply_remote(self, records: list[dict], cursor: str | None) -> None: ...

    def cursor(self) -> str | None: ...

    def photo_bytes(self, sha256: str) -> bytes | None: ...

    def missing_photos(self) -> list[str]: ...

    def put_photo(self, sha256: str, data: bytes) -> Any: ...

    def photos_to_upload(self) -> list[str]: ...

    def mark_photo_uploaded(self, sha256: str) -> None: ...

    def set_clock_offset(self, offset_ms: int) -> None: ...

    def outbox_size(self) -> int: ...

    def refused_changes(self) -> list[dict]: ...

    def server_restored(self, epoch: str) -> list[str]: ...

    def scratch_path(self, name: str) -> Path | None:
        """A file beside the store for work that must survive a restart (a download under
        way); None when the replica keeps nothing on disk."""
        ...


ACKED_MAX = 20_000  # acknowledged changes kept to offer again (app/store keeps them by age too)

class MemoryReplica:
    """A complete replica in memory (optionally persisted to one JSON file).

    Merge rule for pulled records: the server's record is the merged truth, except that a
    field with a local change the server has not acknowledged keeps the local value.
    """

    def __init__(self, node: str, path: Path | str | None = None, actor: str = "u-test",
                 wall: Any = None) -> None:
        self.node = node
        self.actor = actor
        self.path = Path(path) if path else None
        self.records: dict[str, dict] = {}
        self.outbox: dict[str, dict] = {}  # change_id -> change, insertion order = age
        self.refused: dict[str, dict] = {}
        self.photos: dict[str, bytes] = {}
        self.uploaded: set[str] = set()
        self.held: dict[str, dict] = {}  # remote versions waiting for our acks
        self.acked: list[dict] = []  # acknowledged changes, offered again after a server restore
        self._cursor: str | None = None
        self.meta: dict[str, Any] = {}
        self.apply_calls = 0
        self._lock = threading.RLock()
        last = None
        offset = 0
        if self.path and self.path.exists():
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            self.records = doc["records"]
            self.outbox = dict(doc["outbox"])
            self.refused = doc["refused"]
            self.photos = {k: bytes.fromhex(v) for k, v in doc["photos"].items()}
            self.uploaded = set(doc["uploaded"])
            self.held = doc.get("held", {})
            self.acked = doc.get("acked", [])
            self._cursor = doc["cursor"]
            self.meta = doc.get("meta", {})
            last = doc["clock_last"]
            offset = doc["clock_offset"]
        kw = {"wall": wall} if wall is not None else {}
        self._clock = HybridClock(node, last=last, offset_ms=offset, **kw)

    # -- persistence ---------------------------------------------------------------------

    def _save(self) -> None:
        if not self.path:
            return
        doc = {
            "records": self.records,
            "outbox": list(self.outbox.items()),
            "refused": self.refused,
            "photos": {k: v.hex() for k, v in self.photos.items()},
            "uploaded": sorted(self.uploaded),
            "held": self.held,
            "acked": self.acked,
            "cursor": self._cursor,
            "meta": self.meta,
            "clock_last": self._clock.last,
            "clock_offset": self._clock.offset_ms,
        }
        atomic_write_bytes(self.path, json.dumps(doc, ensure_ascii=False).encode("utf-8"))

    # -- local edits (what the app does) -------------------------------------------------

    @property
    def clock(self) -> HybridClock:
        return self._clock

    def edit(self, record_id: str | None, kind: str, grid: str, fields: dict[str, Any]) -> dict:
        """Make a local change (new record when record_id is None), queue it; returns the change."""
        with self._lock:
            rid = record_id or new_id()
            cur = self.records.get(rid)
            stamps = {f: self._clock.now() for f in fields}
            change = {
                "change_id": new_id(),
                "id": rid,
                "kind": kind,
                "grid": grid,
                "fields": copy.deepcopy(fields),
                "stamps": stamps,
                "bases": {f: (cur["stamps"].get(f) if cur else None) for f in fields},
                "actor": self.actor,
                "node": self.node,
            }
            self.save_change(change)
            return change

    def create(self, kind: str, grid: str, fields: dict[str, Any]) -> dict:
        """A new record built and validated by the shared model (what the app does)."""
        with self._lock:
            _, change = new_record(kind, grid, fields, self._clock, self.actor)
            self.save_change(change)
            return change

    def update(self, record_id: str, fields: dict[str, Any]) -> dict:
        """Edit a record through the shared model (bases = the stamps this device has seen)."""
        with self._lock:
            change = edit_change(self.records[record_id], fields, self._clock, self.actor)
            self.save_change(change)
            return change

    def save_change(self, change: dict) -> None:
        with self._lock:
            self.outbox[change["change_id"]] = copy.deepcopy(change)
            self.records[change["id"]] = merge.apply_change(self.records.get(change["id"]), change).record
            self._save()

    def add_photo(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        with self._lock:
            self.photos[sha] = data
            self._save()
        return sha

    # -- the replica interface -----------------------------------------------------------

    def pending_changes(self, limit: int = 100) -> list[dict]:
        with self._lock:
            return [copy.deepcopy(c) for c in list(self.outbox.values())[:limit]]

    def outbox_size(self) -> int:
        return len(self.outbox)

    def mark_acked(self, change_ids: Iterable[str]) -> None:
        change_ids = list(change_ids)  # read twice below: a generator would pop nothing
        with self._lock:
            touched = {self.outbox[c]["id"] for c in change_ids if c in self.outbox}
            self.acked = (self.acked + [self.outbox[c] for c in change_ids if c in self.outbox])[-ACKED_MAX:]
            for cid in change_ids:
                self.outbox.pop(cid, None)
            pending = self._pending_fields()
            for rid in touched:
                # Remote values held back while our change was unacked may now be merged.
                if rid not in pending and rid in self.held:
                    held = self.held.pop(rid)
                    self.records[rid] = merge.merge_records(self.records.get(rid), held).record
            self._save()

    def mark_refused(self, change_id: str, reason: str) -> None:
        with self._lock:
            change = self.outbox.pop(change_id, None)
            if change is not None:
                self.refused[change_id] = {"change": change, "reason": reason}
            self._save()

    def refused_changes(self) -> list[dict]:
        return list(self.refused.values())

    def scratch_path(self, name: str) -> Path | None:
        return self.path.with_name(f"{self.path.name}.{name}") if self.path else None

    def server_restored(self, epoch: str) -> list[str]:
        """The server went back to a backup: acked changes go back to the head of the outbox,
        the cursor to the start of generation ``epoch``, photos are checked again."""
        with self._lock:
            back = {c["change_id"]: c for c in self.acked
                    if c["change_id"] not in self.outbox and c["change_id"] not in self.refused}
            self.outbox = {**back, **self.outbox}
            self.acked = []
            self.uploaded = set()
            self._cursor = f"{epoch}:0"
            self.meta["sync.restore"] = {"at_ms": int(self._clock.wall_ms()), "epoch": epoch,
                                         "offered": len(back), "recovered": 0}
            self._save()
            return list(back)

    def _pending_fields(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for c in self.outbox.values():
            out.setdefault(c["id"], set()).update(c["fields"])
        return out

    def apply_remote(self, records: list[dict], cursor: str | None) -> None:
        with self._lock:
            self.apply_calls += 1
            pending = self._pending_fields()
            for remote in records:
                remote = {k: v for k, v in remote.items() if k != "seq"}
                rid = remote["id"]
                for s in remote["stamps"].values():
                    self._clock.observe(s)
                cur = self.records.get(rid)
                if cur is not None:
                    cur = drop_future_values(cur, remote, pending.get(rid, set()), self._clock.wall_ms())
                merged = merge.merge_records(cur, remote).record
                overlay = [f for f in pending.get(rid, ()) if cur is not None and f in cur["fields"]
                           and merged["stamps"].get(f) != cur["stamps"].get(f)]
                for f in overlay:
                    # A local change the server has not acknowledged keeps its value until acked.
                    merged["fields"][f] = cur["fields"][f]
                    merged["stamps"][f] = cur["stamps"][f]
                if overlay:
                    prev = self.held.get(rid)
                    self.held[rid] = merge.merge_records(prev, remote).record if prev else remote
                self.records[rid] = merged
            if cursor is not None:
                self._cursor = cursor
            self._save()

    def cursor(self) -> str | None:
        return self._cursor

    def set_clock_offset(self, ms: int) -> None:
        with self._lock:
            self._clock.offset_ms = int(ms)
            self._save()

    def photo_bytes(self, sha256: str) -> bytes | None:
        return self.photos.get(sha256)

    def put_photo(self, sha256: str, data: bytes) -> None:
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ValueError("photo bytes do not match their sha256")
        with self._lock:
            self.photos[sha256] = data
            self.uploaded.add(sha256)  # it came from the server, which has it
            self._save()

    def missing_photos(self) -> list[str]:
        out = []
        for r in self.records.values():
            sha = r["fields"].get("sha256") if r["kind"] in ATTACHMENT_KINDS else None
            if isinstance(sha, str) and sha not in self.photos:
                out.append(sha)
        return sorted(set(out))

    def photos_to_upload(self) -> list[str]:
        return sorted(s for s in self.photos if s not in self.uploaded)

    def mark_photo_uploaded(self, sha256: str) -> None:
        with self._lock:
            self.uploaded.add(sha256)
            self._save()

    def meta_get(self, key: str, default: Any = None) -> Any:
        return self.meta.get(key, default)

    def meta_set(self, key: str, value: Any) -> None:
        with self._lock:
            self.meta[key] = value
            self._save()

    def state(self) -> dict[str, dict]:
        """Records as {id: {kind, grid, fields}} for convergence checks."""
        return {rid: {"kind": r["kind"], "grid": r["grid"], "fields": r["fields"]} for rid, r in self.records.items()}
