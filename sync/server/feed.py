"""The change feed: applying changes (one code path for the API, bundles and imports), the
conflict log, pulling in feed order, and reference records written by the server.

Change feed ordering: every write transaction first locks the single ``feed`` row (``SELECT ...
FOR UPDATE``; on SQLite ``BEGIN IMMEDIATE`` already serializes writers), takes the next
sequence numbers from it and writes them back before commit. Writers therefore commit in
sequence order, so a reader that has seen sequence N has seen every row at or below N and never
skips a row committed late.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, select, union_all, update

from sync import records as model
from sync.changes import new_record
from sync.clock import CLAMP_AHEAD_MS, HybridClock, is_stamp, make_stamp, stamp_wall_ms
from sync.i18n import t
from sync.ids import is_id, new_id
from sync.merge import apply_change
from sync.server import bulk, db, generation
from sync.server.auth import SERVER_ACTOR, Principal
from sync.server.authz import BatchAuthz, redact, scope_of
from sync.server.db import dumps, now_ms
from sync.server.errors import ServerError
from sync.server.publish_guard import publish_refusal

_clock_lock = threading.Lock()


_clock = HybridClock("server")


def server_stamp() -> str:
    with _clock_lock:
        return _clock.now()


def server_change(kind: str, grid: str | None, fields: Mapping[str, Any]) -> dict[str, Any]:
    """A new record's change made by the server itself (imports), stamped by the server clock."""
    with _clock_lock:
        return new_record(kind, grid, dict(fields), _clock, SERVER_ACTOR)[1]


_FEED_LOCK = select(db.feed.c.seq).where(db.feed.c.id == 1).with_for_update()


def _lock_feed(conn: Connection) -> int:
    """Lock the feed counter until commit and return the last sequence used."""
    return int(conn.execute(_FEED_LOCK).scalar_one())


def _set_feed(conn: Connection, seq: int) -> None:
    conn.execute(update(db.feed).where(db.feed.c.id == 1).values(seq=seq))


def _load_records(conn: Connection, ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    ids = list(ids)
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(ids), 500):
        q = select(db.records.c.id, db.records.c.doc).where(db.records.c.id.in_(ids[i : i + 500]))
        for rid, doc in conn.execute(q):
            out[rid] = json.loads(doc)
    return out


def _write_records(
    conn: Connection,
    docs: Mapping[str, dict[str, Any]],
    existing: set[str],
    townships: Mapping[str, str | None],
    now: int,
    texts: Mapping[str, str] | None = None,
) -> None:
    """Insert or update full record documents (each already carries its new ``seq``)."""
    bulk.run_writes(conn, _record_writes(docs, existing, townships, now, texts))


_UPDATE_FEED = update(db.feed).where(db.feed.c.id == 1).values(seq=bindparam("seq"))


def _record_writes(
    docs: Mapping[str, dict[str, Any]],
    existing: set[str],
    townships: Mapping[str, str | None],
    now: int,
    texts: Mapping[str, str] | None = None,
) -> list[tuple[Any, list[dict[str, Any]]]]:
    """The inserts and updates (statement, rows) that store full record documents."""
    new_rows, upd_rows = [], []
    for rid, doc in docs.items():
        row = {
            "id": rid,
            "kind": doc["kind"],
            "grid": doc.get("grid"),
            "township": townships.get(rid),
            "doc": texts[rid] if texts and rid in texts else dumps(doc),
            "seq": doc["seq"],
            "updated_ms": now,
            "deleted": doc.get("fields", {}).get(model.DELETED) is True,
        }
        (upd_rows if rid in existing else new_rows).append(row)
    writes: list[tuple[Any, list[dict[str, Any]]]] = [(_INSERT["records"], new_rows)]
    if upd_rows:  # one executemany, not a statement per record
        writes.append((_UPDATE_RECORD, [{f"b_{k}": v for k, v in row.items()} for row in upd_rows]))
    return writes


# The batch's write statements, made once (sync.server.bulk keeps them compiled).
_INSERT = {t.name: insert(t) for t in (db.records, db.applied_changes, db.conflicts, db.blob_refs)}
_UPDATE_RECORD = update(db.records).where(db.records.c.id == bindparam("b_id")).values(
    {c: bindparam(f"b_{c}") for c in ("kind", "grid", "township", "doc", "seq", "updated_ms", "deleted")}
)


