"""``gridwall admin backup`` and ``gridwall admin restore`` (docs/operations.md).

SQLite: SQLite's online backup API copies a consistent snapshot while the server runs; the
copy carries a backup mark (sync.server.generation) and is one self-contained file.
PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean`` (the client tools of the
server's major version must be on PATH).

A restore always starts a new feed generation, so devices pull again from the start and offer
again what they recorded since the backup. The database as it was before the restore is kept
beside the backup file (``<backup>.before-restore-<time>``): a restore loses nothing either.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

from sync.fileio import fsync_dir
from sync.server import db, generation
from sync.server.errors import ServerError


def _now_ms() -> int:
    return int(time.time() * 1000)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for another database)."""
    if not url.startswith("sqlite"):
        return None
    return Path(url.split("///", 1)[-1])


def libpq_url(url: str) -> str:
    """A SQLAlchemy PostgreSQL URL as pg_dump/pg_restore take it."""
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise ServerError(400, "no_tool", "server.backup.no_tool", tool=name)
    return found


def _run(cmd: list[str]) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        err = (res.stderr or res.stdout or "").strip().splitlines()
        raise ServerError(400, "tool_failed", "server.backup.tool_failed", tool=Path(cmd[0]).name,
                          error=err[-1] if err else res.returncode)


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def _sqlite_copy(src: Path, dst: Path) -> None:
    """src -> dst with SQLite's online backup API (a consistent snapshot, server may run)."""
    a = sqlite3.connect(src)
    b = sqlite3.connect(dst)
    try:
        with b:
            a.backup(b)
    finally:
        a.close()
        b.close()


def _check_sqlite_backup(path: Path) -> None:
    """A readable gridwall database, or a one-line refusal (nothing is touched)."""
    try:
        with open(path, "rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                raise ServerError(400, "bad_backup", "server.backup.not_backup", path=path)
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            ok = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
    except (OSError, sqlite3.Error):
        raise ServerError(400, "bad_backup", "server.backup.not_backup", path=path) from None
    if not {"settings", "feed", "records"} <= names or ok != "ok":
        raise ServerError(400, "bad_backup", "server.backup.not_backup", path=path)


def backup(url: str, out: Path) -> dict[str, Any]:
    """Write a backup of the database at ``url`` to ``out``: {"path", "feed_seq", "epoch", "taken_ms", "bytes"}."""
    out = Path(out)
    if out.exists():
        raise ServerError(400, "exists", "server.backup.exists", path=out)
    if not out.parent.is_dir():
        raise ServerError(400, "no_folder", "server.backup.no_folder", path=out.parent)
    live = sqlite_path(url)
    if live is None:
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(out), libpq_url(url)])
        os.chmod(out, 0o600)
        engine = db.make_engine(url)
        try:
            with db.read_tx(engine) as conn:
                info = {"taken_ms": _now_ms(), "epoch": generation.current_epoch(conn),
                        "feed_seq": generation.feed_head(conn)}
        finally:
            engine.dispose()
        return {"path": str(out), "bytes": out.stat().st_size, **info}
    if not live.exists():
        raise ServerError(400, "no_db", "server.backup.no_db", path=live)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        _sqlite_copy(live, tmp)
        engine = create_engine(f"sqlite:///{tmp}")
        try:
            with engine.begin() as conn:
                info = generation.mark_backup(conn, _now_ms())
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            engine.dispose()
        os.chmod(tmp, 0o600)  # a backup holds the master key: the operator's eyes only
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, out)
        fsync_dir(out.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return {"path": str(out), "bytes": out.stat().st_size, **info}


def restore(url: str, src: Path) -> dict[str, Any]:
    """Restore the backup ``src`` into the database at ``url`` and start a new feed generation.

    Returns the generation info (sync.server.generation.new_generation) with ``"kept"``: where
    the database as it was before is kept."""
    src = Path(src)
    if not src.is_file():
        raise ServerError(400, "no_backup", "server.backup.no_backup", path=src)
    kept = src.with_name(f"{src.name}.before-restore-{_stamp()}")
    live = sqlite_path(url)
    if live is None:
        _run([_tool("pg_restore"), "--list", str(src)])  # a readable dump, before anything changes
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(kept), libpq_url(url)])
        os.chmod(kept, 0o600)
        _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
              "--dbname", libpq_url(url), str(src)])
        return _new_generation(url, src, kept)
    _check_sqlite_backup(src)
    # Rebuild in a temp copy first (schema brought up to date, new generation), then copy it
    # over the live database in one backup step: a server that runs never sees a half restore.
    live.parent.mkdir(parents=True, exist_ok=True)
    tmp = live.with_name(f".{live.name}.restore-tmp")
    tmp.unlink(missing_ok=True)
    try:
        if live.exists():
            _sqlite_copy(live, kept)
            os.chmod(kept, 0o600)
        _sqlite_copy(src, tmp)
        info = _new_generation(f"sqlite:///{tmp}", src, kept if live.exists() else None)
        _sqlite_copy(tmp, live)
    finally:
        for p in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm")):
            p.unlink(missing_ok=True)
    return info


def _new_generation(url: str, src: Path, kept: Path | None) -> dict[str, Any]:
    engine = db.make_engine(url)
    try:
        db.migrate(engine)  # a backup from an older version gets the current schema
        with db.write_tx(engine) as conn:
            info = generation.new_generation(conn, f"restored from {src.name}", _now_ms())
    finally:
        engine.dispose()
    return {**info, "kept": str(kept) if kept else None}
