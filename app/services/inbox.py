"""The inbox of the person using this device: ``sync.inbox`` over the device's records (they
arrive with sync), and what they have read (kept per user in the device store's meta, so a
shared office PC keeps each person's own)."""

from __future__ import annotations

from typing import Any

from app.services.common import china_today, fmt_date, fmt_time
from app.services.field import Services
from app.services.staff import role_of
from sync import inbox, workdays

READ_KEEP = 5000  # read ids remembered per user (the oldest are forgotten first)


class InboxService:
    """Notifications and read state for the device's user."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = services.store
        self._cache: tuple[tuple[Any, ...], list[inbox.Notification]] | None = None
        self._per_issue: dict[str, tuple[Any, list[inbox.Notification]]] = {}

    def _read_key(self) -> str:
        return f"inbox.read.{self.services.user_id}"

    def _read(self) -> list[str]:
        value = self.store.meta_get(self._read_key(), [])
        return [str(x) for x in value] if isinstance(value, list) else []

    def items(self) -> list[inbox.Notification]:
        """Every notification, newest first, from the store's kept folds and inbox causes
        (``app/store/views.py``): no event is read, so the count on every app bar costs the
        same on a township PC with 50,000 issues as on a new phone. Cached until a record is
        written or the day changes; after a write only the issues whose fold changed are
        asked again (the store replaces an issue's "st" whenever its fold changes)."""
        user, role, today = self.services.user_id, role_of(self.services), china_today()
        key = (self.store.version, today, user, role)
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1]
        same_person = self._cache is not None and self._cache[0][1:] == key[1:]
        calendar = workdays.from_records(r["fields"] for r in self.store.all("holiday"))
        per: dict[str, tuple[Any, list[inbox.Notification]]] = {}
        found: list[inbox.Notification] = []
        # a copy taken at once (a sync in another thread may add an issue meanwhile)
        for iid, d in list(self.store.issue_folds().items()):
            st = d.get("st")
            if st is None or d.get("deleted"):
                continue
            hit = self._per_issue.get(iid) if same_person else None
            if hit is None or hit[0] is not st:
                hit = (st, inbox.from_causes(iid, "", st, d["ib"], user, role, today, calendar,
                                             self.services.unit_name))
            per[iid] = hit
            found += hit[1]
        self._per_issue = per
        self._cache = (key, inbox.newest_first(found))
        return self._cache[1]

    def rows(self) -> list[dict[str, Any]]:
        """What the inbox screen shows, read ones marked."""
        read = set(self._read())
        return [{"id": n.id, "kind": n.kind, "label": n.label, "issue": n.issue, "title": self._title(n),
                 "detail": n.detail, "at_text": _when(n), "read": n.id in read}
                for n in self.items()]

    def _title(self, n: inbox.Notification) -> str:
        rec = self.store.get("issue", n.issue)  # the title now (only drawn rows read their issue)
        return str(rec["fields"].get("title") or "") if rec else n.title

    def unread(self) -> int:
        read = set(self._read())
        return sum(1 for n in self.items() if n.id not in read)

    def mark_read(self, ids: list[str]) -> None:
        read = self._read()
        have = set(read)
        read += [i for i in ids if i not in have]
        self.store.meta_set(self._read_key(), read[-READ_KEEP:])

    def mark_all_read(self) -> None:
        self.mark_read([n.id for n in self.items()])


def _when(n: inbox.Notification) -> str:
    """The event's time, or the deadline's day (a deadline has no hour)."""
    if not n.at:
        return ""
    return fmt_date(n.at) if n.kind in ("due_soon", "overdue") else fmt_time(n.at)
