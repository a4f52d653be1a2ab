"""`gridwall report ...` against the real server (uvicorn on 127.0.0.1, SQLite): a worker
reports, staff dispatch, resolve and publish, the worker re-checks; the exports show it."""

import csv
import io
import subprocess
from datetime import datetime

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from sync.chinatime import CHINA_TZ
from sync.client.fetch import FetchError, pull_records
from sync.reports.cli import app
from sync.server import feed
from tests.support.server import RunningServer, enroll_device, event, household, issue, make_org


def _push(dev, changes):
    r = dev.sync(changes)
    assert r.status_code == 200, r.text
    acks = r.json()["acks"]
    assert all(a["status"] == "applied" for a in acks), acks


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("srv")
    srv = RunningServer(f"sqlite:///{tmp / 'server.sqlite3'}", tmp / "blobs")
    try:
        org = make_org(srv)
        unit = srv.run(lambda c: feed.write_reference(c, "unit", {"name": "镇村建办"}, org.township))
        worker = enroll_device(srv, org.users["worker_a"])
        staff = enroll_device(srv, org.users["staff"])
        hh, c1 = household(worker, org.grid_a, org.village_a, head="周秘密", phone="13700001111",
                           care_tags=["独居老人"])  # fmt: skip
        iss, c2 = issue(worker, org.grid_a, "周秘密家屋顶漏水")
        iss["fields"]["household"] = hh["id"]
        c2["fields"]["household"] = hh["id"]
        c2["stamps"]["household"] = c2["stamps"]["title"]
        c2["bases"]["household"] = None
        _, c3 = event(worker, iss, "report")
        other, c4 = issue(worker, org.grid_a, "未公开的问题")
        _push(worker, [c1, c2, c3, c4])
        staff.pull_all()
        changes = []
        for etype, data in [
            ("accept", {}),
            ("assign", {"unit": unit, "deadline": "2099-12-31", "note": "尽快维修"}),
            ("resolve", {"reply": "已修好屋顶"}),
            ("publish", {"public_title": "一组屋顶漏水已修复", "public_text": "镇村建办已修好屋顶"}),
        ]:
            _, ch = event(staff, iss, etype, data)
            changes.append(ch)
        _push(staff, changes)
        worker.pull_all()
        _, c5 = event(worker, iss, "recheck", {"solved": True, "satisfied": True})
        _push(worker, [c5])
        yield srv, org, staff, worker
    finally:
        srv.stop()


def test_pull_records_pages_through_everything(world):
    srv, org, staff, _ = world
    recs = pull_records(srv.url, staff.token, page=2)  # tiny pages: many round trips
    kinds = {r["kind"] for r in recs}
    assert {"village", "grid", "unit", "user", "household", "issue", "issue_event"} <= kinds
    assert len({r["id"] for r in recs}) == len(recs)
    assert sum(r["kind"] == "issue_event" for r in recs) == 6


