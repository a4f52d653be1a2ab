"""The server's logic as plain functions on a SQLAlchemy connection (no HTTP here).

The HTTP layer, the admin CLI and the operator's bundle upload all call these, so there is one
code path for every way a change reaches the server.

Change feed ordering: every write transaction first locks the single ``feed`` row (``SELECT ...
FOR UPDATE``; on SQLite ``BEGIN IMMEDIATE`` already serializes writers), takes the next
sequence numbers from it and writes them back before commit. Writers therefore commit in
sequence order, so a reader that has seen sequence N has seen every row at or below N and never
skips a row committed late.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, or_, select, union_all, update

from sync import records as model
from sync import reference
from sync.clock import HybridClock, is_stamp, make_stamp, stamp_wall_ms
from sync.i18n import t
from sync.ids import is_id, new_id
from sync.server import bulk, db
from sync.server.errors import ServerError

CLAMP_AHEAD_MS = 5 * 60 * 1000  # stamps further ahead than this are clamped to server time
ENROLL_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read out over the phone
ENROLL_CODE_LEN = 8
SERVER_ACTOR = "server"

_clock_lock = threading.Lock()
_clock = HybridClock("server")


def now_ms() -> int:
    return int(time.time() * 1000)


def server_stamp() -> str:
    with _clock_lock:
        return _clock.now()


def dumps(obj: Any) -> str:
    """Compact JSON as stored and sent (UTF-8, Chinese kept as is)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---- who is asking ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """The user (and device) a request or a bundle acts for, with what it may see and write."""

    user_id: str
    role: str
    name: str = ""
    township: str | None = None
    grids: frozenset[str] = field(default_factory=frozenset)
    townships: frozenset[str] = field(default_factory=frozenset)  # of the grids (grid workers)
    device_id: str | None = None
    last_seen_ms: int | None = None  # of the device, when known

    @property
    def everywhere(self) -> bool:
        return self.role in ("admin", "operator") and self.township is None

    def can_see_grid(self, grid: str, township: str | None) -> bool:
        if self.everywhere:
            return True
        if self.role == "grid_worker":
            return grid in self.grids
        return township is not None and township == self.township

    def scope(self) -> dict[str, Any]:
        return {"township": self.township, "grids": sorted(self.grids)}


def system_principal() -> Principal:
    """The server itself (admin commands, imports): sees and writes everything."""
    return Principal(user_id=SERVER_ACTOR, role="admin", name=SERVER_ACTOR)


def principal_for_user(conn: Connection, user_id: str, device_id: str | None = None) -> Principal:
    user = conn.execute(select(db.users).where(db.users.c.id == user_id)).mappings().first()
    if user is None:
        raise ServerError(404, "unknown_user", "server.unknown_user", ref=user_id)
    rows = conn.execute(
        select(db.user_grids.c.grid, db.grids.c.township)
        .join(db.grids, db.grids.c.id == db.user_grids.c.grid)
        .where(db.user_grids.c.user_id == user_id)
    ).all()
    return Principal(
        user_id=user["id"],
        role=user["role"],
        name=user["name"],
        township=user["township"],
        grids=frozenset(r[0] for r in rows),
        townships=frozenset(r[1] for r in rows),
        device_id=device_id,
    )


# ---- settings, secrets, tokens ---------------------------------------------------------------


def get_setting(conn: Connection, key: str) -> str | None:
    return conn.execute(select(db.settings.c.value).where(db.settings.c.key == key)).scalar()


def master_key(conn: Connection) -> bytes:
    """The server's master key (made once, kept in the settings table)."""
    value = get_setting(conn, "master_key")
    if value is None:
        value = secrets.token_hex(32)
        conn.execute(insert(db.settings).values(key="master_key", value=value))
    return bytes.fromhex(value)


def device_secret(conn: Connection, device_id: str) -> bytes:
    """The bundle-signing secret of a device: HMAC(master key, device id); nothing stored."""
    return hmac.new(master_key(conn), device_id.encode("utf-8"), hashlib.sha256).digest()


