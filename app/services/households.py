"""Households: the pinyin search, list rows, the household page and the household form."""

from __future__ import annotations

from typing import Any

from app.services.common import Core, ServiceError, clean, fmt_date
from sync.i18n import t


class Households(Core):
    """The household list, one household with its visits and issues, and saving one."""

    def warm(self) -> None:
        """The search index is kept by the store (built once, updated as households change);
        nothing to build at start-up, in the browser either."""
        self.store.search_texts()

    def household_row(self, rec: dict, last_visit: dict[str, int] | None = None) -> dict[str, Any]:
        f = rec["fields"]
        lv = (last_visit or {}).get(rec["id"])
        return {
            "id": rec["id"], "title": f.get("head") or "?", "address": f.get("address") or "",
            "phone": f.get("phone") or "", "tags": list(f.get("care_tags") or []),
            "members": len(f.get("members") or []) or f.get("member_count") or 0,
            "last_visit": lv,
            "last_visit_text": (t("ui.household.last_visit", date=fmt_date(lv)) if lv
                                else t("ui.household.never_visited")),
        }

    def _last_visits(self) -> dict[str, int]:
        return self.store.last_visits()  # kept by the store as visits arrive

    def households(self, query: str = "", tag: str | None = None,
                   limit: int | None = None) -> list[dict[str, Any]]:
        """Households matching a name / address / phone / pinyin-initials query and a tag."""
        return self.find_households(query, tag, limit)[0]

    def find_households(self, query: str = "", tag: str | None = None,
                        limit: int | None = None) -> tuple[list[dict[str, Any]], int]:
        """The rows of the first ``limit`` matching households (by address) and how many match."""
        q = query.strip().lower()
        recs = self.store.all("household")
        texts = self.store.search_texts() if q else {}
        out = []
        for r in recs:
            if tag and tag not in (r["fields"].get("care_tags") or []):
                continue
            if q and q not in texts.get(r["id"], ""):
                continue
            out.append(r)
        out.sort(key=lambda r: (r["fields"].get("address") or "", r["fields"].get("head") or ""))
        last = self._last_visits()
        return [self.household_row(r, last) for r in out[:limit]], len(out)

    def household(self, hid: str) -> dict[str, Any] | None:
        rec = self.store.get("household", hid)
        if rec is None:
            return None
        row = self.household_row(rec, self._last_visits())
        f = rec["fields"]
        row["fields"] = dict(f)
        row["members_list"] = [m for m in f.get("members") or [] if isinstance(m, dict)]
        row["note"] = f.get("note") or ""
        row["visits"] = self.visits(household_id=hid)
        row["issues"] = self.issues(household_id=hid)
        return row

    def household_label(self, hid: str | None) -> str:
        if not hid:
            return ""
        rec = self.store.get("household", hid)
        if rec is None:
            return ""
        f = rec["fields"]
        return f"{f.get('head') or ''} · {f.get('address') or ''}"

    def save_household(self, values: dict[str, Any], hid: str | None = None
                       ) -> tuple[str | None, dict[str, str]]:
        """Create or edit; returns (id, {}) or (None, errors)."""
        fields = clean(values)
        fields.setdefault("village", self.profile.get("village_id", "village"))
        errors = self.validate("household", fields)
        if errors:
            return None, errors
        if hid:
            rec = self.store.get("household", hid)
            if rec is None:
                raise ServiceError(t("ui.error.gone"))
            # a field the form emptied is cleared (None), not left at its old value
            from sync import registry

            cleared = {k: None for k in registry.clearable("household")
                       if k not in fields and rec["fields"].get(k) not in (None, "", [])}
            return self.edit_record(rec, {**fields, **cleared})["id"], {}
        return self.create_record("household", fields)["id"], {}

