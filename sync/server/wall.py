"""The resident-facing echo-wall page (the server's; the page itself is built by the pure
``sync.reports.echo_wall``): ``GET /wall/{village_id}`` (no login, read only).

The server mounts it with a callable that returns the records the page needs; for the
central server those callables are made here from its engine and blob store::

    app.include_router(make_wall_router(server_wall_records(engine), server_photo_bytes(blobs),
                                        server_wall_key(engine)))

``fetch_records(village_id)`` returns an iterable of record dicts: at least the village's
issues and issue events and the reference data (villages, grids, categories); households
should be included (the publish guard needs the village's residents; they are never shown).
``photo_bytes(sha256)`` returns the photo as the public may see it: rebuilt from its pixels
(no metadata), or None. ``key`` makes the opaque public ids of items and photos.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from sync.public_code import is_valid
from sync.reports.echo_wall import build_echo_wall, render_html, render_not_found
from sync.reports.lookup import find_by_code, render_lookup, render_throttled
from sync.reports.model import Dataset, all_facts
from sync.server import auth, db, feed
from sync.server.throttle import Throttle

_VILLAGE_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_PUBLIC_ID_RE = re.compile(r"^[0-9a-f]{16}$")

FetchRecords = Callable[[str], Iterable[dict]]
PhotoBytes = Callable[[str], bytes | None]
# a page that may not run script nor load anything from elsewhere; its one form goes home
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'"


def make_wall_router(
    fetch_records: FetchRecords, photo_bytes: PhotoBytes | None = None, key: bytes | None = None,
    throttle: Throttle | None = None,
) -> APIRouter:
    """The echo-wall routes, reading records through ``fetch_records``. ``throttle`` counts,
    per client address, lookups of well-formed codes that matched nothing (default: 20 in 10
    minutes, the server's ``Limits.lookup_misses``): a resident who mistypes stays far below
    it, somebody walking through codes is stopped."""
    router = APIRouter(tags=["echo wall"])
    misses = throttle or Throttle(20, 600.0)
    # village -> (the records it was built from, the wall, its dataset and facts): fetch_records
    # hands back the same list while nothing changed (server_wall_records caches by the feed
    # head), and the guard checks every item against every resident, so one build serves
    # until the feed moves.
    built: dict[str, tuple[object, Any, Dataset, list]] = {}
    lock = threading.Lock()

    def _built(village_id: str) -> tuple[object, Any, Dataset, list] | None:
        if not _VILLAGE_RE.match(village_id):
            return None
        records = fetch_records(village_id)
        with lock:
            hit = built.get(village_id)
        if hit is not None and hit[0] is records:
            return hit
        ds = Dataset.from_records(records)
        if village_id not in ds.ref.get("village", {}):
            return None  # not remembered: unknown ids must not fill the memory
        facts = all_facts(ds)
        wall = build_echo_wall(ds, village_id, facts=facts, key=key)
        entry = (records, wall, ds, facts)
        with lock:
            built[village_id] = entry
        return entry

    def _wall(village_id: str) -> Any:
        entry = _built(village_id)
        return entry[1] if entry else None

    @router.get("/wall/{village_id}", response_class=HTMLResponse, summary="回音壁 echo wall page")
    def wall_page(village_id: str) -> HTMLResponse:
        wall = _wall(village_id)
        if wall is None:
            return HTMLResponse(render_not_found(village_id), status_code=404)
        photo_url = f"/wall/{village_id}/photos/{{photo}}" if photo_bytes else None
        return HTMLResponse(
            render_html(wall, photo_url, lookup_url=f"/wall/{village_id}/lookup"),
            # no script, no outside resources: the page cannot leak anything elsewhere
            headers={"Content-Security-Policy": _CSP, "Cache-Control": "public, max-age=60"},
        )

    @router.get("/wall/{village_id}/lookup", response_class=HTMLResponse,
                summary="look up a problem by its public code (查询码): status and public reply only",
                responses={429: {"description": "too many codes that matched nothing from this address"}})
    def wall_lookup(village_id: str, request: Request,
                    code: str = Query("", max_length=40, description="the code on the 回执")) -> HTMLResponse:
        entry = _built(village_id)
        if entry is None:
            return HTMLResponse(render_not_found(village_id), status_code=404)
        _records, wall, ds, facts = entry
        wall_url, lookup_url = f"/wall/{village_id}", f"/wall/{village_id}/lookup"
        # results are about one resident's problem: not kept by shared caches
        headers = {"Content-Security-Policy": _CSP, "Cache-Control": "no-store"}
        keys = [f"ip:{request.client.host if request.client else '-'}"]
        wait = misses.retry_after(keys)
        if wait is not None:
            headers["Retry-After"] = str(wait)
            return HTMLResponse(render_throttled(wall, max(1, round(wait / 60)), wall_url),
                                status_code=429, headers=headers)
        items = find_by_code(ds, facts, village_id, code) if is_valid(code) else []
        if is_valid(code) and not items:
            misses.failed(keys)  # only well-formed codes: a typo is caught by the check letter
        return HTMLResponse(render_lookup(wall, code, items, wall_url, lookup_url),
                            status_code=200 if items else 404, headers=headers)

    @router.get("/wall/{village_id}/photos/{photo_id}", summary="a published after-photo")
    def wall_photo(village_id: str, photo_id: str) -> Response:
        # only photos of items on this village's wall; anything else is simply not found
        wall = _wall(village_id) if photo_bytes and _PUBLIC_ID_RE.match(photo_id) else None
        data = None
        if wall is not None and photo_id in wall.photo_sha:
            data = photo_bytes(wall.photo_sha[photo_id]) if photo_bytes else None
        if data is None:
            return HTMLResponse(render_not_found(village_id), status_code=404)
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "public, max-age=86400"})

    return router


# ---------------------------------------------------------------- wiring to the central server


def server_wall_records(engine: Any) -> FetchRecords:
    """``fetch_records`` for the central server: the village's township, read through the
    same scoped pull the sync API uses (a township-staff view), cached until the change feed
    moves so a busy noticeboard QR code does not re-read the township on every view."""
    cache: dict[str, tuple[int, list[dict]]] = {}
    lock = threading.Lock()

    def fetch(village_id: str) -> list[dict]:
        with engine.connect() as conn:
            head = int(conn.execute(select(db.feed.c.seq).where(db.feed.c.id == 1)).scalar_one())
            with lock:
                hit = cache.get(village_id)
            if hit and hit[0] == head:
                return hit[1]
            town = conn.execute(select(db.villages.c.township).where(db.villages.c.id == village_id)).scalar()
            if town is None:
                return []
            viewer = auth.Principal(user_id="echo-wall", role="township_staff", name="echo-wall", township=town)
            records: dict[str, dict] = {}
            cursor: str = "0"
            while True:
                page, cursor, more = feed.pull(conn, viewer, cursor, 5000)
                records.update((r["id"], r) for r in page)
                if not more:
                    break
        out = list(records.values())
        with lock:
            cache[village_id] = (head, out)
        return out

    return fetch


def server_photo_bytes(blobs: Any) -> PhotoBytes:
    """``photo_bytes`` for the server's blob store: every public photo is rebuilt from its
    pixels by the photo pipeline (pixel limits checked before decoding; the result cached),
    whatever the stored bytes carry (XMP, comments, PNG text, trailing data), so what the
    public gets is always a plain JPEG."""
    return blobs.public_image


def server_wall_key(engine: Any) -> bytes:
    """The key of the wall's opaque public ids: derived from the server's master key, so the
    ids are stable across restarts and cannot be turned back into internal ids."""
    with engine.begin() as conn:
        master = auth.master_key(conn)
    return hmac.new(master, b"gridwall echo-wall public ids", hashlib.sha256).digest()
