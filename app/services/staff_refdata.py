"""基础数据 on the admin's staff device: units (县直部门 among them), categories with their
deadline rules, sources and appeal types, edited on the server (online: the server owns
reference data) through ``sync.client.refadmin``; the device pulls the result at once and
every other device at its next sync. Old records keep their meaning: entries are retired,
never removed, and keep their ids."""

from __future__ import annotations

from typing import Any

from app.services.common import ServiceError
from sync.client.engine import ENROLLMENT_KEY
from sync.client.refadmin import RefAdmin, RefAdminError
from sync.i18n import t

KINDS = ("unit", "category", "source", "appeal")
# what the screen asks for per kind (the server checks every value: sync/server/refdata.py)
FORM_FIELDS: dict[str, tuple[str, ...]] = {
    "unit": ("name", "phone", "order"),
    "category": ("name", "parent", "deadline_days", "order"),
    "source": ("name", "order"),
    "appeal": ("name", "order"),
}


def may_edit_reference(role: str) -> bool:
    """Whether the screen offers 基础数据 (the server decides again: only the admin)."""
    return role == "admin"


class ReferenceAdmin:
    """The admin's edits of reference data, over the device's enrollment."""

    def __init__(self, staff: Any, client: Any = None) -> None:
        self.staff = staff
        self._client = client

    def client(self) -> Any:
        if self._client is not None:
            return self._client
        en = self.staff.store.meta_get(ENROLLMENT_KEY) or {}
        if not en.get("server_url") or not en.get("token"):
            raise ServiceError(t("ui.ref.error.not_enrolled"))
        return RefAdmin(en["server_url"], en["token"])

    def entries(self, kind: str) -> list[dict[str, Any]]:
        try:
            return self.client().entries(kind)
        except RefAdminError as exc:
            raise ServiceError(str(exc)) from None

    def save(self, kind: str, rid: str, values: dict[str, Any]) -> str:
        """Add or edit an entry (the screen then syncs, so this device's pickers show it)."""
        fields = {k: v for k, v in values.items() if k in FORM_FIELDS[kind] and v not in (None, "")}
        for k in ("order", "deadline_days"):
            if isinstance(fields.get(k), str) and fields[k].strip().isdigit():
                fields[k] = int(fields[k])
        try:
            return self.client().save(kind, rid.strip(), fields)
        except RefAdminError as exc:
            raise ServiceError(str(exc)) from None

    def retire(self, kind: str, rid: str) -> None:
        try:
            self.client().retire(kind, rid)
        except RefAdminError as exc:
            raise ServiceError(str(exc)) from None
