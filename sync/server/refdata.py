"""Reference data administered, not coded (issue 14): units (县直部门 among them), categories
with their deadline rules, problem sources and appeal types, edited by the admin
(``gridwall admin set-unit`` ..., and the admin API the staff screen calls).

Versioned by keeping old entries: an edit is a new stamped value in the feed (devices pull
it like any record) and keeps the id, so an old issue names the same thing; nothing is
removed, an entry is retired (``retired``: gone from pickers, still named where used; not
``_deleted``, which merge keeps for ever, so a retired entry can come back). A
changed deadline rule applies to dispatches made after it (an ``assign`` event carries its
own deadline date).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select

from sync import records as model
from sync.server import db
from sync.server.admin import resolve
from sync.server.errors import ServerError
from sync.server.feed import write_reference

# The kinds the admin edits here, and the fields each edit may set.
EDITABLE: dict[str, tuple[str, ...]] = {
    "unit": ("name", "phone", "level", "county", "township", "order"),
    "category": ("name", "parent", "order", "deadline_days"),
    "source": ("name", "order"),
    "appeal": ("name", "order"),
}
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")


def _current(conn: Connection, rid: str) -> dict[str, Any] | None:
    doc = conn.execute(select(db.records.c.doc).where(db.records.c.id == rid)).scalar()
    return json.loads(doc) if doc else None


def set_reference(conn: Connection, kind: str, rid: str | None, fields: Mapping[str, Any]) -> str:
    """Add (``rid`` None or new) or edit an entry of ``kind``; returns its id. A new entry
    needs a name; ``rid`` for a new entry is a short slug (``a-z 0-9 _ . -``), else one is
    made. Places and parents are checked; a retired entry is brought back by an edit."""
    if kind not in EDITABLE:
        raise ServerError(400, "bad_kind", "server.ref.bad_kind", kind=kind, kinds=", ".join(EDITABLE))
    values = {k: v for k, v in fields.items() if v is not None and v != ""}
    unknown = sorted(set(values) - set(EDITABLE[kind]))
    if unknown:
        raise ServerError(400, "bad_field", "server.ref.bad_field", field=unknown[0],
                          fields=", ".join(EDITABLE[kind]))
    current = _current(conn, rid) if rid else None
    if current is not None and current.get("kind") != kind:
        raise ServerError(409, "exists", "server.ref.other_kind", id=rid, kind=model.kind_label(current["kind"]))
    if current is None:
        if rid and not _SLUG.fullmatch(rid):
            raise ServerError(400, "bad_id", "server.ref.bad_id", id=rid)
        if not values.get("name"):
            raise ServerError(400, "bad_name", "server.bad_name", name="")
    if kind == "unit":
        if values.get("county"):
            values["county"] = resolve(conn, "county", str(values["county"]))
            values.setdefault("level", "county")
        if values.get("township"):
            values["township"] = resolve(conn, "township", str(values["township"]))
            values.setdefault("level", "township")
    if kind == "category" and values.get("parent"):
        parent = _current(conn, str(values["parent"]))
        if parent is None or parent.get("kind") != "category" or parent["id"] == rid:
            raise ServerError(400, "bad_parent", "server.ref.bad_parent", parent=values["parent"])
    for name in ("order", "deadline_days"):
        if isinstance(values.get(name), str):
            try:
                values[name] = int(values[name])
            except ValueError:
                raise ServerError(400, "invalid", "server.ref.not_number",
                                  field=model.field_label(kind, name), value=values[name]) from None
    errors = model.validate_record(kind, values, partial=current is not None)
    if errors:
        raise ServerError(400, "invalid", "server.invalid", reason="; ".join(e.message for e in errors))
    if current is not None and (current.get("fields") or {}).get("retired"):
        values["retired"] = False  # an edit brings it back
    return write_reference(conn, kind, values, None, rid)


def retire(conn: Connection, kind: str, rid: str) -> None:
    """Take an entry out of the pickers; every record that names it keeps its name."""
    current = _current(conn, rid)
    if current is None or current.get("kind") != kind or kind not in EDITABLE:
        raise ServerError(404, "unknown_ref", "server.ref.unknown", kind=model.kind_label(kind), id=rid)
    write_reference(conn, kind, {"retired": True}, None, rid)


def list_reference(conn: Connection, kind: str, *, retired: bool = True) -> list[dict[str, Any]]:
    """Every entry of ``kind`` (id, fields, retired), in order then name."""
    rows = conn.execute(select(db.records.c.doc).where(db.records.c.kind == kind)).scalars()
    out = []
    for doc in rows:
        rec = json.loads(doc)
        gone = bool(rec["fields"].get("retired"))
        if gone and not retired:
            continue
        out.append({"id": rec["id"], **rec["fields"], "retired": gone})
    return sorted(out, key=lambda r: (r.get("order") or 0, str(r.get("name") or "")))
