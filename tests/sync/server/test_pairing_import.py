"""The 联户 pairing import with a messy workbook: a title row above the header, spaces (全角
too) in names and addresses, numbers as phone cells, 是/否 words; every bad row reported with
its number and reason, and nothing imported until the whole file is right. A second import of
the same file adds nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from typer.testing import CliRunner

from sync.server import admin, auth, db, feed
from sync.server.cli import admin_app
from sync.server.pairing_import import import_pairing

HEADER = ["序号", "联户人员", " 身份 ", "联系电话", "是否使用App", "户主", "门牌"]
GOOD = [
    [1, "李 明", "党员", 13812345678, "是", "王建国", "一组3号"],
    [2, "李明", "党员", None, None, "刘芳", "一组\u30005号"],  # a full-width space in the address
    [3, "赵秀英", "联户长", "138-1234-5679", "否", "陈强", None],  # one 陈强 in the grid: no address needed
    [4, "孙丽", "双联户长", None, "否", None, None],  # registered, looks after nobody yet
]
BAD = [
    [5, "", "党员", None, None, "刘芳", "一组5号"],
    [6, "孙伟", "群众", None, None, "刘芳", "一组5号"],
    [7, "周杰", "党员", None, "也许", "刘芳", "一组5号"],
    [8, "吴刚", "党员", None, None, "王建国", None],
    [9, "郑爽", "联户长", None, None, "不存在", "一组9号"],
    [10, "李明", "联户长", None, None, "陈强", None],
    [11, "钱多", "党员", "12345", None, "陈强", None],
]


def workbook(path: Path, rows: list[list]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(["东村联户名册（2026年）"])
    ws.merge_cells("A1:G1")
    ws.append([])
    ws.append(HEADER)
    for i, r in enumerate(rows):
        ws.append(r)
        if i == 1:
            ws.append([None] * 7)  # an empty row in the middle
    wb.save(path)
    return path


@pytest.fixture
def town(tmp_path: Path):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 's.sqlite3'}"
    engine = db.make_engine(url)
    db.migrate(engine)
    with engine.begin() as conn:
        admin.prepare(conn)
        tw = admin.create_township(conn, "青山镇")
        v = admin.create_village(conn, tw, "东村")
        g = admin.create_grid(conn, tw, "东村一网格", v)
        homes = [("王建国", "一组3号"), ("刘芳", "一组5号"), ("王建国", "二组8号"), ("陈强", "湖边1号")]
        feed.apply_changes(conn, auth.system_principal(), [
            feed.server_change("household", g, {"village": v, "head": h, "address": a}) for h, a in homes])
    yield engine, g, url
    engine.dispose()


def _kinds(engine, kind: str) -> list[dict]:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        return [json.loads(d) for (d,) in conn.execute(select(db.records.c.doc).where(db.records.c.kind == kind))]


def test_a_messy_file_is_refused_whole_with_every_bad_row_named(town, tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine, g, _url = town
    path = workbook(tmp_path / "联户.xlsx", GOOD + BAD)
    with engine.begin() as conn:
        report = import_pairing(conn, path, g)
    reasons = dict(report.refused)
    # rows as in the file: title, blank, header, then data (an empty row after the 2nd)
    assert sorted(reasons) == [9, 10, 11, 12, 13, 14, 15]
    assert "姓名" in reasons[9]
    assert "群众" in reasons[10] and "联户长" in reasons[10]
    assert "也许" in reasons[11]
    assert "2户" in reasons[12] and "门牌" in reasons[12]
    assert "不存在" in reasons[13] and "一组9号" in reasons[13]
    assert "李明" in reasons[14] and "第4行" in reasons[14]
    assert "电话号码" in reasons[15]
    assert report.accepted == [] and _kinds(engine, "member") == [] and _kinds(engine, "pairing") == []


def test_a_clean_file_imports_members_and_pairings_once(town, tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine, g, _url = town
    path = workbook(tmp_path / "联户.xlsx", [*GOOD, GOOD[0]])  # the first row twice
    with engine.begin() as conn:
        report = import_pairing(conn, path, "东村一网格")
    assert report.refused == [] and report.accepted == [4, 5, 7, 8]
    assert [r for r, _ in report.skipped] == [9]  # the repeated row: that pairing exists
    members = {m["fields"]["name"]: m for m in _kinds(engine, "member")}
    assert set(members) == {"李明", "赵秀英", "孙丽"}
    assert members["李明"]["fields"] == {"name": "李明", "duty": "party_member", "phone": "13812345678",
                                        "uses_app": True, "village": members["李明"]["fields"]["village"]}
    assert members["赵秀英"]["fields"]["phone"] == "13812345679" and members["赵秀英"]["fields"]["uses_app"] is False
    assert members["孙丽"]["fields"]["duty"] == "household_lead"
    heads = {h["id"]: (h["fields"]["head"], h["fields"]["address"]) for h in _kinds(engine, "household")}
    pairs = sorted((next(n for n, m in members.items() if m["id"] == p["fields"]["member"]),
                    heads[p["fields"]["household"]]) for p in _kinds(engine, "pairing"))
    assert pairs == [("李明", ("刘芳", "一组5号")), ("李明", ("王建国", "一组3号")), ("赵秀英", ("陈强", "湖边1号"))]
    assert all(r["grid"] == g for r in _kinds(engine, "pairing") + _kinds(engine, "member"))
    with engine.begin() as conn:
        again = import_pairing(conn, path, g)
    assert again.refused == [] and len(again.skipped) == 4 and len(_kinds(engine, "pairing")) == 3
    assert len(_kinds(engine, "member")) == 3


def test_the_command_prints_the_refused_rows_and_exits_2(town, tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine, _g, url = town
    path = workbook(tmp_path / "联户.xlsx", GOOD + BAD[:2])
    r = CliRunner().invoke(admin_app, ["--db", url, "import-pairing", str(path), "--grid", "东村一网格"])
    assert r.exit_code == 2, r.output
    assert "整个文件未导入" in r.output and "群众" in r.output and "Traceback" not in r.output
    assert _kinds(engine, "member") == []
    nohead = tmp_path / "nohead.xlsx"
    wb = Workbook()
    wb.active.append(["姓名", "电话"])
    wb.save(nohead)
    r = CliRunner().invoke(admin_app, ["--db", url, "import-pairing", str(nohead), "--grid", "东村一网格"])
    assert r.exit_code != 0 and "身份" in r.output and "户主" in r.output and "Traceback" not in r.output
