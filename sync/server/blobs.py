"""Content-addressed blob storage (photos) behind a small interface.

``FsBlobStore`` keeps complete blobs under ``root/<aa>/<sha256>``, uploads in progress under
``root/partial/`` (kept for days so a phone can resume after a long break) and thumbnails under
``root/thumbs/``. An S3-compatible store can implement ``BlobStore`` the same way (multipart
upload for the partials, a bucket prefix for thumbnails).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from sync.records import is_sha256


class OffsetMismatch(Exception):
    """A chunk that does not start where the held bytes end; ``offset`` is where it should."""

    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


class HashMismatch(Exception):
    """The assembled bytes do not hash to the blob's name; the partial upload is dropped."""


class BlobStore(Protocol):
    def has(self, sha256: str) -> bool: ...

    def size_of_partial(self, sha256: str) -> tuple[int, int | None]:
        """(bytes held, declared total or None) of an upload in progress; (0, None) if none."""
        ...

    def write_chunk(self, sha256: str, offset: int, data: bytes, total: int) -> int:
        """Append ``data`` at ``offset`` (raises OffsetMismatch); returns the new offset."""
        ...

    def finish(self, sha256: str) -> None:
        """Verify the whole hash (raises HashMismatch) and make the blob readable."""
        ...

    def open(self, sha256: str) -> BinaryIO: ...

    def delete_partial(self, sha256: str) -> None: ...

    def thumbnail(self, sha256: str) -> bytes | None:
        """A small JPEG of an image blob, or None when the blob is not an image."""
        ...

    def cleanup_partials(self, older_than_days: float) -> int: ...


class FsBlobStore:
    """Blobs as files; writes are atomic (temp file + rename) and fsynced."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.partial = self.root / "partial"
        self.thumbs = self.root / "thumbs"
        for d in (self.root, self.partial, self.thumbs):
            d.mkdir(parents=True, exist_ok=True)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, sha: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(sha, threading.Lock())

    def _path(self, sha: str) -> Path:
        return self.root / sha[:2] / sha

    def _part(self, sha: str) -> tuple[Path, Path]:
        return self.partial / f"{sha}.part", self.partial / f"{sha}.size"

    def has(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def size_of_partial(self, sha256: str) -> tuple[int, int | None]:
        part, size = self._part(sha256)
        if not part.exists():
            return 0, None
        total = int(size.read_text()) if size.exists() else None
        return part.stat().st_size, total

    def write_chunk(self, sha256: str, offset: int, data: bytes, total: int) -> int:
        with self._lock(sha256):
            part, size = self._part(sha256)
            held = part.stat().st_size if part.exists() else 0
            if offset != held:
                raise OffsetMismatch(held)
            if not size.exists() or held == 0:
                size.write_text(str(total))
            with open(part, "ab") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            return held + len(data)

    def finish(self, sha256: str) -> None:
        with self._lock(sha256):
            part, size = self._part(sha256)
            h = hashlib.sha256()
            with open(part, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            if h.hexdigest() != sha256:
                part.unlink(missing_ok=True)
                size.unlink(missing_ok=True)
                raise HashMismatch(sha256)
            dest = self._path(sha256)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, dest)
            size.unlink(missing_ok=True)

    def open(self, sha256: str) -> BinaryIO:
        return open(self._path(sha256), "rb")

    def delete_partial(self, sha256: str) -> None:
        for p in self._part(sha256):
            p.unlink(missing_ok=True)

    def thumbnail(self, sha256: str) -> bytes | None:
        cached = self.thumbs / f"{sha256}.jpg"
        if cached.exists():
            return cached.read_bytes()
        data = make_thumbnail(self._path(sha256).read_bytes())
        if data is None:
            return None
        tmp = cached.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, cached)
        return data

    def cleanup_partials(self, older_than_days: float) -> int:
        """Drop uploads untouched for that many days; returns how many were dropped."""
        cutoff = time.time() - older_than_days * 86400
        dropped = 0
        for part in self.partial.glob("*.part"):
            if part.stat().st_mtime < cutoff:
                self.delete_partial(part.stem)
                dropped += 1
        return dropped

    def iter_blobs(self) -> Iterator[str]:
        for p in self.root.glob("??/*"):
            if is_sha256(p.name):
                yield p.name


def make_thumbnail(data: bytes) -> bytes | None:
    """The shared photo pipeline's thumbnail (sync.photos, as on the device); None for
    anything not an image."""
    from sync.photos import make_thumbnail as shared  # Pillow: loaded only for thumbnails

    try:
        return shared(data)
    except Exception:  # noqa: BLE001 - not an image, truncated, bomb: no thumbnail, never a 500
        return None
