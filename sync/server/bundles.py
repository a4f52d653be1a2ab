"""Importing device bundles on the server, through the same code path as online sync.

``import_bundle`` checks the bundle (signature with the device's secret, hashes, paths,
sizes), stores its photos, applies its changes with ``sync.server.feed.apply_changes`` on
behalf of the bundle's device (idempotent by ``change_id``: importing twice, or in any order,
changes nothing more) and makes a receipt and a signed return bundle for the device.

HTTP (operator or admin token): the bundle file is first uploaded as a blob with the
resumable ``PUT /api/v1/blobs/{sha256}`` (so a big bundle survives a bad link), then
``POST /api/v1/bundles {"sha256": ...}`` imports it and answers
``{"receipt": {...}, "return_bundle": "<base64 of the .gwb>"}``.
Mount with ``app.include_router(make_bundles_router(engine, blobs))``.
"""

# No "from __future__ import annotations": FastAPI must see the local Depends() at runtime.

import base64
import hashlib
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.engine import Engine

from sync.bundles.format import BundleError, BundleLimits, build_bundle, read_bundle
from sync.hashes import SHA256_PATTERN
from sync.i18n import t
from sync.server import auth, authz, db, feed, generation
from sync.server.blob_policy import BUNDLE_DAYS, attachment_area, check_quota
from sync.server.blobs import BlobStore
from sync.server.errors import ServerError
from sync.server.http import PREFIX, principal_dependency, problem, request_lang

BATCH = 500
MAX_RETURN_RECORDS = 200_000


@dataclass
class ImportResult:
    receipt: dict[str, Any]
    return_bundle: bytes | None


def _store_blob(blobs: BlobStore, sha: str, data: bytes) -> bool:
    """Store a whole photo (already checked); False when the server had it already."""
    if blobs.has(sha):
        return False
    blobs.delete_partial(sha)  # same bytes by definition; a half upload would only get in the way
    blobs.write_chunk(sha, 0, data, len(data))
    blobs.finish(sha)
    return True


def _check_photos(blobs: BlobStore, device: str, photos: dict[str, bytes], quota: int | None) -> None:
    """The bundle's photos obey the rules of an upload (sync.server.blob_policy): each one a
    photo the pipeline made, all of them within the device's quota. Raises BundleError."""
    new = {sha: data for sha, data in photos.items() if not blobs.has(sha)}
    for sha, data in sorted(new.items()):
        _, reason = attachment_area(data)  # a photo or a voice note
        if reason is not None:
            raise BundleError("bad_photo", sha=sha[:12], reason=reason)
    try:
        check_quota(blobs.usage(device), sum(len(d) for d in new.values()), quota)
    except ServerError as exc:
        raise BundleError("quota", **exc.params) from None


