"""Voice notes: a recording (or a picked audio file) checked and kept on disk, attached to a
record by its sha256 like a photo, and listed with its length for the screens."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.services.common import Core, ServiceError, fmt_time, now_ms
from sync import voice as voice_mod


@dataclass(frozen=True)
class VoiceRef:
    """A checked voice note waiting to be attached to a record (stored on disk already)."""

    sha256: str
    media_type: str
    duration_ms: int | None
    size: int

    @property
    def length_text(self) -> str:
        return voice_mod.format_duration(self.duration_ms)


class Voices(Core):
    """Voice-note files and their records."""

    def add_voice(self, data: bytes, recorded_ms: int | None = None) -> VoiceRef:
        """Check the bytes (container, size, length; sync.voice) and keep them. ``recorded_ms``
        is the recorder's own timing, used when the container does not say its length.
        Raises ServiceError with the check's one-line message."""
        try:
            note = voice_mod.check_voice(data)
        except voice_mod.VoiceError as exc:
            raise ServiceError(str(exc)) from None
        ms = note.duration_ms if note.duration_ms is not None else recorded_ms
        if ms is not None and ms > voice_mod.MAX_MS:
            raise ServiceError(str(voice_mod.voice_error(
                "too_long", seconds=round(ms / 1000), max_seconds=voice_mod.MAX_SECONDS)))
        self.store.put_voice_file(note.sha256, note.data)
        return VoiceRef(note.sha256, note.media_type, ms, note.size)

    def attach_voices(self, owner_kind: str, owner_id: str, refs: list[VoiceRef]) -> list[str]:
        """One ``voice`` record per note, attached to the owner record."""
        ids = []
        for ref in refs:
            fields: dict[str, Any] = {
                "sha256": ref.sha256, "size": ref.size, "media_type": ref.media_type,
                "recorded_at": now_ms(), "attached_to": {"kind": owner_kind, "id": owner_id},
            }
            if ref.duration_ms is not None:
                fields["duration_ms"] = ref.duration_ms
            ids.append(self.create_record("voice", fields)["id"])
        return ids

    def voices_of(self, owner_kind: str, owner_id: str) -> list[dict[str, Any]]:
        """Rows of the voice notes attached to a record, oldest first: length text, size,
        whether the bytes are here yet (they follow the record on the next sync)."""
        rows = []
        for rec in self.store.all("voice"):
            f = rec.get("fields", {})
            att = f.get("attached_to") or {}
            if att.get("kind") != owner_kind or att.get("id") != owner_id:
                continue
            sha = str(f.get("sha256") or "")
            rows.append({
                "id": rec["id"], "sha256": sha, "media_type": f.get("media_type") or "",
                "duration_ms": f.get("duration_ms"),
                "length_text": voice_mod.format_duration(f.get("duration_ms")),
                "size_kb": max(1, round(int(f.get("size") or 0) / 1024)),
                "at_text": fmt_time(f["recorded_at"]) if f.get("recorded_at") else "",
                "here": self.store.voice_path(sha).exists() if len(sha) == 64 else False,
            })
        return sorted(rows, key=lambda r: r["id"])

    def voice_data(self, sha: str) -> bytes | None:
        try:
            return self.store.voice_bytes(sha)
        except Exception:  # noqa: BLE001 - a malformed sha is simply no note
            return None