def write_reference(
    conn: Connection,
    kind: str,
    fields: Mapping[str, Any],
    township: str | None,
    record_id: str | None = None,
) -> str:
    """Put a reference record (village, grid, category, unit, user) into the feed; an existing
    one is edited (only the fields given are checked and changed)."""
    rid = record_id or new_id()
    seq = _lock_feed(conn) + 1
    current = _load_records(conn, [rid]).get(rid)
    errors = model.validate_record(kind, dict(fields), partial=current is not None)
    if errors:
        raise ServerError(400, "invalid", "server.invalid", reason="; ".join(e.message for e in errors))
    stamp = server_stamp()
    values = {k: v for k, v in fields.items() if v is not None}
    doc = current or {"id": rid, "kind": kind, "grid": None, "fields": {}, "stamps": {}}
    doc["fields"].update(values)
    doc["stamps"].update(dict.fromkeys(values, stamp))
    doc["seq"] = seq
    _write_records(conn, {rid: doc}, {rid} if current else set(), {rid: township}, now_ms())
    _set_feed(conn, seq)
    return rid


def _reason(errors: Sequence[Any]) -> str:
    return "; ".join(getattr(e, "message", str(e)) for e in errors)


def _clamp(change: dict[str, Any], now: int) -> bool:
    """Clamp stamps far in the future to server time (a wrong device clock must not win)."""
    stamps = change.get("stamps")
    if not isinstance(stamps, dict):
        return False
    clamped = False
    limit = now + CLAMP_AHEAD_MS
    ahead = f"{limit:013d}"  # a stamp starts with its 13-digit wall time: compare the text first
    for name, st in list(stamps.items()):
        if isinstance(st, str) and st[:13] > ahead and is_stamp(st) and stamp_wall_ms(st) > limit:
            counter, node = st.split("-", 2)[1:]
            stamps[name] = make_stamp(now, int(counter, 16), node)
            clamped = True
    return clamped


def _refused(cid: Any, code: str, reason: str) -> dict[str, Any]:
    return {"change_id": cid if isinstance(cid, str) else None, "status": "refused", "code": code, "reason": reason}


def _conflict_rows(
    conflicts: Sequence[Any], rid: str, cid: str, device: str | None, now: int
) -> list[dict[str, Any]]:
    return [
        {
            "record_id": rid,
            "field": c.field,
            "reason": c.reason,
            "kept_value": dumps(c.kept_value),
            "kept_stamp": c.kept_stamp,
            "lost_value": dumps(c.lost_value),
            "lost_stamp": c.lost_stamp,
            "change_id": cid,
            "device": device,
            "created_ms": now,
        }
        for c in conflicts
    ]


