"""Per-field merge of records and changes, with conflict detection.

The record state is ``fields`` + ``stamps`` + ``bases`` (the stamp each winning value's author
had seen for that field, None for nothing) + optional ``seen`` (per field, for other devices,
the newest stamp of theirs the author's value already took into account). Merging is a join
in a total order per field, so it is commutative, associative and idempotent: every replica
that has seen the same changes holds the same state, whatever the order. The rules
(docs/model.md):

- plain field: the highest stamp wins (ties, which a correct clock never makes, are broken by
  the value's canonical JSON so the result is still deterministic);
- ``_deleted``: sticky. ``true`` beats any other value; among deletes the earliest stamp is
  kept, so "edited after the delete" has one meaning in every order;
- immutable kinds (issue_event, photo): the earliest version (lowest stamp) is kept whole; an
  identical re-send is a no-op, a differing one is reported, never applied.

Conflicts: a losing value is reported when it differs from the winner and the winner's author
had not seen it: its stamp is newer than what the winner's knowledge (its own stamp, its
base, its ``seen``) holds for the loser's device. Edits stamped after a delete are reported
too. The conflict log is a grow-only set keyed by ``Conflict.key``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sync.canon import canonical_json
from sync.clock import CLAMP_AHEAD_MS, Stamp, stamp_wall_ms
from sync.i18n import t
from sync.records import DELETED, IMMUTABLE_KINDS


class MergeError(ValueError):
    """Two inputs that are not versions of one record (id, kind or grid differ), or a change
    without a stamp for one of its fields. Callers validate first; this guards the store."""


@dataclass(frozen=True, eq=True)
class Conflict:
    record_id: str
    kind: str
    field: str
    kept_value: Any
    kept_stamp: str
    lost_value: Any
    lost_stamp: str
    lost_node: str
    # "concurrent": lost to an edit whose author had not seen it; "deleted": edit stamped
    # after the record was deleted (kept_value is None, kept_stamp the delete's stamp);
    # "immutable": a differing re-send of an immutable record.
    reason: str = "concurrent"

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity in the conflict log: re-observing the same collision adds nothing."""
        return (self.record_id, self.field, self.lost_stamp)

    def __hash__(self) -> int:
        return hash(self.key)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Conflict:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass
class MergeResult:
    record: dict[str, Any]
    conflicts: list[Conflict] = field(default_factory=list)
    # Fields whose value differs from the first argument's (the stored record).
    changed: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class _Entry:
    value: Any
    stamp: str
    base: str | None
    seen: Mapping[str, str] | None = None  # node -> newest stamp of that node taken into account

    def rank(self) -> tuple[str, str, str, str]:
        return (self.stamp, canonical_json(self.value), self.base or "", canonical_json(self.seen or {}))

    def covers(self, stamp: str) -> bool:
        """Had this value's author seen ``stamp`` (or something newer from its device)?

        Stamps of one device only grow, and a value takes into account everything its
        author saw, so the newest stamp known per device is enough.
        """
        node = _node(stamp)
        known = (self.seen or {}).get(node, "")
        if _node(self.stamp) == node:
            known = max(known, self.stamp)
        if self.base and _node(self.base) == node:
            known = max(known, self.base)
        return stamp <= known


