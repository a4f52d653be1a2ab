"""What the admin does (``gridwall admin``): the organisation (townships, villages, grids,
users), enrollment codes and devices, local holidays, status figures, first-start set-up."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, or_, select, update

from sync import records as model
from sync import reference
from sync.ids import new_id
from sync.server import db, generation
from sync.server.auth import ENROLL_ALPHABET, ENROLL_CODE_LEN, get_setting, master_key, sha256_hex
from sync.server.db import now_ms
from sync.server.errors import ServerError
from sync.server.feed import write_reference


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


def status(conn: Connection) -> dict[str, Any]:
    """Figures for watching sync health: feed head, records by kind, devices, conflicts."""
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
        "feed_generation": generation.current_epoch(conn),
        "last_restore": generation.restore_summary(conn),
    }


_TABLES = {"county": db.counties, "township": db.townships, "village": db.villages, "grid": db.grids,
           "user": db.users}
# A place named with its parent: "乡镇/村", "乡镇/村/网格" or "村/网格" (a village's name is unique
# only within its township, a grid's within its village).
_PARENT = {"village": ("township", db.villages.c.township), "grid": ("village", db.grids.c.village)}


def resolve(conn: Connection, what: str, ref: str) -> str:
    """The id of a county/township/village/grid/user given its id or its name: a place with
    its parent (``乡镇/村``, ``乡镇/村/网格``), a user by login, or by display name when only one
    user bears it."""
    table = _TABLES[what]
    where = [table.c.id == ref]
    ref = ref.strip()
    if what in _PARENT and "/" in ref:
        parent_ref, _, name = ref.rpartition("/")
        parent_kind, column = _PARENT[what]
        try:
            parent = resolve(conn, parent_kind, parent_ref)
        except ServerError as exc:
            raise ServerError(404, f"unknown_{what}", f"server.unknown_{what}", ref=ref) from exc
        rows = conn.execute(select(table.c.id).where(column == parent, table.c.name == name.strip()).limit(2)).all()
    else:
        where.append(table.c.name == ref)
        rows = conn.execute(select(table.c.id).where(or_(*where)).limit(2)).all()
        if not rows and what == "user":
            rows = conn.execute(select(table.c.id).where(table.c.display_name == ref).limit(2)).all()
    if not rows:
        raise ServerError(404, f"unknown_{what}", f"server.unknown_{what}", ref=ref)
    if len(rows) > 1:
        raise ServerError(409, "ambiguous", f"server.ambiguous_{what}" if what in _PARENT else "server.ambiguous", ref=ref)
    return rows[0][0]


def _name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise ServerError(400, "bad_name", "server.bad_name", name=name[:80])
    return name


DEFAULT_COUNTY = "默认县"  # where townships made without a county go (migration 0003 too)
DEFAULT_COUNTY_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "gridwall:county:default"))


def create_county(conn: Connection, name: str) -> str:
    """A county (县): townships belong to one; its staff see all of them."""
    name = _name(name)
    if conn.execute(select(db.counties.c.id).where(db.counties.c.name == name)).first():
        raise ServerError(409, "exists", "server.exists", name=name)
    cid = new_id()
    conn.execute(insert(db.counties).values(id=cid, name=name))
    write_reference(conn, "county", {"name": name}, None, cid)
    return cid


def _county_for_new_township(conn: Connection, county: str | None) -> str:
    """The county a new township joins: the one named; else the only county there is; else
    the default county (made once)."""
    if county:
        return resolve(conn, "county", county)
    ids = conn.execute(select(db.counties.c.id).limit(2)).scalars().all()
    if len(ids) == 1:
        return ids[0]
    if ids:
        raise ServerError(400, "needs_county", "server.needs_county")
    conn.execute(insert(db.counties).values(id=DEFAULT_COUNTY_ID, name=DEFAULT_COUNTY))
    write_reference(conn, "county", {"name": DEFAULT_COUNTY}, None, DEFAULT_COUNTY_ID)
    return DEFAULT_COUNTY_ID


def create_township(conn: Connection, name: str, county: str | None = None) -> str:
    name = _name(name)
    if conn.execute(select(db.townships.c.id).where(db.townships.c.name == name)).first():
        raise ServerError(409, "exists", "server.exists", name=name)
    cid = _county_for_new_township(conn, county)
    tid = new_id()
    conn.execute(insert(db.townships).values(id=tid, name=name, county=cid))
    write_reference(conn, "township", {"name": name, "county": cid}, tid, tid)
    return tid


def create_village(conn: Connection, township: str, name: str) -> str:
    name = _name(name)
    tid = resolve(conn, "township", township)
    v = db.villages.c
    if conn.execute(select(v.id).where(v.township == tid, v.name == name)).first():
        raise ServerError(409, "exists", "server.exists_in", name=name, parent=township)
    tname = conn.execute(select(db.townships.c.name).where(db.townships.c.id == tid)).scalar_one()
    vid = new_id()
    conn.execute(insert(db.villages).values(id=vid, township=tid, name=name))
    write_reference(conn, "village", {"name": name, "township": tname, "township_id": tid}, tid, vid)
    return vid


def create_grid(conn: Connection, township: str, name: str, village: str | None = None) -> str:
    name = _name(name)
    tid = resolve(conn, "township", township)
    vid = resolve(conn, "village", village) if village else None
    g = db.grids.c
    if vid and conn.execute(select(g.id).where(g.village == vid, g.name == name)).first():
        raise ServerError(409, "exists", "server.exists_in", name=name, parent=village)
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
    login: str | None = None,
    county: str | None = None,
) -> str:
    """A user: ``name`` is what people read, ``login`` (default: the name) what they type and
    unique; two users may share a name (two 王芳) with different logins."""
    name = _name(name)
    login = _name(login) if login is not None else name
    if role not in model.ROLES:
        raise ServerError(400, "bad_role", "server.bad_role", role=role, roles=", ".join(model.ROLES))
    if phone is not None and not model.is_phone(phone):
        raise ServerError(400, "bad_phone", "server.bad_phone", phone=phone)
    if conn.execute(select(db.users.c.id).where(db.users.c.name == login)).first():
        raise ServerError(409, "exists", "server.login_exists", name=login)
    grid_ids = [resolve(conn, "grid", g) for g in grids]
    tid = resolve(conn, "township", township) if township else None
    cid = resolve(conn, "county", county) if county else None
    if role == "grid_worker" and not grid_ids:
        raise ServerError(400, "needs_grid", "server.needs_grid")
    if role == "township_staff" and tid is None:
        raise ServerError(400, "needs_township", "server.needs_township")
    if role == "county_staff" and cid is None:
        raise ServerError(400, "needs_county", "server.needs_county_staff")
    if tid is None and grid_ids:
        tid = conn.execute(select(db.grids.c.township).where(db.grids.c.id == grid_ids[0])).scalar()
    uid = new_id()
    conn.execute(insert(db.users).values(id=uid, name=login, role=role, township=tid, phone=phone,
                                         display_name=name if name != login else None, county=cid))
    for g in dict.fromkeys(grid_ids):
        conn.execute(insert(db.user_grids).values(user_id=uid, grid=g))
    fields = {"name": name, "role": role, "grid": grid_ids[0] if grid_ids else None, "login": login,
              "township": tid, "county": cid}
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
    """Every user: ``login`` (unique) and ``name`` (what people read) apart."""
    users = []
    for r in conn.execute(select(db.users).order_by(db.users.c.name)).mappings():
        u = dict(r)
        u["login"], u["name"] = u["name"], u["display_name"] or u["name"]
        users.append(u)
    links = conn.execute(
        select(db.user_grids.c.user_id, db.grids.c.name).join(db.grids, db.grids.c.id == db.user_grids.c.grid)
    ).all()
    for u in users:
        u["grids"] = [g for uid, g in links if uid == u["id"]]
    return users


def prepare(conn: Connection) -> None:
    """First-open set-up of a migrated database: the master key, and the reference data once."""
    master_key(conn)
    generation.ensure_epoch(conn, now_ms())
    if get_setting(conn, "seeded") is None:
        seed_reference(conn)
        conn.execute(insert(db.settings).values(key="seeded", value="1"))
    if get_setting(conn, "seeded_county") is None:  # databases made before the county level
        seed_county_reference(conn)
        conn.execute(insert(db.settings).values(key="seeded_county", value="1"))


def seed_county_reference(conn: Connection) -> int:
    """The default sources and appeal types, and a ``county`` / ``township`` record for every
    county and township that has none (made before the county level): once."""
    wanted = [(kind, rid, f, None) for kind in ("source", "appeal") for rid, f in reference.ordered_records(kind)]
    wanted += [("county", cid, {"name": name}, None)
               for cid, name in conn.execute(select(db.counties.c.id, db.counties.c.name))]
    wanted += [("township", tid, {"name": name, "county": county}, tid)
               for tid, name, county in conn.execute(
                   select(db.townships.c.id, db.townships.c.name, db.townships.c.county))]
    have = set(conn.execute(select(db.records.c.id).where(
        db.records.c.id.in_([rid for _, rid, _, _ in wanted]))).scalars())
    added = 0
    for kind, rid, fields, town in wanted:
        if rid not in have:
            write_reference(conn, kind, fields, town, rid)
            added += 1
    return added


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

