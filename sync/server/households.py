"""Household register import (CSV or XLSX with Chinese headers) into household records.

Rows go through the shared validation (``sync.records``) and the same ``apply_changes`` path as
a device's sync, so imported households reach devices through the feed. The report lists every
row accepted and every row refused with its row number and the reason.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from sync import records as model
from sync.i18n import t
from sync.server import admin, auth, db, feed
from sync.server.errors import ServerError

# Header (as people write it) -> field. The first matching column wins.
HEADERS: dict[str, tuple[str, ...]] = {
    "head": ("户主", "户主姓名", "姓名"),
    "address": ("门牌/地址", "门牌", "地址", "门牌号", "住址"),
    "phone": ("电话", "联系电话", "手机", "手机号"),
    "member_count": ("人口数", "人口", "家庭人口", "人数"),
    "care_tags": ("关爱标签", "标签", "关爱对象"),
    "note": ("备注", "说明"),
    "village": ("村", "村庄", "所属村", "行政村"),
}
MAX_ROWS = 20000
_SPLIT = re.compile(r"[,，、;；/\s]+")


@dataclass
class ImportReport:
    accepted: list[int] = field(default_factory=list)  # row numbers (as in the file)
    refused: list[tuple[int, str]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # already in the register


def read_rows(path: Path) -> list[list[Any]]:
    if not path.is_file():
        raise ServerError(400, "no_file", "server.import.no_file", path=str(path))
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - any broken workbook is one clear message
            raise ServerError(400, "bad_file", "server.import.bad_xlsx", path=path.name) from exc
        try:
            ws = wb.worksheets[0]
            return [list(r) for r in ws.iter_rows(values_only=True, max_row=MAX_ROWS + 50)]
        finally:
            wb.close()
    if suffix in (".csv", ".txt"):
        try:
            raw = path.read_bytes()
        except OSError as exc:  # e.g. no permission, or the file vanished
            raise ServerError(400, "bad_file", "server.import.unreadable", path=path.name,
                              error=exc.strerror or type(exc).__name__) from exc
        for enc in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
            try:
                text = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ServerError(400, "bad_file", "server.import.bad_encoding", path=path.name)
        return [list(r) for r in csv.reader(io.StringIO(text))]
    raise ServerError(400, "bad_file", "server.import.bad_type", path=path.name)


def cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def import_households(conn: Connection, path: Path, grid: str) -> ImportReport:
    """Import a household register file into ``grid`` (id or name)."""
    grid_id = admin.resolve(conn, "grid", grid)
    g = conn.execute(select(db.grids).where(db.grids.c.id == grid_id)).mappings().one()
    villages = {
        name: vid
        for vid, name in conn.execute(
            select(db.villages.c.id, db.villages.c.name).where(db.villages.c.township == g["township"])
        )
    }
    rows = read_rows(Path(path))
    start = next((i for i, r in enumerate(rows) if any(cell(c) for c in r)), None)
    if start is None:
        raise ServerError(400, "empty_file", "server.import.empty", path=Path(path).name)
    header = [cell(c) or "" for c in rows[start]]
    cols: dict[str, int] = {}
    for fname, names in HEADERS.items():
        for n in names:
            if n in header:
                cols[fname] = header.index(n)
                break
    missing = [HEADERS[f][0] for f in ("head", "address") if f not in cols]
    if missing:
        raise ServerError(400, "bad_header", "server.import.missing_columns", columns="、".join(missing))
    if len(rows) - start - 1 > MAX_ROWS:
        raise ServerError(413, "too_many_rows", "server.import.too_many", limit=MAX_ROWS)

    existing = set()
    for (doc,) in conn.execute(
        select(db.records.c.doc).where(db.records.c.grid == grid_id, db.records.c.kind == "household")
    ):
        f = json.loads(doc)["fields"]
        existing.add((f.get("head"), f.get("address")))

    report = ImportReport()
    changes: list[dict[str, Any]] = []
    change_rows: list[int] = []
    for i in range(start + 1, len(rows)):
        row = rows[i]
        rownum = i + 1
        values = {f: cell(row[c]) if c < len(row) else None for f, c in cols.items()}
        if not any(values.values()):
            continue
        fields: dict[str, Any] = {k: v for k, v in values.items() if k != "village" and v is not None}
        problems: list[str] = []
        if "member_count" in fields:
            try:
                fields["member_count"] = int(str(fields["member_count"]))
            except ValueError:
                pass  # the shared validation says what is wrong with it
        if "care_tags" in fields:
            fields["care_tags"] = [x for x in _SPLIT.split(str(fields["care_tags"])) if x]
        if "phone" in fields:
            fields["phone"] = str(fields["phone"]).replace(" ", "").replace("-", "")
        vname = values.get("village")
        if vname:
            if vname in villages:
                fields["village"] = villages[vname]
            else:
                problems.append(t("server.import.unknown_village", village=vname))
        elif g["village"]:
            fields["village"] = g["village"]
        else:
            problems.append(t("server.import.no_village"))
        problems.extend(e.message for e in model.validate_record("household", fields) if e.field != "village" or not problems)
        if problems:
            report.refused.append((rownum, "; ".join(dict.fromkeys(problems))))
            continue
        key = (fields.get("head"), fields.get("address"))
        if key in existing:
            report.skipped.append((rownum, t("server.import.exists")))
            continue
        existing.add(key)
        changes.append(feed.server_change("household", grid_id, fields))
        change_rows.append(rownum)

    for i in range(0, len(changes), 500):
        acks = feed.apply_changes(conn, auth.system_principal(), changes[i : i + 500])
        for rownum, ack in zip(change_rows[i : i + 500], acks, strict=True):
            if ack["status"] == "refused":
                report.refused.append((rownum, ack.get("reason") or ""))
            else:
                report.accepted.append(rownum)
    report.refused.sort()
    return report
