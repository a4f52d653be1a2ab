"""联户: the register of party members and 联户长, who looks after which household, and the
member a visit names as having come along (docs/people.md).

A link is a ``pairing`` record of its own: pairing creates one, unpairing deletes it, so two
phones pairing the same member at once both keep theirs after sync.
"""

from __future__ import annotations

from typing import Any

from app.services.common import Core, ServiceError, clean
from sync import records as rec_mod
from sync.changes import delete_change
from sync.i18n import t


class People(Core):
    """Members, pairings and the figures over them."""

    def _pairings(self) -> list[dict]:
        return [p for p in self.store.all("pairing") if not p["fields"].get(rec_mod.DELETED)]

    def _live_members(self) -> dict[str, dict]:
        return {m["id"]: m for m in self.store.all("member") if not m["fields"].get(rec_mod.DELETED)}

    def member_row(self, rec: dict, households: list[str] | None = None) -> dict[str, Any]:
        f = rec["fields"]
        hids = households if households is not None else [
            p["fields"]["household"] for p in self._pairings() if p["fields"].get("member") == rec["id"]]
        return {
            "id": rec["id"], "name": f.get("name") or "", "duty": f.get("duty") or "",
            "duty_label": rec_mod.choice_label("duty", f["duty"]) if f.get("duty") else "",
            "phone": f.get("phone") or "", "uses_app": bool(f.get("uses_app")),
            "village": f.get("village") or "", "note": f.get("note") or "",
            "households": hids, "household_count": len(hids),
        }

    def members(self, query: str = "") -> list[dict[str, Any]]:
        """The register, by name; ``query`` matches a name, a phone or pinyin initials."""
        from app.services.common import initials

        q = query.strip().lower()
        by_member: dict[str, list[str]] = {}
        for p in self._pairings():
            by_member.setdefault(p["fields"].get("member"), []).append(p["fields"].get("household"))
        rows = [self.member_row(m, by_member.get(m["id"], [])) for m in self._live_members().values()]
        if q:
            rows = [r for r in rows if q in f"{r['name']} {r['phone']} {initials(r['name'])}".lower()]
        rows.sort(key=lambda r: (r["name"], r["id"]))
        return rows

    def member(self, mid: str) -> dict[str, Any] | None:
        rec = self.store.get("member", mid)
        if rec is None or rec["fields"].get(rec_mod.DELETED):
            return None
        row = self.member_row(rec)
        row["household_rows"] = [
            {"id": hid, "label": self.household_label(hid)} for hid in row["households"]
            if self.store.get("household", hid) is not None]
        row["household_rows"].sort(key=lambda h: h["label"])
        return row

    def save_member(self, values: dict[str, Any], mid: str | None = None) -> tuple[str | None, dict[str, str]]:
        """Create or edit a member of the register; (id, {}) or (None, errors)."""
        fields = clean(values)
        fields.setdefault("village", self.profile.get("village_id", "village"))
        fields["uses_app"] = bool(values.get("uses_app"))
        errors = self.validate("member", fields)
        if errors:
            return None, errors
        if mid:
            rec = self.store.get("member", mid)
            if rec is None:
                raise ServiceError(t("ui.error.gone"))
            from sync import registry

            cleared = {k: None for k in registry.clearable("member")
                       if k not in fields and rec["fields"].get(k) not in (None, "", [])}
            return self.edit_record(rec, {**fields, **cleared})["id"], {}
        return self.create_record("member", fields)["id"], {}

    def household_members(self, hid: str) -> list[dict[str, Any]]:
        """The members who look after a household, by name."""
        members = self._live_members()
        mids = {p["fields"].get("member") for p in self._pairings() if p["fields"].get("household") == hid}
        rows = [self.member_row(members[m]) for m in mids if m in members]
        rows.sort(key=lambda r: r["name"])
        return rows

    def pair(self, mid: str, hid: str) -> dict[str, str]:
        """Link a member to a household they look after ({} or field -> message)."""
        if self.store.get("member", mid) is None or self.store.get("household", hid) is None:
            raise ServiceError(t("ui.error.gone"))
        if any(p["fields"].get("member") == mid and p["fields"].get("household") == hid
               for p in self._pairings()):
            return {"household": t("ui.people.already_paired")}
        self.create_record("pairing", {"member": mid, "household": hid})
        return {}

    def unpair(self, mid: str, hid: str) -> None:
        """End every link between the member and the household."""
        with self.lock:
            for p in self._pairings():
                if p["fields"].get("member") == mid and p["fields"].get("household") == hid:
                    self.store.save(delete_change(p, self.store.clock, self.user_id))

    def remove_member(self, mid: str) -> None:
        """The member leaves the register: the record and its links are deleted (visits that
        named them keep the name; the figures no longer count their households as covered)."""
        rec = self.store.get("member", mid)
        if rec is None or rec["fields"].get(rec_mod.DELETED):
            raise ServiceError(t("ui.error.gone"))
        with self.lock:
            for p in self._pairings():
                if p["fields"].get("member") == mid:
                    self.store.save(delete_change(p, self.store.clock, self.user_id))
            self.store.save(delete_change(rec, self.store.clock, self.user_id))

    def companion_choices(self, hid: str | None) -> list[dict[str, Any]]:
        """Members a visit may name as having come along: the household's own first."""
        own = self.household_members(hid) if hid else []
        mine = {r["id"] for r in own}
        return [*[{**r, "linked": True} for r in own],
                *[{**r, "linked": False} for r in self.members() if r["id"] not in mine]]

    @staticmethod
    def duty_choices() -> list[tuple[str, str]]:
        """(value, label) of a member's duty (党员 / 联户长)."""
        return [(v, rec_mod.choice_label("duty", v)) for v in rec_mod.MEMBER_DUTIES]

    def village_name(self, vid: str | None) -> str:
        """A village's name from the pulled reference data, else this device's own, else ""."""
        rec = self.store.get("village", vid) if vid else None
        if rec is not None:
            return str(rec["fields"].get("name") or "")
        return str(self.profile.get("village", "")) if vid and vid == self.profile.get("village_id") else ""

    def member_name(self, mid: str | None) -> str:
        rec = self.store.get("member", mid) if mid else None
        return str((rec or {}).get("fields", {}).get("name") or "")

    def pairing_report(self) -> Any:
        """The 联户 figures over the device's records (sync.reports.people)."""
        from sync.reports.people import pairing_report

        recs = [r for kind in ("household", "member", "pairing", "visit") for r in self.store.all(kind)]
        vids = {r["fields"].get("village") for r in recs if r["kind"] in ("household", "member")}
        return pairing_report(recs, {v: self.village_name(v) or v for v in vids if v})
