"""A new device starts from a starter pack instead of pulling years of records page by page.

``download`` fetches ``GET /api/v1/snapshot`` into a partial file beside the store and, after
a cut, asks only for the bytes it lacks (``Range`` with ``If-Range: <ETag>``; a server that
has moved on to a newer pack answers 200 and the download starts over). A transport that
reads whole answers (the phone's browser: fetch on asyncio) cannot keep what arrived of a cut
one, so ``download_steps`` asks for the pack in ranges of ``CHUNK`` bytes, as calls of the
engine's protocol, each kept beside the store as it arrives. ``apply_pack`` checks
the pack (signature with the device secret, sha256 of the payload, the payload's own shape)
before anything is applied, applies the records through ``replica.apply_remote`` (the path of
online sync; merge is idempotent) and sets the cursor to the pack's feed position, so the next
pull carries only what changed since. docs/starter-pack.md.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import requests
import urllib3

from sync import snapshot as fmt
from sync.bundles.format import Bundle, BundleError, read_bundle
from sync.client.replica import ENROLLMENT_KEY, Replica
from sync.client.transport import (
    RETRY_STATUS,
    Call,
    Response,
    Steps,
    SyncError,
    Transport,
    problem_error,
)
from sync.i18n import t

PATH = "/api/v1/snapshot"
META = "sync.starter"  # {"etag": "..."} of the partial download
REFUSED = "sync.starter_refused"  # packs refused so far: after two, page by page instead
# Records per apply_remote call: the device store's cost is mostly per call (18,737 records into
# the TinyDB store: 10.6 s in calls of 1,000, 4.7 s of 5,000, 2.4 s in one), the bound keeps a
# township's pack from being one huge write.
APPLY_CHUNK = 10_000
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
_UNSATISFIED_RANGE = re.compile(r"^bytes \*/(\d+)$")  # a 416's Content-Range: the whole size
# Bytes per range where a cut answer is lost whole (download_steps): a cut costs at most this
# much again, each range one more round trip (64 KB: ~10 s of 2G-rural, one of ~6 for a grid).
CHUNK = 64 * 1024


def partial_path(replica: Replica) -> Path | None:
    """Where the download under way is kept: beside the store (None: memory only)."""
    return replica.scratch_path("starter.gwb.part")


def _meta_get(replica: Replica, key: str) -> Any:
    return replica.meta_get(key, None)


def _meta_set(replica: Replica, key: str, value: Any) -> None:
    replica.meta_set(key, value)


def enrollment_secret(replica: Replica) -> tuple[str, bytes] | None:
    """(device id, bundle secret) kept at enrolment; None when this replica has none."""
    en = _meta_get(replica, ENROLLMENT_KEY)
    if not isinstance(en, dict) or not en.get("secret") or not en.get("device_id"):
        return None
    try:
        return str(en["device_id"]), bytes.fromhex(str(en["secret"]))
    except ValueError:
        return None


def download(transport: Transport, replica: Replica, path: str = PATH, chunk: int = 16384) -> bytes:
    """The whole pack, resuming from what an earlier (cut) attempt kept; SyncError if the link
    fails more often than the transport's ``max_attempts`` in a row."""
    part = partial_path(replica)
    held = bytearray()
    etag = (_meta_get(replica, META) or {}).get("etag")
    if part is not None and etag and part.exists():
        held = bytearray(part.read_bytes())
    failures = 0
    while True:
        headers = {"Accept": "application/zip", "Accept-Encoding": "identity"}
        if transport.token:
            headers["Authorization"] = f"Bearer {transport.token}"
        if held and etag:
            headers["Range"] = f"bytes={len(held)}-"
            headers["If-Range"] = etag
        transport.stats.requests += 1
        transport.stats.by_path[path] = transport.stats.by_path.get(path, 0) + 1
        total: int | None = None
        try:
            r = transport.session.get(f"{transport.base_url}{path}", headers=headers, stream=True,
                                      timeout=(transport.connect_timeout, transport.read_timeout))
            with r:
                if r.status_code == 416:  # what we hold is longer than the pack: start over
                    held, etag = bytearray(), None
                    continue
                if r.status_code in RETRY_STATUS:
                    raise requests.exceptions.RetryError(r.status_code)
                if r.status_code >= 400:
                    body = r.content
                    transport.stats.bytes_received += len(body)
                    raise problem_error(Response(r.status_code, {k.lower(): v for k, v in r.headers.items()},
                                                 body, len(body), 0.0))
                m = _CONTENT_RANGE.match(r.headers.get("Content-Range", ""))
                if r.status_code == 206 and m and int(m.group(1)) == len(held):
                    total = int(m.group(3))
                else:  # a whole (maybe newer) pack
                    held = bytearray()
                    etag = r.headers.get("ETag")
                    total = int(r.headers.get("Content-Length") or 0) or None
                    _meta_set(replica, META, {"etag": etag})
                    if part is not None:
                        part.parent.mkdir(parents=True, exist_ok=True)
                        part.write_bytes(b"")
                with open(part, "ab") if part is not None else _NoFile() as f:
                    # read1: whatever has arrived, so a cut loses nothing already received
                    while piece := r.raw.read1(chunk):
                        held.extend(piece)
                        f.write(piece)
                        f.flush()
                        transport.stats.bytes_received += len(piece)
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError):
            pass  # cut: what arrived is kept; ask for the rest
        if total is not None and len(held) >= total:
            return bytes(held[:total])
        failures += 1
        if failures >= transport.max_attempts:
            raise SyncError("offline", t("client.error.offline"), retryable=True)
        transport.sleep(transport.backoff(failures - 1))


