"""The server's side of the publish guard: a ``publish`` event whose public wording fails
``sync.public_guard`` is refused, whoever sends it (the app, the API, a bundle), with the
guard's one-line reason. The guard knows every registered person of the issue's village (the
households of the village's grids: heads, members, addresses) and the issue's reporter."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, func, or_, select

from sync.public_guard import People, refusal
from sync.server import db


def village_people(
    conn: Connection, grid: str, reporter: str | None = None, household: str | None = None,
    contact: str | None = None,
) -> People:
    """The guard's knowledge of the village that ``grid`` belongs to (and of the issue's
    linked household and reporter, wherever they are registered, and the resident who raised
    it by another channel)."""
    village = conn.execute(select(db.grids.c.village).where(db.grids.c.id == grid)).scalar()
    grids = [grid]
    if village is not None:
        grids = list(conn.execute(select(db.grids.c.id).where(db.grids.c.village == village)).scalars())
    where = db.records.c.grid.in_(grids)
    if household:
        where = or_(where, db.records.c.id == household)
    docs = conn.execute(select(db.records.c.doc).where(db.records.c.kind == "household", where)).scalars()
    extra = [contact] if contact else []
    if reporter:  # the name people read (the login is users.name)
        name = conn.execute(select(func.coalesce(db.users.c.display_name, db.users.c.name))
                            .where(db.users.c.id == reporter)).scalar()
        extra += [name] if name else []
    return People.from_records((json.loads(d) for d in docs), extra)


def publish_refusal(
    conn: Connection, change: Mapping[str, Any], current: Mapping[str, Any] | None, lang: str | None = None
) -> str | None:
    """None unless ``change`` creates a publish event whose wording fails the guard."""
    fields = change.get("fields") or {}
    if change.get("kind") != "issue_event" or current is not None or fields.get("type") != "publish":
        return None
    data = fields.get("data") if isinstance(fields.get("data"), Mapping) else {}
    issue = conn.execute(select(db.records.c.doc).where(db.records.c.id == str(fields.get("issue") or ""))).scalar()
    ifields = (json.loads(issue).get("fields") or {}) if issue else {}
    reporter, household = ifields.get("reporter"), ifields.get("household")
    people = village_people(conn, str(change.get("grid") or ""), str(reporter) if reporter else None,
                            str(household) if household else None, str(ifields.get("contact_name") or "") or None)
    return refusal(str(data.get("public_title") or ""), str(data.get("public_text") or ""), people, lang)
