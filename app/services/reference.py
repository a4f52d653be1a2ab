"""Reference data as the forms and rows show it: care tags, the category tree, choice
labels, unit and user names (pulled from the server, else the built-in defaults)."""

from __future__ import annotations

from typing import Any

from app.services.common import Core
from sync import records as rec_mod
from sync import reference
from sync.i18n import t


class ReferenceData(Core):
    """Categories, choices, units and users for the screens."""

    def care_tags(self) -> list[str]:
        return list(rec_mod.CARE_TAGS)

    def categories(self) -> list[dict[str, Any]]:
        """The category tree: [{id, name, children: [{id, name}]}], always ending with 其他.

        Pulled reference data when the device has it, else the built-in tree."""
        refs = self.store.all("category")
        if refs:
            top = [r for r in refs if not r["fields"].get("parent")]
            top.sort(key=lambda r: (r["fields"].get("order") or 0, r["fields"].get("name", "")))
            tree = []
            for r in top:
                kids = [c for c in refs if c["fields"].get("parent") == r["id"]]
                kids.sort(key=lambda c: (c["fields"].get("order") or 0, c["fields"].get("name", "")))
                tree.append({"id": r["id"], "name": r["fields"].get("name", ""),
                             "children": [{"id": c["id"], "name": c["fields"].get("name", "")}
                                          for c in kids]})
            return tree
        # Before the first sync: the shared default tree, named through the catalog.
        return [{"id": top.id, "name": reference.category_name(top.id),
                 "children": [{"id": f"{top.id}.{c}", "name": reference.category_name(f"{top.id}.{c}")}
                              for c in top.children]}
                for top in reference.CATEGORIES]

    def category_labels(self) -> dict[str, str]:
        """Category id -> label (``top`` or ``top / child``); build it once for a list."""
        labels: dict[str, str] = {}
        for top in self.categories():
            labels.setdefault(top["id"], top["name"])
            for c in top["children"]:
                labels.setdefault(c["id"], f"{top['name']} / {c['name']}")
        return labels

    def category_name(self, cid: str | None, labels: dict[str, str] | None = None) -> str:
        if not cid:
            return ""
        return (self.category_labels() if labels is None else labels).get(cid, cid)

    @staticmethod
    def choices(name: str) -> list[tuple[str, str]]:
        """(value, label) pairs of a choice field of the shared model."""
        from sync import registry

        # "visit_kind" is the visit's "kind"; every other name is an issue field
        kind, field = ("visit", "kind") if name == "visit_kind" else ("issue", name)
        return [(v, rec_mod.choice_label(field, v)) for v in registry.choices(kind, field)]


    def appeals(self) -> list[tuple[str, str]]:
        """(id, name) of the appeal types to pick from: the pulled ``appeal`` records in order
        (retired ones left out), else the defaults."""
        recs = sorted((r for r in self.store.all("appeal") if not r["fields"].get("retired")),
                      key=lambda r: (r["fields"].get("order") or 0, r["id"]))
        if recs:
            return [(r["id"], str(r["fields"].get("name") or r["id"])) for r in recs]
        return [(v, rec_mod.choice_label("appeal_type", v)) for v in rec_mod.APPEAL_TYPES]

    def appeal_name(self, aid: str | None) -> str:
        """An appeal type's name (a retired one too: older issues keep their meaning)."""
        if not aid:
            return ""
        rec = self.store.get("appeal", aid)
        if rec is not None and rec["fields"].get("name"):
            return str(rec["fields"]["name"])
        return rec_mod.choice_label("appeal_type", aid)

    def unit_name(self, uid: str | None) -> str:
        """A unit's name from the pulled reference data, else the built-in list, else its id."""
        if not uid:
            return ""
        rec = self.store.get("unit", uid)
        if rec is not None:
            return str(rec["fields"].get("name") or uid)
        from sync import reference

        return dict(reference.UNITS).get(uid, uid)

    def user_name(self, uid: str | None) -> str:
        if not uid:
            return ""
        if uid == self.user_id:
            return self.profile.get("user_name", "")
        rec = self.store.get("user", uid)
        return (rec or {}).get("fields", {}).get("name") or t("ui.issue.staff")