def authenticate(conn: Connection, token: str | None) -> Principal:
    """The principal of a bearer token; 401 for a missing, unknown or revoked token."""
    if not token:
        raise ServerError(401, "unauthorized", "server.auth.missing")
    dev = conn.execute(
        select(db.devices).where(db.devices.c.token_hash == sha256_hex(token))
    ).mappings().first()
    if dev is None:
        raise ServerError(401, "unauthorized", "server.auth.unknown")
    if dev["revoked_ms"] is not None:
        raise ServerError(401, "revoked", "server.auth.revoked")
    p = principal_for_user(conn, dev["user_id"], device_id=dev["id"])
    return replace(p, last_seen_ms=dev["last_seen_ms"])


def principal_for_device(conn: Connection, device_id: str) -> Principal:
    """The principal a device acts as (for bundles carried in by an operator); a revoked or
    never-enrolled device is refused."""
    dev = conn.execute(select(db.devices).where(db.devices.c.id == device_id)).mappings().first()
    if dev is None or dev["enrolled_ms"] is None:
        raise ServerError(404, "unknown_device", "server.unknown_device", device=device_id)
    if dev["revoked_ms"] is not None:
        raise ServerError(403, "revoked", "server.auth.revoked")
    p = principal_for_user(conn, dev["user_id"], device_id=dev["id"])
    return replace(p, last_seen_ms=dev["last_seen_ms"])


def touch_device(conn: Connection, device_id: str, now: int) -> None:
    """Remember when a device last synced (shown by `gridwall admin list-devices`)."""
    conn.execute(update(db.devices).where(db.devices.c.id == device_id).values(last_seen_ms=now))


def normalize_code(code: str) -> str:
    return "".join(ch for ch in str(code).upper() if ch.isalnum())


def create_enrollment(conn: Connection, user: str, ttl_hours: float = 24.0) -> tuple[str, str]:
    """A new device slot for ``user`` (id or name) and its one-time code: (device_id, code)."""
    user_id = resolve(conn, "user", user)
    if ttl_hours <= 0:
        raise ServerError(400, "bad_ttl", "server.enroll.bad_ttl")
    code = "".join(secrets.choice(ENROLL_ALPHABET) for _ in range(ENROLL_CODE_LEN))
    device_id = new_id()
    now = now_ms()
    conn.execute(
        insert(db.devices).values(
            id=device_id,
            user_id=user_id,
            created_ms=now,
            code_hash=sha256_hex(code),
            code_expires_ms=now + int(ttl_hours * 3600 * 1000),
        )
    )
    return device_id, f"{code[:4]}-{code[4:]}"


def enroll(conn: Connection, code: str, device_name: str | None = None) -> dict[str, Any]:
    """Trade a one-time code for a device id, a bearer token and the bundle secret."""
    norm = normalize_code(code)
    dev = None
    if len(norm) == ENROLL_CODE_LEN:
        dev = conn.execute(
            select(db.devices).where(db.devices.c.code_hash == sha256_hex(norm))
        ).mappings().first()
    if dev is None or dev["token_hash"] is not None:
        raise ServerError(403, "enroll_code_invalid", "server.enroll.invalid")
    now = now_ms()
    if dev["revoked_ms"] is not None:
        raise ServerError(403, "enroll_code_invalid", "server.enroll.invalid")
    if dev["code_expires_ms"] is not None and dev["code_expires_ms"] < now:
        raise ServerError(403, "enroll_code_expired", "server.enroll.expired")
    token = secrets.token_urlsafe(32)
    res = conn.execute(
        update(db.devices)
        # Conditional: of two devices racing with one code, exactly one wins.
        .where(db.devices.c.id == dev["id"], db.devices.c.token_hash.is_(None), db.devices.c.code_hash == dev["code_hash"])
        .values(
            token_hash=sha256_hex(token),
            code_hash=None,
            code_expires_ms=None,
            enrolled_ms=now,
            name=(device_name or "")[:200] or None,
        )
    )
    if res.rowcount != 1:
        raise ServerError(403, "enroll_code_invalid", "server.enroll.invalid")
    p = principal_for_user(conn, dev["user_id"], device_id=dev["id"])
    return {
        "device_id": dev["id"],
        "token": token,
        "secret": device_secret(conn, dev["id"]).hex(),
        "user": {"id": p.user_id, "name": p.name, "role": p.role},
        "scope": p.scope(),
        "server_time_ms": now,
    }


