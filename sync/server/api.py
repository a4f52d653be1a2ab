"""The HTTP layer: FastAPI routes under /api/v1, problem+json errors, body limits, gzip,
overload protection and one JSON log line per request. The logic lives in ``auth``, ``feed`` and ``admin``;
what every router shares in ``http``."""


import hashlib
import json
import logging
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sync.hashes import SHA256_PATTERN
from sync.i18n import t
from sync.server import admin, auth, authz, blob_policy, db, feed, generation, snapshot
from sync.server.blobs import FsBlobStore, HashMismatch, OffsetMismatch
from sync.server.bundles import make_bundles_router
from sync.server.errors import ServerError
from sync.server.front import make_front_router
from sync.server.http import (
    PREFIX,
    principal_dependency,
    problem,
    problem_body,
    raw_problem,
    request_lang,
    send_raw,
)
from sync.server.refdata import make_reference_router
from sync.server.throttle import Throttle
from sync.server.wall import (
    make_wall_router,
    server_photo_bytes,
    server_wall_key,
    server_wall_records,
)

PARTIAL_DAYS = 7  # partial uploads are kept this long so a phone can resume after a break
log = logging.getLogger("gridwall.server")
Sha = Annotated[str, Path(pattern=SHA256_PATTERN, description="sha256 of the blob, 64 lower-case hex digits")]


@dataclass
class Limits:
    max_body_bytes: int = 4 * 1024 * 1024  # a request body as sent (maybe gzip)
    max_inflated_bytes: int = 16 * 1024 * 1024  # after gunzip
    max_batch: int = 500  # changes per sync request
    max_page: int = 1000  # records per pull page
    max_blob_bytes: int = 50 * 1024 * 1024
    max_chunk_bytes: int = 2 * 1024 * 1024
    max_missing_query: int = 1000
    max_inflight: int = 64  # concurrent requests before 429
    blob_quota_bytes: int | None = 2 * 1024**3  # photos stored per device (None: no limit)
    enroll_failures: int = 10  # wrong enrollment codes per address (and per code) ...
    enroll_window_s: float = 600.0  # ... within this window, then 429
    lookup_misses: int = 20  # wall lookups (查询码) that matched nothing, per address ...
    lookup_window_s: float = 600.0  # ... within this window, then 429
    snapshot_min_records: int = 1000  # a new device with more in scope is offered a starter pack


