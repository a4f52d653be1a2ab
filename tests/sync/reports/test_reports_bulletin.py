"""The monthly bulletin (工作简报) against a hand-computed county: two townships, three units,
March 2026 with February (环比) and March 2025 (同比). Accept limit 2 working days; 2 March
2026 is a Monday; no public holiday falls in these March weeks.

青山镇 (东风村, grid g1)
  P1 rep 3/2, acc 3/3 (limit 3/4: in time), u-water due 3/10, resolved 3/9 (on time), recheck 3/12 satisfied
  P2 rep 3/5 (Thu), acc 3/10 (limit 3/9: late), u-build due 3/20, resolved 3/25 (late), recheck 3/26 not satisfied
  P3 rep 3/30, not accepted (limit 4/1 is after 3/31: not in N)
  P4 rep 3/16, acc 3/17, u-water due 3/27, open on 3/31 (overdue, 2 working days: 3/30, 3/31), 督办 level 1
  R1 rep 2026-02-02, acc 2/3, u-water due 2/10, resolved 2/13 (late), recheck 2/16 satisfied      [February]
白云乡 (白云村, grid g4)
  Q1 rep 3/3, acc 3/3, u-county due 3/13, resolved 3/12, recheck 3/16 satisfied
  Q2 rep 3/9, acc 3/11 (limit 3/11: in time), u-build due 3/18, resolved 3/18, recheck 3/20 satisfied
  S1 rep 2025-03-03, acc 3/6 (limit 3/5: late), u-county due 3/14, resolved 3/14, recheck 3/17 not satisfied [March 2025]

March 2026          响应率      按期办结率    满意率     score
  青山镇            2/3         1/3          1/2        (66.67+33.33+50)/3 = 50.0   rank 2
  白云乡            2/2         2/2          2/2        100.0                       rank 1
  total             4/5         3/5          3/4
  u-county (Q1)     1/1         1/1          1/1        100.0  rank 1
  u-water (P1, P4)  2/2         1/2          1/1        83.3   rank 2
  u-build (P2, Q2)  1/2         1/2          1/2        50.0   rank 3
环比 青山镇 (Feb: 1/1, 0/1, 1/1): -33.3, +33.3, -50.0; 白云乡 (Feb: nothing): —
同比 白云乡 (Mar 2025: 0/1, 1/1, 0/1): +100.0, 0.0, +100.0; 青山镇: —
热点诉求 (problems reported in March: 6): 环境卫生 4 (P2 P3 P4 Q2), 道路交通 2 (P1 路灯, Q1); 环比 道路交通 1 (R1)
"""

from datetime import date

import pytest

from sync.public_code import public_code
from sync.reports.bulletin import compute_bulletin, previous_period, year_before
from sync.reports.dates import parse_period
from sync.reports.model import Dataset
from tests.support.reports_factory import Town, cst


def _ref(kind, rid, **fields):
    return {"id": rid, "kind": kind, "grid": "", "fields": fields, "stamps": {}}


def county_town() -> tuple[Town, dict]:
    town = Town()
    town.records += [_ref("village", "v3", name="白云村", township="白云乡"),
                     _ref("grid", "g4", name="白云一网格", village="v3"),
                     _ref("unit", "u-county", name="县交通运输局")]

    def problem(grid, title, rep, acc, unit, due, resolved=None, satisfied=None, recheck=None, cat="c-env"):
        iss = town.issue(grid, title, rep, category=cat)
        if acc:
            town.event(iss, "accept", acc)
            town.event(iss, "assign", acc.replace(hour=15), unit=unit, deadline=due)
        if resolved:
            town.event(iss, "resolve", resolved, reply="已办结")
            town.recheck(iss, recheck, True, satisfied)
        return iss

    p = {
        "P1": problem("g1", "路灯不亮", cst(2026, 3, 2), cst(2026, 3, 3), "u-water", "2026-03-10",
                      cst(2026, 3, 9), True, cst(2026, 3, 12), cat="c-light"),
        "P2": problem("g1", "垃圾清运不及时", cst(2026, 3, 5), cst(2026, 3, 10), "u-build", "2026-03-20",
                      cst(2026, 3, 25), False, cst(2026, 3, 26)),
        "P3": problem("g1", "河道漂浮物", cst(2026, 3, 30), None, None, None),
        "P4": problem("g1", "污水外溢", cst(2026, 3, 16), cst(2026, 3, 17), "u-water", "2026-03-27"),
        "R1": problem("g1", "道路坑洼", cst(2026, 2, 2), cst(2026, 2, 3), "u-water", "2026-02-10",
                      cst(2026, 2, 13), True, cst(2026, 2, 16), cat="c-road"),
        "Q1": problem("g4", "桥栏杆松动", cst(2026, 3, 3), cst(2026, 3, 3, 11), "u-county", "2026-03-13",
                      cst(2026, 3, 12), True, cst(2026, 3, 16), cat="c-road"),
        "Q2": problem("g4", "公厕无人打扫", cst(2026, 3, 9), cst(2026, 3, 11), "u-build", "2026-03-18",
                      cst(2026, 3, 18), True, cst(2026, 3, 20)),
        "S1": problem("g4", "去年的问题", cst(2025, 3, 3), cst(2025, 3, 6), "u-county", "2025-03-14",
                      cst(2025, 3, 14), False, cst(2025, 3, 17)),
    }
    town.event(p["P4"], "supervise", cst(2026, 3, 30), level=1, note="超期督办")
    return town, p


