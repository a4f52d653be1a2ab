"""The device sync engine: push the outbox, pull until caught up, then photos.

One cycle (``sync_once``):

1. ``POST /api/v1/sync`` with a batch of the outbox and the pull cursor; the answer carries the
   acks and a page of records. Acked changes (applied or duplicate) leave the outbox; refused
   ones stay visible with the server's reason; the page and the new cursor are applied in one
   ``replica.apply_remote`` call. Repeat until the outbox is empty and ``more`` is false.
   An idle sync is exactly this one request.
2. Photos the server lacks are uploaded in chunks, resuming from the offset the server holds.
3. Photos referenced by pulled records and not on the device are downloaded and checked.

Every request is idempotent (changes carry their own ids, chunks their offsets), so any
request may be retried after any failure. The batch size and chunk size follow the measured
link: a few changes per request on 2G, hundreds on Wi-Fi.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from sync.client import starter
from sync.client.history import LAST_KEY, record_attempt
from sync.client.replica import DAMAGE_KEY, ENROLLMENT_KEY, RESTORE_KEY, Replica  # noqa: F401 - ENROLLMENT_KEY re-exported
from sync.client.transport import (
    API,
    Call,
    HttpRules,
    Response,
    Steps,
    SyncError,
    Transport,
    adrive,
    drive,
    problem_error,
)
from sync.client.upload import BlobUploader, LinkEstimate, expect_ok
from sync.i18n import t

log = logging.getLogger(__name__)


@dataclass
class Progress:
    phase: str = "records"  # records | photos_up | photos_down | done
    records_sent: int = 0
    records_received: int = 0
    photos_sent: int = 0
    photos_received: int = 0
    photos_total: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0


@dataclass
class SyncReport:
    applied: int = 0
    duplicate: int = 0
    refused: list[dict] = field(default_factory=list)  # {"change_id", "code", "reason"}
    # Refused for now with ``retry`` (what it names is not on the server yet): kept in the
    # outbox and sent again at the next sync; {"change_id", "code", "reason"}.
    waiting: list[dict] = field(default_factory=list)
    pulled: int = 0
    pages: int = 0
    photos_uploaded: int = 0  # photo files whose bytes were sent in this cycle
    photos_sent: int = 0  # photo files of the upload queue now on the server (sent, or found there)
    photos_downloaded: int = 0
    requests: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    elapsed_s: float = 0.0
    more: bool = False  # the server has more to pull (the cycle was cut short)
    clock_offset_ms: int = 0
    restored: bool = False  # the server went back to a backup (a new feed generation)
    reoffered: int = 0  # acknowledged changes offered again after that
    recovered: int = 0  # ... of which the server had lost (applied anew)
    error: SyncError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class SyncStatus:
    state: str  # synced | pending | refused | error | never
    message: str  # plain words, from the catalog
    outbox: int
    refused: int
    photos_to_upload: int
    photos_missing: int
    last_error: str | None = None
    notices: list[str] = field(default_factory=list)  # what happened that people must know (restore, damage)


@dataclass
class Enrollment:
    server_url: str
    device_id: str
    token: str
    secret: str
    user: dict
    scope: dict
    server_time_ms: int | None = None

    def document(self) -> dict:
        """What a device store keeps under ``ENROLLMENT_KEY`` (the server time is not kept)."""
        return {"server_url": self.server_url, "device_id": self.device_id, "token": self.token,
                "secret": self.secret, "user": self.user, "scope": self.scope}


class SyncEngine:
    """``SyncEngine(replica, server_url, token).sync_once() -> SyncReport``."""

    MIN_BATCH = 5
    MAX_BATCH = 500

    def __init__(
        self,
        replica: Replica,
        server_url: str,
        token: str,
        transport: HttpRules | None = None,  # Transport (blocking) or aio.AsyncTransport
        session: requests.Session | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        target_request_s: float = 4.0,
        batch_size: int = 25,
        pull_limit: int = 200,
        chunk_size: int = 32 * 1024,
        max_rounds: int = 10_000,
        adaptive: bool = True,
        device_id: str | None = None,
        secret: str | bytes | None = None,
        **transport_options: Any,
    ) -> None:
        self.replica = replica
        self.transport = transport or Transport(server_url, token, session=session, **transport_options)
        self.on_progress = on_progress
        self.target_request_s = target_request_s
        self.batch_size = batch_size
        self.pull_limit = pull_limit
        self.max_rounds = max_rounds
        self.adaptive = adaptive  # False keeps batch, page and chunk sizes fixed (tests)
        self.link = LinkEstimate()
        # Photos go up through the same transport and link estimate, from the replica's bytes.
        self.uploader = BlobUploader(self.transport, self.link, chunk_size=chunk_size,
                                     chunk_target_s=3 * target_request_s, adaptive=adaptive, meta=replica)
        self.last_report: SyncReport | None = None
        # A new device may start from a starter pack when it can check one (sync/client/starter.py).
        key = bytes.fromhex(secret) if isinstance(secret, str) else secret
        self.ident = (device_id, key) if device_id and key else starter.enrollment_secret(replica)
        self._bytes0: tuple[int, int] = (0, 0)

    # -- the cycle -------------------------------------------------------------------------

    def sync_once(self, probe: bool = False) -> SyncReport:
        """One full cycle on the blocking transport. Never raises for network trouble: the
        report carries the error.

        ``probe``: the link was down at the last attempt; the first request is sent once, with
        no retries inside the cycle (the runner's schedule is the retry), so a probe is cheap."""
        return drive(self.cycle(probe), self.transport.call)

    async def sync_once_async(self, probe: bool = False) -> SyncReport:
        """The same cycle on an asyncio transport (``sync.client.aio.AsyncTransport``)."""
        return await adrive(self.cycle(probe), self.transport.call)  # type: ignore[arg-type]

    def cycle(self, probe: bool = False) -> Steps[SyncReport]:
        """The cycle as calls to make (``drive``/``adrive`` make them): the one copy of the logic."""
        rep = SyncReport()
        prog = Progress()
        start = time.monotonic()
        stats0 = (self.transport.stats.requests, self.transport.stats.bytes_sent, self.transport.stats.bytes_received)
        self._bytes0 = stats0[1:]  # progress counts this cycle's bytes only
        try:
            yield from self._records(rep, prog, probe)
            yield from self._photos_up(rep, prog)
            yield from self._photos_down(rep, prog)
            prog.phase = "done"
            self._progress(prog)
        except SyncError as exc:
            rep.error = exc
        except Exception as exc:  # noqa: BLE001 - e.g. the store failed to write: say so, keep the trace in the log
            log.exception("sync failed")
            rep.error = SyncError("internal", t("client.error.internal", detail=str(exc)[:300]))
        s = self.transport.stats
        rep.requests = s.requests - stats0[0]
        rep.bytes_sent = s.bytes_sent - stats0[1]
        rep.bytes_received = s.bytes_received - stats0[2]
        rep.elapsed_s = time.monotonic() - start
        self.last_report = rep
        record_attempt(self.replica, rep, int(time.time() * 1000))
        return rep

    def _progress(self, prog: Progress) -> None:
        prog.bytes_sent = self.transport.stats.bytes_sent - self._bytes0[0]
        prog.bytes_received = self.transport.stats.bytes_received - self._bytes0[1]
        if self.on_progress:
            self.on_progress(prog)

    def _adapt(self, sent_changes: int, sent_bytes: int, got_records: int, got_bytes: int) -> None:
        if not self.link.throughput_bps or not self.adaptive:
            return
        budget = self.link.throughput_bps * self.target_request_s
        if sent_changes:
            per = max(40.0, sent_bytes / sent_changes)
            self.batch_size = int(min(self.MAX_BATCH, max(self.MIN_BATCH, budget / per)))
        if got_records:
            per = max(40.0, got_bytes / got_records)
            self.pull_limit = int(min(1000, max(20, budget / per)))

    def _records(self, rep: SyncReport, prog: Progress, probe: bool = False) -> Steps[None]:
        done: set[str] = set()  # acked or refused in this cycle
        waiting: set[str] = set()  # to send again next cycle, not in this one
        reoffered: set[str] = set()
        for round_no in range(self.max_rounds):
            changes = [c for c in self.replica.pending_changes(self.batch_size + len(waiting))
                       if c["change_id"] not in waiting][: self.batch_size]
            if any(c["change_id"] in done for c in changes):
                # The store still offers a change it was told is acked: do not loop on it.
                raise SyncError("store", t("client.error.store"))
            device_ms = self.replica.clock.wall_ms()
            body = {
                "device_time_ms": device_ms,
                "cursor": self.replica.cursor() or "0",
                "changes": changes,
                "pull_limit": self.pull_limit,
            }
            if self.ident is not None and not rep.pulled and starter.wanted(self.replica):
                body["snapshot_ok"] = True
            sent_before = self.transport.stats.bytes_sent
            resp = yield Call("POST", f"{API}/sync", payload=body, retry=not (probe and round_no == 0))
            sent = self.transport.stats.bytes_sent - sent_before
            epoch = generation_changed(resp)
            if epoch is not None:
                if rep.restored:  # told twice in one cycle: do not loop
                    raise SyncError("bad_response", t("client.error.bad_response"), retryable=True)
                reoffered = set(server_restored(self.replica, epoch))
                rep.restored, rep.reoffered = True, len(reoffered)
                done.clear()  # acked by the generation that is gone: offered again
                continue
            data = expect_ok(resp)
            self.link.measure(resp, sent)
            if not isinstance(data, dict) or "cursor" not in data:
                raise SyncError("bad_response", t("client.error.bad_response"), retryable=True)
            acked: list[str] = []
            by_id = {c["change_id"]: c for c in changes}
            for ack in data.get("acks") or []:
                cid = ack.get("change_id")
                if cid not in by_id:
                    continue
                status = ack.get("status")
                if status in ("applied", "duplicate"):
                    acked.append(cid)
                    if status == "applied":
                        rep.applied += 1
                    else:
                        rep.duplicate += 1
                elif status == "refused" and ack.get("retry") is True:
                    waiting.add(cid)
                    rep.waiting.append({"change_id": cid, "code": ack.get("code"), "reason": ack.get("reason") or ""})
                elif status == "refused":
                    reason = ack.get("reason") or ack.get("code") or ""
                    self.replica.mark_refused(cid, reason)
                    rep.refused.append({"change_id": cid, "code": ack.get("code"), "reason": reason})
            if acked:
                # Only an explicit ack prunes the outbox.
                self.replica.mark_acked(acked)
                back = reoffered.intersection(acked)
                if back:
                    # "applied" (not "duplicate"): the server had lost it; the device gave it back.
                    recovered = sum(1 for a in data.get("acks") or []
                                    if a.get("change_id") in back and a.get("status") == "applied")
                    rep.recovered += recovered
                    note_recovered(self.replica, recovered)
                    reoffered -= back
            done.update(acked)
            done.update(r["change_id"] for r in rep.refused)
            records = data.get("records") or []
            # Clock first, so the replica judges stamps against corrected time.
            self._clock(data, rep)
            if data.get("snapshot") and body.get("snapshot_ok"):
                # A big scope: the whole of it in one compressed file, then only what changed.
                try:
                    if self.transport.streams_downloads:  # keeps what arrived of a cut answer
                        rep.pulled += starter.fetch_and_apply(self.transport, self.replica, self.ident)
                    else:  # reads whole answers (the phone's browser): the pack in ranges
                        rep.pulled += yield from starter.fetch_and_apply_steps(self.replica, self.ident)
                except SyncError as exc:
                    if exc.status != 404:
                        raise
                    self.ident = None  # the server has no pack after all: page by page
                records = []
            else:
                # The page and its cursor land together (the replica makes it atomic).
                self.replica.apply_remote(records, str(data["cursor"]))
            rep.pulled += len(records)
            rep.pages += 1
            rep.more = bool(data.get("more"))
            prog.records_sent += len(acked)
            prog.records_received += len(records)
            self._progress(prog)
            self._adapt(len(changes), sent, len(records), resp.wire_bytes)
            if any(c not in done and c not in waiting for c in by_id):
                # The server answered without acking everything we sent: do not spin on it.
                raise SyncError("bad_response", t("client.error.bad_response"), retryable=True)
            if not rep.more and all(c["change_id"] in waiting
                                    for c in self.replica.pending_changes(len(waiting) + 1)):
                return
        raise SyncError("bad_response", t("client.error.bad_response"), retryable=True)

    def _clock(self, data: dict, rep: SyncReport) -> None:
        off = data.get("clock_offset_ms")
        if not isinstance(off, int | float):
            return
        rep.clock_offset_ms = int(off)
        # Below a couple of seconds the figure is mostly network latency: leave the clock alone.
        if abs(off) < 2000:
            return
        self.replica.set_clock_offset(int(self.replica.clock.offset_ms + off))

    # -- photos ------------------------------------------------------------------------------

    def _photos_up(self, rep: SyncReport, prog: Progress) -> Steps[None]:
        queue = self.replica.photos_to_upload()
        if not queue:
            return
        prog.phase = "photos_up"
        prog.photos_total = len(queue)
        self._progress(prog)
        missing = yield from self.uploader.missing_steps(queue)
        for sha in queue:
            if sha in missing:
                data = self.replica.photo_bytes(sha)
                if data is not None:  # gone from the device meanwhile: nothing to send
                    yield from self.uploader.upload_steps(sha, data)
                rep.photos_uploaded += 1
            self.replica.mark_photo_uploaded(sha)
            rep.photos_sent += 1
            prog.photos_sent += 1
            self._progress(prog)

    def _photos_down(self, rep: SyncReport, prog: Progress) -> Steps[None]:
        missing = list(self.replica.missing_photos())
        if not missing:
            return
        prog.phase = "photos_down"
        prog.photos_total += len(missing)
        for sha in missing:
            resp = yield Call("GET", f"{API}/blobs/{sha}")
            if resp.status == 404:
                continue  # not uploaded yet by its author; next sync
            if resp.status >= 400:
                raise problem_error(resp)
            if hashlib.sha256(resp.body).hexdigest() != sha:
                raise SyncError("bad_response", t("client.error.bad_response"), retryable=True)
            self.replica.put_photo(sha, resp.body)
            self.replica.mark_photo_uploaded(sha)  # it came from the server: nothing to send
            rep.photos_downloaded += 1
            prog.photos_received += 1
            self._progress(prog)

    # -- status ------------------------------------------------------------------------------

    def status(self) -> SyncStatus:
        return sync_status(self.replica, self.replica.photos_to_upload())


# -- a server that went back (restored from a backup) ----------------------------------------

NOTICE_DAYS = 14


def generation_changed(resp: Response) -> str | None:
    """The new feed generation when the server says ``409 generation_changed``."""
    if resp.status != 409:
        return None
    try:
        body = resp.json()
    except ValueError:
        return None
    if isinstance(body, dict) and body.get("code") == "generation_changed" and isinstance(body.get("epoch"), str):
        return body["epoch"]
    return None


def server_restored(replica: Replica, epoch: str) -> list[str]:
    """Tell the replica the server went back: it pulls from the start of generation ``epoch``
    and offers again, before anything else, the changes it keeps as acknowledged; returns
    their change ids."""
    log.warning("the server was restored from a backup (feed generation %s): pulling again, offering again", epoch)
    return list(replica.server_restored(epoch))


def note_recovered(replica: Replica, n: int) -> None:
    if n:
        note = dict(replica.meta_get(RESTORE_KEY, None) or {})
        if note:
            note["recovered"] = int(note.get("recovered") or 0) + n
            replica.meta_set(RESTORE_KEY, note)


def notices(replica: Replica, now_ms: int | None = None) -> list[str]:
    """Plain-words lines about a server restore and damaged device files (recent ones)."""
    g = replica.meta_get
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    since = now_ms - NOTICE_DAYS * 86_400_000
    out = []
    for d in g(DAMAGE_KEY, None) or []:
        if isinstance(d, dict) and int(d.get("at_ms") or 0) >= since:
            out.append(str(d.get("message") or ""))
    note = g(RESTORE_KEY, None)
    if isinstance(note, dict) and int(note.get("at_ms") or 0) >= since:
        out.append(t("client.status.restored", when=time.strftime("%Y-%m-%d %H:%M", time.localtime(note["at_ms"] / 1000)),
                     offered=int(note.get("offered") or 0), recovered=int(note.get("recovered") or 0)))
    return [x for x in out if x]


def _sync_status(replica: Replica, upload_queue: list[str] | None = None) -> SyncStatus:
    """A truthful status: "all synced" only when nothing is waiting in any direction."""
    outbox = replica.outbox_size()
    refused = len(replica.refused_changes())
    if upload_queue is None:
        upload_queue = list(replica.photos_to_upload())
    missing = len(replica.missing_photos())
    last = replica.meta_get(LAST_KEY, None)
    if last is None and replica.cursor() is None:
        return SyncStatus("never", t("client.status.never"), outbox, refused, len(upload_queue), missing)
    if last and not last.get("ok"):
        return SyncStatus("error", t("client.status.error", message=last.get("message") or ""),
                          outbox, refused, len(upload_queue), missing, last.get("message"))
    if replica.cursor() is None:
        # Synced before, but the pull position is gone (a damaged store file): all of it again.
        return SyncStatus("pending", t("client.status.repull"), outbox, refused, len(upload_queue), missing)
    if outbox or upload_queue or missing or (last and last.get("more")):
        return SyncStatus("pending", t("client.status.pending", changes=outbox, photos=len(upload_queue) + missing),
                          outbox, refused, len(upload_queue), missing)
    if refused:
        return SyncStatus("refused", t("client.status.refused", n=refused), outbox, refused, 0, 0)
    return SyncStatus("synced", t("client.status.synced"), 0, 0, 0, 0)


def sync_status(replica: Replica, upload_queue: list[str] | None = None) -> SyncStatus:
    """A truthful status (see ``_sync_status``) with the notices people must read."""
    st = _sync_status(replica, upload_queue)
    st.notices = notices(replica)
    return st


def enroll(
    server_url: str,
    code: str,
    device_name: str,
    session: requests.Session | None = None,
    **transport_options: Any,
) -> Enrollment:
    """Exchange a one-time code for a device token and secret. Raises SyncError in plain words."""
    tr = Transport(server_url, None, session=session, **transport_options)
    return tr.run(enroll_steps(server_url, code, device_name))


def enroll_steps(server_url: str, code: str, device_name: str) -> Steps[Enrollment]:
    """The enrolment exchange as calls (``enroll`` blocking; ``sync.client.aio.enroll_async``)."""
    resp = yield Call("POST", f"{API}/enroll", payload={"code": code.strip(), "device_name": device_name})
    if resp.status in (400, 403, 404, 409, 410, 422):  # the server says 403 for a used or expired code
        raise SyncError("bad_code", t("client.error.bad_code"), status=resp.status)
    if resp.status >= 400:
        raise problem_error(resp)
    try:
        d = resp.json()
        return Enrollment(
            server_url=server_url.rstrip("/"),
            device_id=d["device_id"],
            token=d["token"],
            secret=d["secret"],
            user=d.get("user") or {},
            scope=d.get("scope") or {},
            server_time_ms=d.get("server_time_ms"),
        )
    except (ValueError, KeyError, TypeError):
        raise SyncError("bad_response", t("client.error.bad_response")) from None
