"""Bad input gets a clear 4xx problem+json and changes nothing stored."""

from __future__ import annotations

import gzip
import json
import socket
import time
from pathlib import Path

import requests

from sync.server.api import Limits
from tests.support.server import Org, RunningServer, enroll_device, household, make_org


def _problem(r: requests.Response, status: int, code: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code and body["status"] == status and body["detail"]
    return body


def _snapshot(server: RunningServer) -> tuple[int, ...]:
    return tuple(server.count(t) for t in ("records", "applied_changes", "conflicts", "devices"))


def test_malformed_json_and_wrong_types(server: RunningServer, org: Org) -> None:
    dev = enroll_device(server, "张网格")
    before = _snapshot(server)
    h = {**dev.headers(), "Content-Type": "application/json"}
    _problem(requests.post(f"{server.api}/sync", data=b'{"changes": [', headers=h, timeout=30), 400, "malformed_json")
    _problem(requests.post(f"{server.api}/sync", data=b"\xff\xfe", headers=h, timeout=30), 400, "malformed_json")
    body = _problem(
        requests.post(f"{server.api}/sync", json={"changes": "everything"}, headers=h, timeout=30), 422, "invalid_request"
    )
    assert "changes" in body["detail"]
    _problem(requests.post(f"{server.api}/sync", json={"pull_limit": "many"}, headers=h, timeout=30), 422, "invalid_request")
    _problem(requests.post(f"{server.api}/sync", json=[1, 2], headers=h, timeout=30), 422, "invalid_request")
    _problem(requests.post(f"{server.api}/enroll", json={"code": 12345678}, timeout=30), 422, "invalid_request")
    assert _snapshot(server) == before


def test_bad_cursor_refused_before_writing(server: RunningServer, org: Org) -> None:
    dev = enroll_device(server, "张网格")
    _, ch = household(dev, org.grid_a, org.village_a)
    before = _snapshot(server)
    _problem(dev.sync([ch], cursor="yesterday"), 400, "bad_cursor")
    assert _snapshot(server) == before


def test_english_detail_on_request(server: RunningServer, org: Org) -> None:
    r = requests.post(f"{server.api}/sync", json={}, headers={"Accept-Language": "en-US"}, timeout=30)
    assert "enroll" in _problem(r, 401, "unauthorized")["detail"]
    r = requests.post(f"{server.api}/sync", json={}, timeout=30)
    assert "注册" in _problem(r, 401, "unauthorized")["detail"]


def test_unknown_path_and_method(server: RunningServer) -> None:
    _problem(requests.get(f"{server.api}/nothing-here", timeout=30), 404, "not_found")
    _problem(requests.delete(f"{server.api}/sync", timeout=30), 405, "method_not_allowed")


def test_oversized_body_and_batch(server: RunningServer, org: Org) -> None:
    dev = enroll_device(server, "张网格")
    limits = requests.get(f"{server.api}/health", timeout=30).json()["limits"]
    before = _snapshot(server)
    big = json.dumps({"changes": [], "pad": "x" * (limits["max_body_bytes"] + 10)}).encode()
    h = {**dev.headers(), "Content-Type": "application/json"}
    _problem(requests.post(f"{server.api}/sync", data=big, headers=h, timeout=60), 413, "body_too_large")
    # the same without a Content-Length (chunked): cut off while reading
    _problem(requests.post(f"{server.api}/sync", data=iter([big[:1000], big[1000:]]), headers=h, timeout=60), 413, "body_too_large")
    many = [household(dev, org.grid_a, org.village_a)[1] for _ in range(limits["max_batch"] + 1)]
    _problem(dev.sync(many), 413, "batch_too_large")
    assert _snapshot(server) == before


def test_gzip_request_and_response(server: RunningServer, org: Org) -> None:
    dev = enroll_device(server, "张网格")
    rec, ch = household(dev, org.grid_a, org.village_a)
    raw = json.dumps({"cursor": "0", "changes": [ch]}).encode()
    h = {**dev.headers(), "Content-Type": "application/json", "Content-Encoding": "gzip", "Accept-Encoding": "gzip"}
    r = requests.post(f"{server.api}/sync", data=gzip.compress(raw), headers=h, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["acks"][0]["status"] == "applied"
    assert r.headers.get("content-encoding") == "gzip"  # the page of reference data is big enough


def test_gzip_bomb_and_broken_gzip(server: RunningServer, org: Org) -> None:
    dev = enroll_device(server, "张网格")
    limits = requests.get(f"{server.api}/health", timeout=30).json()["limits"]
    before = _snapshot(server)
    bomb = gzip.compress(b"[" + b" " * (limits["max_inflated_bytes"] + 1024) + b"]", 9)
    assert len(bomb) < limits["max_body_bytes"]
    h = {**dev.headers(), "Content-Type": "application/json", "Content-Encoding": "gzip"}
    _problem(requests.post(f"{server.api}/sync", data=bomb, headers=h, timeout=60), 413, "inflated_too_large")
    _problem(requests.post(f"{server.api}/sync", data=b"not gzip at all", headers=h, timeout=30), 400, "bad_gzip")
    _problem(requests.post(f"{server.api}/sync", data=gzip.compress(b'{"changes":[]}')[:-6], headers=h, timeout=30), 400, "bad_gzip")
    h["Content-Encoding"] = "br"
    _problem(requests.post(f"{server.api}/sync", data=b"{}", headers=h, timeout=30), 415, "bad_encoding")
    assert _snapshot(server) == before


def test_overload_gets_429_with_retry_after(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    srv = RunningServer(db_url, tmp_path / "blobs", Limits(max_inflight=1))
    try:
        # A client that sends its headers and half its body, then stalls: in flight.
        stalled = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
        stalled.sendall(
            b"POST /api/v1/enroll HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"code": "AB'
        )
        deadline = time.monotonic() + 20
        r = None
        while time.monotonic() < deadline:
            r = requests.post(f"{srv.api}/enroll", json={"code": "X"}, timeout=30)
            if r.status_code == 429:
                break
            time.sleep(0.05)
        stalled.close()
        assert r is not None
        _problem(r, 429, "overloaded")
        assert int(r.headers["Retry-After"]) >= 1
        # health is never refused, and once the load is gone requests pass again
        assert requests.get(f"{srv.api}/health", timeout=30).status_code == 200
        deadline = time.monotonic() + 20
        while (after := requests.post(f"{srv.api}/enroll", json={"code": "X"}, timeout=30)).status_code == 429:
            assert time.monotonic() < deadline, "still refused after the stalled client left"
            time.sleep(0.05)
        assert after.status_code == 403
    finally:
        srv.stop()


def test_database_gone_gives_503_with_retry_after(pg_cluster, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import psycopg

    from tests.support.server import make_org

    url = pg_cluster.new_database()
    srv = RunningServer(url, tmp_path / "blobs")
    try:
        make_org(srv)
        dev = enroll_device(srv, "张网格")
        assert dev.sync().status_code == 200
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(pg_cluster.admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        r = dev.sync()
        body = _problem(r, 503, "db_unavailable")
        assert int(r.headers["Retry-After"]) >= 1 and "retry_after" not in body
        health = requests.get(f"{srv.api}/health", timeout=30)
        assert health.status_code == 503 and health.headers["Retry-After"]
    finally:
        srv.stop()


def test_missing_query_obeys_the_configured_limit(tmp_path: Path) -> None:
    # Limits.max_missing_query is what /health announces and what the endpoint enforces.
    srv = RunningServer(f"sqlite:///{tmp_path / 's.sqlite3'}", tmp_path / "blobs", Limits(max_missing_query=2))
    try:
        org = make_org(srv)
        dev = enroll_device(srv, "张网格")
        assert requests.get(f"{srv.api}/health", timeout=30).json()["limits"]["max_missing_query"] == 2
        shas = [f"{i:064x}" for i in range(3)]
        ok = requests.post(f"{srv.api}/blobs/missing", json={"sha256": shas[:2]}, headers=dev.headers(), timeout=30)
        assert ok.status_code == 200 and ok.json()["missing"] == shas[:2]
        body = _problem(requests.post(f"{srv.api}/blobs/missing", json={"sha256": shas}, headers=dev.headers(),
                                      timeout=30), 413, "too_many_hashes")
        assert "2" in body["detail"] and org.township
    finally:
        srv.stop()


def test_every_router_answers_in_one_problem_shape_and_language(server: RunningServer, org: Org) -> None:
    # One HTTP helper (sync/server/http.py): the bundles router refuses like the sync API,
    # with the same problem+json fields, the same title and the same Accept-Language rule.
    sha = "0" * 64
    for accept, word in (("en-US,en;q=0.9", "token"), ("zh-CN", "令牌")):
        h = {"Accept-Language": accept}
        api = _problem(requests.post(f"{server.api}/sync", json={}, headers=h, timeout=30), 401, "unauthorized")
        bundles = _problem(requests.post(f"{server.api}/bundles", json={"sha256": sha}, headers=h, timeout=30),
                           401, "unauthorized")
        assert bundles == api and word in bundles["detail"].lower()
    worker = enroll_device(server, "张网格")
    h = {**worker.headers(), "Accept-Language": "en"}
    body = _problem(requests.post(f"{server.api}/bundles", json={"sha256": sha}, headers=h, timeout=30), 403, "forbidden")
    assert body["title"] == "Forbidden" and body["type"].endswith("/forbidden") and body["detail"].isascii()