def test_ledger_metrics_and_echo_wall_from_the_server(world, tmp_path):
    srv, org, staff, _ = world
    runner = CliRunner()
    month = datetime.now(CHINA_TZ).strftime("%Y-%m")
    out = tmp_path / "ledger.xlsx"
    r = runner.invoke(app, ["ledger", "--server", srv.url, "--token", staff.token, "--month", month,
                            "--township", "青山镇", "--out", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    ws = load_workbook(out).active
    assert ws["A1"].value.startswith("青山镇整改台账")
    rows = {ws.cell(row=i, column=2).value: [c.value for c in ws[i]] for i in range(3, ws.max_row + 1)}
    row = rows["周秘密家屋顶漏水"]
    assert row[2] == "东村" and row[4] == "镇村建办" and row[5] == "赵干部" and row[6] == "已修好屋顶"
    assert "尽快维修" in row[8] and "回头看：已解决" in row[8]
    assert row[9] == "已回访"
    assert rows["未公开的问题"][9] == "已上报"

    m = tmp_path / "metrics.csv"
    r = runner.invoke(app, ["metrics", "--server", srv.url, "--token", staff.token, "--month", month,
                            "--out", str(m)])  # fmt: skip
    assert r.exit_code == 0, r.output
    lines = list(csv.reader(io.StringIO(m.read_bytes().decode("utf-8-sig"))))
    solved = [x for x in lines if x[0] == "东村" and x[1] == "解决率"]
    assert solved == [["东村", "解决率", "100.0%", "1", "1", solved[0][5]]]

    pdf = tmp_path / "wall.pdf"
    r = runner.invoke(app, ["echo-wall", "--server", srv.url, "--token", staff.token, "--village", "东村",
                            "--out", str(pdf)])  # fmt: skip
    assert r.exit_code == 0, r.output
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    flat = "".join(text.split())
    assert "东村回音壁" in flat and "一组屋顶漏水已修复" in flat and "居民评价：已解决，满意" in flat
    for private in ("周秘密", "13700001111", "独居老人", "未公开的问题", "张网格"):
        assert private not in flat


def test_clear_errors(world, tmp_path):
    srv, org, staff, _ = world
    runner = CliRunner()
    r = runner.invoke(app, ["ledger", "--server", srv.url, "--token", "wrong", "--out", str(tmp_path / "x.xlsx")])
    assert r.exit_code == 1 and "令牌" in r.output and "Traceback" not in r.output
    # no token at all: the message says where one comes from
    r = runner.invoke(app, ["ledger", "--server", srv.url, "--out", str(tmp_path / "x.xlsx")], env={"GRIDWALL_TOKEN": ""})
    assert r.exit_code == 1 and "gridwall admin token --user" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["ledger", "--server", srv.url, "--token", staff.token, "--out", str(tmp_path / "x.pdf")])
    assert r.exit_code == 1 and ".xlsx 或 .csv" in r.output
    r = runner.invoke(app, ["ledger", "--server", srv.url, "--token", staff.token, "--month", "2026-13"])
    assert r.exit_code == 1 and "看不懂时间段" in r.output
    r = runner.invoke(app, ["echo-wall", "--server", srv.url, "--token", staff.token, "--village", "北村",
                            "--out", str(tmp_path / "w.pdf")])  # fmt: skip
    assert r.exit_code == 1 and "找不到村“北村”" in r.output and "东村" in r.output
    r = runner.invoke(app, ["ledger", "--server", srv.url, "--token", staff.token, "--township", "绿水镇",
                            "--out", str(tmp_path / "x.xlsx")])  # fmt: skip
    assert r.exit_code == 1 and "找不到乡镇“绿水镇”" in r.output
    with pytest.raises(FetchError, match="连不上服务器"):
        pull_records("http://127.0.0.1:9", staff.token, timeout=5)


def _jpeg(exif: bool) -> bytes:
    from PIL import Image

    im = Image.new("RGB", (400, 300), (200, 120, 40))
    buf = io.BytesIO()
    if exif:
        ex = Image.Exif()
        ex[0x010F] = "PhoneMaker"  # Make
        ex[0x0132] = "2026:03:09 15:00:00"  # DateTime
        im.save(buf, "JPEG", exif=ex.tobytes())
    else:
        im.save(buf, "JPEG")
    return buf.getvalue()


def test_wall_page_on_the_server_store(world):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from sync.server.wall import make_wall_router, server_wall_records

    srv, org, staff, _ = world
    fetch = server_wall_records(srv.engine)
    app = FastAPI()
    app.include_router(make_wall_router(fetch))
    client = TestClient(app)
    r = client.get(f"/wall/{org.village_a}")
    assert r.status_code == 200
    assert "东村回音壁" in r.text and "一组屋顶漏水已修复" in r.text and "居民评价：已解决，满意" in r.text
    for private in ("周秘密", "13700001111", "独居老人", "未公开的问题", "张网格"):
        assert private not in r.text
    other = client.get(f"/wall/{org.village_b}")
    assert other.status_code == 200 and "暂无公开事项" in other.text
    assert client.get("/wall/0190a0b0-0000-7000-8000-000000000000").status_code == 404
    # nothing written since: the second read is the cached list (the feed did not move)
    assert fetch(org.village_a) is fetch(org.village_a)


def test_photos_served_without_metadata(tmp_path):
    """Every public photo is rebuilt from its pixels, with or without metadata in the store."""
    import hashlib

    from PIL import Image

    from sync.server.blobs import FsBlobStore
    from sync.server.wall import server_photo_bytes

    blobs = FsBlobStore(tmp_path / "blobs")
    shas = {}
    for name, exif in (("clean", False), ("exif", True)):
        data = _jpeg(exif)
        sha = hashlib.sha256(data).hexdigest()
        blobs.write_chunk(sha, 0, data, len(data))
        blobs.finish(sha)
        shas[name] = (sha, data)
    get = server_photo_bytes(blobs)
    for sha, data in shas.values():
        served = get(sha)
        assert served != data
        with Image.open(io.BytesIO(served)) as im:
            assert im.format == "JPEG" and not im.getexif() and "exif" not in im.info
        assert get(sha) == served  # cached: the same bytes every time
    assert get("0" * 64) is None


def test_wall_mounted_on_the_live_server(world, tmp_path):
    """The server mounts the echo wall itself: plain GET on the live app, no token."""
    import requests

    srv, org, _, _ = world
    r = requests.get(f"{srv.url}/wall/{org.village_a}", timeout=30)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "一组屋顶漏水已修复" in r.text and "周秘密" not in r.text
    assert requests.get(f"{srv.url}/wall/nope", timeout=30).status_code == 404


def test_front_page_and_village_index(world):
    """`/` says what the server is and links every village's wall, the apps and the API docs;
    `/wall` lists the villages. Every link on both pages answers."""
    import re

    import requests

    from sync.server.front import parse_app_link, version

    srv, org, _, _ = world
    srv.app.state.app_links = [parse_app_link("网格员 张网格=http://127.0.0.1:9/"), parse_app_link("http://127.0.0.1:8/")]
    try:
        r = requests.get(f"{srv.url}/", timeout=30)
    finally:
        srv.app.state.app_links = []
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert "青山镇" in page and "绿水镇" in page and version() in page and "中心服务器" in page
    assert f'href="/wall/{org.village_a}">东村回音壁' in page and "南村回音壁" in page
    assert 'href="http://127.0.0.1:9/">网格员 张网格</a>' in page and 'href="http://127.0.0.1:8/"' in page
    links = re.findall(r'href="(/[^"]*)"', page)
    assert "/api/v1/docs" in links
    for link in links:
        assert requests.get(f"{srv.url}{link}", timeout=30).status_code == 200, link
    assert "gridwall app" in requests.get(f"{srv.url}/", timeout=30).text  # no apps configured
    index = requests.get(f"{srv.url}/wall", timeout=30)
    assert index.status_code == 200
    walls = re.findall(r'href="(/wall/[^"]+)"', index.text)
    assert sorted(walls) == sorted(f"/wall/{v}" for v in (org.village_a, org.village_b, _village(srv, "南村")))
    assert "西村回音壁" in index.text


def _village(srv, name):
    from sqlalchemy import select

    from sync.server import db

    with srv.engine.connect() as conn:
        return conn.execute(select(db.villages.c.id).where(db.villages.c.name == name)).scalar_one()


def _issue_id(srv, staff, title):
    return next(r["id"] for r in pull_records(srv.url, staff.token)
                if r["kind"] == "issue" and r["fields"]["title"] == title)


def test_lookup_by_code_on_the_live_server(world):
    """The live server's wall: open counts, the form, and a lookup by the public code that
    shows the status and the public reply, nothing private."""
    import requests

    from sync.public_code import public_code

    srv, org, staff, _ = world
    code = public_code(_issue_id(srv, staff, "周秘密家屋顶漏水"))
    page = requests.get(f"{srv.url}/wall/{org.village_a}", timeout=30).text
    # 未公开的问题 waits (unpublished, still counted); the published one is re-checked, not closed yet
    assert "本村在办问题 2 件（待受理 1，办理中 0，已办结待回访 0，已回访待销号 1）" in page
    r = requests.get(f"{srv.url}/wall/{org.village_a}/lookup", params={"code": code}, timeout=30)
    assert r.status_code == 200 and "已回访" in r.text and "镇村建办已修好屋顶" in r.text
    for private in ("周秘密", "13700001111", "独居老人", "屋顶漏水", "张网格"):
        assert private not in r.text
    other = requests.get(f"{srv.url}/wall/{org.village_b}/lookup", params={"code": code}, timeout=30)
    assert other.status_code == 404


def test_notice_and_bulletin_commands(world, tmp_path):
    from sync.public_code import public_code

    srv, org, staff, _ = world
    runner = CliRunner()
    code = public_code(_issue_id(srv, staff, "周秘密家屋顶漏水"))
    out = tmp_path / "通知单.pdf"
    r = runner.invoke(app, ["notice", "--server", srv.url, "--token", staff.token, "--issue", code.lower(),
                            "--kind", "zhenggai", "--out", str(out)])
    assert r.exit_code == 0, r.output
    text = "".join(subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout.split())
    assert "整改通知单" in text and "镇村建办" in text and "尽快维修" in text and code in text
    r = runner.invoke(app, ["notice", "--server", srv.url, "--token", staff.token, "--issue", code,
                            "--out", str(tmp_path / "卡.pdf")])
    assert r.exit_code == 1 and "还没有督办" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["notice", "--server", srv.url, "--token", staff.token, "--issue", code,
                            "--kind", "zhenggai", "--out", str(tmp_path / "x.docx")])
    assert r.exit_code == 1 and ".pdf" in r.output
    month = datetime.now(CHINA_TZ).strftime("%Y-%m")
    for name in ("简报.pdf", "简报.xlsx"):
        r = runner.invoke(app, ["bulletin", "--server", srv.url, "--token", staff.token, "--month", month,
                                "--county", "榆中县", "--out", str(tmp_path / name)])
        assert r.exit_code == 0, r.output
        assert "已写出工作简报" in r.output
    wb = load_workbook(tmp_path / "简报.xlsx")
    labels = [row[1] for row in wb["乡镇三率排名"].iter_rows(min_row=3, values_only=True)]
    assert "青山镇" in labels and labels[-1] == "合计（榆中县）"
    r = runner.invoke(app, ["bulletin", "--server", srv.url, "--token", staff.token, "--township", "没有镇",
                            "--out", str(tmp_path / "b.pdf")])
    assert r.exit_code == 1 and "没有镇" in r.output and "Traceback" not in r.output
