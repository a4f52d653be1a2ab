"""A fault-injecting TCP proxy on 127.0.0.1 that emulates bad mobile links in user space.

This kernel has no ``netem``, so latency, bandwidth and faults are applied by a proxy that
sits between the sync engine and the server:

- one-way latency and a bandwidth limit per direction, shared by every connection of the link
  (serialisation delay: a byte cannot leave before the previous ones have, whichever
  connection sent them), with ``time_scale`` to run a slow link faster in tests;
- connection set-up: a new connection's first byte leaves one round trip after it opened (the
  TCP handshake), three with ``tls=True`` (plus a TLS 1.2 handshake's two);
- a closing side's queued bytes are delivered before the close reaches the other side (a
  half-close, as TCP does), so a response sent just before ``Connection: close`` arrives whole;
- faults queued per connection (each new connection takes the next one):
  ``cut`` (close both sides after N bytes in one direction), ``drop_response`` (the request
  reaches the server, which commits and answers, but the answer is thrown away and the client
  connection closed), ``stall`` (stop forwarding after N bytes and keep the socket open, the
  hung-request case), ``refuse`` (close at once) and ``http_error`` (answer 503/429 with
  Retry-After without bothering the server);
- a fault can wait for a byte pattern in the request stream (``match=b"PUT /api/v1/blobs"``)
  so a test can hit one kind of request on a keep-alive connection.

Presets from Facebook's Augmented Traffic Control: ``LINKS["2g-rural"]`` etc.
"""

from __future__ import annotations

import heapq
import random
import socket
import threading
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Link:
    """A link profile: bits per second each way and one-way latency in seconds."""

    up_bps: float | None = None
    down_bps: float | None = None
    latency_s: float = 0.0


LINKS: dict[str, Link] = {
    # RTT 1.3 s, ~20 kbit/s: a valley with one bar of 2G.
    "2g-rural": Link(up_bps=18_000, down_bps=20_000, latency_s=0.65),
    # RTT 0.8 s, ~240 kbit/s.
    "edge": Link(up_bps=200_000, down_bps=240_000, latency_s=0.40),
    "3g": Link(up_bps=330_000, down_bps=780_000, latency_s=0.10),
    "lan": Link(),
}


@dataclass
class Fault:
    """One fault for one connection. kind: cut | drop_response | stall | refuse | http_error."""

    kind: str
    direction: str = "down"  # for cut / stall: "up" (client->server) or "down"
    after_bytes: int = 0
    match: bytes | None = None  # arm only once the request stream contains this
    status: int = 503
    retry_after: float | None = None

    @classmethod
    def cut(cls, direction: str, after_bytes: int, match: bytes | None = None) -> Fault:
        return cls("cut", direction, after_bytes, match)

    @classmethod
    def drop_response(cls, match: bytes | None = None) -> Fault:
        return cls("drop_response", "down", 0, match)

    @classmethod
    def stall(cls, direction: str = "down", after_bytes: int = 0, match: bytes | None = None) -> Fault:
        return cls("stall", direction, after_bytes, match)

    @classmethod
    def refuse(cls) -> Fault:
        return cls("refuse")

    @classmethod
    def http_error(cls, status: int = 503, retry_after: float | None = 1) -> Fault:
        return cls("http_error", status=status, retry_after=retry_after)


@dataclass
class ProxyStats:
    connections: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    faults_fired: list[str] = field(default_factory=list)


_METHODS = (b"GET ", b"POST ", b"PUT ", b"DELETE ", b"HEAD ", b"PATCH ")


class Wire:
    """When bytes leave and arrive on one link: one serialisation queue per direction that
    every connection shares, plus the one-way latency. Pure arithmetic on the times given, so
    it is tested without sockets or sleeping."""

    def __init__(self, link: Link, time_scale: float = 1.0) -> None:
        self.link = link
        self.scale = time_scale
        self._free = {"up": 0.0, "down": 0.0}  # when each direction's wire is next idle
        self._lock = threading.Lock()

    def bps(self, direction: str) -> float | None:
        return self.link.up_bps if direction == "up" else self.link.down_bps

    def send(self, direction: str, nbytes: int, now: float, ready: float = 0.0) -> float:
        """Arrival time of ``nbytes`` handed to the link at ``now`` (not before ``ready``)."""
        bps = self.bps(direction)
        with self._lock:
            start = max(now, ready, self._free[direction] if bps else 0.0)
            depart = start + (nbytes * 8 / bps * self.scale if bps else 0.0)
            if bps:
                self._free[direction] = depart
        return depart + self.link.latency_s * self.scale

    def setup_delay(self, round_trips: int) -> float:
        """Time a connection spends in handshakes before its first byte can leave."""
        return round_trips * 2 * self.link.latency_s * self.scale