def import_bundle(
    engine: Engine,
    blobs: BlobStore,
    data: bytes,
    *,
    name: str = "",
    limits: BundleLimits | None = None,
    lang: str | None = None,
    operator: auth.Principal | None = None,
    quota_bytes: int | None = None,
) -> ImportResult:
    """Import one device bundle carried in by ``operator`` (None: the server itself).
    Never raises for a bad bundle: the receipt says why."""
    operator = operator or auth.system_principal()
    bundle_sha = hashlib.sha256(data).hexdigest()
    receipt: dict[str, Any] = {
        "bundle": name, "bundle_sha256": bundle_sha, "status": "invalid", "message": None,
        "device_id": None, "user": None, "changes": 0, "accepted": 0, "duplicate": 0,
        "refused": [], "photos_stored": 0, "photos_already": 0,
    }
    principals: dict[str, auth.Principal] = {}
    device_secrets: dict[str, bytes] = {}

    def secret_for(device_id: str) -> bytes | None:
        with db.read_tx(engine) as conn:
            dev = conn.execute(select(db.devices).where(db.devices.c.id == device_id)).mappings().first()
            if dev is None or dev["enrolled_ms"] is None:
                return None  # a never-enrolled device has no secret out there to sign with
            if dev["revoked_ms"] is not None:
                raise BundleError("revoked_device", device=device_id)
            # The same principal (user, role, scope) as the device's own token would give.
            principals[device_id] = auth.principal_for_device(conn, device_id)
            if not authz.may_import_bundle(operator, principals[device_id]):
                # Checked before anything is stored: the receipt would carry their records.
                raise BundleError("foreign_device", device=device_id)
            device_secrets[device_id] = auth.device_secret(conn, device_id)
            return device_secrets[device_id]

    try:
        b = read_bundle(data, secret_for, limits=limits, expect_kind="device")
        _check_photos(blobs, b.device_id, b.blobs, quota_bytes)  # before anything is stored
    except BundleError as exc:
        receipt["message"] = t(f"bundle.error.{exc.code}", lang=lang, **exc.params) if lang else exc.message
        receipt["code"] = exc.code
        return ImportResult(receipt, None)
    receipt["device_id"] = b.device_id
    principal, secret = principals[b.device_id], device_secrets[b.device_id]
    receipt["user"] = principal.name or principal.user_id
    receipt["changes"] = len(b.changes)
    # Photos first is fine here: nothing can reference a blob the server has not got.
    for sha, blob in b.blobs.items():
        if _store_blob(blobs, sha, blob):
            blobs.charge(b.device_id, sha, len(blob))
            receipt["photos_stored"] += 1
        else:
            receipt["photos_already"] += 1
    acks: list[dict[str, Any]] = []
    for i in range(0, len(b.changes), BATCH):
        with db.write_tx(engine) as conn:  # queued with the API's writers
            acks.extend(feed.apply_changes(conn, principal, b.changes[i : i + BATCH], lang=lang))
    for a in acks:
        if a["status"] == "applied":
            receipt["accepted"] += 1
        elif a["status"] == "duplicate":
            receipt["duplicate"] += 1
        else:
            receipt["refused"].append({k: a.get(k) for k in ("change_id", "code", "reason")})
    receipt["status"] = "refused" if receipt["refused"] else "ok"
    # The return bundle: acks, and what the device has not seen since its cursor.
    from_cursor = b.manifest.get("cursor")
    cursor: str | None = None
    records: list[dict] = []
    changed_to: str | None = None  # the server went back since the device's cursor
    try:
        cur = from_cursor or "0"
        with db.read_tx(engine) as conn:
            epoch = generation.split_cursor(cur)[0]
            if epoch is not None and epoch != generation.current_epoch(conn):
                changed_to, cur = generation.current_epoch(conn), "0"
            while len(records) < MAX_RETURN_RECORDS:
                page, cur, more = feed.pull(conn, principal, cur, 1000)
                records.extend(page)
                if not more:
                    break
        cursor = cur
    except Exception:  # noqa: BLE001 - a cursor from another server: send acks only
        records, cursor = [], None
    ret = build_bundle(
        kind="return", device_id=b.device_id, user=principal.user_id, secret=secret,
        acks=acks, records=records,
        extra={"from_cursor": from_cursor, "cursor": cursor, "source_bundle": bundle_sha,
               "photos_stored": sorted(b.blobs), "generation_changed": changed_to},
    )
    receipt["records_returned"] = len(records)
    return ImportResult(receipt, ret)


class BundleImportRequest(BaseModel):
    sha256: str = Field(pattern=SHA256_PATTERN, description="sha256 of a bundle uploaded with PUT /api/v1/blobs")
    name: str = Field(default="", max_length=300)


def make_bundles_router(
    engine: Engine, blobs: BlobStore, limits: BundleLimits | None = None, quota_bytes: int | None = None
) -> APIRouter:
    router = APIRouter(prefix=PREFIX, tags=["bundles"])
    Operator = Annotated[auth.Principal, Depends(principal_dependency(engine))]

    @router.post("/bundles")
    def import_uploaded(body: BundleImportRequest, request: Request, p: Operator) -> JSONResponse:
        lang = request_lang(request)
        if p.role not in authz.OPERATOR_ROLES:
            return problem(403, "forbidden", t("bundle.error.forbidden", lang=lang))
        if not blobs.has_bundle(body.sha256):
            return problem(404, "bundle_not_uploaded", t("bundle.error.not_uploaded", lang=lang))
        with blobs.open_bundle(body.sha256) as f:
            data = f.read()
        res = import_bundle(engine, blobs, data, name=body.name, limits=limits, lang=lang, operator=p,
                            quota_bytes=quota_bytes)
        blobs.cleanup_bundles(BUNDLE_DAYS)  # a long-running server cleans as it goes
        return JSONResponse({
            "receipt": res.receipt,
            "return_bundle": base64.b64encode(res.return_bundle).decode("ascii") if res.return_bundle else None,
        })

    return router