def revoke_device(conn: Connection, device_id: str) -> None:
    """Stop a device at once: its token gets 401 from now on, its code no longer works."""
    res = conn.execute(
        update(db.devices)
        .where(db.devices.c.id == device_id, db.devices.c.revoked_ms.is_(None))
        .values(revoked_ms=now_ms(), code_hash=None)
    )
    if res.rowcount == 0:
        exists = conn.execute(select(db.devices.c.id).where(db.devices.c.id == device_id)).first()
        if exists is None:
            raise ServerError(404, "unknown_device", "server.unknown_device", device=device_id)


def list_devices(conn: Connection) -> list[dict[str, Any]]:
    q = (
        select(db.devices, db.users.c.name.label("user_name"))
        .join(db.users, db.users.c.id == db.devices.c.user_id)
        .order_by(db.devices.c.created_ms)
    )
    return [dict(r) for r in conn.execute(q).mappings()]


# ---- the feed --------------------------------------------------------------------------------


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
    """Put a reference record (village, grid, category, unit, user) into the feed."""
    errors = model.validate_record(kind, dict(fields))
    if errors:
        raise ServerError(400, "invalid", "server.invalid", reason="; ".join(e.message for e in errors))
    rid = record_id or new_id()
    seq = _lock_feed(conn) + 1
    current = _load_records(conn, [rid]).get(rid)
    stamp = server_stamp()
    values = {k: v for k, v in fields.items() if v is not None}
    doc = current or {"id": rid, "kind": kind, "grid": None, "fields": {}, "stamps": {}}
    doc["fields"].update(values)
    doc["stamps"].update(dict.fromkeys(values, stamp))
    doc["seq"] = seq
    _write_records(conn, {rid: doc}, {rid} if current else set(), {rid: township}, now_ms())
    _set_feed(conn, seq)
    return rid


# ---- applying changes ------------------------------------------------------------------------


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
    from sync.merge import apply_change
    from sync.server.authz import BatchAuthz

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
        if kind == "photo":
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
    if row is None or row[0] is None or not principal.can_see_grid(row[0], row[1]):
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


def status(conn: Connection) -> dict[str, Any]:
    """Figures for watching sync health: feed head, records by kind, devices, conflicts."""
    from sqlalchemy import func

    kinds = dict(
        conn.execute(select(db.records.c.kind, func.count()).group_by(db.records.c.kind)).all()
    )
    dev = db.devices.c
    day_ago = now_ms() - 86_400_000
    return {
        "feed_seq": int(conn.execute(select(db.feed.c.seq).where(db.feed.c.id == 1)).scalar_one()),
        "records": {k: int(v) for k, v in sorted(kinds.items())},
        "devices_active": int(conn.execute(select(func.count()).where(dev.token_hash.is_not(None), dev.revoked_ms.is_(None))).scalar_one()),
        "devices_revoked": int(conn.execute(select(func.count()).where(dev.revoked_ms.is_not(None))).scalar_one()),
        "devices_seen_24h": int(conn.execute(select(func.count()).where(dev.last_seen_ms >= day_ago)).scalar_one()),
        "changes_applied": int(conn.execute(select(func.count()).select_from(db.applied_changes)).scalar_one()),
        "conflicts": int(conn.execute(select(func.count()).select_from(db.conflicts)).scalar_one()),
    }


# ---- pulling ---------------------------------------------------------------------------------