class BodyMiddleware:
    """Reads the body with a size cap before anything parses it, and gunzips it with a cap on
    the inflated size (a gzip bomb gets 413, not a full memory)."""

    def __init__(self, app: ASGIApp, limits: Limits, authenticate: Any = None) -> None:
        self.app = app
        self.limits = limits
        self.authenticate = authenticate  # bearer token -> None, or the ServerError refusing it

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        is_blob = scope["method"] == "PUT" and scope["path"].startswith(f"{PREFIX}/blobs/")
        cap = self.limits.max_chunk_bytes if is_blob else self.limits.max_body_bytes
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > cap):
            await send_raw(send, *raw_problem(413, "body_too_large", "server.body_too_large", limit=cap))
            return
        chunks, size = [], 0
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return
            part = msg.get("body", b"")
            size += len(part)
            if size > cap:
                await send_raw(send, *raw_problem(413, "body_too_large", "server.body_too_large", limit=cap))
                return
            chunks.append(part)
            if not msg.get("more_body"):
                break
        body = b"".join(chunks)
        encoding = headers.get(b"content-encoding", b"identity").strip().lower()
        if encoding == b"gzip" and self.authenticate is not None:
            # Inflating costs memory and time: only for a caller with a valid token.
            auth = headers.get(b"authorization", b"").decode("latin-1")
            token = auth[7:].strip() if auth[:7].lower() == "bearer " else None
            refused = await run_in_threadpool(self.authenticate, token)
            if refused is not None:
                body = json.dumps(problem_body(refused.status, refused.code, refused.message()), ensure_ascii=False)
                await send_raw(send, refused.status, [(b"content-type", b"application/problem+json")],
                                body.encode("utf-8"))
                return
        if encoding == b"gzip":
            inflated_cap = self.limits.max_inflated_bytes
            try:
                d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                body = d.decompress(body, inflated_cap + 1)
                if len(body) > inflated_cap or d.unconsumed_tail:
                    await send_raw(
                        send, *raw_problem(413, "inflated_too_large", "server.inflated_too_large", limit=inflated_cap)
                    )
                    return
                if not d.eof:
                    raise zlib.error("truncated")
            except zlib.error:
                await send_raw(send, *raw_problem(400, "bad_gzip", "server.bad_gzip"))
                return
        elif encoding not in (b"identity", b""):
            await send_raw(send, *raw_problem(415, "bad_encoding", "server.bad_encoding"))
            return
        new_headers = [
            (k, v) for k, v in scope["headers"] if k not in (b"content-encoding", b"content-length")
        ]
        new_headers.append((b"content-length", str(len(body)).encode()))
        scope = dict(scope, headers=new_headers)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class GuardMiddleware:
    """Outermost: 429 + Retry-After when too many requests are in flight, and one JSON log
    line per request (method, path, status, ms, device)."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits
        self.inflight = 0
        self.lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        exempt = scope["path"] == f"{PREFIX}/health"
        with self.lock:
            busy = not exempt and self.inflight >= self.limits.max_inflight
            if not busy:
                self.inflight += 1

        async def send_wrapper(msg: Message) -> None:
            nonlocal status
            if msg["type"] == "http.response.start":
                status = msg["status"]
                # Every response: browsers must not guess a type (an upload "sniffed" as HTML).
                msg = dict(msg, headers=[*msg.get("headers", []), (b"x-content-type-options", b"nosniff")])
            await send(msg)

        try:
            if busy:
                await send_raw(send_wrapper, *raw_problem(429, "overloaded", "server.overloaded"))
            else:
                await self.app(scope, receive, send_wrapper)
        finally:
            if not busy:
                with self.lock:
                    self.inflight -= 1
            state = scope.get("state") or {}
            log.info(
                json.dumps(
                    {
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "ms": round((time.perf_counter() - start) * 1000, 1),
                        "device": state.get("device"),
                    }
                )
            )


# ---- request and response models (they make the OpenAPI document) ---------------------------


class EnrollRequest(BaseModel):
    code: str = Field(min_length=1, max_length=64, description="one-time code from `gridwall admin enroll`")
    device_name: str | None = Field(None, max_length=200)


class UserOut(BaseModel):
    id: str
    name: str
    role: str


class ScopeOut(BaseModel):
    township: str | None
    grids: list[str]


class EnrollResponse(BaseModel):
    device_id: str
    token: str
    secret: str
    user: UserOut
    scope: ScopeOut
    server_time_ms: int


class SyncRequest(BaseModel):
    device_time_ms: int | None = Field(None, ge=0, le=10**14)
    cursor: str = Field("0", max_length=40)
    changes: list[Any] = Field(default_factory=list, description="changes (docs/architecture.md)")
    pull_limit: int = Field(500, ge=1, le=10**6)
    snapshot_ok: bool = Field(False, description="a new device that can start from GET /snapshot")


class Ack(BaseModel):
    change_id: str | None
    status: str
    code: str | None = None
    reason: str | None = None
    retry: bool | None = Field(None, description="refused for now: send it again at the next sync")
    clamped: bool | None = None


class SyncResponse(BaseModel):
    acks: list[Ack]
    records: list[dict[str, Any]]
    cursor: str
    epoch: str | None = Field(None, description="feed generation the acks and the cursor belong to")
    more: bool
    clock_offset_ms: int
    server_time_ms: int
    snapshot: dict[str, str] | None = Field(None, description="a new device's starter pack: GET its href")


class MissingRequest(BaseModel):
    sha256: list[Annotated[str, Field(pattern=SHA256_PATTERN)]] = Field(
        description="at most `limits.max_missing_query` (GET /api/v1/health) per request")


class MissingResponse(BaseModel):
    missing: list[str]


class UploadState(BaseModel):
    offset: int
    size: int | None
    complete: bool = False


class ConflictOut(BaseModel):
    field: str
    reason: str
    kept_value: Any = None
    kept_stamp: str | None
    lost_value: Any = None
    lost_stamp: str | None
    device: str | None
    created_ms: int


class ConflictsResponse(BaseModel):
    record_id: str
    conflicts: list[ConflictOut]


class MeResponse(BaseModel):
    user: UserOut
    device_id: str | None
    scope: ScopeOut


# ---- the app ---------------------------------------------------------------------------------


def create_app(engine: Engine, blobs: FsBlobStore, limits: Limits | None = None,
               app_dir: FsPath | None = None) -> FastAPI:
    """The FastAPI app over a migrated database and a blob store; ``app_dir``: the field
    app's static build, served at ``/app/``."""
    limits = limits or Limits()
    app = FastAPI(
        title="gridwall sync API",
        version="1",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
    )
    Auth = Annotated[auth.Principal, Depends(principal_dependency(engine))]

    @app.exception_handler(ServerError)
    async def _server_error(request: Request, exc: ServerError) -> JSONResponse:
        return problem(exc.status, exc.code, exc.message(request_lang(request)), **exc.extra)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        key = f"server.http.{code}"
        return problem(exc.status_code, code, t(key, lang=request_lang(request)))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        lang = request_lang(request)
        if any(e.get("type") == "json_invalid" for e in errors):
            return problem(400, "malformed_json", t("server.malformed_json", lang=lang))
        where = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in errors[:10]
        )
        return problem(422, "invalid_request", t("server.invalid_request", lang=lang, where=where))

    @app.exception_handler(OperationalError)
    @app.exception_handler(SATimeoutError)
    async def _db_unavailable(request: Request, exc: Exception) -> JSONResponse:
        # Database down, restarting or out of connections: the device retries later.
        log.warning("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return problem(503, "db_unavailable", t("server.db_down", lang=request_lang(request)), retry_after=5)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error")
        return problem(500, "internal", t("server.internal", lang=request_lang(request)))

    @app.get(f"{PREFIX}/health")
    def health() -> dict[str, Any]:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - report the database as down, with 503
            raise ServerError(503, "db_down", "server.db_down") from exc
        return {
            "status": "ok",
            "protocol": 1,
            "server_time_ms": db.now_ms(),
            "limits": asdict(limits),
        }

    enroll_throttle = Throttle(limits.enroll_failures, limits.enroll_window_s)

    @app.post(
        f"{PREFIX}/enroll", response_model=EnrollResponse,
        responses={429: {"description": "too many wrong codes from this address or for this code"}},
    )
    def enroll(body: EnrollRequest, request: Request) -> Any:
        keys = [f"ip:{request.client.host if request.client else '-'}", f"code:{auth.normalize_code(body.code)}"]
        wait = enroll_throttle.retry_after(keys)
        if wait is not None:
            return problem(429, "enroll_throttled", t("server.enroll.throttled", lang=request_lang(request),
                                                      minutes=max(1, round(wait / 60))), retry_after=wait)
        try:
            with db.write_tx(engine) as conn:
                return auth.enroll(conn, body.code, body.device_name)
        except ServerError as exc:
            if exc.status == 403:
                enroll_throttle.failed(keys)
            raise

    @app.get(f"{PREFIX}/me", response_model=MeResponse)
    def me(p: Auth) -> dict[str, Any]:
        return {
            "user": {"id": p.user_id, "name": p.name, "role": p.role},
            "device_id": p.device_id,
            "scope": p.scope(),
        }

    @app.post(f"{PREFIX}/sync", response_model=SyncResponse)
    def sync(body: SyncRequest, request: Request, p: Auth) -> Response:
        lang = request_lang(request)
        if len(body.changes) > limits.max_batch:
            raise ServerError(413, "batch_too_large", "server.batch_too_large", limit=limits.max_batch)
        feed.parse_cursor(body.cursor)  # refuse a bad cursor before anything is written
        now = db.now_ms()
        generation.check_cursor(engine, body.cursor, now, p.device_id)  # a restored server: 409 before any write
        acks: list[dict[str, Any]] = []
        stale = p.device_id is not None and (p.last_seen_ms or 0) < now - 60_000
        if body.changes or stale:
            with db.write_tx(engine) as conn:
                if body.changes:
                    acks = feed.apply_changes(conn, p, body.changes, now=now, lang=lang)
                if stale:
                    auth.touch_device(conn, p.device_id, now)
        limit = min(body.pull_limit, limits.max_page)
        offer = ""
        with db.read_tx(engine) as conn:
            if body.snapshot_ok and feed.parse_cursor(body.cursor) == 0 and snapshot.should_offer(
                    conn, p, limits.snapshot_min_records):
                # a big scope: no page, the device fetches the starter pack (docs/starter-pack.md)
                docs, cursor, more = [], generation.make_cursor(generation.current_epoch(conn), 0), True
                offer = ',"snapshot":{"href":"' + f'{PREFIX}/snapshot"' + "}"
            else:
                docs, cursor, more = feed.pull_raw(conn, p, body.cursor, limit)
        offset = now - body.device_time_ms if body.device_time_ms is not None else 0
        out = (
            '{"acks":' + db.dumps(acks) + ',"records":[' + ",".join(docs) + "]" + offer
            + ',"cursor":' + json.dumps(cursor) + ',"epoch":' + json.dumps(generation.split_cursor(cursor)[0])
            + ',"more":' + ("true" if more else "false")
            + f',"clock_offset_ms":{offset},"server_time_ms":{db.now_ms()}' + "}"
        )  # fmt: skip
        return Response(out.encode("utf-8"), media_type="application/json")

    @app.get(f"{PREFIX}/records/{{record_id}}/conflicts", response_model=ConflictsResponse)
    def conflicts(
        record_id: Annotated[str, Path(max_length=36, description="record id (UUIDv7)")], p: Auth
    ) -> dict[str, Any]:
        with db.read_tx(engine) as conn:
            return {"record_id": record_id, "conflicts": feed.record_conflicts(conn, p, record_id)}

    @app.post(f"{PREFIX}/blobs/missing", response_model=MissingResponse,
              responses={413: {"description": "more than limits.max_missing_query hashes"}})
    def missing(body: MissingRequest, p: Auth) -> dict[str, Any]:
        if len(body.sha256) > limits.max_missing_query:
            raise ServerError(413, "too_many_hashes", "server.blob.too_many_hashes", limit=limits.max_missing_query)
        return {"missing": [s for s in dict.fromkeys(body.sha256) if not blobs.has(s)]}

    @app.get(f"{PREFIX}/blobs/{{sha256}}/upload", response_model=UploadState)
    def upload_state(sha256: Sha, p: Auth) -> dict[str, Any]:
        if blobs.has(sha256) or blobs.has_bundle(sha256):
            return {"offset": 0, "size": None, "complete": True}
        offset, size = blobs.size_of_partial(sha256)
        return {"offset": offset, "size": size, "complete": False}

    @app.put(
        f"{PREFIX}/blobs/{{sha256}}",
        response_model=UploadState,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
            }
        },
    )
    async def upload_chunk(
        sha256: Sha,
        request: Request,
        p: Auth,
        offset: Annotated[int, Query(ge=0)],
        size: Annotated[int, Query(ge=1)],
        x_chunk_sha256: Annotated[str, Header(pattern=SHA256_PATTERN)],
    ) -> dict[str, Any]:
        if size > limits.max_blob_bytes:
            raise ServerError(413, "blob_too_large", "server.blob.too_large", limit=limits.max_blob_bytes)
        data = await request.body()
        # Hashing and fsync'd file writes block: keep them off the event loop.
        return await run_in_threadpool(_store_chunk, p, sha256, offset, size, x_chunk_sha256, data)

    def _store_chunk(
        p: auth.Principal, sha256: str, offset: int, size: int, chunk_sha: str, data: bytes
    ) -> dict[str, Any]:
        if hashlib.sha256(data).hexdigest() != chunk_sha:
            raise ServerError(422, "chunk_hash_mismatch", "server.blob.chunk_hash")
        if blobs.has(sha256) or blobs.has_bundle(sha256):
            return {"offset": size, "size": size, "complete": True}
        if not data or offset + len(data) > size:
            raise ServerError(400, "bad_chunk", "server.blob.bad_chunk")
        device = p.device_id or p.user_id
        if p.role not in blob_policy.OPERATOR_ROLES:  # operators upload bundles, cleaned later
            blob_policy.check_quota(blobs.usage(device), size, limits.blob_quota_bytes)
        held, total = blobs.size_of_partial(sha256)
        if total is not None and held > 0 and total != size:
            err = ServerError(409, "size_mismatch", "server.blob.size_mismatch", size=total)
            err.extra = {"offset": held, "size": total}
            raise err
        try:
            new_offset = blobs.write_chunk(sha256, offset, data, size)
        except OffsetMismatch as exc:
            err = ServerError(409, "wrong_offset", "server.blob.wrong_offset", offset=exc.offset)
            err.extra = {"offset": exc.offset}
            raise err from None
        if new_offset < size:
            return {"offset": new_offset, "size": size, "complete": False}
        try:
            area = blobs.finish(sha256, blob_policy.upload_check(p.role))
        except HashMismatch:
            raise ServerError(422, "blob_hash_mismatch", "server.blob.hash_mismatch") from None
        if area in ("photo", "voice"):  # what a device stores counts against its quota
            blobs.charge(device, sha256, size)
        return {"offset": size, "size": size, "complete": True}

    @app.get(
        f"{PREFIX}/blobs/{{sha256}}",
        responses={200: {"content": {"image/jpeg": {}, "application/octet-stream": {}}}},
    )
    def download(
        sha256: Sha, p: Auth, variant: Annotated[str, Query(pattern="^(original|thumb)$")] = "original"
    ) -> Response:
        with db.read_tx(engine) as conn:
            refs = conn.execute(
                select(db.blob_refs.c.grid, db.blob_refs.c.township).where(db.blob_refs.c.sha256 == sha256)
            ).all()
        if not blobs.has(sha256) or not authz.may_read_blob(p, refs):
            raise ServerError(404, "blob_not_found", "server.blob.not_found")
        if variant == "thumb":
            thumb = blobs.thumbnail(sha256)
            if thumb is None:
                raise ServerError(404, "no_thumbnail", "server.blob.no_thumbnail")
            return Response(thumb, media_type="image/jpeg")
        def chunks() -> Iterator[bytes]:
            with blobs.open(sha256) as f:
                yield from iter(lambda: f.read(256 * 1024), b"")

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    app.include_router(make_bundles_router(engine, blobs, quota_bytes=limits.blob_quota_bytes))  # operators
    app.include_router(snapshot.make_snapshot_router(engine, blobs))  # new devices' starter packs
    app.include_router(make_reference_router(engine))  # the admin edits units, categories, sources
    app.include_router(make_wall_router(server_wall_records(engine), server_photo_bytes(blobs),
                                        server_wall_key(engine),
                                        Throttle(limits.lookup_misses, limits.lookup_window_s)))
    app.include_router(make_front_router(engine))  # `/` and `/wall`: what this server is
    if app_dir is not None:
        from sync.server.phone_app import MOUNT, phone_app

        app.mount(MOUNT, phone_app(FsPath(app_dir)))

    def gzip_caller(token: str | None) -> ServerError | None:
        try:
            with db.read_tx(engine) as conn:
                auth.authenticate(conn, token)
        except ServerError as exc:
            return exc
        return None

    app.add_middleware(BodyMiddleware, limits=limits, authenticate=gzip_caller)
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    app.add_middleware(GuardMiddleware, limits=limits)
    return app


def open_server(db_url: str, blobs_dir: FsPath, limits: Limits | None = None,
                app_dir: FsPath | None = None) -> FastAPI:
    """Migrate the database, seed reference data on first start and build the app."""
    engine = db.make_engine(db_url)
    db.migrate(engine)
    with engine.begin() as conn:
        admin.prepare(conn)
    blobs = FsBlobStore(blobs_dir)
    blobs.cleanup_partials(PARTIAL_DAYS)
    blobs.cleanup_bundles(blob_policy.BUNDLE_DAYS)
    app = create_app(engine, blobs, limits, app_dir)
    app.state.engine = engine
    app.state.blob_store = blobs
    return app
