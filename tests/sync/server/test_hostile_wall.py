"""Hostile cases against the echo wall and the server's limits (issue 11 finding 4, Build 3
and 5; issue 9 finding 7). Each case plays the attacker's (or the careless clerk's) move and
asserts refusal or safe output, and that the database did not change.

Counted in docs/security.md: every parametrized case is one hostile case.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import struct
import time
import zlib
from pathlib import Path

import pytest
import requests
from PIL import Image
from sqlalchemy import text
from typer.testing import CliRunner

from sync.bundles.format import build_bundle
from sync.photos import LONG_EDGE
from sync.server import admin, auth
from sync.server.api import Limits
from tests.support.server import (
    Device,
    Org,
    RunningServer,
    enroll_device,
    event,
    household,
    make_org,
    photo_blob,
)

# ---------------------------------------------------------------- helpers


def snapshot(srv: RunningServer) -> dict[str, object]:
    """What must not change when something is refused: every table that a write touches,
    the feed head, the enrolled devices and the stored photos."""
    with srv.engine.connect() as conn:
        counts = {t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one())
                  for t in ("records", "applied_changes", "conflicts", "blob_refs")}
        counts["feed"] = int(conn.execute(text("SELECT seq FROM feed")).scalar_one())
        counts["enrolled"] = int(conn.execute(text("SELECT count(*) FROM devices WHERE token_hash IS NOT NULL")).scalar_one())
    root = srv.app.state.blob_store.root
    counts["photos"] = sorted(p.name for p in root.glob("??/*"))
    counts["bundles"] = sorted(p.name for p in (root / "bundles").glob("*"))
    return counts


def _jpeg(w: int = 64, h: int = 48, **save: object) -> bytes:
    buf = io.BytesIO()
    Image.frombytes("RGB", (w, h), os.urandom(w * h * 3)).save(buf, "JPEG", quality=80, **save)
    return buf.getvalue()


def _with_xmp(jpeg: bytes, xmp: bytes) -> bytes:
    """An APP1 XMP segment right after SOI (what a phone gallery app writes)."""
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + xmp
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height pixels (a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _put(dev: Device, data: bytes, sha: str | None = None) -> requests.Response:
    sha = sha or hashlib.sha256(data).hexdigest()
    h = {**dev.headers(), "X-Chunk-Sha256": hashlib.sha256(data).hexdigest(), "Content-Type": "application/octet-stream"}
    return requests.put(f"{dev.api}/blobs/{sha}", params={"offset": 0, "size": len(data)}, data=data, headers=h, timeout=30)


class Town:
    """An organisation with a worker, staff, households and one issue ready to publish."""

    def __init__(self, srv: RunningServer) -> None:
        self.srv = srv
        self.org: Org = make_org(srv)
        self.worker = enroll_device(srv, "张网格")
        self.staff = enroll_device(srv, "赵干部")
        hh1, c1 = household(self.worker, self.org.grid_a, self.org.village_a, head="刘大爷",
                            phone="13900001111", members=[{"name": "刘小红", "relation": "孙女", "birth_year": 2012}],
                            care_tags=["独居老人", "低保户"])
        _, c2 = household(self.worker, self.org.grid_a, self.org.village_a, head="王秀英", address="东村5组8号")
        fields = {"issue_kind": "problem", "title": "刘大爷家门口路灯坏了", "reporter": self.worker.user_id,
                  "urgency": "normal", "household": hh1["id"]}
        from sync.changes import new_record

        self.issue, c3 = new_record("issue", self.org.grid_a, fields, self.worker.clock, self.worker.user_id)
        acks = self.worker.sync([c1, c2, c3]).json()["acks"]
        assert [a["status"] for a in acks] == ["applied"] * 3, acks

    def emit(self, etype: str, data: dict) -> dict:
        _, ch = event(self.staff, self.issue, etype, data)
        r = self.staff.sync([ch])
        assert r.status_code == 200, r.text
        return r.json()["acks"][0]

    def publish(self, title: str, body: str) -> dict:
        return self.emit("publish", {"public_title": title, "public_text": body})


@pytest.fixture
def town(server: RunningServer) -> Town:
    return Town(server)


# ---------------------------------------------------------------- the publish guard (API path)

LEAKS = [
    ("路灯修好了", "刘大爷家门口的路灯已更换"),  # the linked household's head
    ("路灯修好了", "刘 小 红 反映的问题已解决"),  # a member, spaced out
    ("路灯修好了", "王·秀·英家也一并处理"),  # another household of the village
    ("刘大爷的路灯", "已更换"),  # the name in the title
    ("路灯修好了", "有事联系 138 1234 5678"),
    ("路灯修好了", "联系电话：一三八一二三四五六七八"),
    ("路灯修好了", "联系 壹叁捌壹贰叁肆伍陆柒捌"),
    ("路灯修好了", "电话１３８－１２３４－５６７８"),
    ("路灯修好了", "电话 +86 138.1234.5678"),
    ("路灯修好了", "电话 1\u200b3\u200b8\u200b1234\u200b5678"),
    ("路灯修好了", "身份证 110105 19900101 123x"),
    ("路灯修好了", "老证号 110105900101123"),
    ("路灯修好了", "办公电话 (0571) 8888-6666"),
    ("路灯修好了", "地点：东村三组十二号"),
    ("路灯修好了", "5栋2单元201室门前"),
    ("路灯修好了", "独居老人晚上出行安全了"),
    ("路灯修好了", "低保家庭门口已修"),
    ("留守儿童上学路亮了", "已更换"),
    ("路灯修好了", "特困供养对象家门口"),
]


@pytest.mark.parametrize(("title", "body"), LEAKS)
def test_api_publish_with_private_wording_is_refused(town: Town, title: str, body: str) -> None:
    before = snapshot(town.srv)
    ack = town.publish(title, body)
    assert ack["status"] == "refused" and ack["code"] == "private", ack
    assert "公开内容含有居民个人信息" in ack["reason"]
    assert snapshot(town.srv) == before


def test_clean_wording_is_published_and_the_wall_shows_no_internal_id(town: Town) -> None:
    assert town.publish("3组路灯已修好", "镇村建办已更换路灯两盏，夜间照明恢复。")["status"] == "applied"
    page = requests.get(f"{town.srv.url}/wall/{town.org.village_a}", timeout=30)
    assert page.status_code == 200 and "3组路灯已修好" in page.text
    assert town.issue["id"] not in page.text and page.headers["x-content-type-options"] == "nosniff"
    assert re.search(r'id="i-[0-9a-f]{16}"', page.text)


def test_bundle_publish_with_private_wording_is_refused(town: Town) -> None:
    from sync.server.bundles import import_bundle

    _, ch = event(town.staff, town.issue, "publish", {"public_title": "修好了", "public_text": "刘大爷很满意"})
    secret = town.srv.run(auth.device_secret, town.staff.device_id)
    data = build_bundle(kind="device", device_id=town.staff.device_id, user=town.staff.user_id, secret=secret, changes=[ch])
    before = snapshot(town.srv)
    res = import_bundle(town.srv.engine, town.srv.app.state.blob_store, data)
    assert res.receipt["accepted"] == 0 and res.receipt["refused"][0]["code"] == "private"
    assert snapshot(town.srv) == before


# ---------------------------------------------------------------- public photos


def test_public_photo_is_rebuilt_from_pixels(town: Town) -> None:
    secret_xmp = b'<x:xmpmeta><rdf:Description exif:GPSLatitude="30,15.5N"/></x:xmpmeta>'
    photo = _with_xmp(_jpeg(comment=b"GPS 30.2588N 120.1537E home of 13900001111"), secret_xmp)
    sha = hashlib.sha256(photo).hexdigest()
    assert _put(town.worker, photo).json()["complete"] is True
    town.emit("assign", {"unit": "town-office", "deadline": "2099-01-01"})
    town.emit("resolve", {"reply": "已修好", "photos": [sha]})
    assert town.publish("路灯已修好", "已更换灯泡")["status"] == "applied"
    page = requests.get(f"{town.srv.url}/wall/{town.org.village_a}", timeout=30).text
    assert sha not in page
    link = re.search(r'href="(/wall/[^"]+/photos/[0-9a-f]{16})"', page).group(1)
    got = requests.get(town.srv.url + link, timeout=30)
    assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert b"xmpmeta" not in got.content and b"GPS" not in got.content and b"13900001111" not in got.content
    with Image.open(io.BytesIO(got.content)) as im:
        assert im.format == "JPEG" and "comment" not in im.info and not im.getexif()
    # the internal hash is no handle on the wall
    assert requests.get(f"{town.srv.url}/wall/{town.org.village_a}/photos/{sha}", timeout=30).status_code == 404


def test_a_hostile_file_already_in_the_store_is_never_served_raw(town: Town) -> None:
    """A blob that reached the disk before these checks (or by hand): PNG text chunks and
    HTML are not served as they are; a bomb is refused before decoding, once."""
    store_ = town.srv.app.state.blob_store
    bomb = _png_declaring(11_000, 11_000)
    sha = hashlib.sha256(bomb).hexdigest()
    dest = store_.root / sha[:2] / sha
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(bomb)
    town.emit("assign", {"unit": "town-office", "deadline": "2099-01-01"})
    town.emit("resolve", {"reply": "已修好", "photos": [sha]})
    town.publish("路灯已修好", "已更换灯泡")
    before = snapshot(town.srv)
    page = requests.get(f"{town.srv.url}/wall/{town.org.village_a}", timeout=30).text
    link = re.search(r'href="(/wall/[^"]+/photos/[0-9a-f]{16})"', page).group(1)
    assert requests.get(town.srv.url + link, timeout=30).status_code == 404
    assert (store_.public / f"{sha}.none").exists()  # remembered: not decoded again
    assert store_.public_image(sha) is None and store_.thumbnail(sha) is None
    assert snapshot(town.srv) == before


# ---------------------------------------------------------------- what a blob may be

NOT_PHOTOS = {
    "html": b"<html><script>alert(document.cookie)</script></html>",
    "png_with_text": None,  # built below
    "bomb_png": None,
    "too_big_jpeg": None,
    "truncated_jpeg": None,
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "random": os.urandom(5000),
}


def _not_photo(kind: str) -> bytes:
    if kind == "png_with_text":
        buf = io.BytesIO()
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_text("Comment", "刘大爷 13900001111")
        Image.new("RGB", (50, 50), (1, 2, 3)).save(buf, "PNG", pnginfo=info)
        return buf.getvalue()
    if kind == "bomb_png":
        return _png_declaring(11_000, 11_000)
    if kind == "too_big_jpeg":
        return _jpeg(LONG_EDGE + 1, 20)
    if kind == "truncated_jpeg":
        return _jpeg(400, 300)[:-600]
    return NOT_PHOTOS[kind]  # type: ignore[return-value]


@pytest.mark.parametrize("kind", sorted(NOT_PHOTOS))
def test_blob_that_is_not_a_pipeline_photo_is_refused(town: Town, kind: str) -> None:
    data = _not_photo(kind)
    before = snapshot(town.srv)
    r = _put(town.worker, data)
    assert r.status_code == 422 and r.json()["code"] == "not_a_photo", r.text
    assert "服务器只保存照片" in r.json()["detail"]
    assert snapshot(town.srv) == before
    sha = hashlib.sha256(data).hexdigest()
    state = requests.get(f"{town.worker.api}/blobs/{sha}/upload", headers=town.worker.headers(), timeout=30).json()
    assert state == {"offset": 0, "size": None, "complete": False}  # the partial was dropped too


def test_a_grid_worker_cannot_park_a_zip_as_a_blob(town: Town) -> None:
    before = snapshot(town.srv)
    r = _put(town.worker, b"PK\x03\x04" + os.urandom(2000))
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    assert snapshot(town.srv) == before


def test_bundle_carrying_a_non_photo_is_refused_whole(town: Town) -> None:
    from sync.server.bundles import import_bundle

    hh, ch = household(town.worker, town.org.grid_a, town.org.village_a, head="新住户")
    junk = b"<html>not a photo</html>"
    secret = town.srv.run(auth.device_secret, town.worker.device_id)
    data = build_bundle(kind="device", device_id=town.worker.device_id, user=town.worker.user_id, secret=secret,
                        changes=[ch], blobs={hashlib.sha256(junk).hexdigest(): junk})
    before = snapshot(town.srv)
    res = import_bundle(town.srv.engine, town.srv.app.state.blob_store, data)
    assert res.receipt["status"] == "invalid" and res.receipt["code"] == "bad_photo"
    assert res.return_bundle is None
    assert snapshot(town.srv) == before


# ---------------------------------------------------------------- quota, bundles kept for a time


def _small_server(tmp_path: Path, **limits: object) -> tuple[RunningServer, Org]:
    srv = RunningServer(f"sqlite:///{tmp_path / 'limits.sqlite3'}", tmp_path / "lblobs", Limits(**limits))
    return srv, make_org(srv)


def test_photo_quota_per_device(tmp_path: Path) -> None:
    srv, _org = _small_server(tmp_path, blob_quota_bytes=30_000)
    try:
        a = enroll_device(srv, "张网格")
        assert _put(a, photo_blob(20_000)).json()["complete"] is True
        before = snapshot(srv)
        r = _put(a, photo_blob(20_000))
        assert r.status_code == 507 and r.json()["code"] == "quota_exceeded" and "上限" in r.json()["detail"]
        assert snapshot(srv) == before
        b = enroll_device(srv, "李网格")  # another device has its own quota
        assert _put(b, photo_blob(20_000)).json()["complete"] is True
    finally:
        srv.stop()


def test_bundle_over_the_quota_is_refused_whole(tmp_path: Path) -> None:
    from sync.server.bundles import import_bundle

    srv, org = _small_server(tmp_path, blob_quota_bytes=10_000)
    try:
        a = enroll_device(srv, "张网格")
        photos = {hashlib.sha256(p).hexdigest(): p for p in (photo_blob(6000), photo_blob(6000))}
        _, ch = household(a, org.grid_a, org.village_a)
        secret = srv.run(auth.device_secret, a.device_id)
        data = build_bundle(kind="device", device_id=a.device_id, user=a.user_id, secret=secret,
                            changes=[ch], blobs=photos)
        before = snapshot(srv)
        res = import_bundle(srv.engine, srv.app.state.blob_store, data, quota_bytes=10_000)
        assert res.receipt["code"] == "quota" and snapshot(srv) == before
    finally:
        srv.stop()


def test_uploaded_bundles_are_cleaned_after_their_time(town: Town) -> None:
    op = enroll_device(town.srv, "钱操作员")
    hh, ch = household(town.worker, town.org.grid_a, town.org.village_a, head="新住户")
    secret = town.srv.run(auth.device_secret, town.worker.device_id)
    data = build_bundle(kind="device", device_id=town.worker.device_id, user=town.worker.user_id, secret=secret, changes=[ch])
    assert _put(op, data).json()["complete"] is True
    store_ = town.srv.app.state.blob_store
    sha = hashlib.sha256(data).hexdigest()
    assert store_.has_bundle(sha) and not store_.has(sha)  # not among the photos
    assert store_.cleanup_bundles(7) == 0
    old = time.time() - 8 * 86400
    os.utime(store_.bundles / sha, (old, old))
    assert store_.cleanup_bundles(7) == 1 and not store_.has_bundle(sha)


# ---------------------------------------------------------------- enrollment throttle


def test_wrong_enrollment_codes_are_throttled(tmp_path: Path) -> None:
    srv, _org = _small_server(tmp_path, enroll_failures=3, enroll_window_s=600)
    try:
        _, code = srv.run(admin.create_enrollment, "张网格")
        for k in range(3):
            r = requests.post(f"{srv.api}/enroll", json={"code": f"AAAA-AAA{k + 2}"}, timeout=30)
            assert r.status_code == 403
        before = snapshot(srv)
        r = requests.post(f"{srv.api}/enroll", json={"code": "BBBB-BBBB"}, timeout=30)
        assert r.status_code == 429 and r.json()["code"] == "enroll_throttled"
        assert 1 <= int(r.headers["retry-after"]) <= 600
        # the right code from the same address waits too: guessing cannot go on meanwhile
        assert requests.post(f"{srv.api}/enroll", json={"code": code}, timeout=30).status_code == 429
        assert snapshot(srv) == before
    finally:
        srv.stop()


def test_throttle_per_code_and_window() -> None:
    from sync.server.throttle import Throttle

    now = [1000.0]
    th = Throttle(2, 60, clock=lambda: now[0])
    for ip in ("ip:a", "ip:b"):  # two addresses trying the same code
        assert th.retry_after([ip, "code:X"]) is None
        th.failed([ip, "code:X"])
    assert th.retry_after(["ip:c", "code:X"]) == 60  # the code is blocked from everywhere
    assert th.retry_after(["ip:c", "code:Y"]) is None
    now[0] += 61
    assert th.retry_after(["ip:c", "code:X"]) is None  # the window passed


# ---------------------------------------------------------------- gzip, nosniff


def test_gzip_body_without_a_token_is_not_inflated(town: Town) -> None:
    before = snapshot(town.srv)
    bomb = gzip.compress(b"{" + b" " * (64 * 1024 * 1024) + b"}")
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        r = requests.post(f"{town.srv.api}/sync", data=bomb,
                          headers={"Content-Encoding": "gzip", "Content-Type": "application/json", **headers}, timeout=30)
        assert r.status_code == 401 and r.headers["x-content-type-options"] == "nosniff"
    r = requests.post(f"{town.srv.api}/enroll", data=gzip.compress(b'{"code":"AAAA-AAAA"}'),
                      headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}, timeout=30)
    assert r.status_code == 401
    assert snapshot(town.srv) == before


def test_gzip_bomb_with_a_token_is_capped(town: Town) -> None:
    before = snapshot(town.srv)
    bomb = gzip.compress(b"{" + b" " * (64 * 1024 * 1024) + b"}")
    r = requests.post(f"{town.srv.api}/sync", data=bomb,
                      headers={**town.worker.headers(), "Content-Encoding": "gzip", "Content-Type": "application/json"},
                      timeout=30)
    assert r.status_code == 413 and r.json()["code"] == "inflated_too_large"
    assert snapshot(town.srv) == before


@pytest.mark.parametrize("path", ["/api/v1/health", "/api/v1/me", "/api/v1/nowhere", "/wall/nowhere", "/api/v1/openapi.json"])
def test_every_response_says_nosniff(town: Town, path: str) -> None:
    r = requests.get(town.srv.url + path, timeout=30)
    assert r.headers["x-content-type-options"] == "nosniff"


# ---------------------------------------------------------------- numeric CLI options


@pytest.mark.parametrize(("args"), [
    ["enroll", "--user", "张网格", "--hours", "nan"],
    ["enroll", "--user", "张网格", "--hours", "inf"],
    ["enroll", "--user", "张网格", "--hours", "-1"],
    ["enroll", "--user", "张网格", "--hours", "1e400"],
    ["cleanup-partials", "--days", "nan"],
    ["cleanup-partials", "--days", "-3"],
    ["cleanup-partials", "--bundle-days", "inf"],
])
def test_numeric_cli_options_refuse_nan_inf_and_negatives(tmp_path: Path, args: list[str]) -> None:
    from sync.server.cli import admin_app

    srv, _org = _small_server(tmp_path)
    try:
        before = snapshot(srv)
        r = CliRunner().invoke(admin_app, ["--data", str(tmp_path), "--db", f"sqlite:///{tmp_path / 'limits.sqlite3'}", *args])
        # refused while reading the option, before anything runs (`gridwall` prints it as one line)
        assert r.exit_code != 0
        assert re.search(r"不是有限的数字|超出范围", f"{r.output}{r.exception}"), (r.output, r.exception)
        assert snapshot(srv) == before
    finally:
        srv.stop()
