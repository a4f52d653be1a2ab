"""What the device holds and waits to send: 首页's day (due visits, rechecks, last sync) and
the outbox the 同步 screen counts."""

from __future__ import annotations

from typing import Any

from app.services.common import DEFAULT_VISIT_INTERVAL_DAYS, Core, last_sync_text, now_ms


class Status(Core):
    """Home and outbox figures, read from the store."""

    def today(self, limit: int | None = None) -> dict[str, Any]:
        """首页's day: visits due and issues waiting for a re-check (rows for the first
        ``limit`` of each; ``due_count`` and ``recheck_count`` count them all)."""
        p = self.profile
        days = int(p.get("visit_interval_days") or DEFAULT_VISIT_INTERVAL_DAYS)
        cutoff = now_ms() - days * 86_400_000
        last = self.store.last_visits()
        due = [r for r in self.store.all("household")
               if not last.get(r["id"]) or last[r["id"]] < cutoff]
        due.sort(key=lambda r: (last.get(r["id"]) or 0, r["fields"].get("address") or "",
                                r["fields"].get("head") or ""))
        waiting = self.store.issues_in_state("resolved")  # kept folded by the store
        recheck = [r for r in (self.issue_row_by_id(i) for i in waiting[:limit]) if r]
        return {"user_name": p.get("user_name", ""), "grid_name": p.get("grid_name", ""),
                "unsynced": self.store.outbox_size(),
                "last_sync": last_sync_text(self.store),
                "due": [self.household_row(r, last) for r in due[:limit]], "due_count": len(due),
                "recheck": recheck,
                "recheck_count": len(waiting),
                "interval_days": days}

    def outbox(self) -> dict[str, Any]:
        """What waits for upload, read from the store (nothing estimated): changes by kind
        (a photo's attachment record is a change), and photo files the server has not
        confirmed yet, the queue the sync engine uploads (one photo file may be attached twice)."""
        by_kind: dict[str, int] = {}
        for ch in self.store.pending_changes(limit=1_000_000):
            by_kind[ch["kind"]] = by_kind.get(ch["kind"], 0) + 1
        shas = self.store.photos_to_upload()
        nbytes = vbytes = 0
        voices = [s for s in shas if self.store.voice_path(s).exists()]  # the same queue
        for sha in shas:
            try:
                nbytes += self.store.photo_path(sha).stat().st_size
            except OSError:
                pass
        for sha in voices:
            vbytes += self.store.voice_path(sha).stat().st_size
        shas = [s for s in shas if s not in voices]
        refused = [{"change_id": r["change"]["change_id"], "kind": r["change"]["kind"],
                    "reason": r["reason"]} for r in self.store.refused_changes()]
        return {"changes": self.store.outbox_size(), "by_kind": by_kind, "photos": len(shas),
                "photo_bytes": nbytes, "photo_bytes_text": _size_text(nbytes),
                "voices": len(voices), "voice_bytes_text": _size_text(vbytes),
                "last_sync": last_sync_text(self.store), "refused": refused,
                "conflicts": len(self.store.conflicts())}



def _size_text(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / 1024 / 1024:.1f} MB"
    return f"{n / 1024:.0f} KB"