def apply_changes(
    conn: Connection,
    actor: Principal,
    changes: Sequence[Any],
    *,
    now: int | None = None,
    lang: str | None = None,
) -> list[dict[str, Any]]:
    """Apply a batch of changes for ``actor`` in the caller's transaction; one ack per change.

    Each change is checked on its own (shape and values by the record model, who may write
    it by ``sync.server.authz``, idempotence by ``change_id``) so one bad change never fails
    the others. A change naming a record that a later change of the batch creates is tried
    again after the rest of the batch. Returns acks in input order: ``{"change_id", "status":
    "applied"|"duplicate"|"refused", "code"?, "reason"?, "retry"?, "clamped"?}``.
    """
    now = now_ms() if now is None else now
    dicts = [c for c in changes if isinstance(c, dict)]
    rec_ids = {c["id"] for c in dicts if is_id(c.get("id"))}
    cids = [c["change_id"] for c in dicts if is_id(c.get("change_id"))]

    # The feed lock, then everything the batch reads, in one go (one round trip on PostgreSQL,
    # sync.server.bulk): the reads run after the lock is held, so from there on this
    # transaction is the only writer and what it reads cannot change under it.
    ids, rc, ac = sorted(rec_ids), db.records.c, db.applied_changes.c
    reads = [select(rc.id, rc.doc).where(rc.id.in_(ids[i : i + 500])) for i in range(0, len(ids), 500)]
    n_rec = len(reads)
    reads += [select(ac.change_id).where(ac.change_id.in_(cids[i : i + 500])) for i in range(0, len(cids), 500)]
    authz = BatchAuthz(actor, changes)
    results = bulk.run_reads(conn, [_FEED_LOCK, *reads, *authz.queries])
    base = seq = int(results[0][0][0])
    stored = {rid: json.loads(doc) for rows in results[1 : 1 + n_rec] for rid, doc in rows}
    done = {row[0] for rows in results[1 + n_rec : 1 + len(reads)] for row in rows}
    authz.load(results[1 + len(reads) :])

    dirty: dict[str, dict[str, Any]] = {}
    texts: dict[str, str] = {}
    towns: dict[str, str | None] = {}
    applied_rows: list[dict[str, Any]] = []
    conflict_rows: list[dict[str, Any]] = []
    blob_rows: dict[tuple[str, str], dict[str, Any]] = {}
    acks: list[dict[str, Any] | None] = [None] * len(changes)

    def one(raw: Any, last_try: bool) -> dict[str, Any] | None:
        """The ack of one change, or None to try it again after the rest of the batch."""
        nonlocal seq
        if not isinstance(raw, dict):
            return _refused(None, "invalid", t("server.refused.not_object", lang=lang))
        cid = raw.get("change_id")
        if is_id(cid) and cid in done:
            return {"change_id": cid, "status": "duplicate"}
        change = dict(raw)  # private copy: clamping must not touch the caller's change
        if isinstance(raw.get("stamps"), dict):
            change["stamps"] = dict(raw["stamps"])
        clamped = _clamp(change, now)
        rid = change.get("id")
        current = (dirty.get(rid) or stored.get(rid)) if isinstance(rid, str) else None
        errors = model.validate_change(change, current)
        if errors:
            authz.refused(change)
            return _refused(cid, "invalid", _reason(errors))
        refusal = authz.check(change, current)
        if refusal is not None:
            if refusal.retry and not last_try and refusal.missing in rec_ids and refusal.missing != rid:
                return None  # the batch may still create what it names
            authz.refused(change)
            ack = _refused(cid, refusal.code, t(refusal.key, lang=lang, **refusal.params))
            if refusal.retry:
                ack["retry"] = True
            return ack
        kind, grid = change["kind"], change["grid"]
        if leak := publish_refusal(conn, change, current, lang):
            authz.refused(change)
            return _refused(cid, "private", leak)
        result = apply_change(current, change)
        row_seq = None
        if result.changed or current is None:
            record = dict(result.record)
            record["seq"] = seq + 1
            text = dumps(record)
            try:
                text.encode("utf-8")  # e.g. a lone surrogate from "\ud800" cannot be stored
            except UnicodeEncodeError:
                authz.refused(change)
                return _refused(cid, "invalid", t("server.refused.encoding", lang=lang))
            seq += 1
            row_seq = seq
            dirty[rid] = record
            texts[rid] = text
            towns[rid] = authz.township_of(grid)
        authz.applied(dirty.get(rid) or result.record)
        conflict_rows.extend(_conflict_rows(result.conflicts, rid, cid, actor.device_id, now))
        if kind in model.ATTACHMENT_KINDS:
            sha = change["fields"].get("sha256")
            if isinstance(sha, str):
                blob_rows[(sha, rid)] = {"sha256": sha, "record_id": rid, "grid": grid,
                                         "township": authz.township_of(grid)}
        done.add(cid)
        applied_rows.append(
            {
                "change_id": cid,
                "record_id": rid,
                "device": actor.device_id,
                "user_id": actor.user_id,
                "seq": row_seq,
                "applied_ms": now,
                "clamped": clamped,
            }
        )
        ack: dict[str, Any] = {"change_id": cid, "status": "applied"}
        if clamped:
            ack["clamped"] = True
        return ack

    waiting = list(range(len(changes)))
    while waiting:
        later = []
        for i in waiting:
            acks[i] = one(changes[i], last_try=False)
            if acks[i] is None:
                later.append(i)
        if len(later) == len(waiting):  # no progress: what is still missing is not coming
            for i in later:
                acks[i] = one(changes[i], last_try=True)
            break
        waiting = later

    # every write of the batch at the end, together (one round trip on PostgreSQL)
    writes = _record_writes(dirty, set(stored), towns, now, texts)
    writes += [(_INSERT["applied_changes"], applied_rows), (_INSERT["conflicts"], conflict_rows)]
    if blob_rows:
        have = set(
            conn.execute(
                select(db.blob_refs.c.sha256, db.blob_refs.c.record_id).where(
                    db.blob_refs.c.record_id.in_([k[1] for k in blob_rows])
                )
            ).all()
        )
        writes.append((_INSERT["blob_refs"], [v for k, v in blob_rows.items() if k not in have]))
    if seq != base:
        writes.append((_UPDATE_FEED, [{"seq": seq}]))
    bulk.run_writes(conn, writes)
    return [a for a in acks if a is not None]


def record_conflicts(conn: Connection, principal: Principal, record_id: str) -> list[dict[str, Any]]:
    """The conflict log of one record in the principal's scope (values that lost a merge)."""
    row = conn.execute(
        select(db.records.c.grid, db.records.c.township).where(db.records.c.id == record_id)
    ).first()
    if row is None or row[0] is None or not scope_of(principal).sees_grid(row[0], row[1]):
        raise ServerError(404, "record_not_found", "server.record_not_found")
    c = db.conflicts.c
    q = (
        select(c.field, c.reason, c.kept_value, c.kept_stamp, c.lost_value, c.lost_stamp, c.device, c.created_ms)
        .where(c.record_id == record_id)
        .order_by(c.id)
    )
    out = []
    for r in conn.execute(q).mappings():
        item = dict(r)
        item["kept_value"] = json.loads(item["kept_value"]) if item["kept_value"] is not None else None
        item["lost_value"] = json.loads(item["lost_value"]) if item["lost_value"] is not None else None
        out.append(item)
    return out


