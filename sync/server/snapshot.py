"""Starter packs on the server: a device's whole scope at one feed position, as one file.

The payload (``sync/snapshot.py``) is built from ``feed.pull_raw`` (the pull's own scope rules,
read to the head) and cached per scope under ``<blobs>/snapshots/``: the grid workers of one
grid share it, and it is rebuilt only when the feed has moved on by more than
``MAX_LAG`` changes or it is older than ``MAX_AGE_MS`` (what it misses travels by the pull
afterwards anyway). Each device gets it wrapped in a ``snapshot`` bundle signed with its own
secret (docs/starter-pack.md); that wrapper is deterministic, so a cut download resumes by
byte range against the same bytes (``ETag`` is the payload's sha256).
"""

import hashlib
import json
import re
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response
from sqlalchemy import Connection, Engine, select

from sync import snapshot as fmt
from sync.bundles.format import build_bundle
from sync.fileio import atomic_write_bytes
from sync.hashes import is_sha256
from sync.server import admin, auth, authz, db, feed, generation
from sync.server.blobs import FsBlobStore
from sync.server.errors import ServerError
from sync.server.http import PREFIX, principal_dependency

MAX_LAG = 2_000  # feed changes a cached payload may be behind before it is built again
MAX_AGE_MS = 6 * 3600 * 1000
KEEP_PER_SCOPE = 3  # older payloads kept so a download under way can still resume
PAGE = 5_000
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")

@dataclass(frozen=True)
class Meta:
    id: str  # sha256 of the payload
    scope_key: str
    cursor: str  # as the pull would give it: where the device pulls on from
    head: int  # the feed sequence it was built at (how far behind it is)
    records: int
    codec: str
    created_ms: int
    size: int

def scope_key(p: auth.Principal) -> str:
    """What decides which records a principal pulls (feed._scope_lanes): equal keys, equal scope."""
    basis = authz.scope_of(p).basis()
    return hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:24]

def scope_records(conn: Connection, p: auth.Principal) -> tuple[list[dict], str]:
    """Every record in ``p``'s scope up to the feed head, and that head as a cursor."""
    by_id: dict[str, dict] = {}
    cursor: str = "0"
    while True:
        docs, cursor, more = feed.pull_raw(conn, p, cursor, PAGE)
        for d in docs:
            rec = json.loads(d)
            by_id.pop(rec["id"], None)  # a record rewritten between pages: keep its last state
            by_id[rec["id"]] = rec
        if not more:
            return sorted(by_id.values(), key=lambda r: r["seq"]), cursor

def feed_head(conn: Connection) -> int:
    return int(conn.execute(select(db.feed.c.seq).where(db.feed.c.id == 1)).scalar_one())

class SnapshotCache:
    """Payloads on disk, ``<scope key>-<id>.bin`` with ``.json`` (its Meta)."""

    def __init__(self, root: Path, codec: str = "lzma") -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.codec = codec
        self._lock = threading.Lock()  # one build at a time: a crowd of new phones builds once

    def _file(self, meta: Meta, ext: str) -> Path:
        return self.root / f"{meta.scope_key}-{meta.id}{ext}"

    def _metas(self, key: str) -> list[Meta]:
        out = []
        for path in self.root.glob(f"{key}-*.json"):
            try:
                out.append(Meta(**json.loads(path.read_text("utf-8"))))
            except (OSError, ValueError, TypeError):
                continue
        return out

    def by_id(self, sid: str) -> Meta | None:
        if not is_sha256(sid):
            return None
        for path in self.root.glob(f"*-{sid}.json"):
            try:
                return Meta(**json.loads(path.read_text("utf-8")))
            except (OSError, ValueError, TypeError):
                return None
        return None

    def payload(self, meta: Meta) -> bytes:
        return self._file(meta, ".bin").read_bytes()

    def current(self, conn: Connection, p: auth.Principal) -> Meta:
        """A payload of ``p``'s scope recent enough to start from, built if there is none."""
        key = scope_key(p)
        with self._lock:
            head = feed_head(conn)
            mine = sorted(self._metas(key), key=lambda m: m.head)
            epoch = generation.current_epoch(conn)
            # a pack of an older generation (a restore since) holds records the feed lost
            fresh = [m for m in mine if 0 <= head - m.head <= MAX_LAG and db.now_ms() - m.created_ms <= MAX_AGE_MS
                     and generation.split_cursor(m.cursor)[0] == epoch]
            if fresh:
                return fresh[-1]
            records, cursor = scope_records(conn, p)
            blob = fmt.pack(records, self.codec)
            meta = Meta(hashlib.sha256(blob).hexdigest(), key, cursor, head, len(records), self.codec,
                        db.now_ms(), len(blob))
            atomic_write_bytes(self._file(meta, ".bin"), blob)
            atomic_write_bytes(self._file(meta, ".json"), json.dumps(asdict(meta)).encode())
            for old in mine[: max(0, len(mine) + 1 - KEEP_PER_SCOPE)]:
                for ext in (".json", ".bin"):
                    self._file(old, ext).unlink(missing_ok=True)
            return meta

