"""Tables, engines and migrations of the server store (SQLAlchemy 2 Core).

One code path for SQLite (WAL, busy timeout, foreign keys, ``BEGIN IMMEDIATE`` for writes so
writers queue instead of failing) and PostgreSQL (psycopg 3). The schema is created by Alembic
migrations (``sync/server/migrations``); ``metadata`` here mirrors it for queries and a test
checks the two agree.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Engine,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)

metadata = MetaData()

settings = Table(
    "settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# The single counter row of the change feed; its row lock orders writers (see store.py).
feed = Table(
    "feed",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("seq", BigInteger, nullable=False),
)

counties = Table(
    "counties",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
)

townships = Table(
    "townships",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    # set for every township (migration 0003 puts older ones in a default county)
    Column("county", String(36), nullable=True),  # a counties.id (migration 0003: no FK)
)

villages = Table(
    "villages",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("township", String(36), ForeignKey("townships.id"), nullable=False),
    Column("name", String(200), nullable=False),
)

grids = Table(
    "grids",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("township", String(36), ForeignKey("townships.id"), nullable=False),
    Column("village", String(36), ForeignKey("villages.id"), nullable=True),
    Column("name", String(200), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", String(36), primary_key=True),
    # ``name`` is the login (unique, what people type); ``display_name`` what people read
    # (not unique: two 王芳 in one county); NULL: the same as the login (older users)
    Column("name", String(200), nullable=False, unique=True),
    Column("role", String(32), nullable=False),
    Column("township", String(36), ForeignKey("townships.id"), nullable=True),
    Column("phone", String(64), nullable=True),
    Column("display_name", String(200), nullable=True),
    Column("county", String(36), nullable=True),  # a counties.id (migration 0003: no FK)
)

user_grids = Table(
    "user_grids",
    metadata,
    Column("user_id", String(36), ForeignKey("users.id"), primary_key=True),
    Column("grid", String(36), ForeignKey("grids.id"), primary_key=True),
)

devices = Table(
    "devices",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), ForeignKey("users.id"), nullable=False),
    Column("name", String(200), nullable=True),
    Column("token_hash", String(64), nullable=True, unique=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("enrolled_ms", BigInteger, nullable=True),
    Column("revoked_ms", BigInteger, nullable=True),
    Column("last_seen_ms", BigInteger, nullable=True),
    # One-time enrollment code, hashed; cleared when used.
    Column("code_hash", String(64), nullable=True, unique=True),
    Column("code_expires_ms", BigInteger, nullable=True),
)

# Every record (field data and reference data) as its full merged document.
records = Table(
    "records",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("grid", String(36), nullable=True),
    Column("township", String(36), nullable=True),
    Column("doc", Text, nullable=False),
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("updated_ms", BigInteger, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
)
Index("ix_records_grid_seq", records.c.grid, records.c.seq)
Index("ix_records_township_seq", records.c.township, records.c.seq)
# a township's own reference records (grid NULL) and the shared ones, in feed order
Index("ix_records_township_grid_seq", records.c.township, records.c.grid, records.c.seq)

# Idempotence: a change_id is applied once.
applied_changes = Table(
    "applied_changes",
    metadata,
    Column("change_id", String(36), primary_key=True),
    Column("record_id", String(36), nullable=False),
    Column("device", String(36), nullable=True),
    Column("user_id", String(36), nullable=True),
    Column("seq", BigInteger, nullable=True),
    Column("applied_ms", BigInteger, nullable=False),
    Column("clamped", Boolean, nullable=False, default=False),
)

# Grow-only conflict log: the value that lost, kept with its stamp.
conflicts = Table(
    "conflicts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("record_id", String(36), nullable=False, index=True),
    Column("field", String(200), nullable=False),
    Column("reason", String(32), nullable=False),
    Column("kept_value", Text, nullable=True),
    Column("kept_stamp", String(120), nullable=True),
    Column("lost_value", Text, nullable=True),
    Column("lost_stamp", String(120), nullable=True),
    Column("change_id", String(36), nullable=True),
    Column("device", String(36), nullable=True),
    Column("created_ms", BigInteger, nullable=False),
)

# Which blob each photo record references, so downloads can be limited to the reader's scope.
blob_refs = Table(
    "blob_refs",
    metadata,
    Column("sha256", String(64), primary_key=True),
    Column("record_id", String(36), primary_key=True),
    Column("grid", String(36), nullable=True),
    Column("township", String(36), nullable=True),
)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        # Let SQLAlchemy's begin event issue BEGIN itself (pysqlite's own handling is wrong).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        # 64 MB of page cache (the default is 2 MB): a county's feed indexes stay in memory
        cur.execute("PRAGMA cache_size=-65536")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:  # type: ignore[no-untyped-def]
        # Writers take the write lock at BEGIN, so two writers never deadlock on upgrade.
        if conn.get_execution_options().get("readonly"):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """An engine for a SQLite or PostgreSQL URL, set up for concurrent use."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, pool_size=20, max_overflow=20, pool_timeout=60)
        _sqlite_setup(engine)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url, pool_size=10, max_overflow=30, pool_timeout=60, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (Alembic, run in-process)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@contextlib.contextmanager
def read_tx(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction: on SQLite a plain BEGIN, so readers never take the write lock."""
    with engine.connect().execution_options(readonly=True) as conn, conn.begin():
        yield conn


_write_locks: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()


@contextlib.contextmanager
def write_tx(engine: Engine) -> Iterator[Connection]:
    """A write transaction. On SQLite, writers of this process first queue on a lock: waiting
    on SQLite's busy handler (sleep and retry) is unfair and makes the latency tail long;
    PostgreSQL queues them fairly on the feed row lock itself."""
    if engine.dialect.name == "sqlite":
        lock = _write_locks.setdefault(engine, threading.Lock())
        with lock, engine.begin() as conn:
            yield conn
    else:
        with engine.begin() as conn:
            yield conn


# ---- what every server module shares -------------------------------------------------------


def now_ms() -> int:
    return int(time.time() * 1000)


def dumps(obj: Any) -> str:
    """Compact JSON as stored and sent (UTF-8, Chinese kept as is)."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
