"""Atomic file writes and the TinyDB storage the device store reads and writes through.

Every file of the store is a TinyDB JSON document (``{"table": {"doc id": {...}}}``) written
atomically: temp file in the same folder, flush, fsync, ``os.replace``, fsync the folder. A
kill at any moment leaves either the old file or the new one, never a torn one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from tinydb import Storage, TinyDB
from tinydb.table import Table

from app.store import codec
from sync.fileio import TMP_SUFFIX, atomic_write_bytes, fsync_dir  # noqa: F401 - re-exported for the store


class DamagedFile(Exception):
    """A store file that exists but cannot be read as a TinyDB JSON document."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path.name}: {reason}")
        self.path = path
        self.reason = reason


def remove_durably(path: Path) -> None:
    """Delete a file and make the deletion durable (missing is fine)."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    fsync_dir(path.parent)


def append_line(path: Path, line: bytes) -> None:
    """Append one journal line and make it durable (one fsync; the folder too if new)."""
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        fsync_dir(path.parent)


def read_journal(path: Path) -> list[dict]:
    """The entries of an append-only journal (one JSON object a line).

    A bad last line is a write that was killed before it returned (nobody was told it was
    saved): it is ignored. A bad line anywhere else means the file was damaged.
    """
    lines = path.read_bytes().split(b"\n")
    out = []
    for i, line in enumerate(lines):
        if not line:
            continue
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict):
                raise ValueError("not an object")
        except (UnicodeDecodeError, ValueError) as exc:
            if i == len(lines) - 1:  # no newline after it: an append that was cut short
                break
            raise DamagedFile(path, f"line {i + 1} is not valid ({exc})") from None
        out.append(entry)
    return out


def dumps(data: Any) -> bytes:
    # Compact separators and the C encoder: this is the hot path of every save.
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class AtomicJSONStorage(Storage):
    """A TinyDB storage whose every write is atomic and durable.

    ``read`` raises :class:`DamagedFile` for a file that is not a JSON object of tables
    (TinyDB's own JSONStorage would raise a bare ``JSONDecodeError`` or return garbage).
    """

    def __init__(self, path: str | Path, sync_dir: bool = True, **_: Any) -> None:
        self.path = Path(path)
        self.sync_dir = sync_dir

    def read(self) -> dict[str, dict[str, Any]] | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        if not raw:
            raise DamagedFile(self.path, "empty file")
        try:
            data = codec.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DamagedFile(self.path, f"not valid JSON ({exc})") from None
        if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
            raise DamagedFile(self.path, "not a TinyDB document (object of tables)")
        return data

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        atomic_write_bytes(self.path, dumps(data), self.sync_dir)


class StrIdTable(Table):
    """Our documents are keyed by UUIDv7 strings, not TinyDB's integer ids."""

    document_id_class = str


class StoreTinyDB(TinyDB):
    table_class = StrIdTable


def tinydb_view(path: str | Path) -> TinyDB:
    """Open one store file with TinyDB (for inspection and repair by hand; atomic writes)."""
    return StoreTinyDB(Path(path), storage=AtomicJSONStorage)
