"""Bundles on the device: export the outbox (deleting nothing), apply a return bundle.

Applying a return bundle uses exactly the replica calls of an online sync: ``mark_acked`` for
applied/duplicate acks, ``mark_refused`` with the reason, ``apply_remote`` for the records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sync.bundles.format import BundleError, BundleLimits, build_bundle, read_bundle
from sync.client import starter
from sync.client.engine import server_restored
from sync.client.replica import Replica
from sync.fileio import atomic_write_bytes
from sync.i18n import t

# A part stays under the server's blob limit (50 MB by default) so the operator can upload it.
MAX_PART_BYTES = 40 * 1024 * 1024


@dataclass
class ExportSummary:
    path: Path  # the first (or only) part: it carries the changes
    changes: int
    photos: int
    bytes: int
    paths: list[Path] = field(default_factory=list)  # every part written


@dataclass
class ReturnSummary:
    acked: int
    refused: list[dict]
    records: int
    photos: int
    cursor_moved: bool
    kind: str = "return"  # or "snapshot": a starter pack


def export_bundle(
    replica: Replica, out: Path | str, *, device_id: str, user: str | None, secret: bytes,
    max_changes: int = 1_000_000, max_part_bytes: int = MAX_PART_BYTES,
) -> ExportSummary:
    """Write every pending change and every photo not yet on the server; deletes nothing.

    The changes go in ``out``; photos fill it up to ``max_part_bytes`` and the rest go in
    ``out-2.gwb``, ``out-3.gwb``... Each part is a complete bundle that imports on its own, in
    any order.
    """
    out = Path(out)
    changes = replica.pending_changes(max_changes)
    sizes = {s: len(data) for s in replica.photos_to_upload() if (data := replica.photo_bytes(s)) is not None}
    shas = list(sizes)
    parts: list[list[str]] = [[]]
    used = sum(len(str(c)) for c in changes)  # rough: the changes deflate well below this
    for sha in shas:
        if parts[-1] and used + sizes[sha] > max_part_bytes:
            parts.append([])
            used = 0
        parts[-1].append(sha)
        used += sizes[sha]
    paths: list[Path] = []
    total = 0
    for i, part in enumerate(parts):
        path = out if i == 0 else out.with_name(f"{out.stem}-{i + 1}{out.suffix or '.gwb'}")
        blobs = {sha: replica.photo_bytes(sha) or b"" for sha in part}
        data = build_bundle(
            kind="device", device_id=device_id, user=user, secret=secret,
            changes=changes if i == 0 else [], blobs=blobs,
            extra={"cursor": replica.cursor(), "part": i + 1, "parts": len(parts)},
        )
        atomic_write_bytes(path, data)
        paths.append(path)
        total += len(data)
    return ExportSummary(out, len(changes), len(shas), total, paths)


def apply_return(
    replica: Replica, source: Path | str | bytes, *, device_id: str, secret: bytes,
    limits: BundleLimits | None = None,
) -> ReturnSummary:
    """Check a return bundle (or a starter pack) made for this device and apply it;
    BundleError changes nothing."""

    def secret_for(dev: str) -> bytes | None:
        return secret if dev == device_id else None

    try:
        b = read_bundle(source, secret_for, limits=limits)
    except BundleError as exc:
        if exc.code == "unknown_device":
            raise BundleError("not_for_device", device=_peek_device(source)) from None
        raise
    if b.kind == "snapshot":  # the operator's starter pack: the same import path (docs/starter-pack.md)
        records = starter.pack_records(b)
        return ReturnSummary(0, [], len(records), 0, starter.apply_pack(replica, b.manifest, records), "snapshot")
    if b.kind != "return":
        raise BundleError("wrong_kind", kind=t(f"bundle.kind.{b.kind}"), expected=t("bundle.kind.return"))
    # Move the cursor only when this bundle continues from where the device still is: an
    # older return bundle applied after an online sync must not move the cursor backwards.
    moved = b.manifest.get("from_cursor") == replica.cursor() and b.manifest.get("cursor") is not None
    restored = b.manifest.get("generation_changed")
    if isinstance(restored, str) and moved:
        # The server went back to a backup: what it acknowledged before is offered again (the
        # next export); this bundle's records were pulled from the start of the new generation.
        server_restored(replica, restored)
    acked = [a["change_id"] for a in b.acks if a.get("status") in ("applied", "duplicate")]
    # A refusal with ``retry`` leaves the change in the outbox: the next bundle carries it again.
    refused = [a for a in b.acks if a.get("status") == "refused" and a.get("retry") is not True]
    if acked:
        replica.mark_acked(acked)
    for a in refused:
        replica.mark_refused(a["change_id"], a.get("reason") or a.get("code") or "")
    replica.apply_remote(b.records, str(b.manifest["cursor"]) if moved else None)
    for sha, data in b.blobs.items():
        replica.put_photo(sha, data)
    for sha in b.manifest.get("photos_stored") or []:
        replica.mark_photo_uploaded(sha)
    return ReturnSummary(len(acked), refused, len(b.records), len(b.blobs), moved)


def _peek_device(source: Any) -> str:
    # The manifest is unauthenticated here; used only to say which device the file is for.
    import io
    import json
    import zipfile

    try:
        raw = source if isinstance(source, bytes) else Path(source).read_bytes()
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            return str(json.loads(z.read("manifest.json")).get("device_id"))[:64]
    except Exception:  # noqa: BLE001 - best effort for a message
        return "?"
