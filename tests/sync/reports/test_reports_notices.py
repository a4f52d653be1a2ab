"""督办卡 and 整改通知单: the fields offices fill in, from the timeline; A4 PDF with the font embedded."""

import subprocess
from datetime import date

import pytest

from sync.public_code import public_code
from sync.reports.dates import ReportInputError
from sync.reports.model import Dataset
from sync.reports.notice_pdf import write_notice_pdf
from sync.reports.notices import build_notice
from tests.support.reports_factory import cst, march_town


@pytest.fixture(scope="module")
def town():
    return march_town()


@pytest.fixture(scope="module")
def ds(town):
    return Dataset.from_records(town[0].records)


def test_duban_card_fields_from_the_timeline(ds, town):
    b = town[1]["b"]
    n = build_notice(ds, b["id"], "duban", today=date(2026, 3, 23))
    assert n.title == "督办卡" and n.issuer == "青山镇"
    assert n.number == f"青山镇督〔2026〕{public_code(b['id'])}号"
    assert n.unit == "镇水务站" and n.person == "王干事"  # the unit; who dispatched it
    assert n.requirement.startswith("超期督办\n请责任单位高度重视")  # the 督办 note, then the standard sentence
    assert n.deadline == date(2026, 3, 20)
    # 20 March was a Friday: overdue on Monday 23 March by one working day
    assert n.deadline_text == "2026年3月20日前办结（已超期1个工作日）"
    assert n.level == "乡镇2级督办"
    assert n.signer == "王干事" and n.signed_on == date(2026, 3, 21)
    labels = [label for label, _ in n.rows()]
    assert labels == ["编号", "问题", "责任单位", "责任人", "整改要求", "时限", "督办层级", "签发"]
    problem = dict(n.rows())["问题"]
    assert problem.startswith("村西水渠堵塞\n地点：东风村 / 东风二网格；分类：环境卫生；反映时间：2026年3月5日")


def test_zhenggai_notice_and_refusals(ds, town):
    a, c, e = town[1]["a"], town[1]["c"], town[1]["e"]
    n = build_notice(ds, a["id"], "zhenggai", today=date(2026, 3, 4), requirement="")
    assert n.title == "整改通知单" and n.unit == "镇村建办"
    assert n.requirement.startswith("三天内更换灯具\n请按要求限期整改")
    # 4 March (Wed) to 10 March (Tue): 4 working days left
    assert n.deadline_text == "2026年3月10日前办结（还有4个工作日）"
    assert n.level == "未督办" and n.number.startswith("青山镇改〔2026〕")
    own = build_notice(ds, a["id"], "zhenggai", requirement="请于3月10日前更换")
    assert own.requirement == "请于3月10日前更换"
    for iid, kind, words in ((a["id"], "duban", "还没有督办"), (c["id"], "zhenggai", "还没有派单"),
                             (e["id"], "zhenggai", "微心愿"), ("nope", "duban", "找不到问题"),
                             (a["id"], "letter", "不认识文书类型")):
        with pytest.raises(ReportInputError, match=words):
            build_notice(ds, iid, kind)


def _pdftotext(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_pdf_has_every_field_and_embeds_its_font(ds, town, tmp_path):
    b = town[1]["b"]
    out = tmp_path / "督办卡.pdf"
    n = build_notice(ds, b["id"], "duban", today=date(2026, 3, 23))
    assert write_notice_pdf(n, out) == 1
    text = _pdftotext(out)
    flat = "".join(text.split())
    for label in ("编号", "问题", "责任单位", "责任人", "整改要求", "时限", "督办层级", "签发"):
        assert label in flat
    for value in (n.number, "村西水渠堵塞", "镇水务站", "王干事", "超期督办", "2026年3月20日前办结", "乡镇2级督办",
                  public_code(b["id"])):
        assert "".join(value.split()) in flat, value
    assert text.lstrip().startswith("督办卡")
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    assert "A4" in info or "595.276 x 841.89" in info
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
    assert rows and all(r[-5] == "yes" for r in rows), fonts  # every font embedded
    assert all("Helvetica" not in line for line in fonts.splitlines())


def test_county_supervision_card_and_private_contact(tmp_path):
    town, p = march_town()
    town.records.append({"id": "cty", "kind": "county", "grid": "", "fields": {"name": "榆中县"}, "stamps": {}})
    f = p["f"]  # 桥面破损, with u-build, due 3/6
    f["fields"]["contact_name"] = "周来电"
    f["fields"]["contact_phone"] = "13911112222"
    town.event(f, "county_supervise", cst(2026, 3, 9), role="county_staff", actor="s1", level=2,
               deadline="2026-03-16", card_no="榆督〔2026〕7号", note="县委交办，限期整改")
    ds = Dataset.from_records(town.records)
    n = build_notice(ds, f["id"], "duban", today=date(2026, 3, 12))
    assert n.number == "榆督〔2026〕7号" and n.issuer == "榆中县"
    assert n.level == "县级2级督办" and n.deadline == date(2026, 3, 16)
    assert n.requirement.startswith("县委交办，限期整改")
    out = tmp_path / "card.pdf"
    write_notice_pdf(n, out)
    flat = "".join(_pdftotext(out).split())
    assert "榆督〔2026〕7号" in flat and "周来电" not in flat and "13911112222" not in flat
