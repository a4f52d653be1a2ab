"""Several statements of one transaction in one round trip to PostgreSQL.

``apply_changes`` ends every batch with a handful of executemany writes (records, idempotence
rows, conflicts, photo references, the feed head). Through SQLAlchemy each of them waits for
the server about three times (psycopg's executemany syncs its own pipeline), so a 100-change
batch spent more time waiting on loopback than applying. On psycopg they go here into one
pipeline, which the server answers once; elsewhere (SQLite, in process) they run one by one.
The reads a batch needs before it can be judged (stored records, change ids already applied,
what authorization looks up) go the same way with ``run_reads``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Executable


def _pipelined(conn: Connection) -> bool:
    return conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg"


_compiled: dict[tuple[Any, ...], Any] = {}


def _compile(conn: Connection, stmt: Executable, keys: tuple[str, ...], **kw: Any) -> Any:
    """The statement compiled for this dialect; kept for statements made once (the batch's
    inserts and updates): compiling each time was a tenth of a batch's time in Python."""
    key = (stmt, keys, conn.dialect.name)
    found = _compiled.get(key)
    if found is None:
        found = stmt.compile(dialect=conn.dialect, column_keys=list(keys), **kw)
        if len(_compiled) > 256:  # statements made per call would only fill it
            _compiled.clear()
        _compiled[key] = found
    return found


def run_reads(conn: Connection, queries: Sequence[Select[Any]]) -> list[list[tuple[Any, ...]]]:
    """The rows of each query (plain tuples), in the caller's transaction."""
    if not _pipelined(conn):
        return [[tuple(r) for r in conn.execute(q)] for q in queries]
    import psycopg

    raw = conn.connection.driver_connection
    sql = ""
    try:
        cursors = []
        with raw.pipeline():
            for q in queries:
                # IN lists put their values into the text: compiled each time
                compiled = q.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
                sql = str(compiled)
                cur = raw.cursor()
                cur.execute(sql, compiled.params)
                cursors.append(cur)
        out = [cur.fetchall() for cur in cursors]
        for cur in cursors:
            cur.close()
        return out
    except psycopg.Error as e:
        raise DBAPIError.instance(sql, None, e, psycopg.Error) from e


def run_writes(conn: Connection, writes: Sequence[tuple[Executable, Sequence[Mapping[str, Any]]]]) -> None:
    """Execute each (statement, parameter rows) in order, in the caller's transaction; a
    statement without rows is skipped."""
    writes = [(stmt, rows) for stmt, rows in writes if rows]
    if not _pipelined(conn):
        for stmt, rows in writes:
            conn.execute(stmt, list(rows))
        return
    import psycopg

    raw = conn.connection.driver_connection
    sql = ""
    try:
        with raw.pipeline(), raw.cursor() as cur:
            for stmt, rows in writes:
                compiled = _compile(conn, stmt, tuple(rows[0]), for_executemany=True)
                sql = str(compiled)
                cur.executemany(sql, [compiled.construct_params(dict(r)) for r in rows])
    except psycopg.Error as e:  # the same errors as through SQLAlchemy (the API handles them)
        raise DBAPIError.instance(sql, None, e, psycopg.Error) from e
