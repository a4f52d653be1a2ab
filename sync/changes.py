"""Building changes: a new record and its creating change, an edit, a delete.

The schema and its checks live in ``sync.records``; merging in ``sync.merge``. A change made
here carries what its author had seen (``seen``, from ``sync.merge.knowledge``) so a later
merge can tell a conflict (docs/architecture.md, "Change").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sync.clock import HybridClock
from sync.i18n import t
from sync.ids import is_id, new_id
from sync.merge import knowledge
from sync.records import (
    DELETED,
    IMMUTABLE_KINDS,
    FieldError,
    ValidationError,
    is_ref,
    kind_label,
    show_value,
    validate_record,
    write_once_errors,
)


def _present(fields: Mapping[str, Any]) -> dict[str, Any]:
    # None means "not filled in": a new record does not carry empty fields.
    return {k: v for k, v in fields.items() if v is not None}


def new_record(
    kind: str,
    grid: str,
    fields: Mapping[str, Any],
    clock: HybridClock,
    actor: str,
    *,
    record_id: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A new record and the change that creates it; raises ValidationError on bad input.

    Every field gets the same fresh stamp; bases are None (nothing was seen before).
    """
    errors = validate_record(kind, fields)
    if not is_ref(grid):
        errors.append(FieldError("grid", "bad_ref", t("model.bad_ref", field=t("model.field.grid"), value=show_value(grid))))
    if record_id is not None and not is_id(record_id):
        errors.append(FieldError("id", "bad_id", t("model.bad_id", field=t("model.field.id"), value=show_value(record_id))))
    if errors:
        raise ValidationError(errors)
    values = _present(fields)
    stamp = clock.now()
    record = {
        "id": record_id or new_id(),
        "kind": kind,
        "grid": grid,
        "fields": values,
        "stamps": dict.fromkeys(values, stamp),
        "bases": dict.fromkeys(values),
    }
    # The change is the record plus who made it; each gets its own deep copy of the values.
    text = json.dumps(record)
    change = {"change_id": new_id(), **json.loads(text), "actor": actor, "node": clock.node}
    return json.loads(text), change


def edit_change(
    record: Mapping[str, Any], new_fields: Mapping[str, Any], clock: HybridClock, actor: str
) -> dict[str, Any]:
    """The change that sets ``new_fields`` on ``record`` (only the fields whose value differs).

    Bases are the record's current stamps of those fields, so merge can tell a conflict.
    Raises ValidationError for bad values, write-once or immutable fields, editing a deleted
    record, or when nothing differs.
    """
    kind = record["kind"]
    current = record.get("fields", {})
    errors = validate_record(kind, new_fields, partial=True)
    if not isinstance(new_fields, Mapping):  # nothing more to check (or to build) without fields
        raise ValidationError(errors)
    if kind in IMMUTABLE_KINDS:
        errors.append(FieldError("*", "immutable", t("model.immutable", kind=kind_label(kind))))
    elif current.get(DELETED) is True:
        errors.append(FieldError(DELETED, "edit_deleted", t("model.edit_deleted", kind=kind_label(kind))))
    else:
        errors.extend(write_once_errors(kind, current, new_fields))
    if errors:
        raise ValidationError(errors)
    values = {k: v for k, v in new_fields.items() if current.get(k) != v}
    if not values:
        raise ValidationError([FieldError("*", "no_change", t("model.no_change"))])
    stamps_now = record.get("stamps", {})
    # The new stamp must sort after every value the author saw, even if this device's clock
    # is behind the one that wrote them; otherwise the edit would lose to what it replaces.
    for seen in stamps_now.values():
        clock.observe(seen)
    stamp = clock.now()
    change = {
        "change_id": new_id(),
        "id": record["id"],
        "kind": kind,
        "grid": record["grid"],
        "fields": json.loads(json.dumps(values)),
        "stamps": dict.fromkeys(values, stamp),
        "bases": {k: stamps_now.get(k) for k in values},
        "actor": actor,
        "node": clock.node,
    }
    # What the author had seen beyond the base, so merge can tell which values it replaced
    # knowingly (see sync.merge.knowledge); left out when there is nothing to say.
    seen = {k: kn for k in values if (kn := knowledge(record, k, clock.node))}
    if seen:
        change["seen"] = seen
    return change


def delete_change(record: Mapping[str, Any], clock: HybridClock, actor: str) -> dict[str, Any]:
    """The change that deletes a record (``_deleted: true``; sticky once merged)."""
    return edit_change(record, {DELETED: True}, clock, actor)
