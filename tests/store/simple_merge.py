"""Stand-in per-field highest-stamp merge, used only while sync/merge.py does not exist yet."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field


@dataclass
class MergeResult:
    record: dict
    conflicts: list = field(default_factory=list)
    changed: bool = False


def _merge_fields(rec: dict, fields: dict, stamps: dict, bases: dict | None) -> MergeResult:
    out = copy.deepcopy(rec)
    conflicts = []
    changed = False
    for f, v in fields.items():
        s = stamps[f]
        cur = out["stamps"].get(f)
        if cur is None or s > cur:
            base = (bases or {}).get(f) or ""
            if cur is not None and out["fields"].get(f) != v and bases is not None and cur > base:
                conflicts.append({"id": rec["id"], "field": f, "value": out["fields"][f],
                                  "lost_stamp": cur})
            out["fields"][f] = v
            out["stamps"][f] = s
            changed = True
        elif s < cur and out["fields"].get(f) != v:
            conflicts.append({"id": rec["id"], "field": f, "value": v, "lost_stamp": s})
    return MergeResult(out, conflicts, changed)


def apply_change(record: dict | None, change: dict) -> MergeResult:
    if record is None:
        record = {"id": change["id"], "kind": change["kind"], "grid": change.get("grid"),
                  "fields": {}, "stamps": {}}
        res = _merge_fields(record, change["fields"], change["stamps"], change.get("bases"))
        res.changed = True
        return res
    return _merge_fields(record, change["fields"], change["stamps"], change.get("bases"))


def merge_records(a: dict, b: dict) -> MergeResult:
    return _merge_fields(a, b["fields"], b["stamps"], None)
