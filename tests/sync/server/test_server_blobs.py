"""Photos: ask what is missing, resumable chunked upload checked by sha256, thumbnails, scope."""

from __future__ import annotations

import hashlib
import io
import os
import time

import requests
from PIL import Image

from sync.changes import new_record
from sync.server.blobs import FsBlobStore
from tests.support.server import Org, RunningServer, enroll_device, household


def _jpeg(w: int = 800, h: int = 600) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 120, 40)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def _put(dev, sha: str, offset: int, chunk: bytes, total: int, chunk_sha: str | None = None):  # type: ignore[no-untyped-def]
    h = {**dev.headers(), "X-Chunk-Sha256": chunk_sha or hashlib.sha256(chunk).hexdigest(), "Content-Type": "application/octet-stream"}
    return requests.put(f"{dev.api}/blobs/{sha}", params={"offset": offset, "size": total}, data=chunk, headers=h, timeout=30)


def _photo_change(dev, org: Org, data: bytes, grid: str | None = None) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    hh, hch = household(dev, grid or org.grid_a, org.village_a)
    fields = {
        "sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "width": 800, "height": 600,
        "attached_to": {"kind": "household", "id": hh["id"]},
    }  # fmt: skip
    return hch, new_record("photo", grid or org.grid_a, fields, dev.clock, dev.user_id)[1]


def test_resumable_upload_download_and_thumbnail(server: RunningServer, org: Org) -> None:
    a = enroll_device(server, "张网格")
    data = _jpeg() + os.urandom(50_000)  # still a JPEG to Pillow; big enough for several chunks
    sha = hashlib.sha256(data).hexdigest()
    r = requests.post(f"{a.api}/blobs/missing", json={"sha256": [sha, sha]}, headers=a.headers(), timeout=30)
    assert r.json() == {"missing": [sha]}
    third = len(data) // 3
    assert _put(a, sha, 0, data[:third], len(data)).json() == {"offset": third, "size": len(data), "complete": False}
    # the connection dropped: the device asks how much the server holds
    state = requests.get(f"{a.api}/blobs/{sha}/upload", headers=a.headers(), timeout=30).json()
    assert state["offset"] == third and state["size"] == len(data)
    # a chunk at the wrong offset is refused with the right offset
    wrong = _put(a, sha, third + 10, data[third + 10 : 2 * third], len(data))
    assert wrong.status_code == 409 and wrong.json()["offset"] == third
    assert _put(a, sha, third, data[third : 2 * third], len(data)).json()["offset"] == 2 * third
    done = _put(a, sha, 2 * third, data[2 * third :], len(data))
    assert done.json()["complete"] is True
    assert requests.post(f"{a.api}/blobs/missing", json={"sha256": [sha]}, headers=a.headers(), timeout=30).json() == {"missing": []}
    # no record references it yet: nobody may download it
    assert requests.get(f"{a.api}/blobs/{sha}", headers=a.headers(), timeout=30).status_code == 404
    hch, pch = _photo_change(a, org, data)
    assert [x["status"] for x in a.sync([hch, pch]).json()["acks"]] == ["applied", "applied"]
    got = requests.get(f"{a.api}/blobs/{sha}", headers=a.headers(), timeout=30)
    assert got.status_code == 200 and hashlib.sha256(got.content).hexdigest() == sha
    thumb = requests.get(f"{a.api}/blobs/{sha}", params={"variant": "thumb"}, headers=a.headers(), timeout=30)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.content)).size) <= 320
    # staff of the township may see it; a worker of another grid may not
    staff = enroll_device(server, "赵干部")
    b = enroll_device(server, "李网格")
    assert requests.get(f"{a.api}/blobs/{sha}", headers=staff.headers(), timeout=30).status_code == 200
    assert requests.get(f"{a.api}/blobs/{sha}", headers=b.headers(), timeout=30).status_code == 404


def test_chunk_lying_about_its_hash_stores_nothing(server: RunningServer, org: Org) -> None:
    a = enroll_device(server, "张网格")
    data = os.urandom(10_000)
    sha = hashlib.sha256(data).hexdigest()
    r = _put(a, sha, 0, data[:5000], len(data), chunk_sha=hashlib.sha256(b"other").hexdigest())
    assert r.status_code == 422 and r.json()["code"] == "chunk_hash_mismatch"
    assert requests.get(f"{a.api}/blobs/{sha}/upload", headers=a.headers(), timeout=30).json()["offset"] == 0


def test_whole_blob_hash_checked_before_accepting(server: RunningServer, org: Org) -> None:
    a = enroll_device(server, "张网格")
    data = os.urandom(10_000)
    claimed = hashlib.sha256(b"something else").hexdigest()
    assert _put(a, claimed, 0, data[:6000], len(data)).status_code == 200
    r = _put(a, claimed, 6000, data[6000:], len(data))
    assert r.status_code == 422 and r.json()["code"] == "blob_hash_mismatch"
    missing = requests.post(f"{a.api}/blobs/missing", json={"sha256": [claimed]}, headers=a.headers(), timeout=30)
    assert missing.json() == {"missing": [claimed]}
    assert requests.get(f"{a.api}/blobs/{claimed}/upload", headers=a.headers(), timeout=30).json()["offset"] == 0


def test_bad_blob_requests(server: RunningServer, org: Org) -> None:
    a = enroll_device(server, "张网格")
    h = a.headers()
    assert requests.get(f"{a.api}/blobs/NOTASHA/upload", headers=h, timeout=30).status_code == 422
    assert requests.post(f"{a.api}/blobs/missing", json={"sha256": ["x"]}, headers=h, timeout=30).status_code == 422
    sha = hashlib.sha256(b"abc").hexdigest()
    too_big = _put(a, sha, 0, b"abc", 10**12)
    assert too_big.status_code == 413 and too_big.json()["code"] == "blob_too_large"
    past_end = _put(a, sha, 0, b"abcdef", 3)
    assert past_end.status_code == 400 and past_end.json()["code"] == "bad_chunk"
    no_auth = requests.put(f"{a.api}/blobs/{sha}", params={"offset": 0, "size": 3}, data=b"abc",
                           headers={"X-Chunk-Sha256": sha}, timeout=30)  # fmt: skip
    assert no_auth.status_code == 401


def test_partials_cleanup_keeps_recent_ones(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = FsBlobStore(tmp_path)
    old, new = "a" * 64, "b" * 64
    store.write_chunk(old, 0, b"123", 10)
    store.write_chunk(new, 0, b"123", 10)
    past = time.time() - 10 * 86400
    os.utime(tmp_path / "partial" / f"{old}.part", (past, past))
    assert store.cleanup_partials(7) == 1
    assert store.size_of_partial(old) == (0, None)
    assert store.size_of_partial(new) == (3, 10)
