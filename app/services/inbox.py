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

    def _read_key(self) -> str:
        return f"inbox.read.{self.services.user_id}"

    def _read(self) -> list[str]:
        value = self.store.meta_get(self._read_key(), [])
        return [str(x) for x in value] if isinstance(value, list) else []

    def items(self) -> list[inbox.Notification]:
        """Every notification, newest first (computed again only when records or the day change)."""
        events = self.services.events_by_issue()
        issues = self.store.all("issue")
        user, role, today = self.services.user_id, role_of(self.services), china_today()
        key = (len(issues), max((max(r.get("stamps", {}).values(), default="") for r in issues), default=""),
               id(events), today, user, role)
        if self._cache is None or self._cache[0] != key:
            holidays = workdays.from_records(r["fields"] for r in self.store.all("holiday"))
            found = inbox.notifications(issues, events, user, role, today, holidays, self.services.unit_name)
            self._cache = (key, found)
        return self._cache[1]

    def rows(self) -> list[dict[str, Any]]:
        """What the inbox screen shows, read ones marked."""
        read = set(self._read())
        return [{"id": n.id, "kind": n.kind, "label": n.label, "issue": n.issue, "title": n.title,
                 "detail": n.detail, "at_text": _when(n), "read": n.id in read}
                for n in self.items()]

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
