"""Households: the pinyin search, list rows, the household page and the household form."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from app.services.common import Core, ServiceError, clean, fmt_date, initials
from sync import records as rec_mod
from sync.i18n import t
from sync.ids import id_time_ms


class Households(Core):
    """The household list, one household with its visits and issues, and saving one."""

    def __init__(self) -> None:
        self._search: dict[str, tuple[str, str]] = {}  # household id -> (stamp key, text)

    def _search_text(self, rec: dict) -> str:
        f = rec["fields"]
        stamp_key = max(rec.get("stamps", {}).values(), default="")
        hit = self._search.get(rec["id"])
        if hit and hit[0] == stamp_key:
            return hit[1]
        names = [f.get("head") or ""] + [m.get("name", "") for m in f.get("members") or []
                                         if isinstance(m, dict)]
        text = " ".join([*names, f.get("address") or "", f.get("phone") or "",
                         *[initials(n) for n in names if n]]).lower()
        self._search[rec["id"]] = (stamp_key, text)
        return text

    def warm(self) -> None:
        """Build the search index (pinyin initials) ahead of the first search; run it in a
        background thread at start-up: about 0.4 s for 3,000 households."""
        for _ in self.warm_steps():
            pass

    def warm_steps(self, batch: int = 50) -> Iterator[None]:
        """``warm`` in steps of ``batch`` households, for the browser (no threads: the caller
        lets the screen work between steps)."""
        recs = self.store.all("household")
        for i in range(0, len(recs), batch):
            for r in recs[i:i + batch]:
                self._search_text(r)
            yield

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
        last: dict[str, int] = {}
        for v in self.store.all("visit"):
            hid = v["fields"].get("household")
            at = rec_mod.parse_time_ms(v["fields"].get("time")) or id_time_ms(v["id"])
            if hid and at > last.get(hid, 0):
                last[hid] = at
        return last

    def households(self, query: str = "", tag: str | None = None,
                   limit: int | None = None) -> list[dict[str, Any]]:
        """Households matching a name / address / phone / pinyin-initials query and a tag."""
        q = query.strip().lower()
        recs = self.store.all("household")
        out = []
        for r in recs:
            if tag and tag not in (r["fields"].get("care_tags") or []):
                continue
            if q and q not in self._search_text(r):
                continue
            out.append(r)
        out.sort(key=lambda r: (r["fields"].get("address") or "", r["fields"].get("head") or ""))
        if limit is not None:
            out = out[:limit]
        last = self._last_visits()
        return [self.household_row(r, last) for r in out]

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

