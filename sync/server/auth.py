"""Who is asking: principals, the master key and device secrets, bearer tokens, and a device
trading its one-time enrollment code for a token (no HTTP here; ``sync.server.http`` wraps it)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Connection, insert, select, update

from sync.server import db
from sync.server.db import now_ms
from sync.server.errors import ServerError

ENROLL_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read out over the phone


ENROLL_CODE_LEN = 8


SERVER_ACTOR = "server"


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
    county: str | None = None
    county_townships: frozenset[str] = frozenset()  # every township of ``county``
    # What the principal sees follows from these facts in one place: sync.server.authz.scope_of.

    @property
    def everywhere(self) -> bool:
        return self.role in ("admin", "operator") and self.township is None and self.county is None

    def scope(self) -> dict[str, Any]:
        return {"township": self.township, "grids": sorted(self.grids), "county": self.county,
                "townships": sorted(self.county_townships)}


def sha256_hex(text: str) -> str:
    """How tokens and enrollment codes are kept: only their hash is stored."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
    county_towns: frozenset[str] = frozenset()
    if user["county"] is not None:
        county_towns = frozenset(conn.execute(
            select(db.townships.c.id).where(db.townships.c.county == user["county"])).scalars())
    return Principal(
        user_id=user["id"],
        role=user["role"],
        name=user["display_name"] or user["name"],
        township=user["township"],
        grids=frozenset(r[0] for r in rows),
        townships=frozenset(r[1] for r in rows),
        device_id=device_id,
        county=user["county"],
        county_townships=county_towns,
    )


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

