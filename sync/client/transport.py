"""HTTP for the sync engine: one keep-alive session, timeouts, a deadline, retries.

The engine never makes a request itself: its phases are generators that yield a ``Call`` (what
to send) and receive the ``Response`` (or have the transport's ``SyncError`` thrown in at the
yield). ``drive`` runs them on this blocking ``Transport`` (requests, a thread on a PC);
``sync.client.aio`` runs the same generators on asyncio with the browser's fetch. The rules
(headers, gzip, which answers are retried, backoff, Retry-After) live once, in ``HttpRules``.

``requests`` has no default timeout and a response that trickles in byte by byte defeats a
read timeout, so every request here has connect and read timeouts *and* an overall deadline
checked while the body is read in chunks. Retries use jittered exponential backoff and honour
``Retry-After``. Sleep, clock and randomness are injectable so tests run without waiting.

``FaultAdapter`` is a requests adapter that fails on command (before sending, or after the
server answered = a lost response) for tests that do not need the TCP fault proxy.
"""

from __future__ import annotations

import gzip
import json
import random
import time
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlencode

import requests
from requests.adapters import HTTPAdapter

from sync.i18n import t

API = "/api/v1"  # the server's API prefix (docs/protocol.md)
RETRY_STATUS = {429, 502, 503, 504}


