"""Feed generations: a restore from backup starts a new one, and devices notice.

The change feed is numbered by a sequence that a restore sets back. A device whose cursor is
past the restored head would skip the next records written, and a device whose acknowledged
changes were written after the backup would never send them again. So the feed has a
generation (``epoch``, a short random id in ``settings``) and every cursor the server hands
out is ``"<epoch>:<seq>"``. A request whose cursor names another generation is answered
``409 generation_changed`` with the current ``epoch``, before anything is written: the device
then pulls from the start and offers again what it recorded (docs/protocol.md).

A new generation starts when

- ``gridwall admin restore`` restores a backup;
- the server opens a database that still carries the mark ``gridwall admin backup`` puts in
  every backup copy (a SQLite backup copied back by hand);
- a device shows a cursor of the current generation past the feed head: only a feed that
  went back (a restore by other means) makes that possible.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update

from sync.server import db
from sync.server.errors import ServerError

EPOCH_KEY = "feed_epoch"
RESTORED_KEY = "restored"  # the last restore: {"at_ms", "epoch", "previous", "source", "backup"}
BACKUP_MARK_KEY = "backup_of"  # only in backup copies: {"taken_ms", "epoch", "feed_seq"}
log = logging.getLogger("gridwall.server")


def _get(conn: Connection, key: str) -> str | None:
    return conn.execute(select(db.settings.c.value).where(db.settings.c.key == key)).scalar_one_or_none()


def _put(conn: Connection, key: str, value: str) -> None:
    if _get(conn, key) is None:
        conn.execute(insert(db.settings).values(key=key, value=value))
    else:
        conn.execute(update(db.settings).where(db.settings.c.key == key).values(value=value))


def current_epoch(conn: Connection) -> str:
    """The feed generation ("" on a database not prepared yet: legacy cursors only)."""
    return _get(conn, EPOCH_KEY) or ""


def feed_head(conn: Connection) -> int:
    return int(conn.execute(select(db.feed.c.seq).where(db.feed.c.id == 1)).scalar_one())


def last_restore(conn: Connection) -> dict[str, Any] | None:
    raw = _get(conn, RESTORED_KEY)
    return json.loads(raw) if raw else None


def restore_summary(conn: Connection) -> str:
    """One line about the last restore for `gridwall admin status` ("-" when there was none)."""
    info = last_restore(conn)
    if not info:
        return "-"
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(info["at_ms"] / 1000))
    return f"{when} {info.get('source') or ''} (feed {info.get('feed_seq')}, generation {info.get('epoch')})"


def new_generation(conn: Connection, source: str, now_ms: int) -> dict[str, Any]:
    """Start a new feed generation (in the caller's transaction) and record why."""
    previous = current_epoch(conn)
    epoch = secrets.token_hex(4)
    mark = _get(conn, BACKUP_MARK_KEY)
    head = feed_head(conn)
    # The backup's own mark (SQLite) or what the database holds now (a pg_restore'd dump).
    backup = json.loads(mark) if mark else {"epoch": previous or None, "feed_seq": head}
    info = {"at_ms": now_ms, "epoch": epoch, "previous": previous or None, "source": source,
            "backup": backup, "feed_seq": head}
    _put(conn, EPOCH_KEY, epoch)
    _put(conn, RESTORED_KEY, json.dumps(info, ensure_ascii=False))
    conn.execute(delete(db.settings).where(db.settings.c.key == BACKUP_MARK_KEY))
    log.warning(
        "feed generation %s started (%s; feed head %s, previous generation %s): devices will pull "
        "again from the start and offer again what they recorded", epoch, source, info["feed_seq"], previous or "-",
    )
    return info


def ensure_epoch(conn: Connection, now_ms: int) -> None:
    """At open: give the feed a generation; a backup copy opened as the live database starts a new one."""
    if _get(conn, BACKUP_MARK_KEY) is not None:
        new_generation(conn, "backup copy opened as the live database", now_ms)
    elif _get(conn, EPOCH_KEY) is None:
        _put(conn, EPOCH_KEY, secrets.token_hex(4))


def mark_backup(conn: Connection, now_ms: int) -> dict[str, Any]:
    """Put the backup mark into a backup copy (never into the live database)."""
    info = {"taken_ms": now_ms, "epoch": current_epoch(conn) or None, "feed_seq": feed_head(conn)}
    _put(conn, BACKUP_MARK_KEY, json.dumps(info))
    return info


# ---- cursors -----------------------------------------------------------------------------------


def split_cursor(cursor: str | int | None) -> tuple[str | None, str]:
    """``"<epoch>:<seq>"`` -> (epoch, "seq"); a bare number (older clients) has no epoch."""
    text = "" if cursor is None else str(cursor)
    if ":" in text:
        epoch, _, seq = text.partition(":")
        return epoch, seq
    return None, text


def make_cursor(epoch: str, seq: int | str) -> str:
    return f"{epoch}:{seq}" if epoch else str(seq)


def check_cursor(engine: Engine, cursor: str | int | None, now_ms: int, device: str | None = None) -> None:
    """Refuse (409) a cursor of another generation, before the request writes anything.

    A cursor of this generation past the feed head means the feed went back without
    ``gridwall admin restore``: a new generation starts, and the device is told so too."""
    epoch, seq = split_cursor(cursor)
    if epoch is None:
        return  # an older client: it cannot notice a restore (docs/protocol.md)
    with db.read_tx(engine) as conn:
        current = current_epoch(conn)
        behind = epoch == current and seq.isdigit() and int(seq) > feed_head(conn)
    if epoch != current or behind:
        if behind:
            with db.write_tx(engine) as conn:
                if current_epoch(conn) == current:  # nobody else started one meanwhile
                    current = new_generation(conn, "a device's cursor was past the feed head", now_ms)["epoch"]
                else:
                    current = current_epoch(conn)
        log.warning("device %s was on feed generation %s (now %s): told to pull again from the start "
                    "and offer again what it kept", device or "-", epoch, current)
        err = ServerError(409, "generation_changed", "server.generation_changed")
        err.extra["epoch"] = current
        raise err
