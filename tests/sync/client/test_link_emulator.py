"""The link emulator itself (tests/support/linkemu.py): bandwidth shared by every connection
of a link, connection set-up costing round trips, and a close that never overtakes the bytes
still on the wire. The schedule is checked as arithmetic (no sleeping, no timing thresholds);
the close is checked through real sockets on 127.0.0.1."""

from __future__ import annotations

import socket
import threading

import pytest

from tests.support.linkemu import LINKS, FaultProxy, Link, Wire


def test_connections_of_one_link_share_its_bandwidth():
    wire = Wire(Link(up_bps=8_000, down_bps=16_000, latency_s=0.5))
    # 1,000 bytes at 8 kbit/s take 1 s; two connections sending at once queue on one wire
    first = wire.send("up", 1_000, now=0.0)
    second = wire.send("up", 1_000, now=0.0)
    assert first == pytest.approx(1.5)  # 1 s on the wire + 0.5 s latency
    assert second == pytest.approx(2.5)  # waited for the first: one link, not one per connection
    # the other direction has its own wire
    assert wire.send("down", 2_000, now=0.0) == pytest.approx(1.5)
    # an idle wire starts at once again
    assert wire.send("up", 1_000, now=10.0) == pytest.approx(11.5)


def test_a_new_connection_pays_its_handshakes_before_the_first_byte():
    link = LINKS["2g-rural"]
    wire = Wire(link)
    rtt = 2 * link.latency_s
    assert wire.setup_delay(1) == pytest.approx(rtt)  # TCP
    assert wire.setup_delay(3) == pytest.approx(3 * rtt)  # TCP + TLS 1.2
    ready = wire.setup_delay(1)
    arrive = wire.send("up", 0, now=0.0, ready=ready)
    assert arrive == pytest.approx(rtt + link.latency_s)  # 1.5 RTT before the server sees a byte
    assert FaultProxy(("127.0.0.1", 9), link=link).handshake_rtts == 1
    assert FaultProxy(("127.0.0.1", 9), link=link, tls=True).handshake_rtts == 3


def test_time_scale_shrinks_every_delay_alike():
    wire = Wire(Link(up_bps=8_000, latency_s=0.5), time_scale=0.01)
    assert wire.send("up", 1_000, now=0.0) == pytest.approx(0.015)
    assert wire.setup_delay(1) == pytest.approx(0.01)


def _server_that_answers_and_hangs_up(payload: bytes) -> tuple[socket.socket, threading.Thread]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve() -> None:
        conn, _ = srv.accept()
        conn.recv(100)
        conn.sendall(payload)
        conn.close()  # Connection: close, straight after the response

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    return srv, th


def test_a_response_sent_just_before_the_close_arrives_whole():
    payload = bytes(range(256)) * 80  # 20 KB: ~0.8 s on this link at time_scale 0.1
    srv, th = _server_that_answers_and_hangs_up(payload)
    link = Link(up_bps=200_000, down_bps=20_000, latency_s=0.2)
    with FaultProxy(srv.getsockname(), link=link, time_scale=0.1) as proxy:
        c = socket.create_connection(("127.0.0.1", proxy.port), timeout=20)
        c.sendall(b"GET / HTTP/1.1\r\n\r\n")
        got = b""
        while chunk := c.recv(65536):
            got += chunk
        c.close()
    th.join(5)
    srv.close()
    assert got == payload  # the close came after the last byte, not at now + latency


def test_a_client_that_half_closes_still_gets_the_answer():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    def serve() -> None:
        conn, _ = srv.accept()
        req = b""
        while chunk := conn.recv(100):  # reads until the client's FIN
            req += chunk
        conn.sendall(b"echo:" + req)
        conn.close()

    th = threading.Thread(target=serve, daemon=True)
    th.start()
    with FaultProxy(srv.getsockname(), link=Link(latency_s=0.01)) as proxy:
        c = socket.create_connection(("127.0.0.1", proxy.port), timeout=20)
        c.sendall(b"ping")
        c.shutdown(socket.SHUT_WR)  # the FIN is passed on; the way back stays open
        got = b""
        while chunk := c.recv(100):
            got += chunk
        c.close()
    th.join(5)
    srv.close()
    assert got == b"echo:ping"
