"""Photos: picked bytes processed and kept on disk, attachment records, browser uploads."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from app.services.common import Core, PhotoRef, ServiceError, now_ms
from sync.photo_contract import ProcessedPhoto


class Photos(Core):
    """Photo files and their records."""

    def __init__(self) -> None:
        self.upload_dir: Path | None = None  # where the browser view puts picked files

    def add_photo(self, data: bytes) -> PhotoRef:
        """Process picked bytes with Pillow (orientation, EXIF stripped, resized) and keep them
        on disk. Raises ServiceError with the pipeline's message for non-images and bombs."""
        from sync import photos as photo_mod  # Pillow: load it when the first photo comes

        try:
            p = photo_mod.process_photo(data)
        except photo_mod.PhotoError as exc:
            raise ServiceError(str(exc)) from None
        return self._keep_photo(p)

    async def take_photo(self, data: bytes) -> PhotoRef:
        """``add_photo`` wherever the app runs (``app.imaging``: Pillow off the event loop, or
        the browser's image APIs in the phone's browser); what the screens call."""
        from app import imaging
        from sync.photo_contract import PhotoError

        try:
            p = await imaging.process_photo(data)
        except PhotoError as exc:
            raise ServiceError(str(exc)) from None
        return self._keep_photo(p)

    def _keep_photo(self, p: ProcessedPhoto) -> PhotoRef:
        self.store.put_photo_file(p.sha256, p.jpeg, p.thumb)
        return PhotoRef(sha256=p.sha256, thumb=p.thumb, width=p.width, height=p.height,
                        size=len(p.jpeg))

    def attach_photos(self, owner_kind: str, owner_id: str, refs: Iterable[PhotoRef]) -> list[str]:
        shas = []
        for ref in refs:
            self.create_record("photo", {
                "sha256": ref.sha256, "size": ref.size, "width": ref.width, "height": ref.height,
                "taken_at": now_ms(), "attached_to": {"kind": owner_kind, "id": owner_id},
            })
            shas.append(ref.sha256)
        return shas

    def upload_prefix(self, session_id: str) -> str:
        """Folder (inside the upload dir) for one browser session's uploads."""
        return "s-" + "".join(c for c in session_id if c.isalnum())[:32]

    def take_upload(self, name: str) -> bytes | None:
        """Bytes of a file the browser uploaded, removed from the upload folder once read."""
        if self.upload_dir is None:
            return None
        base = self.upload_dir.resolve()
        path = (base / name).resolve()
        if base not in path.parents:
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
        path.unlink(missing_ok=True)
        return data

    def thumb(self, sha: str) -> bytes | None:
        try:
            return self.store.thumb_path(sha).read_bytes()
        except (FileNotFoundError, OSError):
            return None

    def photo(self, sha: str) -> bytes | None:
        return self.store.photo_bytes(sha)