def parse_cursor(cursor: str | int | None) -> int:
    """The sequence of a cursor: ``"<epoch>:<seq>"`` or a bare ``seq`` (sync.server.generation)."""
    if cursor is None or cursor == "":
        return 0
    epoch, text = generation.split_cursor(cursor)
    if not text.isdigit() or len(text) > 18 or (epoch is not None and not re.fullmatch(r"[0-9a-f]{1,16}", epoch)):
        raise ServerError(400, "bad_cursor", "server.bad_cursor", cursor=str(cursor)[:40])
    return int(text)


def _scope_lanes(p: Principal) -> list[Any] | None:
    """The caller's scope as lanes an index reads in feed order (None: everything).

    One OR over the scope made the database gather every record above the cursor from two
    indexes and sort them (327 ms for a new device's first page at 1M changes): each lane
    here is an equality prefix of an index ending in ``seq``, so a page reads at most
    ``limit`` rows per lane, at any size.
    """
    r = db.records.c
    scope = scope_of(p)  # the one decision (sync/server/authz.py)
    if scope.everything:
        return None
    shared = and_(r.township.is_(None), r.grid.is_(None))  # categories, units: everyone
    if not scope.whole:
        return ([r.grid == g for g in sorted(scope.grids)]
                + [and_(r.township == t, r.grid.is_(None)) for t in sorted(scope.townships)] + [shared])
    return [r.township == t for t in sorted(scope.townships)] + [shared]


def pull_raw(
    conn: Connection, principal: Principal, cursor: str | int | None, limit: int
) -> tuple[list[str], str, bool]:
    """The JSON texts of records in scope above ``cursor`` in sequence order: (docs, cursor, more)."""
    after = parse_cursor(cursor)
    # Read the head first: every record at or below it has committed (writers commit in
    # sequence order with the head), so the page never reaches past a gap.
    head = int(conn.execute(select(db.feed.c.seq).where(db.feed.c.id == 1)).scalar_one())
    if after > head:
        after = 0  # the feed went back (a restore; an older client): start over rather than skip
    r = db.records.c
    window = and_(r.seq > after, r.seq <= head)
    lanes = _scope_lanes(principal)
    if lanes is None:
        q = select(r.doc, r.seq).where(window).order_by(r.seq).limit(limit + 1)
    else:
        # the first limit+1 sequence numbers of each lane (read from the index alone), the
        # first limit+1 of them all, and only then their documents
        parts = [select(r.seq).where(lane, window).order_by(r.seq).limit(limit + 1).subquery()
                 for lane in lanes]
        seqs = union_all(*[select(part.c.seq) for part in parts]).subquery()
        first = select(seqs.c.seq).order_by(seqs.c.seq).limit(limit + 1).subquery()
        q = select(r.doc, r.seq).where(r.seq.in_(select(first.c.seq))).order_by(r.seq)
    rows = conn.execute(q).all()
    more = len(rows) > limit
    rows = rows[:limit]
    if more:
        after = rows[-1][1]
    elif head > after:
        after = head  # nothing more in scope up to the head: the next idle sync starts there
    return _redacted(principal, [r[0] for r in rows]), generation.make_cursor(generation.current_epoch(conn), after), more


# Private fields (a resident's contact) are all named ``contact_*`` (sync.records.PRIVATE_FIELDS):
# only a document holding one is parsed again.
_PRIVATE_MARK = '"contact_'


def _redacted(principal: Principal, docs: list[str]) -> list[str]:
    """The documents as the caller may receive them (sync.server.authz.redact)."""
    if not any(_PRIVATE_MARK in d for d in docs):
        return docs
    scope = scope_of(principal)
    out = []
    for d in docs:
        if _PRIVATE_MARK in d:
            rec = json.loads(d)
            kept = redact(scope, rec)
            d = d if kept is rec else dumps(kept)
        out.append(d)
    return out


def pull(
    conn: Connection, principal: Principal, cursor: str | int | None, limit: int
) -> tuple[list[dict[str, Any]], str, bool]:
    """Records in scope above ``cursor`` (each with its ``seq``), the next cursor, more?"""
    docs, nxt, more = pull_raw(conn, principal, cursor, limit)
    return [json.loads(d) for d in docs], nxt, more

