"""The resident-facing echo-wall page: ``GET /wall/{village_id}`` (no login, read only).

The server mounts it with a callable that returns the records the page needs, so this module
knows nothing of the SQL store::

    app.include_router(make_wall_router(fetch_records, photo_bytes))

``fetch_records(village_id)`` returns an iterable of record dicts: at least the village's
issues and issue events and the reference data (villages, grids, categories); households may
be included (they are only used to mask private strings, never shown). ``photo_bytes(sha256)``
returns a stored photo's bytes (EXIF already stripped by the pipeline) or None.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from sync.reports.echo_wall import build_echo_wall, render_html, render_not_found
from sync.reports.model import Dataset

_VILLAGE_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")

FetchRecords = Callable[[str], Iterable[dict]]
PhotoBytes = Callable[[str], bytes | None]


def make_wall_router(fetch_records: FetchRecords, photo_bytes: PhotoBytes | None = None) -> APIRouter:
    """The echo-wall routes, reading records through ``fetch_records``."""
    router = APIRouter(tags=["echo wall"])

    def _wall(village_id: str):
        if not _VILLAGE_RE.match(village_id):
            return None
        ds = Dataset.from_records(fetch_records(village_id))
        if village_id not in ds.ref.get("village", {}):
            return None
        return build_echo_wall(ds, village_id)

    @router.get("/wall/{village_id}", response_class=HTMLResponse, summary="回音壁 echo wall page")
    def wall_page(village_id: str) -> HTMLResponse:
        wall = _wall(village_id)
        if wall is None:
            return HTMLResponse(render_not_found(village_id), status_code=404)
        photo_url = f"/wall/{village_id}/photos/{{sha256}}" if photo_bytes else None
        return HTMLResponse(
            render_html(wall, photo_url),
            headers={
                # no script, no outside resources: the page cannot leak anything elsewhere
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'",
                "Cache-Control": "public, max-age=60",
            },
        )

    @router.get("/wall/{village_id}/photos/{sha256}", summary="a published after-photo")
    def wall_photo(village_id: str, sha256: str) -> Response:
        # only photos of items on this village's wall; anything else is simply not found
        wall = _wall(village_id) if photo_bytes and _SHA_RE.match(sha256) else None
        data = None
        if wall is not None and any(sha256 in it.photos for it in wall.items):
            data = photo_bytes(sha256) if photo_bytes else None
        if data is None:
            return HTMLResponse(render_not_found(village_id), status_code=404)
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "public, max-age=86400"})

    return router
