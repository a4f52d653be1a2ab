"""What the server stores as a blob, and how much per device.

A blob is a photo that passes the photo pipeline's checks for stored photos (a JPEG of
at most 1600 px that decodes completely: ``sync.photos.check_stored_photo``), a voice note
that passes ``sync.voice.check_voice`` (an accepted audio container by its magic bytes, within
the size and length caps), or, from an
operator or admin, a device bundle (a zip) that is imported and cleaned after
``BUNDLE_DAYS``. Anything else is refused and dropped. Photos count against the uploading
device's quota (``Limits.blob_quota_bytes``, ``gridwall server --blob-quota-mb``); the same
rules hold for photos carried in bundles (sync.server.bundles).
"""

from __future__ import annotations

from collections.abc import Callable

from sync.server.errors import ServerError

BUNDLE_DAYS = 7.0  # an uploaded bundle file is kept this long (re-import, inspection), then cleaned
OPERATOR_ROLES = ("operator", "admin")
_ZIP = b"PK\x03\x04"


def photo_refusal(data: bytes) -> str | None:
    """None when ``data`` may be stored as a photo; else why not, for people."""
    from sync.photos import PhotoError, check_stored_photo

    try:
        check_stored_photo(data)
    except PhotoError as exc:
        return exc.message
    return None


def voice_refusal(data: bytes) -> str | None:
    """None when ``data`` may be stored as a voice note; else why not, for people."""
    from sync.voice import VoiceError, check_voice

    try:
        check_voice(data)
    except VoiceError as exc:
        return exc.message
    return None


def attachment_area(data: bytes) -> tuple[str, str | None]:
    """("voice" or "photo", None) for bytes that may be stored; (area, why not) otherwise.
    Audio is told by its first bytes, so a photo is never mistaken for one."""
    from sync.voice import sniff, sniff_other

    if sniff(data) is not None or sniff_other(data) is not None:
        return "voice", voice_refusal(data)
    return "photo", photo_refusal(data)


def upload_check(role: str) -> Callable[[bytes], str]:
    """The ``check`` for ``BlobStore.finish`` of an upload by a principal of ``role``."""

    def check(data: bytes) -> str:
        if data.startswith(_ZIP):
            if role in OPERATOR_ROLES:
                return "bundle"
            raise ServerError(403, "forbidden", "bundle.error.forbidden")  # bundles: operators only
        area, reason = attachment_area(data)
        if reason is not None:
            raise ServerError(422, "not_a_photo", "server.blob.not_a_photo", reason=reason)
        return area

    return check


def check_quota(used: int, adding: int, quota: int | None) -> None:
    """Refuse (507) when ``adding`` bytes would take a device past its quota."""
    if quota is not None and used + adding > quota:
        raise ServerError(507, "quota_exceeded", "server.blob.quota", used_mb=_mb(used), quota_mb=_mb(quota))


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f}"
