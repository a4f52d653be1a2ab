"""整改台账 and the metrics export: XLSX opened with openpyxl and checked cell by cell, CSV round trip."""

import csv
import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from sync.reports.dates import ReportInputError, parse_period
from sync.reports.ledger import build_ledger, export_ledger, write_ledger_csv, write_xlsx
from sync.reports.metrics import FIGURES, compute_metrics, export_metrics
from sync.reports.model import Dataset
from tests.support.reports_factory import march_town

FIXED = ["序号", "问题", "所在村", "来源", "责任单位", "责任人", "整改措施", "时限"]


@pytest.fixture(scope="module")
def ds():
    town, ids = march_town()
    return Dataset.from_records(town.records)


@pytest.fixture(scope="module")
def ids():
    return march_town()[1]


def test_rows_columns_and_monthly_progress(ds):
    led = build_ledger(ds, parse_period("2026-03"))
    assert led.headers() == FIXED + ["3月进展", "状态", "销号日期"]
    assert led.title() == "青山镇整改台账（2026年3月）"
    titles = [r.title for r in led.rows]
    # oldest report first; numbered from 1
    assert titles[0] == "张三丰家门口路灯坏了（道路交通/路灯）"
    assert [r.number for r in led.rows] == list(range(1, 7))
    a = led.rows[0]
    assert (a.village, a.source, a.unit, a.assignee) == ("东风村", "网格员走访", "镇村建办", "王干事")
    assert a.measures == "已更换路灯两盏"  # the resolution, once there is one
    assert a.deadline == date(2026, 3, 10)
    assert a.status == "已销号" and a.closed_on == date(2026, 3, 13)
    notes = a.progress[(2026, 3)].split("\n")
    assert notes[0] == "3月3日 派单：三天内更换灯具"
    assert "3月5日 进展：已采购灯具" in notes
    assert "3月12日 回头看：已解决" in notes
    by_title = {r.title.split("（")[0]: r for r in led.rows}
    b = by_title["村西水渠堵塞"]
    assert b.status == "已回访（督办）"
    assert "3月26日 回头看：未解决，上游还堵着" in b.progress[(2026, 3)]
    assert b.source == "问题墙"
    wish = by_title["想要一台轮椅"]
    assert wish.source == "微心愿" and wish.status == "已认领"
    assert wish.unit == "镇卫生院"  # who claimed the wish
    f = by_title["桥面破损"]
    assert f.status == "已派单（已超期）"  # as of 31 March; the April extension is not yet known
    assert f.deadline == date(2026, 3, 6)


def test_quarter_has_one_progress_column_per_month(ds):
    led = build_ledger(ds, parse_period("2026-Q2"), as_of=date(2026, 4, 30))
    assert led.headers()[8:11] == ["4月进展", "5月进展", "6月进展"]
    f = next(r for r in led.rows if r.title.startswith("桥面破损"))
    assert f.progress[(2026, 4)] == "4月2日 延期：时限延至2026-04-20，等材料"
    assert f.progress[(2026, 5)] == ""
    assert f.deadline == date(2026, 4, 20)
    # closed in March: not on the second quarter's ledger
    assert not any(r.title.startswith("张三丰") for r in led.rows)
    village = build_ledger(ds, parse_period("2026-03"), village="v2")
    assert [r.title for r in village.rows] == ["桥面破损（道路交通）"]


def test_xlsx_cell_by_cell(ds, tmp_path):
    led = build_ledger(ds, parse_period("2026-03"))
    out = tmp_path / "ledger.xlsx"
    export_ledger(led, out)
    wb = load_workbook(out)
    ws = wb.active
    assert ws.title == "整改台账"
    assert ws["A1"].value == "青山镇整改台账（2026年3月）"
    assert ws["A1"].font.bold
    assert "A1:K1" in [str(r) for r in ws.merged_cells.ranges]
    headers = [c.value for c in ws[2]]
    assert headers == FIXED + ["3月进展", "状态", "销号日期"]
    assert all(c.font.bold for c in ws[2])
    assert ws.freeze_panes == "C3"
    assert ws.print_options.gridLines  # lines between cells on paper
    assert ws.print_title_rows == "$1:$2"  # title and header repeat on every printed page
    widths = {k: ws.column_dimensions[k].width for k in "ABCDEFGHIJK"}
    assert widths["A"] == 6 and widths["B"] >= 30 and widths["I"] >= 30 and widths["H"] >= 10
    row = [c.value for c in ws[3]]
    assert row[0] == 1
    assert row[1] == "张三丰家门口路灯坏了（道路交通/路灯）"
    assert row[3] == "网格员走访"
    assert isinstance(row[7], datetime) and row[7].date() == date(2026, 3, 10)
    assert ws.cell(row=3, column=8).number_format == "yyyy-mm-dd"
    assert ws.cell(row=3, column=9).value.startswith("3月3日 派单：三天内更换灯具\n")
    assert ws.cell(row=3, column=9).alignment.wrap_text
    assert row[9] == "已销号"
    assert isinstance(row[10], datetime) and row[10].date() == date(2026, 3, 13)
    assert ws.max_row == 2 + len(led.rows)
    # an open issue has an empty 销号日期
    assert ws.cell(row=ws.max_row, column=11).value is None
    assert ws.auto_filter.ref == f"A2:K{ws.max_row}"
    assert ws.page_setup.orientation == "landscape" and ws.sheet_properties.pageSetUpPr.fitToPage
    # the read-only reader (and other tools) size the sheet from its dimension
    assert load_workbook(out, read_only=True).active.max_row == ws.max_row