class _NoFile:
    def __enter__(self) -> _NoFile:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def write(self, data: bytes) -> None:
        return None

    def flush(self) -> None:
        return None


def download_steps(replica: Replica, path: str = PATH, chunk: int | None = None) -> Steps[bytes]:
    """``download`` as calls, for a transport that reads whole answers: the pack in ranges of
    ``chunk`` bytes (default ``CHUNK``), each kept beside the store as it arrives, so a cut
    costs at most one range and a later sync (after a restart too) asks only for the rest. A
    failing link ends the sync with the transport's ``SyncError``.

    No ``If-Range``: to it, a server that no longer has the pack we began answers with the
    whole current one, one answer a 2G link may never finish. Each range is of the server's
    current pack, and its ETag says whether that is still the one we hold; if not, we start
    over from its first byte (one range lost)."""
    chunk = chunk or CHUNK
    part = partial_path(replica)
    held = bytearray()
    etag = (_meta_get(replica, META) or {}).get("etag")
    if part is not None and etag and part.exists():
        held = bytearray(part.read_bytes())
    if not held:
        etag = None

    def begin(new_etag: str | None, first: bytes) -> None:
        """Hold ``first`` as the start of the pack ``new_etag``: the file before the meta, so
        the meta never names a pack the file does not hold the start of."""
        if part is not None:
            part.parent.mkdir(parents=True, exist_ok=True)
            part.write_bytes(first)
        _meta_set(replica, META, {"etag": new_etag})

    starts = 0
    while True:
        if starts > 3:  # the pack changed under us at every try: leave it to the next sync
            raise SyncError("snapshot", t("client.error.snapshot", reason=t("client.error.bad_response")))
        resp = yield Call("GET", path, headers={"Accept": "application/zip", "Accept-Encoding": "identity",
                                                "Range": f"bytes={len(held)}-{len(held) + chunk - 1}"})
        h = {k.lower(): v for k, v in resp.headers.items()}
        m = _CONTENT_RANGE.match(h.get("content-range", ""))
        same = held and h.get("etag") == etag
        if resp.status == 416:
            full = _UNSATISFIED_RANGE.match(h.get("content-range", ""))
            if same and full and int(full.group(1)) == len(held):
                return bytes(held)  # all of it was here already (a sync ended before applying it)
            held, etag, starts = bytearray(), None, starts + 1  # longer than the pack now: start over
            continue
        if resp.status >= 400:
            raise problem_error(resp)
        if resp.status == 206 and m and int(m.group(1)) == len(held) and (same or not held):
            total = int(m.group(3))
            if not held:  # the first range of a pack: remember which one
                etag = h.get("etag")
                begin(etag, resp.body)
            elif part is not None:
                with open(part, "ab") as f:
                    f.write(resp.body)
            held.extend(resp.body)
            if len(held) >= total:
                return bytes(held[:total])
        elif resp.status == 200:  # a server that ignores ranges: the whole pack at once
            begin(h.get("etag"), resp.body)
            return bytes(resp.body)
        else:  # a newer pack than the one we hold, or a range we did not ask for: start over
            held, etag, starts = bytearray(), None, starts + 1