def _same(a: Any, b: Any) -> bool:
    """JSON equality, cheaply: like ``==`` but True is not 1 and 1 is not 1.0."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)



def _node(stamp: str) -> str:
    try:
        return Stamp.parse(stamp).node
    except ValueError:
        return ""


def _entries(record: Mapping[str, Any]) -> dict[str, _Entry]:
    fields = record.get("fields") or {}
    stamps = record.get("stamps") or {}
    bases = record.get("bases") or {}
    seen = record.get("seen") or {}
    out = {}
    for name, value in fields.items():
        stamp = stamps.get(name)
        if not isinstance(stamp, str):
            raise MergeError(f"field {name!r} of record {record.get('id')!r} has no stamp")
        out[name] = _Entry(value, stamp, bases.get(name), seen.get(name) or None)
    return out


def _copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists, scalars); several times faster than
    copy.deepcopy, which the server paid per field of every change it applies."""
    if isinstance(value, dict):
        return {k: _copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_json(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return copy.deepcopy(value)


def _state(entries: Mapping[str, _Entry]) -> dict[str, Any]:
    """fields/stamps/bases (and seen, only when some field has one) of a record."""
    out: dict[str, Any] = {
        "fields": {k: _copy_json(e.value) for k, e in entries.items()},
        "stamps": {k: e.stamp for k, e in entries.items()},
        "bases": {k: e.base for k, e in entries.items()},
    }
    seen = {k: dict(e.seen) for k, e in entries.items() if e.seen}
    if seen:
        out["seen"] = seen
    return out


def knowledge(record: Mapping[str, Any], name: str, node: str) -> dict[str, str]:
    """What an author on ``node`` who edits field ``name`` of ``record`` has seen of it, as
    the ``seen`` map for the change (devices other than the base's and the author's own)."""
    stamp = (record.get("stamps") or {}).get(name)
    if not isinstance(stamp, str):
        return {}
    known = dict(((record.get("seen") or {}).get(name)) or {})
    base = (record.get("bases") or {}).get(name)
    if isinstance(base, str):
        known[_node(base)] = max(known.get(_node(base), ""), base)
    # The new change's base is ``stamp`` and its own stamp covers ``node``: leave those out.
    for n in (_node(stamp), node):
        if n in known and (n == node or known[n] <= stamp):
            del known[n]
    return known


def _pick(name: str, x: _Entry, y: _Entry) -> tuple[_Entry, _Entry]:
    """(winner, loser) of one field; a total order, so merge is a join."""
    if name == DELETED:
        xt, yt = x.value is True, y.value is True
        if xt != yt:
            return (x, y) if xt else (y, x)
        if xt:  # both deletes: keep the earliest
            return (x, y) if _le(x, y) else (y, x)
    return (y, x) if _le(x, y) else (x, y)


def _le(x: _Entry, y: _Entry) -> bool:
    # Stamps decide almost always; the full rank (canonical JSON) only breaks exact ties.
    if x.stamp != y.stamp:
        return x.stamp < y.stamp
    return x.rank() <= y.rank()


def record_from_change(change: Mapping[str, Any]) -> dict[str, Any]:
    """The record state a change alone describes (bases missing → None, i.e. saw nothing)."""
    fields = change.get("fields") or {}
    stamps = change.get("stamps") or {}
    bases = change.get("bases") or {}
    seen = change.get("seen") or {}
    for name in fields:
        if not isinstance(stamps.get(name), str):
            raise MergeError(f"change {change.get('change_id')!r} has no stamp for {name!r}")
    record = {
        "id": change["id"],
        "kind": change["kind"],
        "grid": change["grid"],
        "fields": {k: _copy_json(v) for k, v in fields.items()},
        "stamps": {k: stamps[k] for k in fields},
        "bases": {k: bases.get(k) for k in fields},
    }
    if any(seen.get(k) for k in fields):
        record["seen"] = {k: dict(seen[k]) for k in fields if seen.get(k)}
    return record


def _copy(record: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": record["id"], "kind": record["kind"], "grid": record["grid"], **_state(_entries(record))}


def _after_delete(record_id: str, kind: str, entries: Mapping[str, _Entry]) -> dict[tuple, Conflict]:
    """Edits stamped after the (earliest) delete of a deleted record."""
    deleted = entries.get(DELETED)
    if deleted is None or deleted.value is not True:
        return {}
    out = {}
    for name, e in entries.items():
        if name != DELETED and e.stamp > deleted.stamp:
            c = Conflict(record_id, kind, name, None, deleted.stamp, e.value, e.stamp, _node(e.stamp), "deleted")
            out[c.key] = c
    return out


def merge_records(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> MergeResult:
    """Merge two states of one record. ``changed`` is relative to ``a``; the conflicts are
    the same set whichever argument comes first."""
    if a is None and b is None:
        raise MergeError("nothing to merge")
    if a is None or b is None:
        only = _copy(a if a is not None else b)  # type: ignore[arg-type]
        return MergeResult(only, [], set(only["fields"]) if a is None else set())
    if (a.get("id"), a.get("kind"), a.get("grid")) != (b.get("id"), b.get("kind"), b.get("grid")):
        raise MergeError(t("model.merge_mismatch"))
    if a["kind"] in IMMUTABLE_KINDS:
        return _merge_immutable(a, b)
    ea, eb = _entries(a), _entries(b)
    rid, kind = a["id"], a["kind"]
    merged: dict[str, _Entry] = {}
    found: dict[tuple, Conflict] = {}
    for name in sorted(set(ea) | set(eb)):
        x, y = ea.get(name), eb.get(name)
        if x is None or y is None:
            merged[name] = x or y  # type: ignore[assignment]
            continue
        win, lose = _pick(name, x, y)
        merged[name] = win
        if not _same(win.value, lose.value) and not win.covers(lose.stamp):
            reason = "deleted" if name == DELETED else "concurrent"
            c = Conflict(rid, kind, name, win.value, win.stamp, lose.value, lose.stamp, _node(lose.stamp), reason)
            found[c.key] = c
    # Edits after a delete: only those this merge brings to light (not already visible in
    # either input alone), so re-merging does not report them again.
    old = _after_delete(rid, kind, ea).keys() | _after_delete(rid, kind, eb).keys()
    for key, c in _after_delete(rid, kind, merged).items():
        if key not in old and key not in found:
            found[key] = c
    record = {"id": rid, "kind": kind, "grid": a["grid"], **_state(merged)}
    changed = {k for k, e in merged.items() if k not in ea or not _same(ea[k].value, e.value)}
    return MergeResult(record, sorted(found.values(), key=lambda c: c.key), changed)


def _merge_immutable(a: Mapping[str, Any], b: Mapping[str, Any]) -> MergeResult:
    ea, eb = _entries(a), _entries(b)
    fa = {k: canonical_json(e.value) for k, e in ea.items()}
    fb = {k: canonical_json(e.value) for k, e in eb.items()}

    def version_rank(entries: Mapping[str, _Entry], canon: Mapping[str, str]) -> tuple[str, str, str]:
        first = min((e.stamp for e in entries.values()), default="")
        return (first, canonical_json(canon), canonical_json({k: e.stamp for k, e in entries.items()}))

    a_first = version_rank(ea, fa) <= version_rank(eb, fb)
    keep, lose = (ea, eb) if a_first else (eb, ea)
    kept = _copy(a if a_first else b)
    conflicts = []
    if fa != fb:
        lost_default = min((e.stamp for e in lose.values()), default="")
        for name in sorted(set(fa) | set(fb)):
            k, lo = keep.get(name), lose.get(name)
            if (k and canonical_json(k.value)) == (lo and canonical_json(lo.value)):
                continue
            lost_stamp = lo.stamp if lo else lost_default
            conflicts.append(
                Conflict(
                    a["id"], a["kind"], name,
                    k.value if k else None, k.stamp if k else "",
                    lo.value if lo else None, lost_stamp, _node(lost_stamp), "immutable",
                )  # fmt: skip
            )
    changed = set() if a_first else {n for n in set(fa) | set(fb) if fa.get(n) != fb.get(n)}
    return MergeResult(kept, conflicts, changed)


def apply_change(record: Mapping[str, Any] | None, change: Mapping[str, Any]) -> MergeResult:
    """Merge one change into the stored record (None when the record is new here)."""
    fresh = record_from_change(change)
    if record is None:  # what merge_records(None, fresh) returns, without copying it again
        return MergeResult(fresh, [], set(fresh["fields"]))
    return merge_records(record, fresh)


def conflict_label(conflict: Conflict) -> str:
    """One line for people: why this value was not kept."""
    return t(f"model.conflict.{conflict.reason}")


def drop_future_values(cur: dict, remote: dict, pending: Iterable[str], now_ms: int) -> dict:
    """The local record without acked values stamped far in the future, where the server has
    the field: they came from a wrong device clock and the server clamped them when they
    arrived, so its version is the one that counts. Fields in ``pending`` (unacked) stay."""
    limit = now_ms + CLAMP_AHEAD_MS
    pending = set(pending)
    stale = [f for f, st in cur["stamps"].items()
             if f not in pending and f in remote["fields"] and stamp_wall_ms(st) > limit]
    if not stale:
        return cur
    cur = copy.deepcopy(cur)
    for f in stale:
        cur["fields"].pop(f, None)
        cur["stamps"].pop(f, None)
        cur.get("bases", {}).pop(f, None)
    return cur