def test_xlsx_keeps_text_as_text(tmp_path):
    """Titles are people's words: markup, a leading "=", control characters and newlines
    come back as text (never a formula, never a broken file)."""
    from sync.reports.xlsx import Table, write_table

    out = tmp_path / "t.xlsx"
    rows = [["=SUM(A1:A2)", "<b>&amp;</b> \"引号\" 'x'", "a\x00b\x07c\nd", 7, 2.5, date(2026, 3, 1)]]
    write_table(Table("表", "标题<&>", ["a", "b", "c", "d", "e", "f"], [10] * 6, frozenset({6})), rows, out)
    ws = load_workbook(out).active
    assert [c.value for c in ws[3]][:5] == ["=SUM(A1:A2)", "<b>&amp;</b> \"引号\" 'x'", "abc\nd", 7, 2.5]
    assert ws["A1"].value == "标题<&>" and ws.cell(row=3, column=6).value == datetime(2026, 3, 1)
    assert ws.cell(row=3, column=1).data_type == "s"


def test_csv_round_trip_with_bom(ds):
    led = build_ledger(ds, parse_period("2026-03"))
    buf = io.BytesIO()
    write_ledger_csv(led, buf)
    raw = buf.getvalue()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel needs the BOM to read UTF-8 Chinese
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == FIXED + ["3月进展", "状态", "销号日期"]
    assert len(rows) == 1 + len(led.rows)
    assert rows[1][0] == "1" and rows[1][7] == "2026-03-10" and rows[1][10] == "2026-03-13"
    assert rows[1][8] == led.rows[0].progress[(2026, 3)]  # multi-line cell survives
    assert rows[-1][10] == ""


def test_metrics_xlsx_and_csv(ds, tmp_path):
    rep = compute_metrics(ds, parse_period("2026-03"), "village")
    xlsx = tmp_path / "m.xlsx"
    export_metrics(rep, xlsx, township="青山镇")
    wb = load_workbook(xlsx)
    ws = wb.worksheets[0]
    assert ws["A1"].value == "青山镇问题办理指标（2026年3月）"
    assert ws.freeze_panes == "B3"
    assert [c.value for c in ws[2]][:5] == ["村", "响应率", "响应率 N", "按期办结率", "按期办结率 N"]
    assert ws["A3"].value == "东风村" and ws["A5"].value == "合计（青山镇）"
    assert ws["B3"].value == pytest.approx(1 / 3) and ws["B3"].number_format == "0.0%"
    assert ws["C3"].value == 3
    # 红旗村 has no re-checks: 解决率 shows a dash with N = 0
    assert ws["F4"].value == "—" and ws["G4"].value == 0
    defs = wb.worksheets[1]
    assert defs.title == "指标定义"
    assert [r[0].value for r in defs.iter_rows(min_row=2, max_row=1 + len(FIGURES))][0] == "响应率"
    out = tmp_path / "m.csv"
    export_metrics(rep, out)
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert rows[0] == ["分组", "指标", "数值", "分子", "N（分母）", "定义"]
    assert rows[1][:5] == ["东风村", "响应率", "33.3%", "1", "3"]
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")


def test_unknown_extension_is_a_clear_error(ds, tmp_path):
    led = build_ledger(ds, parse_period("2026-03"))
    with pytest.raises(ReportInputError, match=r"ledger\.pdf"):
        export_ledger(led, tmp_path / "ledger.pdf")


def test_empty_ledger_still_writes_headers(tmp_path):
    led = build_ledger(Dataset.from_records([]), parse_period("2026-03"))
    buf = io.BytesIO()
    write_xlsx(led, buf)
    ws = load_workbook(io.BytesIO(buf.getvalue())).active
    assert [c.value for c in ws[2]][:2] == ["序号", "问题"] and ws.max_row == 2


def test_the_as_of_cut_reads_dates_like_a_full_parse():
    """issue_facts keeps the events that happened by the end of ``as_of``: its shortcut for
    times written in China time gives what parsing every time gives, whatever the offset."""
    import random
    from datetime import timedelta, timezone

    from sync.reports.dates import to_datetime
    from sync.reports.model import _happened_by, end_of_day

    rnd = random.Random(3)
    events = []
    for k in range(3000):
        moment = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(seconds=rnd.randrange(86400 * 60))
        tz = rnd.choice([timezone(timedelta(hours=8)), UTC, timezone(timedelta(hours=-5))])
        at = rnd.choice([moment.astimezone(tz).isoformat(timespec="seconds"), int(moment.timestamp() * 1000), None])
        events.append({"id": str(k), "fields": {"at": at}})
    for until in (end_of_day(date(2026, 3, 10)), end_of_day(date(2026, 4, 1)), end_of_day(date(2026, 4, 1)) - timedelta(hours=3)):
        assert _happened_by(events, until) == [e for e in events if (to_datetime(e["fields"]["at"]) or until) <= until]