class SyncError(Exception):
    """A sync failure with a plain-words message (catalog) and a machine code.

    ``retryable`` says whether trying again later can help (offline, timeout, busy server)
    or a person has to act (revoked device, refused bundle). ``retry_after``: the seconds a
    busy server asked us to wait (its ``Retry-After``), for the runner's schedule.
    """

    def __init__(self, code: str, message: str, retryable: bool = False, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after


class TransientError(Exception):
    """One attempt failed in a way a retry may fix."""

    def __init__(self, code: str, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.retry_after = retry_after
        self.status = status


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    wire_bytes: int  # bytes as they came over the link (compressed)
    elapsed_s: float

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None


@dataclass
class TransportStats:
    requests: int = 0  # HTTP requests actually sent, retries included
    attempts_failed: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    by_path: dict[str, int] = field(default_factory=dict)


@dataclass
class Call:
    """One request a phase of the engine wants made; the transport makes it, with retries."""

    method: str
    path: str
    payload: Any = None  # JSON (gzip'd above ``gzip_min_bytes``)
    raw: bytes | None = None
    headers: dict[str, str] | None = None
    params: dict | None = None
    retry: bool = True


T = TypeVar("T")
Steps = Generator[Call, Response, T]  # a protocol phase: yields calls, returns its result


def drive(steps: Steps[T], make: Callable[[Call], Response]) -> T:
    """Run ``steps`` with a blocking ``make``; its exceptions are thrown in at the yield."""
    reply: Any = None
    error: Exception | None = None
    while True:
        try:
            call = steps.throw(error) if error is not None else steps.send(reply)
        except StopIteration as stop:
            return stop.value
        try:
            reply, error = make(call), None
        except Exception as exc:  # noqa: BLE001 - handed to the phase, as a blocking call would raise it
            reply, error = None, exc


async def adrive(steps: Steps[T], make: Callable[[Call], Awaitable[Response]]) -> T:
    """``drive`` on asyncio: the same phases, an awaited ``make``."""
    reply: Any = None
    error: Exception | None = None
    while True:
        try:
            call = steps.throw(error) if error is not None else steps.send(reply)
        except StopIteration as stop:
            return stop.value
        try:
            reply, error = await make(call), None
        except Exception as exc:  # noqa: BLE001 - handed to the phase, as above
            reply, error = None, exc


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class HttpRules:
    """What every transport does the same way: the URL, the headers (token, gzip), counting,
    which failures are retried, how long to wait between attempts (full-jitter exponential
    backoff, never shorter than ``Retry-After``)."""

    # Streams a starter pack to a file, keeping what arrived of a cut answer (starter.download);
    # a transport that reads whole answers gets the pack in ranges (starter.download_steps).
    streams_downloads = False

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        deadline_s: float = 120.0,
        max_attempts: int = 6,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 60.0,
        rng: random.Random | None = None,
        gzip_min_bytes: int = 512,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.deadline_s = deadline_s
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_cap_s = backoff_cap_s
        self.rng = rng or random.Random()
        self.gzip_min_bytes = gzip_min_bytes
        self.stats = TransportStats()

    def prepare(self, call: Call) -> tuple[str, bytes | None, dict[str, str]]:
        """(url, body, headers) of ``call``."""
        hdrs = {"Accept": "application/json", "Accept-Encoding": "gzip"}
        if self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        body = call.raw
        if call.payload is not None:
            body = json.dumps(call.payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
            if len(body) >= self.gzip_min_bytes:
                body = gzip.compress(body, compresslevel=6)
                hdrs["Content-Encoding"] = "gzip"
        hdrs.update(call.headers or {})
        url = f"{self.base_url}{call.path}"
        if call.params:
            url += ("&" if "?" in url else "?") + urlencode(call.params)
        return url, body, hdrs

    def attempts(self, call: Call) -> int:
        return self.max_attempts if call.retry else 1

    def counted(self, path: str, body: bytes | None) -> None:
        """One attempt is about to be sent."""
        self.stats.requests += 1
        bare = path.split("?")[0]
        self.stats.by_path[bare] = self.stats.by_path.get(bare, 0) + 1
        self.stats.bytes_sent += len(body or b"")

    def answered(self, status: int, headers: dict[str, str], body: bytes, wire: int, started: float) -> Response:
        """The response of one attempt; ``TransientError`` for an answer worth retrying."""
        self.stats.bytes_received += wire
        resp = Response(status=status, headers=headers, body=body, wire_bytes=wire,
                        elapsed_s=max(1e-6, time.monotonic() - started))
        if resp.status in RETRY_STATUS:
            raise TransientError("busy", _retry_after(resp.headers.get("retry-after")), resp.status)
        return resp

    def failed(self, attempt: int, attempts: int, exc: TransientError) -> float:
        """An attempt failed: the wait before the next one, or the ``SyncError`` when it was the last."""
        self.stats.attempts_failed += 1
        if attempt + 1 >= attempts:
            raise to_sync_error(exc)
        return self.backoff(attempt, exc.retry_after)

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Full-jitter exponential backoff; never shorter than the server's Retry-After."""
        ceiling = min(self.backoff_cap_s, self.backoff_base_s * (2**attempt))
        delay = self.rng.uniform(0, ceiling)
        if retry_after is not None:
            # Jitter above Retry-After too, so a crowd told "30 s" does not come back at once.
            delay = retry_after + self.rng.uniform(0, min(ceiling, max(1.0, retry_after * 0.2)))
        return delay


class Transport(HttpRules):
    """Blocking requests to one server with the rules above (requests). Not thread safe (one per engine)."""

    streams_downloads = True

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        **rules: Any,
    ) -> None:
        super().__init__(base_url, token, **rules)
        self.session = session or requests.Session()
        self.sleep = sleep

    # -- one attempt -------------------------------------------------------------------

    def _once(self, method: str, url: str, path: str, body: bytes | None, headers: dict[str, str]) -> Response:
        wall_start = time.monotonic()
        deadline = wall_start + self.deadline_s
        self.counted(path, body)
        try:
            r = self.session.request(
                method,
                url,
                data=body,
                headers=headers,
                timeout=(self.connect_timeout, min(self.read_timeout, self.deadline_s)),
                stream=True,
                allow_redirects=False,
            )
        except (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout) as exc:
            raise TransientError("timeout") from exc
        except requests.exceptions.RequestException as exc:  # connection refused or cut, ...
            raise TransientError("offline") from exc
        try:
            chunks: list[bytes] = []
            # Read in chunks under the deadline: a trickling response must not hang the sync.
            for chunk in r.raw.stream(16384, decode_content=True):
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise TransientError("timeout")
            wire = r.raw.tell() or sum(len(c) for c in chunks)
        except TransientError:
            r.close()
            raise
        except Exception as exc:  # urllib3 ReadTimeoutError, ProtocolError, IncompleteRead...
            r.close()
            name = type(exc).__name__.lower()
            raise TransientError("timeout" if "timeout" in name else "offline") from exc
        te = (r.headers.get("transfer-encoding") or "").lower()
        if r.headers.get("content-length") is None and "chunked" not in te and r.status_code != 204:
            # No framing at all: the link cut the headers short (http.client then reads
            # "until close" and gets nothing). Our server always frames its answers.
            self.stats.bytes_received += wire
            raise TransientError("offline")
        return self.answered(r.status_code, {k.lower(): v for k, v in r.headers.items()}, b"".join(chunks),
                             wire, wall_start)

    # -- with retries ------------------------------------------------------------------

    def call(self, call: Call) -> Response:
        """Send with retries; returns the final response (any non-retryable status) or raises
        SyncError when every attempt failed. Callers must only retry idempotent requests,
        which is every request of the sync protocol (changes carry their own ids)."""
        url, body, hdrs = self.prepare(call)
        attempts = self.attempts(call)
        for attempt in range(attempts):
            try:
                return self._once(call.method, url, call.path, body, hdrs)
            except TransientError as exc:
                self.sleep(self.failed(attempt, attempts, exc))
        raise AssertionError("unreachable")  # failed() raises on the last attempt

    def request(
        self,
        method: str,
        path: str,
        payload: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict | None = None,
        retry: bool = True,
    ) -> Response:
        """``call`` spelled out (the operator's commands use it)."""
        return self.call(Call(method, path, payload, raw, headers, params, retry))

    def run(self, steps: Steps[T]) -> T:
        """Run a protocol phase (a generator of calls) on this transport."""
        return drive(steps, self.call)

    def close(self) -> None:
        self.session.close()


def to_sync_error(exc: TransientError) -> SyncError:
    if exc.code == "busy":
        return SyncError("busy", t("client.error.busy"), retryable=True, status=exc.status,
                         retry_after=exc.retry_after)
    if exc.code == "timeout":
        return SyncError("timeout", t("client.error.timeout"), retryable=True)
    return SyncError("offline", t("client.error.offline"), retryable=True)


def problem_error(resp: Response) -> SyncError:
    """Map a non-2xx answer (problem+json) to a SyncError in plain words."""
    try:
        body = resp.json() or {}
    except ValueError:
        body = {}
    detail = body.get("detail") if isinstance(body, dict) else None
    code = body.get("code") if isinstance(body, dict) else None
    if resp.status == 401:
        return SyncError("unauthorized", t("client.error.unauthorized"), status=401)
    if resp.status == 403:
        return SyncError("forbidden", t("client.error.forbidden", detail=detail or ""), status=403)
    if resp.status == 413:
        return SyncError("too_large", t("client.error.too_large"), status=413)
    if resp.status == 404:
        return SyncError("not_found", t("client.error.not_found", detail=detail or ""), status=404)
    if resp.status >= 500:
        return SyncError("server", t("client.error.server", status=resp.status), retryable=True, status=resp.status)
    return SyncError(code or "refused", t("client.error.refused", detail=detail or str(resp.status)), status=resp.status)


class FaultAdapter(HTTPAdapter):
    """A requests adapter that fails on command, for tests without sockets tricks.

    ``plan`` is a list of actions consumed one per request: ``"ok"``, ``"offline"`` (fail before
    the server sees anything), ``"lost"`` (the server handles the request, the answer is lost),
    ``"timeout"``. An empty plan means every request goes through.
    """

    def __init__(self, plan: list[str] | None = None) -> None:
        super().__init__(max_retries=0)
        self.plan = list(plan or [])
        self.seen: list[str] = []

    def send(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        action = self.plan.pop(0) if self.plan else "ok"
        self.seen.append(f"{request.method} {request.path_url} {action}")
        if action == "offline":
            raise requests.exceptions.ConnectionError("injected: offline")
        if action == "timeout":
            raise requests.exceptions.ReadTimeout("injected: timeout")
        resp = super().send(request, *args, **kwargs)
        if action == "lost":
            resp.content  # noqa: B018 - let the server finish before we throw the answer away
            resp.close()
            raise requests.exceptions.ConnectionError("injected: response lost")
        return resp
