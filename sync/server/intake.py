"""Bulk intake of problems from another channel (issue 14): an XLSX or CSV export of a 12345
hotline (or 信访, or an inspection's list) becomes problems routed to the grids of their
households or villages, each with its ``report`` event, through the same ``apply_changes``
path as a device's sync (so the importing user's scope is checked like any write).

All or nothing: every row is checked first; when any row is refused, nothing is imported and
the report lists every refused row with its row number (as in the file) and the reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from sync import intake
from sync import records as model
from sync.changes import new_record
from sync.clock import HybridClock
from sync.i18n import t
from sync.server import admin, auth, db, feed
from sync.server.errors import ServerError
from sync.server.households import MAX_ROWS, cell, read_rows
from sync.workflow import new_event

HEADER_SEARCH = 10  # rows looked at for the header


@dataclass
class IntakeReport:
    accepted: list[tuple[int, str, str]] = field(default_factory=list)  # (row, issue id, grid)
    refused: list[tuple[int, str]] = field(default_factory=list)  # (row, reason)
    imported: bool = False  # False: checked only, or refused rows (nothing written)


def _docs(conn: Connection, kind: str, towns: list[str] | None = None) -> list[dict[str, Any]]:
    q = select(db.records.c.doc).where(db.records.c.kind == kind, db.records.c.deleted.is_(False))
    if towns is not None:
        q = q.where(db.records.c.township.in_(towns))
    return [json.loads(d) for d in conn.execute(q).scalars()]


def _scope_towns(conn: Connection, p: auth.Principal, township: str | None, county: str | None) -> list[str]:
    if township:
        return [admin.resolve(conn, "township", township)]
    cid = admin.resolve(conn, "county", county) if county else p.county
    if cid is None:
        raise ServerError(400, "needs_place", "server.intake.needs_place")
    return list(conn.execute(select(db.townships.c.id).where(db.townships.c.county == cid)).scalars())


def _source(conn: Connection, source: str) -> tuple[str, str]:
    named = [(r["id"], r["fields"].get("name", "")) for r in _docs(conn, "source") if not r["fields"].get("retired")]
    sid = source if any(rid == source for rid, _ in named) else intake.match_name(source, named)
    if sid is None:
        raise ServerError(400, "unknown_source", "server.intake.unknown_source", source=source,
                          sources="、".join(f"{rid}（{name}）" for rid, name in named))
    return sid, dict(named)[sid]


def import_issues(
    conn: Connection,
    path: Path,
    *,
    source: str = "hotline",
    township: str | None = None,
    county: str | None = None,
    by: str | None = None,
    mapping: dict[str, str] | None = None,
    check_only: bool = False,
) -> IntakeReport:
    """Import the problems of an export file; ``by`` is the staff member who registers them
    (login or id; default: the server itself), ``township`` or ``county`` where they are
    (default: ``by``'s county), ``mapping`` field -> header for columns named otherwise."""
    p = auth.principal_for_user(conn, admin.resolve(conn, "user", by)) if by else auth.system_principal()
    towns = _scope_towns(conn, p, township, county)
    sid, source_name = _source(conn, source)
    bad = sorted(set(mapping or {}) - set(intake.HEADERS))
    if bad:
        raise ServerError(400, "bad_map", "server.intake.bad_map", field=bad[0], fields=", ".join(intake.HEADERS))
    rows = read_rows(Path(path))
    filled = [i for i, r in enumerate(rows) if any(cell(c) for c in r)]
    if not filled:
        raise ServerError(400, "empty_file", "server.import.empty", path=Path(path).name)
    # the header row: the first (of the first few, exports put a title above it) naming a title
    start = next((i for i in filled[:HEADER_SEARCH]
                  if "title" in intake.header_columns([cell(c) or "" for c in rows[i]], mapping)), filled[0])
    cols = intake.header_columns([cell(c) or "" for c in rows[start]], mapping)
    needed = ["title", "village"] + (["township"] if len(towns) > 1 else [])
    missing = [intake.HEADERS[f][0] for f in needed if f not in cols]
    if missing:
        raise ServerError(400, "bad_header", "server.import.missing_columns", columns="、".join(missing))
    if len(rows) - start - 1 > MAX_ROWS:
        raise ServerError(413, "too_many_rows", "server.import.too_many", limit=MAX_ROWS)

    town_names = {tid: name for tid, name in conn.execute(
        select(db.townships.c.id, db.townships.c.name).where(db.townships.c.id.in_(towns)))}
    v = db.villages.c
    villages = [(vid, name, tid) for vid, name, tid in conn.execute(select(v.id, v.name, v.township).where(v.township.in_(towns)))]
    g = db.grids.c
    grids = [(gid, vid, name) for gid, vid, name in conn.execute(select(g.id, g.village, g.name).where(g.township.in_(towns)))]
    phones: dict[tuple[str, str], tuple[str, str]] = {}  # (village, phone) -> (household id, grid)
    for h in _docs(conn, "household", towns):
        ph = intake.clean_phone(h["fields"].get("phone"))
        if ph:
            phones[(h["fields"].get("village"), ph)] = (h["id"], h["grid"])
    taken = {str(r["fields"].get("external_no")) for r in _docs(conn, "issue", towns)
             if r["fields"].get("external_no") and (r["fields"].get("source") or "grid") == sid}
    categories = [(r["id"], r["fields"].get("name", "")) for r in _docs(conn, "category")]
    appeals = [(r["id"], r["fields"].get("name", "")) for r in _docs(conn, "appeal")]

    report = IntakeReport()
    planned: list[tuple[int, dict[str, Any], str, str | None]] = []  # (row, fields, grid, reported at)
    for i in range(start + 1, len(rows)):
        row, rownum = rows[i], i + 1
        raw = {f: row[c] if c < len(row) else None for f, c in cols.items()}
        values = {f: cell(x) for f, x in raw.items()}
        if not any(values.values()):
            continue
        problems: list[str] = []
        tid = towns[0] if len(towns) == 1 else intake.match_name(values.get("township"), town_names.items())
        if tid is None:
            problems.append(t("server.intake.unknown_township", township=values.get("township") or ""))
        vname = str(values.get("village") or "")
        if "/" in vname:  # 乡镇/村
            tname, _, vname = vname.rpartition("/")
            tid = intake.match_name(tname, town_names.items()) or tid
        vid = intake.match_name(vname, [(vid, n) for vid, n, vt in villages if vt == tid]) if tid else None
        if tid and vid is None:
            problems.append(t("server.intake.unknown_village", village=vname or "—", township=town_names[tid])
                            if vname else t("server.import.no_village"))
        fields: dict[str, Any] = {"issue_kind": "problem", "reporter": p.user_id, "source": sid,
                                  "title": values.get("title"), "description": values.get("description"),
                                  "external_no": values.get("external_no"), "village": vid,
                                  "contact_name": values.get("contact_name"),
                                  "contact_phone": intake.clean_phone(values.get("contact_phone")),
                                  "reporter_visibility": "anonymous" if str(values.get("anonymous") or "").lower()
                                  in intake.YES_WORDS else "hidden"}
        if values.get("category"):
            fields["category"] = intake.match_name(values["category"], categories)
        if values.get("appeal_type"):
            fields["appeal_type"] = intake.match_name(values["appeal_type"], appeals)
        if values.get("urgency"):
            fields["urgency"] = intake.URGENCY_WORDS.get(str(values["urgency"]))
            if fields["urgency"] is None:
                problems.append(t("server.intake.bad_urgency", value=values["urgency"],
                                  choices="、".join(intake.URGENCY_WORDS)))
        fields = {k: v for k, v in fields.items() if v is not None}
        at = None
        if values.get("reported_at"):
            at = intake.report_time(raw["reported_at"])
            if at is None:
                problems.append(t("server.intake.bad_time", value=values["reported_at"]))
        no = fields.get("external_no")
        if no and str(no) in taken:
            problems.append(t("server.intake.duplicate", number=no))
        problems.extend(e.message for e in model.validate_record("issue", fields)
                        if e.field not in ("village",))
        grid = None
        if vid:
            hh = phones.get((vid, fields.get("contact_phone", "")))
            if hh:
                fields["household"] = hh[0]
            grid = intake.pick_grid(vid, hh[1] if hh else None, grids)
            if grid is None:
                problems.append(t("server.intake.no_grid", village=vname))
        if problems:
            report.refused.append((rownum, "; ".join(dict.fromkeys(problems))))
            continue
        if no:
            taken.add(str(no))
        planned.append((rownum, fields, str(grid), at))
    if report.refused or check_only:
        report.accepted = [(r, "", g) for r, _f, g, _a in planned]
        return report

    clock = HybridClock("import")
    changes: list[dict[str, Any]] = []
    owners: list[int] = []
    for rownum, fields, grid, at in planned:
        rec, ch = new_record("issue", grid, fields, clock, p.user_id)
        _ev, ev_ch = new_event(rec, "report", {"note": t("server.intake.note", source=source_name, number=fields.get("external_no") or "—", lang="zh")},
                               clock, p.user_id, p.role, at=at)
        changes += [ch, ev_ch]
        owners += [rownum, rownum]
        report.accepted.append((rownum, rec["id"], grid))
    for i in range(0, len(changes), 500):
        acks = feed.apply_changes(conn, p, changes[i : i + 500], lang="zh")
        for rownum, ack in zip(owners[i : i + 500], acks, strict=True):
            if ack["status"] == "refused":  # e.g. outside the importing user's scope: undo all
                raise ServerError(400, "refused_row", "server.intake.refused_row", row=rownum,
                                  reason=ack.get("reason") or "")
    report.imported = True
    return report