class _Conn:
    """One proxied connection: two pumps (up, down), each a reader and a timed writer."""

    def __init__(self, proxy: FaultProxy, client: socket.socket, fault: Fault | None) -> None:
        self.proxy = proxy
        self.client = client
        self.fault = fault
        self.armed = fault is not None and fault.match is None
        self.seen_up = b""  # tail of the request stream, for match
        self.closed = threading.Event()
        self.lock = threading.Lock()
        self.counted = {"up": 0, "down": 0}  # bytes passed since the fault armed
        # the first byte leaves once the handshakes are done
        self.ready = time.monotonic() + proxy.wire.setup_delay(proxy.handshake_rtts)
        self.last_arrival = {"up": 0.0, "down": 0.0}
        self.ended: set[str] = set()

    def end(self, direction: str, dst: socket.socket) -> None:
        """One side closed and its queued bytes are delivered: pass the close on (a
        half-close); the connection ends when both sides have closed."""
        with self.lock:
            self.ended.add(direction)
            both = len(self.ended) == 2
        if both:
            self.close()
            return
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            self.close()

    def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for s in (self.client, getattr(self, "server", None)):
            if s is None:
                continue
            try:
                # RST rather than FIN: a cut link does not say goodbye.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            except OSError:
                pass
            try:
                # shutdown first: close() alone does not wake a thread blocked in recv().
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass

    def run(self) -> None:
        f = self.fault
        if f is not None and f.kind == "refuse":
            self.proxy._fired("refuse")
            self.close()
            return
        if f is not None and f.kind == "http_error":
            self._http_error(f)
            return
        try:
            self.server = socket.create_connection(self.proxy.upstream, timeout=10)
            self.server.settimeout(None)
            self.server.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            self.close()
            return
        for direction, src, dst in (("up", self.client, self.server), ("down", self.server, self.client)):
            q: list[tuple[float, int, bytes | None]] = []
            cv = threading.Condition()
            threading.Thread(target=self._reader, args=(direction, src, q, cv), daemon=True).start()
            threading.Thread(target=self._writer, args=(direction, dst, q, cv), daemon=True).start()

    def _http_error(self, f: Fault) -> None:
        # Read the request (headers + Content-Length body), answer with a canned error.
        self.client.settimeout(10)
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = self.client.recv(65536)
                if not chunk:
                    raise OSError
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = int(v.strip())
            while len(body) < length:
                chunk = self.client.recv(65536)
                if not chunk:
                    raise OSError
                body += chunk
            payload = b'{"code":"unavailable","title":"busy","status":%d}' % f.status
            extra = b"Retry-After: %d\r\n" % int(f.retry_after) if f.retry_after is not None else b""
            self.client.sendall(
                b"HTTP/1.1 %d Busy\r\nContent-Type: application/problem+json\r\n" % f.status
                + extra
                + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(payload)
                + payload
            )
            self.proxy._fired(f"http_error {f.status}")
        except OSError:
            pass
        finally:
            try:
                self.client.close()
            except OSError:
                pass

    def _reader(self, direction: str, src: socket.socket, q: list, cv: threading.Condition) -> None:
        wire = self.proxy.wire
        bps = wire.bps(direction)
        # Small reads on slow links so serialisation delay is applied smoothly.
        size = 65536 if not bps else max(256, int(bps / 8 / 20))
        seq = 0
        while not self.closed.is_set():
            try:
                data = src.recv(size)
            except OSError:
                data = b""
            if not data:
                # the close travels behind the bytes still on the wire, never ahead of them
                at = max(time.monotonic() + wire.link.latency_s * wire.scale, self.last_arrival[direction])
                with cv:
                    heapq.heappush(q, (at + 1e-6, seq + 1, None))
                    cv.notify()
                return
            data, stop = self._apply_fault(direction, data)
            seq += 1
            now = time.monotonic()
            arrive = wire.send(direction, len(data), now, self.ready) if data else max(now, self.last_arrival[direction])
            self.last_arrival[direction] = arrive
            if data:
                with cv:
                    heapq.heappush(q, (arrive, seq, data))
                    cv.notify()
            if stop == "cut":
                with cv:
                    heapq.heappush(q, (arrive + 1e-6, seq + 1, b"__CUT__"))
                    cv.notify()
                return
            if stop == "stall":
                self.closed.wait()  # hold the socket open, forward nothing more
                return

    def _apply_fault(self, direction: str, data: bytes) -> tuple[bytes, str | None]:
        """Trim data to what passes before a fault fires; say whether to cut or stall."""
        with self.lock:
            if direction == "up" and self.fault is None and self.proxy.chaos and data.startswith(_METHODS):
                # Chaos strikes per request too, not only per connection: keep-alive
                # connections would otherwise dodge every fault after the first request.
                f = self.proxy._chaos_fault()
                if f is not None and f.kind == "refuse":
                    f = Fault.cut("up", 0)
                elif f is not None and f.kind == "http_error":
                    f = None  # only a fresh connection can be answered without the server
                self.fault = f
                self.armed = f is not None
                self.counted = {"up": 0, "down": 0}
            f = self.fault
            if direction == "up":
                self.proxy._count("up", len(data))
            else:
                self.proxy._count("down", len(data))
            if f is None or f.kind not in ("cut", "stall", "drop_response"):
                return data, None
            if not self.armed:
                if direction == "up":
                    window = self.seen_up + data
                    self.seen_up = window[-len(f.match or b"") - 1 :]
                    if f.match and f.match in window:
                        self.armed = True
                        # Count only bytes after the match in the up direction.
                        idx = window.find(f.match)
                        self.counted["up"] = len(window) - idx - len(f.match)
                        if f.kind != "drop_response" and f.direction == "up":
                            return self._trim(f, "up", data, already=True)
                return data, None
            if f.kind == "drop_response":
                if direction == "down":
                    self.fault = None
                    self.proxy._fired("drop_response")
                    return b"", "cut"
                return data, None
            if direction != f.direction:
                return data, None
            return self._trim(f, direction, data, already=False)

    def _trim(self, f: Fault, direction: str, data: bytes, already: bool) -> tuple[bytes, str | None]:
        before = self.counted[direction] - (len(data) if already else 0)
        if not already:
            self.counted[direction] += len(data)
        if self.counted[direction] < f.after_bytes:
            return data, None
        keep = max(0, f.after_bytes - before)
        self.fault = None
        self.proxy._fired(f"{f.kind} {direction} {f.after_bytes}")
        return data[:keep], f.kind

    def _writer(self, direction: str, dst: socket.socket, q: list, cv: threading.Condition) -> None:
        while True:
            with cv:
                while not q and not self.closed.is_set():
                    cv.wait(0.5)
                if self.closed.is_set():
                    return
                at, _, data = q[0]
                wait = at - time.monotonic()
                if wait > 0:
                    cv.wait(min(wait, 0.5))
                    continue
                heapq.heappop(q)
            if data is None:
                self.end(direction, dst)
                return
            if data == b"__CUT__":
                self.close()
                return
            try:
                dst.sendall(data)
            except OSError:
                self.close()
                return


