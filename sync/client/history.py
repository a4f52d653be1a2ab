"""What a device remembers about its syncs: one record in the store meta, one definition.

The engine writes it after every attempt (``record_attempt``), whoever ran the attempt (the
app's runner, ``gridwall sync now``, the demo before the app starts); the app's 首页 and 同步
and ``gridwall sync status`` read it with ``read_history``. So the last success shows the same
time everywhere, and it is there from the first screen after a restart.

Kept under ``"sync.last"``::

    {"at_ms", "ok", "more", "error", "message"}   the last attempt (as sync_status reads it)
    "ok_at_ms": the last attempt that finished without error
    "failed":   {"at_ms", "code", "message"}      the last attempt that failed
    "moved":    {"at_ms", "up", "down", "refused", "photos_up", "photos_down", "kb"}
                the last attempt that moved data (a failed one too: what it moved is moved)

Counts, one definition: ``up`` changes the server took from this device (applied or
duplicate: it has them now), ``down`` records pulled, ``refused`` changes the server refused,
``photos_up`` photo files from the upload queue now on the server (sent now, or found there),
``photos_down`` photo files fetched.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sync.client.replica import Meta

LAST_KEY = "sync.last"
LEGACY_OK_KEY = "last_sync"  # where the app kept its last success before this record existed


@dataclass
class Moved:
    at_ms: int
    up: int = 0
    down: int = 0
    refused: int = 0
    photos_up: int = 0
    photos_down: int = 0
    kb: float = 0.0


@dataclass
class Failure:
    at_ms: int
    code: str
    message: str


@dataclass
class SyncHistory:
    attempt_ms: int | None = None
    ok_ms: int | None = None  # the last success
    failure: Failure | None = None  # the last failure (may be older than the last success)
    moved: Moved | None = None

    @property
    def failing(self) -> bool:
        """The last attempt failed (its failure is newer than the last success)."""
        return self.failure is not None and (self.ok_ms is None or self.failure.at_ms > self.ok_ms)


def moved_of(report: Any, at_ms: int) -> Moved | None:
    """The data a ``SyncReport`` moved, or None when it moved nothing."""
    m = Moved(at_ms=at_ms, up=report.applied + report.duplicate, down=report.pulled,
              refused=len(report.refused), photos_up=report.photos_sent,
              photos_down=report.photos_downloaded,
              kb=round((report.bytes_sent + report.bytes_received) / 1024, 1))
    return m if (m.up or m.down or m.refused or m.photos_up or m.photos_down) else None


def record_attempt(replica: Meta, report: Any, at_ms: int) -> None:
    """Remember one attempt."""
    get = replica.meta_get
    old = get(LAST_KEY, None) or {}
    err = report.error
    doc = {
        "at_ms": at_ms, "ok": err is None, "more": report.more,
        "error": err.code if err else None, "message": err.message if err else None,
        "ok_at_ms": at_ms if err is None else _old_ok(get, old),
        "failed": {"at_ms": at_ms, "code": err.code, "message": err.message} if err else old.get("failed"),
        "moved": vars(m) if (m := moved_of(report, at_ms)) else old.get("moved"),
    }
    replica.meta_set(LAST_KEY, doc)


def _old_ok(get: Any, old: dict) -> int | None:
    if old.get("ok_at_ms"):
        return old["ok_at_ms"]
    if old.get("ok") and old.get("at_ms"):
        return old["at_ms"]  # written before "ok_at_ms" existed
    legacy = get(LEGACY_OK_KEY, None)
    return legacy if isinstance(legacy, int) else None


def read_history(replica: Meta) -> SyncHistory:
    get = replica.meta_get
    last = get(LAST_KEY, None) or {}
    failed = last.get("failed")
    if failed is None and last and not last.get("ok"):
        failed = {"at_ms": last.get("at_ms"), "code": last.get("error"), "message": last.get("message")}
    moved = last.get("moved")
    return SyncHistory(
        attempt_ms=last.get("at_ms"),
        ok_ms=_old_ok(get, last),
        failure=Failure(int(failed["at_ms"] or 0), failed.get("code") or "", failed.get("message") or "")
        if failed else None,
        moved=Moved(**moved) if isinstance(moved, dict) else None,
    )