@pytest.fixture(scope="module")
def bulletin():
    town, p = county_town()
    b = compute_bulletin(Dataset.from_records(town.records), parse_period("2026-03"),
                         townships=["青山镇", "白云乡"], county="榆中县", as_of=date(2026, 3, 31))
    return b, p


def _nd(fig):
    return (fig.numerator, fig.denominator)


def test_periods_compared():
    p = parse_period("2026-03")
    assert (previous_period(p).start, previous_period(p).end) == (date(2026, 2, 1), date(2026, 2, 28))
    assert (year_before(p).start, year_before(p).end) == (date(2025, 3, 1), date(2025, 3, 31))
    q = previous_period(parse_period("2026-Q1"))
    assert (q.start, q.end) == (date(2025, 10, 1), date(2025, 12, 31))
    half = parse_period("2026-03-01..2026-03-15")  # not a whole month: the same days before / a year before
    assert (previous_period(half).start, previous_period(half).end) == (date(2026, 2, 14), date(2026, 2, 28))
    assert (year_before(half).start, year_before(half).end) == (date(2025, 3, 1), date(2025, 3, 15))
    leap = year_before(parse_period("2028-02-29..2028-03-01"))
    assert (leap.start, leap.end) == (date(2027, 2, 28), date(2027, 3, 1))


def test_township_rates_with_their_n_and_ranking(bulletin):
    b, _ = bulletin
    assert [r.label for r in b.townships] == ["白云乡", "青山镇"]
    by = {r.label: r for r in b.townships}
    q = by["青山镇"].figures
    assert (_nd(q["response_rate"]), _nd(q["on_time_rate"]), _nd(q["satisfied_rate"])) == ((2, 3), (1, 3), (1, 2))
    assert by["青山镇"].score_text() == "50.0" and by["青山镇"].rank == 2
    w = by["白云乡"].figures
    assert [_nd(w[k]) for k in ("response_rate", "on_time_rate", "satisfied_rate")] == [(2, 2), (2, 2), (2, 2)]
    assert by["白云乡"].rank == 1 and by["白云乡"].score_text() == "100.0"
    t = b.total.figures
    assert [_nd(t[k]) for k in ("response_rate", "on_time_rate", "satisfied_rate")] == [(4, 5), (3, 5), (3, 4)]
    assert b.reported == 6 and b.county == "榆中县" and b.number == "2026年第3期"


def test_month_on_month_and_year_on_year(bulletin):
    b, _ = bulletin
    by = {r.label: r for r in b.townships}
    qs = by["青山镇"]
    assert [qs.change_text(k, "previous") for k in ("response_rate", "on_time_rate", "satisfied_rate")] == \
        ["-33.3", "+33.3", "-50.0"]
    assert [qs.change_text(k, "last_year") for k in ("response_rate", "on_time_rate", "satisfied_rate")] == \
        ["—", "—", "—"]
    by_ = by["白云乡"]
    assert [by_.change_text(k, "previous") for k in ("response_rate", "on_time_rate", "satisfied_rate")] == \
        ["—", "—", "—"]
    assert [by_.change_text(k, "last_year") for k in ("response_rate", "on_time_rate", "satisfied_rate")] == \
        ["+100.0", "+0.0", "+100.0"]


def test_unit_ranking(bulletin):
    b, _ = bulletin
    assert [(r.label, r.rank, r.score_text()) for r in b.units] == [
        ("县交通运输局", 1, "100.0"), ("镇水务站", 2, "83.3"), ("镇村建办", 3, "50.0")]
    water = b.units[1].figures
    assert [_nd(water[k]) for k in ("response_rate", "on_time_rate", "satisfied_rate")] == [(2, 2), (1, 2), (1, 1)]


def test_overdue_list_and_hot_categories(bulletin):
    b, p = bulletin
    [row] = b.overdue
    assert (row.code, row.title, row.township, row.village, row.unit) == \
        (public_code(p["P4"]["id"]), "污水外溢", "青山镇", "东风村", "镇水务站")
    assert (row.deadline, row.days_over, row.which, row.level) == (date(2026, 3, 27), 2, "unit", "乡镇1级督办")
    assert [(h.label, h.count, round(h.share, 3), h.previous) for h in b.hot] == [
        ("环境卫生", 4, 0.667, 0), ("道路交通", 2, 0.333, 1)]


def test_one_township_alone_and_one_with_nothing():
    town, _ = county_town()
    ds = Dataset.from_records(town.records)
    b = compute_bulletin(ds, parse_period("2026-03"), townships=["白云乡", "红山乡"], as_of=date(2026, 3, 31))
    assert [(r.label, r.rank) for r in b.townships] == [("白云乡", 1), ("红山乡", None)]
    assert b.townships[1].figures["response_rate"].display() == "—"
    assert b.reported == 2 and b.county == "本县"