class FaultProxy:
    """``with FaultProxy(("127.0.0.1", port), link=LINKS["edge"]) as p: url = p.url``

    One proxy is one link: its connections share the bandwidth."""

    def __init__(
        self,
        upstream: tuple[str, int],
        link: Link | None = None,
        time_scale: float = 1.0,
        seed: int | None = None,
        tls: bool = False,
    ) -> None:
        self.upstream = upstream
        self.link = link or Link()
        self.time_scale = time_scale
        self.wire = Wire(self.link, time_scale)
        # TCP's handshake costs one round trip before the first byte; TLS 1.2 two more
        self.handshake_rtts = 3 if tls else 1
        self.faults: list[Fault] = []
        self.chaos: dict[str, float] = {}
        self.rng = random.Random(seed)
        self.stats = ProxyStats()
        self._lock = threading.Lock()
        self._conns: list[_Conn] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, *faults: Fault) -> None:
        """Queue faults; each new connection takes the next one."""
        with self._lock:
            self.faults.extend(faults)

    def set_chaos(self, **probabilities: float) -> None:
        """Random faults for connections with nothing queued, e.g. set_chaos(cut=0.2, drop_response=0.1)."""
        self.chaos = dict(probabilities)
        if not probabilities:
            # Calm: faults already drawn for open connections are dropped too.
            with self._lock:
                conns = list(self._conns)
            for c in conns:  # never hold both locks: _Conn takes its own, then the proxy's
                with c.lock:
                    c.fault = None

    def cut_all(self) -> None:
        """Cut every open connection now (the tower went away)."""
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            c.close()

    def _fired(self, what: str) -> None:
        with self._lock:
            self.stats.faults_fired.append(what)

    def _count(self, direction: str, n: int) -> None:
        with self._lock:
            if direction == "up":
                self.stats.bytes_up += n
            else:
                self.stats.bytes_down += n

    def _next_fault(self) -> Fault | None:
        with self._lock:
            if self.faults:
                return self.faults.pop(0)
        return self._chaos_fault()

    def _chaos_fault(self) -> Fault | None:
        with self._lock:
            r = self.rng.random()
            acc = 0.0
            for kind, p in self.chaos.items():
                acc += p
                if r < acc:
                    if kind == "cut":
                        return Fault.cut(self.rng.choice(["up", "down"]), self.rng.randint(0, 4000))
                    if kind == "drop_response":
                        return Fault.drop_response()
                    if kind == "stall":
                        return Fault.stall(self.rng.choice(["up", "down"]), self.rng.randint(0, 2000))
                    if kind == "refuse":
                        return Fault.refuse()
                    if kind == "http_error":
                        return Fault.http_error(503, retry_after=0)
            return None

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Conn(self, client, self._next_fault())
            with self._lock:
                self.stats.connections += 1
                self._conns = [c for c in self._conns if not c.closed.is_set()] + [conn]
            threading.Thread(target=conn.run, daemon=True).start()

    def close(self) -> None:
        self._stop.set()
        try:
            self._sock.close()
        except OSError:
            pass
        self.cut_all()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
