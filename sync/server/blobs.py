"""Content-addressed blob storage (photos) behind a small interface.

``FsBlobStore`` keeps complete photos under ``root/<aa>/<sha256>``, uploads in progress under
``root/partial/`` (kept for days so a phone can resume after a long break), operators' uploaded
bundles under ``root/bundles/`` (kept for days, then cleaned), thumbnails under
``root/thumbs/``, the public re-encodings of published photos under ``root/public/`` and what
each device has stored (its quota) under ``root/quota/``. An S3-compatible store can implement
``BlobStore`` the same way (multipart upload for the partials, bucket prefixes for the rest).

What a finished upload is (a photo that passed the pipeline's checks, or an operator's
bundle) is decided by the caller's ``check`` (sync.server.blob_policy); a refused upload is
dropped.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from sync.hashes import is_sha256


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

    def finish(self, sha256: str, check: Callable[[bytes], str] | None = None) -> str:
        """Verify the whole hash (raises HashMismatch), ask ``check`` what the bytes are
        ("photo" or "bundle"; it raises to refuse, and the partial is dropped) and make the
        blob readable there. Returns the area."""
        ...

    def open(self, sha256: str) -> BinaryIO: ...

    def has_bundle(self, sha256: str) -> bool: ...

    def open_bundle(self, sha256: str) -> BinaryIO: ...

    def delete_partial(self, sha256: str) -> None: ...

    def thumbnail(self, sha256: str) -> bytes | None:
        """A small JPEG of a photo, or None when the blob is not one."""
        ...

    def public_image(self, sha256: str) -> bytes | None:
        """The photo rebuilt from its pixels (no metadata), or None when it is not one."""
        ...

    def usage(self, device: str) -> int: ...

    def charge(self, device: str, sha256: str, size: int) -> None: ...

    def cleanup_partials(self, older_than_days: float) -> int: ...

    def cleanup_bundles(self, older_than_days: float) -> int: ...


class FsBlobStore:
    """Blobs as files; writes are atomic (temp file + rename) and fsynced."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.partial = self.root / "partial"
        self.thumbs = self.root / "thumbs"
        self.bundles = self.root / "bundles"
        self.public = self.root / "public"
        self.quota = self.root / "quota"
        for d in (self.root, self.partial, self.thumbs, self.bundles, self.public, self.quota):
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

    def finish(self, sha256: str, check: Callable[[bytes], str] | None = None) -> str:
        with self._lock(sha256):
            part, size = self._part(sha256)
            data = part.read_bytes()  # bounded by the upload limits; the check needs the bytes
            if hashlib.sha256(data).hexdigest() != sha256:
                self.delete_partial(sha256)
                raise HashMismatch(sha256)
            try:
                area = check(data) if check else "photo"
            except Exception:
                self.delete_partial(sha256)
                raise
            dest = self.bundles / sha256 if area == "bundle" else self._path(sha256)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, dest)
            size.unlink(missing_ok=True)
            return area

    def open(self, sha256: str) -> BinaryIO:
        return open(self._path(sha256), "rb")

    def has_bundle(self, sha256: str) -> bool:
        return (self.bundles / sha256).is_file()

    def open_bundle(self, sha256: str) -> BinaryIO:
        return open(self.bundles / sha256, "rb")

    def delete_partial(self, sha256: str) -> None:
        for p in self._part(sha256):
            p.unlink(missing_ok=True)

    def thumbnail(self, sha256: str) -> bytes | None:
        return self._derived(self.thumbs / f"{sha256}.jpg", sha256, make_thumbnail)

    def public_image(self, sha256: str) -> bytes | None:
        return self._derived(self.public / f"{sha256}.jpg", sha256, make_public_image)

    def _derived(self, cached: Path, sha256: str, make: Callable[[bytes], bytes | None]) -> bytes | None:
        """A cached derivative of a photo. A blob that gives none is remembered (``.none``),
        so a broken or hostile file is decoded once, not on every request."""
        if cached.exists():
            return cached.read_bytes()
        refused = cached.with_suffix(".none")
        if refused.exists() or not self.has(sha256):
            return None
        data = make(self._path(sha256).read_bytes())
        tmp = cached.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_bytes(data if data is not None else b"")
        os.replace(tmp, cached if data is not None else refused)
        return data

    def _quota_file(self, device: str) -> Path:
        return self.quota / hashlib.sha256(device.encode("utf-8")).hexdigest()

    def usage(self, device: str) -> int:
        """Bytes of photos this device has stored here (each photo counted once)."""
        try:
            words = self._quota_file(device).read_text().split()
        except OSError:
            return 0
        sizes = dict(zip(words[::2], words[1::2], strict=False))
        return sum(int(n) for n in sizes.values() if n.isdigit())

    def charge(self, device: str, sha256: str, size: int) -> None:
        """Count a stored photo against the device's quota (one appended line per photo)."""
        with self._guard, open(self._quota_file(device), "a") as f:
            f.write(f"{sha256} {int(size)}\n")

    def cleanup_partials(self, older_than_days: float) -> int:
        """Drop uploads untouched for that many days; returns how many were dropped."""
        cutoff = time.time() - older_than_days * 86400
        dropped = 0
        for part in self.partial.glob("*.part"):
            if part.stat().st_mtime < cutoff:
                self.delete_partial(part.stem)
                dropped += 1
        return dropped

    def cleanup_bundles(self, older_than_days: float) -> int:
        """Drop uploaded bundle files older than that many days; returns how many."""
        cutoff = time.time() - older_than_days * 86400
        dropped = 0
        for f in self.bundles.iterdir():
            try:
                if f.stat().st_mtime < cutoff:
                    f.unlink()
                    dropped += 1
            except FileNotFoundError:
                pass  # another process cleaned it first
        return dropped

    def iter_blobs(self) -> Iterator[str]:
        for p in self.root.glob("??/*"):
            if is_sha256(p.name):
                yield p.name


def make_thumbnail(data: bytes) -> bytes | None:
    """The shared photo pipeline's thumbnail (sync.photos, as on the device); None for
    anything not an image or larger than a stored photo (checked before decoding)."""
    from sync.photos import STORED_MAX_PIXELS
    from sync.photos import make_thumbnail as shared  # Pillow: loaded only for thumbnails

    try:
        return shared(data, max_pixels=STORED_MAX_PIXELS)
    except Exception:  # noqa: BLE001 - not an image, truncated, bomb: no thumbnail, never a 500
        return None


def make_public_image(data: bytes) -> bytes | None:
    """The photo rebuilt from its pixels by the pipeline (no metadata survives), or None."""
    from sync.photos import public_jpeg

    try:
        return public_jpeg(data)
    except Exception:  # noqa: BLE001 - whatever it is, it is not shown to the public
        return None