def test_xlsx_holds_the_same_figures(bulletin, tmp_path):
    from openpyxl import load_workbook

    from sync.reports.bulletin_export import export_bulletin

    b, _ = bulletin
    out = tmp_path / "简报.xlsx"
    assert export_bulletin(b, out) == 0
    wb = load_workbook(out)
    assert wb.sheetnames == ["乡镇三率排名", "单位三率排名", "超期清单", "热点诉求", "指标定义"]
    ws = wb["乡镇三率排名"]
    head = [c.value for c in ws[2]]
    assert head[:6] == ["排名", "乡镇", "响应率", "响应率 N", "响应率环比（百分点）", "响应率同比（百分点）"]
    rows = {r[1]: r for r in ws.iter_rows(min_row=3, values_only=True)}
    qs = rows["青山镇"]
    assert qs[0] == 2 and round(qs[2], 4) == round(2 / 3, 4) and qs[3] == 3 and qs[4] == -33.3 and qs[5] == "—"
    assert qs[-1] == 50.0 and rows["白云乡"][0] == 1
    assert ws.cell(row=3, column=3).number_format == "0.0%"
    over = list(wb["超期清单"].iter_rows(min_row=3, values_only=True))
    assert len(over) == 1 and over[0][1] == "污水外溢" and over[0][6] == 2
    hot = list(wb["热点诉求"].iter_rows(min_row=3, values_only=True))
    assert hot[0][:2] == ("环境卫生", 4)
    defs = " ".join(str(c) for r in wb["指标定义"].iter_rows(values_only=True) for c in r if c)
    assert "在受理时限（工作日）内受理的比例" in defs and "综合得分" in defs


def test_pdf_by_text_and_fonts(bulletin, tmp_path):
    import subprocess

    from sync.reports.bulletin_export import export_bulletin

    b, _ = bulletin
    out = tmp_path / "简报.pdf"
    pages = export_bulletin(b, out)
    assert pages >= 1
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True).stdout
    flat = "".join(text.split())
    for s in ("榆中县网格化服务管理工作简报", "2026年第3期", "二、乡镇三率排名", "三、承办单位三率排名",
              "66.7%（2/3）", "环比-33.3", "同比+100.0", "县交通运输局", "污水外溢", "四、超期未办结问题清单",
              "五、热点诉求", "环境卫生", "66.7%", "指标说明", "在受理时限（工作日）内受理的比例"):
        assert s in flat, s
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
    assert rows and all(r[-5] == "yes" for r in rows), fonts


def test_bad_file_name(bulletin, tmp_path):
    from sync.reports.bulletin_export import export_bulletin
    from sync.reports.dates import ReportInputError

    with pytest.raises(ReportInputError, match=r"\.xlsx 或 \.pdf"):
        export_bulletin(bulletin[0], tmp_path / "简报.docx")


def test_a_county_supervision_deadline_is_on_the_overdue_list():
    town, p = county_town()
    town.event(p["P3"], "county_supervise", cst(2026, 3, 30, 10), role="county_staff", actor="s1", level=2,
               deadline="2026-03-30", note="县里督办")
    b = compute_bulletin(Dataset.from_records(town.records), parse_period("2026-03"), as_of=date(2026, 3, 31))
    rows = {(r.title, r.which): r for r in b.overdue}
    county = rows[("河道漂浮物", "county")]  # not accepted yet: no unit, the county's deadline runs
    assert (county.deadline, county.days_over, county.level, county.unit) == (date(2026, 3, 30), 1, "县级2级督办", "")
    assert ("污水外溢", "unit") in rows
    # the 三率 do not change with a 督办
    assert {r.label: r.score_text() for r in b.townships} == {"白云乡": "100.0", "青山镇": "50.0"}


def test_leaving_out_issues_that_cannot_count_changes_no_figure():
    """The compared periods fold only the issues that touch them (bulletin.touching): on a
    synthetic township-year, every month's 三率 are the same with and without the cut."""
    from sync import workdays
    from sync.reports.bulletin import RATES, touching
    from sync.reports.metrics import compute_figures
    from sync.reports.model import all_facts
    from tests.support.reports_factory import big_town

    ds = Dataset.from_records(big_town(400, events_per_issue=6, seed=11))
    cal = workdays.official()
    for month in range(1, 13):
        p = parse_period(f"2026-{month:02d}")
        cut = touching(ds, p)
        assert len(cut.issues) < len(ds.issues)
        full = compute_figures(all_facts(ds, p.end), [], set(), p, p.end, 2, cal, with_coverage=False)
        part = compute_figures(all_facts(cut, p.end), [], set(), p, p.end, 2, cal, with_coverage=False)
        for k in RATES:
            assert (full[k].numerator, full[k].denominator) == (part[k].numerator, part[k].denominator), (month, k)