def device_pack(conn: Connection, cache: SnapshotCache, meta: Meta, p: auth.Principal) -> bytes:
    """The starter pack of one device: the payload in a bundle signed with the device's secret."""
    if p.device_id is None:
        raise ServerError(400, "no_device", "server.snapshot.no_device")
    return build_bundle(
        kind="snapshot", device_id=p.device_id, user=p.user_id, secret=auth.device_secret(conn, p.device_id),
        snapshot=cache.payload(meta), created_ms=meta.created_ms,
        extra={"cursor": meta.cursor, "snapshot": {"id": meta.id, "records": meta.records, "codec": meta.codec,
                                                   "scope": p.scope()}},
    )

def latest_device(conn: Connection, user: str) -> str:
    """The most recently enrolled active device of ``user`` (name or id)."""
    uid = admin.resolve(conn, "user", user)
    d = db.devices.c
    dev = conn.execute(
        select(d.id).where(d.user_id == uid, d.enrolled_ms.is_not(None), d.revoked_ms.is_(None))
        .order_by(d.enrolled_ms.desc()).limit(1)
    ).scalar()
    if dev is None:
        raise ServerError(404, "no_device", "server.snapshot.no_enrolled_device", user=user)
    return str(dev)

def starter_pack(conn: Connection, blobs_root: Path, user: str | None = None,
                 device_id: str | None = None) -> tuple[bytes, Meta, auth.Principal]:
    """For ``gridwall admin starter-pack``: the pack of an enrolled device (given, or the
    user's latest), for the operator to hand over."""
    p = auth.principal_for_device(conn, device_id or latest_device(conn, user or ""))
    cache = SnapshotCache(Path(blobs_root) / "snapshots")
    meta = cache.current(conn, p)
    return device_pack(conn, cache, meta, p), meta, p

def should_offer(conn: Connection, p: auth.Principal, min_records: int) -> bool:
    """Whether a new device's scope is big enough that a starter pack beats paging. Not for
    principals who see everything (office PCs of admins): their pack would be the database."""
    if p.everywhere:
        return False
    _, _, more = feed.pull_raw(conn, p, 0, max(1, min_records))
    return more

def make_snapshot_router(engine: Engine, blobs: FsBlobStore) -> APIRouter:
    """``GET /api/v1/snapshot``: the caller's starter pack, with Range/If-Range to resume."""
    router = APIRouter()
    cache = SnapshotCache(blobs.root / "snapshots")
    principal = principal_dependency(engine)  # the one bearer-token dependency (server/http.py)

    @router.get(
        f"{PREFIX}/snapshot",
        responses={200: {"content": {"application/zip": {}}}, 206: {"description": "the asked range"},
                   416: {"description": "the range starts past the end"}},
    )
    def snapshot(
        p: Annotated[auth.Principal, Depends(principal)],
        range_: Annotated[str | None, Header(alias="Range")] = None,
        if_range: Annotated[str | None, Header(alias="If-Range")] = None,
    ) -> Response:
        meta = None
        if if_range:
            held = cache.by_id(if_range.strip().strip('"'))
            # only a payload of the caller's own scope: an id is no key to someone else's
            if held is not None and held.scope_key == scope_key(p):
                meta = held
        resume = meta is not None or not if_range
        with db.read_tx(engine) as conn:
            meta = meta or cache.current(conn, p)
            data = device_pack(conn, cache, meta, p)
        headers = {"ETag": f'"{meta.id}"', "Accept-Ranges": "bytes", "X-Snapshot-Cursor": meta.cursor,
                   "X-Snapshot-Records": str(meta.records), "Cache-Control": "no-store"}
        m = _RANGE.match(range_ or "") if resume else None
        if m:
            start = int(m.group(1))
            end = min(int(m.group(2)) if m.group(2) else len(data) - 1, len(data) - 1)
            if start >= len(data) or end < start:
                headers["Content-Range"] = f"bytes */{len(data)}"
                return Response(b"", status_code=416, headers=headers)
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
            return Response(data[start : end + 1], status_code=206, media_type="application/zip", headers=headers)
        return Response(data, media_type="application/zip", headers=headers)

    return router
