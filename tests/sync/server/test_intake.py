"""Bulk intake of a hotline export (issue 14, "every channel in"): a messy XLSX (a title row
above the header, spaced headers, phone numbers as floats, dates as cells and as text, blank
rows, every kind of bad row) is refused whole with every bad row's number and reason; the
clean file lands problems in the grids of their households or villages, with the channel,
the hotline's number, the caller's private contact and a report event at the call time;
re-importing refuses duplicates; a GBK CSV with a mapped column works the same."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook
from typer.testing import CliRunner

from sync import intake
from sync.changes import new_record
from sync.server import admin, db
from sync.server.cli import admin_app
from sync.server.errors import ServerError
from sync.server.intake import import_issues
from tests.support.server import Org, RunningServer, enroll_device

HEADER = ["工单 编号", "来电时间", "乡镇（街道）", "村（社区）", "诉求标题", "诉求内容", "来电人", "来电号码",
          "紧急程度", "是否保密"]
GOOD = [
    ["QT20261130001", datetime(2026, 11, 30, 9, 15), "青山镇", "东村", "夜间施工噪音", "工地22点后仍施工", "王先生",
     13812345678.0, "紧急", "否"],
    ["QT20261130002", "2026/11/30 10:02", "绿水镇", "绿水镇/南村", "路灯不亮", "村口路灯坏了三天", "李女士",
     "139 0000 1111", "一般", "是"],
    ["QT20261130003", "2026-11-30 11:40", "青山镇", "西村", "垃圾未清运", "", "", "", "", ""],
]
BAD = [
    ["QT20261130004", "2026-11-30 12:00", "青山镇", "北村", "井盖缺失", "", "", "", "", ""],  # no such village
    ["QT20261130005", "2026-11-30 12:10", "青山镇", "东村", "", "没有标题", "", "", "", ""],  # no title
    ["QT20261130001", "2026-11-30 12:20", "青山镇", "东村", "重复工单", "", "", "", "", ""],  # repeats row 3
    ["QT20261130007", "2026-11-30 12:30", "青山镇", "东村", "电话写错", "", "赵先生", "12345", "", ""],
    ["QT20261130008", "昨天下午", "青山镇", "东村", "时间写错", "", "", "", "", ""],
    ["QT20261130009", "2026-11-30 12:50", "白云镇", "东村", "不是本县", "", "", "", "", ""],
    ["QT20261130010", "2026-11-30 13:00", "青山镇", "东村", "火急火燎", "", "", "", "火急", ""],
]


def _xlsx(path: Path, rows: list[list]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(["青山县12345政务服务热线工单明细（2026年11月）"])  # a title row above the header
    ws.append([])
    ws.append(HEADER)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


@pytest.fixture
def county(server: RunningServer, org: Org) -> Org:
    def more(conn):  # type: ignore[no-untyped-def]
        admin.create_user(conn, "县热线员", "county_staff", county=admin.DEFAULT_COUNTY, login="hotline-1")
    server.run(more)
    return org


def _issues(server: RunningServer) -> list[dict]:
    import json

    with server.engine.connect() as conn:
        rows = conn.execute(sa.select(db.records.c.doc).where(db.records.c.kind.in_(["issue", "issue_event"]))).scalars()
        return [json.loads(d) for d in rows]


def test_a_messy_export_is_refused_whole_with_every_bad_row_and_its_reason(server: RunningServer, county: Org,
                                                                          tmp_path: Path) -> None:
    path = _xlsx(tmp_path / "12345.xlsx", GOOD + [[]] + BAD)
    report = server.run(import_issues, path, county=admin.DEFAULT_COUNTY, by="hotline-1")
    assert not report.imported and _issues(server) == []  # nothing half-imported
    reasons = dict(report.refused)
    # rows as in the file: title row 1, blank row 2, header row 3, good rows 4-6, a blank row 7
    assert sorted(reasons) == [8, 9, 10, 11, 12, 13, 14]
    assert "北村" in reasons[8] and "青山镇" in reasons[8]
    assert "标题" in reasons[9]
    assert "QT20261130001" in reasons[10] and "已导入" in reasons[10]
    assert "电话" in reasons[11]
    assert "昨天下午" in reasons[12]
    assert "白云镇" in reasons[13]
    assert "火急" in reasons[14]
    assert [r for r, _i, _g in report.accepted] == [4, 5, 6]  # what would have gone in


def test_the_clean_export_lands_in_the_right_grids_with_its_channel_and_private_contact(
        server: RunningServer, county: Org, tmp_path: Path) -> None:
    org = county
    worker_a = enroll_device(server, "张网格")
    home, home_ch = new_record("household", org.grid_a, {"village": org.village_a, "address": "东村1组3号",
                                                         "head": "王大伯", "phone": "13812345678"},
                               worker_a.clock, worker_a.user_id)
    assert worker_a.sync([home_ch]).json()["acks"][0]["status"] == "applied"
    path = _xlsx(tmp_path / "12345.xlsx", GOOD)
    checked = server.run(import_issues, path, county=admin.DEFAULT_COUNTY, by="hotline-1", check_only=True)
    assert not checked.imported and not checked.refused and _issues(server) == []
    report = server.run(import_issues, path, county=admin.DEFAULT_COUNTY, by="hotline-1")
    assert report.imported and not report.refused and len(report.accepted) == 3
    recs = _issues(server)
    by_title = {r["fields"]["title"]: r for r in recs if r["kind"] == "issue"}
    noise = by_title["夜间施工噪音"]
    assert noise["grid"] == org.grid_a and noise["fields"]["household"] == home["id"]  # the caller's household
    f = noise["fields"]
    assert (f["source"], f["external_no"], f["contact_name"], f["contact_phone"], f["urgency"]) == (
        "hotline", "QT20261130001", "王先生", "13812345678", "urgent")
    assert f["reporter_visibility"] == "hidden" and f["village"] == org.village_a
    assert by_title["路灯不亮"]["grid"] == org.users["grid_c"]  # 绿水镇/南村: the village's grid
    assert by_title["路灯不亮"]["fields"]["reporter_visibility"] == "anonymous"
    assert by_title["垃圾未清运"]["grid"] == org.grid_b
    reports = {e["fields"]["issue"]: e["fields"] for e in recs if e["kind"] == "issue_event"}
    assert reports[noise["id"]]["at"] == "2026-11-30T09:15:00+08:00"
    assert reports[noise["id"]]["type"] == "report" and reports[noise["id"]]["role"] == "county_staff"
    assert "12345热线" in reports[noise["id"]]["data"]["note"]
    # the grid worker of 东村 pulls the problem with the caller's contact, for the 回头看
    pulled = {r["id"]: r for r in worker_a.pull_all()}
    assert pulled[noise["id"]]["fields"]["contact_phone"] == "13812345678"
    assert by_title["垃圾未清运"]["id"] not in pulled
    # the same file again: every row is a duplicate, nothing more goes in
    again = server.run(import_issues, path, county=admin.DEFAULT_COUNTY, by="hotline-1")
    assert not again.imported and len(again.refused) == 3 and len(_issues(server)) == len(recs)


def test_a_gbk_csv_with_a_mapped_column_for_one_township(server: RunningServer, county: Org, tmp_path: Path) -> None:
    path = tmp_path / "xinfang.csv"
    path.write_bytes("件号,诉求摘要,村,信访人,联系电话\nXF-1,占道经营,东村,陈女士,0571-88886666\n".encode("gb18030"))
    with pytest.raises(ServerError) as exc:  # 诉求摘要 is no title header we know
        server.run(import_issues, path, source="petition", township="青山镇")
    assert exc.value.code == "bad_header" and "标题" in exc.value.message()
    report = server.run(import_issues, path, source="信访", township="青山镇", mapping={"title": "诉求摘要"})
    assert report.imported and [r for r, _i, _g in report.accepted] == [2]
    [rec] = [r for r in _issues(server) if r["kind"] == "issue"]
    assert (rec["fields"]["source"], rec["fields"]["reporter"]) == ("petition", "server")


def test_the_importing_users_scope_holds(server: RunningServer, county: Org, tmp_path: Path) -> None:
    row = ["QT1", "2026-11-30 09:00", "绿水镇", "南村", "水管爆裂", "", "", "", "", ""]
    path = _xlsx(tmp_path / "12345.xlsx", [row, ["QT2", *row[1:4], "又一件", *row[5:]]])
    with pytest.raises(ServerError) as exc:  # township staff of 青山镇 importing into 绿水镇
        server.run(import_issues, path, township="绿水镇", by="赵干部")
    assert exc.value.code == "refused_row" and "第4行" in exc.value.message() and "没有导入" in exc.value.message()
    assert _issues(server) == []  # the transaction rolled back: not even the first problem


def test_the_import_command_reports_rows_and_exits_non_zero(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'server.sqlite3'}"

    def gw(*args: str):  # type: ignore[no-untyped-def]
        return CliRunner().invoke(admin_app, ["--db", url, *args], catch_exceptions=False)

    gw("create-township", "青山镇")
    gw("create-village", "东村", "--township", "青山镇")
    gw("create-grid", "东村一网格", "--township", "青山镇", "--village", "东村")
    path = _xlsx(tmp_path / "12345.xlsx", [GOOD[0], BAD[1]])
    bad = gw("import-issues", str(path), "--township", "青山镇")
    assert bad.exit_code == 2 and "5" in bad.stdout and "没有导入" in bad.stdout
    ok = gw("import-issues", str(_xlsx(tmp_path / "ok.xlsx", [GOOD[0]])), "--township", "青山镇")
    assert ok.exit_code == 0 and "已导入 1 个问题" in ok.stdout
    wrong = gw("import-issues", str(path), "--township", "青山镇", "--map", "nonsense")
    assert wrong.exit_code == 1 and "字段=列名" in wrong.output
    unknown = gw("import-issues", str(path), "--township", "青山镇", "--source", "微博")
    assert unknown.exit_code == 1 and "hotline" in unknown.output


def test_routing_and_cells_are_pure() -> None:
    grids = [("g2", "v1", "二网格"), ("g1", "v1", "一网格"), ("g3", "v2", "三网格")]
    assert intake.pick_grid("v1", None, grids) == "g1"  # the first by name
    assert intake.pick_grid("v1", "g9", grids) == "g9"  # the household's grid wins
    assert intake.pick_grid("v4", None, grids) is None
    assert intake.clean_phone("13812345678.0") == "13812345678"
    assert intake.clean_phone("139 0000-1111") == "13900001111"
    assert intake.report_time("2026年11月30日 09:15") == "2026-11-30T09:15:00+08:00"
    assert intake.report_time("下午") is None
    cols = intake.header_columns(["工单 编号", "标 题", "诉求摘要"], {"description": "诉求摘要"})
    assert cols == {"external_no": 0, "title": 1, "description": 2}
