"""Resumable blob upload, apart from any replica: the sync engine sends photos with it, the
operator's ``gridwall sync upload`` sends bundle files with it.

``PUT /api/v1/blobs/{sha256}?offset=&size=`` in chunks, each with its own sha256; a lost answer
or a cut link resumes from the offset the server holds (docs/protocol.md). The chunk size
follows the measured link.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sync.client.replica import Meta
from sync.client.transport import (
    API,
    Call,
    HttpRules,
    Response,
    Steps,
    SyncError,
    drive,
    problem_error,
)
from sync.i18n import t

STARTED_KEY = "sync.upload_started"  # meta: uploads begun from this device (skip the offset question)


def expect_ok(resp: Response) -> Any:
    """The JSON body of a successful answer; a SyncError in plain words otherwise."""
    if resp.status >= 400:
        raise problem_error(resp)
    try:
        return resp.json()
    except ValueError:
        raise SyncError("bad_response", t("client.error.bad_response"), retryable=True) from None


class LinkEstimate:
    """What the requests so far say about the link: round-trip time and bandwidth."""

    def __init__(self) -> None:
        self.throughput_bps: float | None = None  # bytes/s, round trips taken off
        self.rtt_s: float | None = None

    def measure(self, resp: Response, sent: int) -> None:
        """Round-trip time (the quickest request seen) and bandwidth (bytes over the time
        left once the round trip is taken off)."""
        el = resp.elapsed_s
        rtt = self.rtt_s or 0.0  # known from earlier requests only: never this one's own time
        self.rtt_s = el if self.rtt_s is None else min(self.rtt_s, el)
        moved = resp.wire_bytes + sent
        if moved < 2048:
            return  # a tiny request says nothing about bandwidth
        bps = moved / max(el - rtt, 0.25 * el)
        # EWMA so one lucky or unlucky request does not swing the sizes.
        self.throughput_bps = bps if self.throughput_bps is None else 0.5 * self.throughput_bps + 0.5 * bps


class BlobUploader:
    """Uploads whole blobs (photos, bundle files) over ``transport``."""

    MIN_CHUNK = 8 * 1024
    MAX_CHUNK = 256 * 1024

    def __init__(
        self,
        transport: HttpRules,
        link: LinkEstimate | None = None,
        *,
        chunk_size: int = 32 * 1024,
        chunk_target_s: float = 12.0,
        adaptive: bool = True,
        meta: Meta | None = None,
    ) -> None:
        self.transport = transport
        self.link = link or LinkEstimate()
        self.chunk_size = chunk_size
        # A chunk may take longer than a records batch: each chunk costs a round trip, and a
        # cut loses at most one chunk (the upload resumes from the server's offset).
        self.chunk_target_s = chunk_target_s
        self.adaptive = adaptive  # False keeps the chunk size fixed (tests)
        self.meta = meta  # where a device remembers the uploads it began (None: always ask)

    def upload(self, sha: str, data: bytes) -> None:
        """Upload ``data`` (whose sha256 is ``sha``) from the offset the server holds (blocking
        transport; the engine runs ``upload_steps`` on either)."""
        drive(self.upload_steps(sha, data), self.transport.call)  # type: ignore[attr-defined]

    def missing(self, shas: list[str]) -> set[str]:
        """Which of ``shas`` the server lacks (blocking transport)."""
        return drive(self.missing_steps(shas), self.transport.call)  # type: ignore[attr-defined]

    def upload_steps(self, sha: str, data: bytes) -> Steps[None]:
        """``upload`` as calls to make."""
        started = self.meta.meta_get(STARTED_KEY, []) if self.meta is not None else None
        if isinstance(started, list) and sha not in started:
            # Never started from here: begin at 0 without asking (one round trip less per
            # photo; on 2G that is 1.3 s). Should the server hold part of it anyway, its 409
            # tells the right offset.
            offset = 0
            self._set_started((started + [sha])[-500:])
        else:
            info = expect_ok((yield Call("GET", f"{API}/blobs/{sha}/upload")))
            if info.get("complete"):
                self._forget_started(sha)
                return
            offset = int(info.get("offset") or 0)
        yield from self._send_chunks(sha, data, offset)
        self._forget_started(sha)

    def missing_steps(self, shas: list[str]) -> Steps[set[str]]:
        """Which of ``shas`` the server lacks (asked 200 at a time)."""
        out: set[str] = set()
        for i in range(0, len(shas), 200):
            data = expect_ok((yield Call("POST", f"{API}/blobs/missing", payload={"sha256": shas[i : i + 200]})))
            out.update(data.get("missing") or [])
        return out

    def _set_started(self, value: list[str]) -> None:
        if self.meta is not None:
            self.meta.meta_set(STARTED_KEY, value)

    def _forget_started(self, sha: str) -> None:
        started = self.meta.meta_get(STARTED_KEY, []) if self.meta is not None else None
        if isinstance(started, list) and sha in started:
            self._set_started([x for x in started if x != sha])

    def _send_chunks(self, sha: str, data: bytes, offset: int) -> Steps[None]:
        total = len(data)
        for _ in range(100_000):
            if offset >= total:
                # The server holds every byte: either it finished (our answer was lost) or
                # the partial is unusable; ask, and start over only if it still lacks it.
                if sha not in (yield from self.missing_steps([sha])):
                    return
                offset = 0
            chunk = data[offset : offset + self.chunk_size]
            resp = yield Call(
                "PUT",
                f"{API}/blobs/{sha}",
                raw=chunk,
                params={"offset": offset, "size": total},
                headers={"Content-Type": "application/octet-stream", "X-Chunk-Sha256": hashlib.sha256(chunk).hexdigest()},
            )
            if resp.status == 409:
                # Our idea of the offset was wrong (the last answer was lost): take the server's.
                body = resp.json() or {}
                offset = int(body.get("offset", 0))
                if body.get("complete"):
                    return
                continue
            if resp.status == 413 and self.chunk_size > self.MIN_CHUNK:
                self.chunk_size = max(self.MIN_CHUNK, self.chunk_size // 2)
                continue
            body = expect_ok(resp)
            self.link.measure(resp, len(chunk))
            bps = self.link.throughput_bps
            if bps and self.adaptive:
                self.chunk_size = int(min(self.MAX_CHUNK, max(self.MIN_CHUNK, bps * self.chunk_target_s)))
            if body.get("complete"):
                return
            offset = int(body.get("offset", offset + len(chunk)))
        raise SyncError("bad_response", t("client.error.bad_response"), retryable=True)
