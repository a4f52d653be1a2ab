"""联户 pairing import (XLSX or CSV): one row per member and household they look after.

All or nothing: every row is checked first (the member's name and duty, the household found in
the grid's register by 户主 and 门牌), and when any row is refused nothing is written; the
report names each refused row with its number and reason. Accepted files go through the same
``apply_changes`` path as a device's sync, so members and pairings reach devices through the
feed. Members already on the server (same name in the grid) and pairings that already exist
are reused, so importing the same file twice adds nothing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from sync import records as model
from sync.i18n import t
from sync.server import admin, auth, db, feed
from sync.server.errors import ServerError
from sync.server.households import MAX_ROWS, ImportReport, cell, read_rows

# Header (as people write it) -> field. The first matching column wins.
HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("联户人员", "联户人员姓名", "党员姓名", "联户长姓名", "姓名"),
    "duty": ("身份", "联户身份", "类别", "人员类别"),
    "phone": ("联系电话", "电话", "手机", "手机号"),
    "uses_app": ("使用App", "是否使用App", "使用APP", "是否使用APP", "App"),
    "head": ("户主", "户主姓名", "联系户户主", "联系户"),
    "address": ("门牌/地址", "门牌", "地址", "门牌号", "住址"),
    "village": ("村", "所属村", "行政村"),
}
# What people write in the duty column -> the duty.
DUTY_WORDS: dict[str, str] = {
    "党员": "party_member", "联户党员": "party_member", "党员联户": "party_member", "中共党员": "party_member",
    "联户长": "household_lead", "双联户长": "household_lead", "户长": "household_lead",
}  # fmt: skip
YES = frozenset({"是", "用", "使用", "有", "y", "yes", "1", "true", "√", "✓"})
NO = frozenset({"否", "不用", "未使用", "没有", "无", "n", "no", "0", "false", "×", "x"})
HEADER_SCAN = 10  # a title row or two may sit above the header
_SPACES = re.compile(r"[\s\u3000]+")


def _norm(value: Any) -> str:
    """A cell as text with no spaces of any width (全角 too): how names and addresses compare."""
    return _SPACES.sub("", str(value)) if value is not None else ""


def _header(rows: list[list[Any]]) -> tuple[int, dict[str, int]]:
    """The header row (the first with a member-name column among the first rows) and its columns."""
    for i, row in enumerate(rows[:HEADER_SCAN]):
        header = [_norm(cell(c)) for c in row]
        cols: dict[str, int] = {}
        for fname, names in HEADERS.items():
            for n in names:
                if n in header:
                    cols[fname] = header.index(n)
                    break
        if "name" in cols:
            missing = [HEADERS[f][0] for f in ("duty", "head") if f not in cols]
            if missing:
                raise ServerError(400, "bad_header", "server.import.missing_columns", columns="、".join(missing))
            return i, cols
    raise ServerError(400, "bad_header", "server.import.missing_columns",
                      columns="、".join(HEADERS[f][0] for f in ("name", "duty", "head")))


def _grid_records(conn: Connection, grid_id: str, kind: str) -> list[dict[str, Any]]:
    q = select(db.records.c.doc).where(db.records.c.grid == grid_id, db.records.c.kind == kind)
    return [d for (doc,) in conn.execute(q) if not (d := json.loads(doc))["fields"].get(model.DELETED)]


def import_pairing(conn: Connection, path: Path, grid: str) -> ImportReport:
    """Import a pairing file into ``grid`` (id or name); nothing is written when a row is refused."""
    grid_id = admin.resolve(conn, "grid", grid)
    g = conn.execute(select(db.grids).where(db.grids.c.id == grid_id)).mappings().one()
    villages = {name: vid for vid, name in conn.execute(
        select(db.villages.c.id, db.villages.c.name).where(db.villages.c.township == g["township"]))}
    rows = read_rows(Path(path))
    if not any(any(cell(c) for c in r) for r in rows):
        raise ServerError(400, "empty_file", "server.import.empty", path=Path(path).name)
    start, cols = _header(rows)
    if len(rows) - start - 1 > MAX_ROWS:
        raise ServerError(413, "too_many_rows", "server.import.too_many", limit=MAX_ROWS)

    by_address: dict[tuple[str, str], str] = {}
    by_head: dict[str, list[str]] = {}
    for h in _grid_records(conn, grid_id, "household"):
        head, addr = _norm(h["fields"].get("head")), _norm(h["fields"].get("address"))
        by_address[(head, addr)] = h["id"]
        by_head.setdefault(head, []).append(h["id"])
    members: dict[str, dict[str, Any]] = {}  # name -> {"id", "fields", "new"}
    for m in _grid_records(conn, grid_id, "member"):
        members.setdefault(_norm(m["fields"].get("name")), {"id": m["id"], "fields": m["fields"], "new": False})
    pairs = {(p["fields"].get("member"), p["fields"].get("household"))
             for p in _grid_records(conn, grid_id, "pairing")}

    report = ImportReport()
    new_pairs: list[tuple[int, str, str]] = []  # (row, member name, household id)
    first_row: dict[str, int] = {}  # member name -> the row that introduced them
    member_only: list[int] = []  # rows that register a member and name no household
    for i in range(start + 1, len(rows)):
        row, rownum = rows[i], i + 1
        raw = {f: cell(row[c]) if c < len(row) else None for f, c in cols.items()}
        if not any(raw.values()):
            continue
        problems: list[str] = []
        name = _norm(raw.get("name"))
        if not name:
            problems.append(t("server.pairing.no_name"))
        duty = DUTY_WORDS.get(_norm(raw.get("duty")))
        if duty is None:
            problems.append(t("server.pairing.bad_duty", value=raw.get("duty") or "",
                              choices="、".join(DUTY_WORDS)))
        fields: dict[str, Any] = {"name": name, "duty": duty}
        if raw.get("phone"):
            fields["phone"] = _norm(raw["phone"]).replace("-", "")
        app_word = _norm(raw.get("uses_app")).lower()
        if app_word:
            if app_word in YES or app_word in NO:
                fields["uses_app"] = app_word in YES
            else:
                problems.append(t("server.pairing.bad_yes_no", value=raw.get("uses_app")))
        vname = _norm(raw.get("village"))
        if vname and vname not in villages:
            problems.append(t("server.import.unknown_village", village=vname))
        fields["village"] = villages.get(vname) if vname else g["village"]
        if not fields["village"] and not vname:
            problems.append(t("server.import.no_village"))
        if not problems:
            problems += [e.message for e in model.validate_record("member", fields)]
        hid = _household(raw, by_address, by_head, problems)
        known = members.get(name)
        if known is not None and not problems and known["fields"].get("duty") != duty:
            where = t("server.pairing.row", row=first_row[name]) if name in first_row else t("server.pairing.register")
            problems.append(t("server.pairing.duty_differs", name=name, where=where))
        if problems:
            report.refused.append((rownum, "; ".join(dict.fromkeys(problems))))
            continue
        if known is None:
            members[name] = {"id": None, "fields": fields, "new": True}
            first_row[name] = rownum
        if hid is None:  # a member without a household: registered only
            member_only.append(rownum)
            continue
        new_pairs.append((rownum, name, hid))
    if report.refused:
        return report  # all or nothing: the file must be fixed first

    report.accepted.extend(member_only)
    changes: list[dict[str, Any]] = []
    for m in members.values():
        if m["new"]:
            change = feed.server_change("member", grid_id, m["fields"])
            m["id"] = change["id"]
            changes.append(change)
    for rownum, name, hid in new_pairs:
        key = (members[name]["id"], hid)
        if key in pairs:
            report.skipped.append((rownum, t("server.pairing.exists")))
            continue
        pairs.add(key)
        changes.append(feed.server_change("pairing", grid_id, {"member": key[0], "household": hid}))
        report.accepted.append(rownum)
    for i in range(0, len(changes), 500):
        for ack in feed.apply_changes(conn, auth.system_principal(), changes[i : i + 500]):
            if ack["status"] == "refused":  # cannot happen for a checked file; roll back all of it
                raise ServerError(400, "import_refused", "server.pairing.refused", reason=ack.get("reason") or "")
    report.accepted.sort()
    return report


def _household(raw: dict[str, Any], by_address: dict[tuple[str, str], str], by_head: dict[str, list[str]],
               problems: list[str]) -> str | None:
    """The household a row names (None: the row names none), or a problem added."""
    head, addr = _norm(raw.get("head")), _norm(raw.get("address"))
    if not head and not addr:
        return None
    if not head:
        problems.append(t("server.pairing.no_head"))
        return None
    if addr:
        hid = by_address.get((head, addr))
        if hid is None:
            problems.append(t("server.pairing.no_household", head=head, address=addr))
        return hid
    found = by_head.get(head, [])
    if len(found) == 1:
        return found[0]
    problems.append(t("server.pairing.no_household_head", head=head) if not found
                    else t("server.pairing.several_households", head=head, n=len(found)))
    return None