def parse_cursor(cursor: str | int | None) -> int:
    if cursor is None or cursor == "":
        return 0
    text = str(cursor)
    if not text.isdigit() or len(text) > 18:
        raise ServerError(400, "bad_cursor", "server.bad_cursor", cursor=text[:40])
    return int(text)


def _scope_lanes(p: Principal) -> list[Any] | None:
    """The caller's scope as lanes an index reads in feed order (None: everything).

    One OR over the scope made the database gather every record above the cursor from two
    indexes and sort them (327 ms for a new device's first page at 1M changes): each lane
    here is an equality prefix of an index ending in ``seq``, so a page reads at most
    ``limit`` rows per lane, at any size.
    """
    r = db.records.c
    if p.everywhere:
        return None
    shared = and_(r.township.is_(None), r.grid.is_(None))  # categories, units: everyone
    if p.role == "grid_worker":
        towns = sorted(p.townships | ({p.township} if p.township else set()))
        return ([r.grid == g for g in sorted(p.grids)]
                + [and_(r.township == t, r.grid.is_(None)) for t in towns] + [shared])
    return [r.township == p.township, shared]


def pull_raw(
    conn: Connection, principal: Principal, cursor: str | int | None, limit: int
) -> tuple[list[str], str, bool]:
    """The JSON texts of records in scope above ``cursor`` in sequence order: (docs, cursor, more)."""
    after = parse_cursor(cursor)
    # Read the head first: every record at or below it has committed (writers commit in
    # sequence order with the head), so the page never reaches past a gap.
    head = int(conn.execute(select(db.feed.c.seq).where(db.feed.c.id == 1)).scalar_one())
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
    return [r[0] for r in rows], str(after), more


def pull(
    conn: Connection, principal: Principal, cursor: str | int | None, limit: int
) -> tuple[list[dict[str, Any]], str, bool]:
    """Records in scope above ``cursor`` (each with its ``seq``), the next cursor, more?"""
    docs, nxt, more = pull_raw(conn, principal, cursor, limit)
    return [json.loads(d) for d in docs], nxt, more


# ---- organisation ----------------------------------------------------------------------------

_TABLES = {"township": db.townships, "village": db.villages, "grid": db.grids, "user": db.users}


def resolve(conn: Connection, what: str, ref: str) -> str:
    """The id of a township/village/grid/user given its id or its (unique) name."""
    table = _TABLES[what]
    rows = conn.execute(
        select(table.c.id).where(or_(table.c.id == ref, table.c.name == ref)).limit(2)
    ).all()
    if not rows:
        raise ServerError(404, f"unknown_{what}", f"server.unknown_{what}", ref=ref)
    if len(rows) > 1:
        raise ServerError(409, "ambiguous", "server.ambiguous", ref=ref)
    return rows[0][0]


def _name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise ServerError(400, "bad_name", "server.bad_name", name=name[:80])
    return name


def create_township(conn: Connection, name: str) -> str:
    name = _name(name)
    if conn.execute(select(db.townships.c.id).where(db.townships.c.name == name)).first():
        raise ServerError(409, "exists", "server.exists", name=name)
    tid = new_id()
    conn.execute(insert(db.townships).values(id=tid, name=name))
    return tid


def create_village(conn: Connection, township: str, name: str) -> str:
    name = _name(name)
    tid = resolve(conn, "township", township)
    tname = conn.execute(select(db.townships.c.name).where(db.townships.c.id == tid)).scalar_one()
    vid = new_id()
    conn.execute(insert(db.villages).values(id=vid, township=tid, name=name))
    write_reference(conn, "village", {"name": name, "township": tname}, tid, vid)
    return vid


def create_grid(conn: Connection, township: str, name: str, village: str | None = None) -> str:
    name = _name(name)
    tid = resolve(conn, "township", township)
    vid = resolve(conn, "village", village) if village else None
    gid = new_id()
    conn.execute(insert(db.grids).values(id=gid, township=tid, village=vid, name=name))
    write_reference(conn, "grid", {"name": name, "village": vid}, tid, gid)
    return gid