def forget_partial(replica: Replica) -> None:
    part = partial_path(replica)
    if part is not None:
        part.unlink(missing_ok=True)
    _meta_set(replica, META, None)


def pack_records(b: Bundle) -> list[dict]:
    """The records of a checked ``snapshot`` bundle; BundleError if its payload is not right."""
    if b.snapshot is None or not isinstance(b.manifest.get("cursor"), str):
        raise BundleError("bad_manifest")
    try:
        records = fmt.unpack(b.snapshot)
    except fmt.SnapshotError:
        raise BundleError("bad_snapshot") from None
    info = b.manifest.get("snapshot") or {}
    if info.get("id") not in (None, hashlib.sha256(b.snapshot).hexdigest()) or (
            isinstance(info.get("records"), int) and info["records"] != len(records)):
        raise BundleError("bad_snapshot")
    return records


def read_pack(source: bytes | Path | str, device_id: str, secret: bytes) -> tuple[dict, list[dict]]:
    """Check a starter pack made for this device: (manifest, records). BundleError, with a
    message for people, if anything is wrong; nothing is changed."""
    b = read_bundle(source, lambda dev: secret if dev == device_id else None, expect_kind="snapshot")
    return b.manifest, pack_records(b)


def _seq(cursor: str | None) -> int | None:
    if cursor in (None, "", "0"):
        return 0
    return int(cursor) if str(cursor).isdigit() else None


def apply_pack(replica: Replica, manifest: dict, records: list[dict]) -> bool:
    """Merge the pack's records; move the cursor to the pack's position unless the device has
    already pulled past it. Returns whether the cursor moved."""
    here, there = _seq(replica.cursor()), _seq(manifest["cursor"])
    # A device that never pulled takes the pack's position whatever the cursor's form (the
    # server may carry more than a sequence in it); otherwise only forward.
    move = here == 0 or (here is not None and there is not None and there > here)
    chunks = [records[i : i + APPLY_CHUNK] for i in range(0, len(records), APPLY_CHUNK)] or [[]]
    for i, batch in enumerate(chunks):
        # the cursor lands with the last batch: a kill half-way leaves it where it was, and the
        # next sync merges the pack again (idempotent)
        replica.apply_remote(batch, manifest["cursor"] if move and i == len(chunks) - 1 else None)
    return move


def wanted(replica: Replica) -> bool:
    """Whether to ask for a pack: never pulled, and not refused twice already (a server that
    keeps sending bad packs must not keep the device from syncing at all)."""
    return replica.cursor() is None and int(_meta_get(replica, REFUSED) or 0) < 2


def fetch_and_apply(transport: Transport, replica: Replica, ident: tuple[str, bytes] | None = None,
                    path: str = PATH) -> int:
    """Download (resuming), check and apply this device's pack; the number of records.
    ``ident``: (device id, secret); by default the enrolment the store keeps."""
    ident = _ident(replica, ident)
    return _check_and_apply(replica, download(transport, replica, path), ident)


def fetch_and_apply_steps(replica: Replica, ident: tuple[str, bytes] | None = None,
                          path: str = PATH) -> Steps[int]:
    """``fetch_and_apply`` as calls (``download_steps``), for a transport that reads whole answers."""
    ident = _ident(replica, ident)
    data = yield from download_steps(replica, path)
    return _check_and_apply(replica, data, ident)


def _ident(replica: Replica, ident: tuple[str, bytes] | None) -> tuple[str, bytes]:
    ident = ident or enrollment_secret(replica)
    if ident is None:
        raise SyncError("snapshot", t("client.error.snapshot", reason=t("bundle.error.unknown_device", device="?")))
    return ident


def _check_and_apply(replica: Replica, data: bytes, ident: tuple[str, bytes]) -> int:
    try:
        manifest, records = read_pack(data, *ident)
    except BundleError as exc:
        forget_partial(replica)  # a bad file is not resumed: the next sync fetches it anew
        _meta_set(replica, REFUSED, int(_meta_get(replica, REFUSED) or 0) + 1)
        raise SyncError("snapshot", t("client.error.snapshot", reason=exc.message)) from None
    apply_pack(replica, manifest, records)
    forget_partial(replica)
    return len(records)
