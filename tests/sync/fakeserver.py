"""A tiny in-test server speaking docs/protocol.md over real HTTP on 127.0.0.1.

Used for engine tests that must control the server exactly (counting commits, failing on
command). It merges with the real ``sync.merge``; the real FastAPI server is tested in
test_real_server.py.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from sync import merge


class FakeServer:
    def __init__(self, clamp_ms: int = 5 * 60_000, now_ms=None) -> None:
        self.lock = threading.Lock()
        self.records: dict[str, dict] = {}
        self.seq_of: dict[str, int] = {}
        self.seq = 0
        self.applied: set[str] = set()
        self.apply_count = 0  # changes applied (not duplicates)
        self.blobs: dict[str, bytes] = {}
        self.partial: dict[str, bytearray] = {}
        self.chunk_puts: list[tuple[str, int, int]] = []
        self.fail_next: list[int] = []  # statuses to answer before doing anything
        self.sync_requests = 0
        self.now_ms = now_ms
        self.clamp_ms = clamp_ms
        server = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *a):  # quiet
                pass

            def _body(self) -> bytes:
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                if self.headers.get("Content-Encoding") == "gzip":
                    raw = gzip.decompress(raw)
                return raw

            def _send(self, status: int, obj, headers=None) -> None:
                body = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _route(self, method: str) -> None:
                body = self._body()
                with server.lock:
                    if server.fail_next:
                        st = server.fail_next.pop(0)
                        return self._send(st, {"code": "busy", "status": st}, {"Retry-After": "0"})
                u = urlparse(self.path)
                q = {k: v[0] for k, v in parse_qs(u.query).items()}
                status, obj = server.handle(method, u.path, q, body, dict(self.headers))
                self._send(status, obj)

            def do_GET(self):
                self._route("GET")

            def do_POST(self):
                self._route("POST")

            def do_PUT(self):
                self._route("PUT")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def server_time(self) -> int:
        import time

        return self.now_ms if self.now_ms is not None else int(time.time() * 1000)

    # -- protocol -------------------------------------------------------------------------

    def apply(self, change: dict) -> str:
        with self.lock:
            if change["change_id"] in self.applied:
                return "duplicate"
            res = merge.apply_change(self.records.get(change["id"]), change)
            self.records[change["id"]] = res.record
            self.seq += 1
            self.seq_of[change["id"]] = self.seq
            self.applied.add(change["change_id"])
            self.apply_count += 1
            return "applied"

    def handle(self, method: str, path: str, q: dict, body: bytes, headers: dict):
        if path == "/api/v1/sync" and method == "POST":
            self.sync_requests += 1
            req = json.loads(body)
            acks = [{"change_id": c["change_id"], "status": self.apply(c)} for c in req["changes"]]
            cur = int(req.get("cursor") or 0)
            limit = int(req.get("pull_limit") or 100)
            with self.lock:
                rows = sorted((s, rid) for rid, s in self.seq_of.items() if s > cur)
                page = rows[:limit]
                recs = [dict(self.records[rid], seq=s) for s, rid in page]
                new_cur = page[-1][0] if page else cur
                more = len(rows) > limit
            now = self.server_time()
            return 200, {
                "acks": acks, "records": recs, "cursor": str(new_cur), "more": more,
                "clock_offset_ms": now - int(req["device_time_ms"]), "server_time_ms": now,
            }
        if path == "/api/v1/blobs/missing":
            shas = json.loads(body)["sha256"]
            return 200, {"missing": [s for s in shas if s not in self.blobs]}
        parts = path.split("/")
        if path.startswith("/api/v1/blobs/") and path.endswith("/upload"):
            sha = parts[4]
            return 200, {"offset": len(self.partial.get(sha, b"")), "size": None}
        if path.startswith("/api/v1/blobs/") and method == "PUT":
            sha = parts[4]
            off, total = int(q["offset"]), int(q["size"])
            with self.lock:
                if sha in self.blobs:
                    return 200, {"complete": True}
                have = self.partial.setdefault(sha, bytearray())
                self.chunk_puts.append((sha, off, len(body)))
                if off != len(have):
                    return 409, {"offset": len(have), "code": "offset"}
                if hashlib.sha256(body).hexdigest() != headers.get("X-Chunk-Sha256"):
                    return 400, {"code": "chunk_hash"}
                have.extend(body)
                if len(have) == total:
                    if hashlib.sha256(bytes(have)).hexdigest() != sha:
                        del self.partial[sha]
                        return 400, {"code": "hash"}
                    self.blobs[sha] = bytes(have)
                    del self.partial[sha]
                    return 200, {"complete": True}
                return 200, {"complete": False, "offset": len(have)}
        if path.startswith("/api/v1/blobs/") and method == "GET":
            sha = parts[4]
            if sha not in self.blobs:
                return 404, {"code": "not_found"}
            return 200, self.blobs[sha]
        if path == "/api/v1/enroll":
            req = json.loads(body)
            if req["code"] != "GOOD-CODE":
                return 410, {"code": "bad_code"}
            return 200, {"device_id": "dev-1", "token": "tok", "secret": "ab" * 32,
                         "user": {"id": "u1", "name": "李", "role": "grid_worker"},
                         "scope": {"township": "t1", "grids": ["g1"]}, "server_time_ms": self.server_time()}
        return 404, {"code": "not_found"}

    def state(self) -> dict[str, dict]:
        return {rid: {"kind": r["kind"], "grid": r["grid"], "fields": r["fields"]} for rid, r in self.records.items()}