def create_user(
    conn: Connection,
    name: str,
    role: str,
    township: str | None = None,
    grids: Sequence[str] = (),
    phone: str | None = None,
) -> str:
    name = _name(name)
    if role not in model.ROLES:
        raise ServerError(400, "bad_role", "server.bad_role", role=role, roles=", ".join(model.ROLES))
    if phone is not None and not model.is_phone(phone):
        raise ServerError(400, "bad_phone", "server.bad_phone", phone=phone)
    if conn.execute(select(db.users.c.id).where(db.users.c.name == name)).first():
        raise ServerError(409, "exists", "server.exists", name=name)
    grid_ids = [resolve(conn, "grid", g) for g in grids]
    tid = resolve(conn, "township", township) if township else None
    if role == "grid_worker" and not grid_ids:
        raise ServerError(400, "needs_grid", "server.needs_grid")
    if role == "township_staff" and tid is None:
        raise ServerError(400, "needs_township", "server.needs_township")
    if tid is None and grid_ids:
        tid = conn.execute(select(db.grids.c.township).where(db.grids.c.id == grid_ids[0])).scalar()
    uid = new_id()
    conn.execute(insert(db.users).values(id=uid, name=name, role=role, township=tid, phone=phone))
    for g in dict.fromkeys(grid_ids):
        conn.execute(insert(db.user_grids).values(user_id=uid, grid=g))
    fields = {"name": name, "role": role, "grid": grid_ids[0] if grid_ids else None}
    write_reference(conn, "user", fields, tid, uid)
    return uid


def add_holiday(
    conn: Connection, township: str, day: str, working: bool = False, name: str | None = None
) -> str:
    """A local rest day (or make-up working day) of a township, synced to its devices as a
    ``holiday`` reference record; adding the same date again updates it."""
    tid = resolve(conn, "township", township)
    rid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"gridwall:holiday:{tid}:{day}"))  # one per township and date
    fields = {"date": day, "working": bool(working), "name": (name or "").strip() or None}
    return write_reference(conn, "holiday", fields, tid, rid)


def list_holidays(conn: Connection) -> list[dict[str, Any]]:
    """Every local holiday record, by date."""
    rows = conn.execute(select(db.records.c.doc).where(db.records.c.kind == "holiday")).all()
    out = [json.loads(r[0]) if isinstance(r[0], str) else r[0] for r in rows]
    return sorted((r["fields"] for r in out), key=lambda f: str(f.get("date")))


def list_users(conn: Connection) -> list[dict[str, Any]]:
    users = [dict(r) for r in conn.execute(select(db.users).order_by(db.users.c.name)).mappings()]
    links = conn.execute(
        select(db.user_grids.c.user_id, db.grids.c.name).join(db.grids, db.grids.c.id == db.user_grids.c.grid)
    ).all()
    for u in users:
        u["grids"] = [g for uid, g in links if uid == u["id"]]
    return users


def prepare(conn: Connection) -> None:
    """First-open set-up of a migrated database: the master key, and the reference data once."""
    master_key(conn)
    if get_setting(conn, "seeded") is None:
        seed_reference(conn)
        conn.execute(insert(db.settings).values(key="seeded", value="1"))


def seed_reference(conn: Connection) -> int:
    """Add the default categories and units (sync.reference) once; existing ones are kept.
    Their ids are the shared slugs, so devices that have not synced yet use the same ids."""
    wanted = [("category", rid, f) for rid, f in reference.category_records()]
    wanted += [("unit", rid, {"name": name}) for rid, name in reference.UNITS]
    have = set(
        conn.execute(
            select(db.records.c.id).where(db.records.c.id.in_([rid for _, rid, _ in wanted]))
        ).scalars()
    )
    added = 0
    for kind, rid, fields in wanted:
        if rid not in have:
            write_reference(conn, kind, fields, None, rid)
            added += 1
    return added
