"""Echo wall: only published items, in public wording; nothing private in the HTML or the PDF."""

import subprocess
from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sync.reports.echo_wall import build_echo_wall, public_id, render_html, scrub
from sync.reports.model import Dataset
from sync.reports.pdf import embeddable_font, write_echo_wall_pdf
from sync.server.wall import make_wall_router
from tests.support.reports_factory import Town, cst, march_town

# Everything private about 张三丰's household and the reporter, and the issue's own wording.
PRIVATE = [
    "张三丰", "13812345678", "东风村3组18号", "3组18号", "张小明", "独居老人", "低保户",
    "李网格员", "13900000002", "张三丰家门口路灯坏了", "晚上看不见路",
    "想要一台轮椅", "水渠清淤", "村西水渠堵塞", "广场噪音",
]  # fmt: skip


@pytest.fixture(scope="module")
def town():
    return march_town()


@pytest.fixture(scope="module")
def wall(town):
    ds = Dataset.from_records(town[0].records)
    return build_echo_wall(ds, "v1", as_of=date(2026, 3, 31))


def test_only_published_items_in_public_wording(wall, town):
    ids = town[1]
    # A was published; B was published then unpublished; the rest never were
    # items carry an opaque public id, never the internal issue id
    assert [i.public_id for i in wall.items] == [public_id(None, ids["a"]["id"])]
    assert ids["a"]["id"] not in repr(wall.items)
    it = wall.items[0]
    assert it.title == "3组路灯已修好"
    assert it.category == "道路交通/路灯"
    assert it.status == "已销号"
    assert (it.reported_on, it.resolved_on, it.closed_on) == (date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 13))
    # staff typed the resident's name and phone into the public text: masked
    assert it.reply == "镇村建办已更换路灯两盏，＊＊家门口恢复照明，电话＊＊"
    assert (it.solved, it.satisfied) == ("已解决", "满意")
    assert it.photos == (public_id(None, "ab" * 32),) and wall.photo_sha == {it.photos[0]: "ab" * 32}
    assert wall.heading() == "东风村回音壁"
    assert wall.summary() == "公开事项 1 件，已办结 1 件，居民满意 1 件"


def test_html_has_nothing_private_and_is_escaped(wall):
    page = render_html(wall, photo_url="/wall/v1/photos/{photo}")
    for s in PRIVATE:
        assert s not in page, s
    assert "3组路灯已修好" in page and "居民评价：已解决，满意" in page
    assert "<script" not in page.lower()
    assert "@media print" in page and 'name="viewport"' in page
    assert f'href="/wall/v1/photos/{wall.items[0].photos[0]}"' in page and "ab" * 32 not in page


def test_html_escapes_staff_text():
    town = Town()
    iss = town.issue("g1", "x", cst(2026, 3, 2))
    town.event(iss, "publish", cst(2026, 3, 3), public_title="<script>alert(1)</script>", public_text='"&<b>')
    page = render_html(build_echo_wall(Dataset.from_records(town.records), "v1"))
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&quot;&amp;&lt;b&gt;" in page


def test_scrub_masks_phones_and_id_numbers():
    assert scrub("联系 138-1234-5678 或 0571-88886666", []) == "联系 ＊＊ 或 ＊＊"
    assert scrub("身份证 33010219800101123X", []) == "身份证 ＊＊"
    assert scrub("共修路 120 米，2026 年完成", []) == "共修路 120 米，2026 年完成"


def _pdftotext(path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def _pages(path) -> int:
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def test_pdf_text_fonts_and_privacy(wall, tmp_path):
    out = tmp_path / "wall.pdf"
    pages = write_echo_wall_pdf(wall, out)
    assert pages == 1 == _pages(out)
    text = _pdftotext(out)
    assert "东风村回音壁" in text and "3组路灯已修好" in text and "居民评价：已解决，满意" in text
    for s in PRIVATE:
        assert s not in text.replace(" ", ""), s
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows, fonts
    for row in rows:  # every font in the file is embedded (emb column "yes")
        cols = row.split()
        assert cols[-5] == "yes", fonts


def test_pdf_many_items_spans_pages(tmp_path):
    town = Town()
    for k in range(40):
        iss = town.issue("g1", f"私有标题{k}", cst(2026, 3, 2, 8 + k % 10, k))
        town.event(iss, "publish", cst(2026, 3, 20), public_title=f"公开事项第{k}号：修缮村道",
                   public_text="镇村建办已于本月完成修缮，欢迎村民监督。" * 3)  # fmt: skip
    wall = build_echo_wall(Dataset.from_records(town.records), "v1", as_of=date(2026, 3, 31))
    out = tmp_path / "many.pdf"
    pages = write_echo_wall_pdf(wall, out)
    assert pages == _pages(out) and pages >= 3
    text = _pdftotext(out)
    flat = "".join(text.split())
    for k in range(40):
        assert f"公开事项第{k}号：修缮村道" in flat
    # every character of the body is really in the embedded font (no boxes, nothing dropped)
    assert flat.count("镇村建办已于本月完成修缮，欢迎村民监督。") >= 40
    assert "私有标题" not in text
    assert f"第{pages}页" in flat


def test_empty_wall_pdf(tmp_path):
    wall = build_echo_wall(Dataset.from_records(Town().records), "v2", as_of=date(2026, 3, 31))
    out = tmp_path / "empty.pdf"
    assert write_echo_wall_pdf(wall, out) == 1
    assert "暂无公开事项" in _pdftotext(out)


def test_font_is_truetype_subset():
    name, path = embeddable_font("回音壁 测试，第 1 页")
    from fontTools.ttLib import TTFont

    f = TTFont(str(path))
    assert "glyf" in f and "CFF " not in f
    cmap = f.getBestCmap()
    assert all(ord(c) in cmap for c in "回音壁 测试，第 1 页")  # the space too (else a box)
    assert len(f.getGlyphOrder()) < 300  # a subset, not the 65k-glyph font


def test_wall_route(town):
    records = town[0].records
    photos = {"ab" * 32: b"\xff\xd8jpeg-bytes"}
    app = FastAPI()
    app.include_router(make_wall_router(lambda village: records, photos.get, key=b"server key"))
    client = TestClient(app)
    r = client.get("/wall/v1")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "3组路灯已修好" in r.text
    for s in PRIVATE:
        assert s not in r.text
    assert "script-src" not in r.headers["content-security-policy"]
    photo = public_id(b"server key", "ab" * 32)
    assert f"/wall/v1/photos/{photo}" in r.text and "ab" * 32 not in r.text
    assert client.get(f"/wall/v1/photos/{photo}").content == b"\xff\xd8jpeg-bytes"
    # the internal hash, a photo not on this wall, another village, a bad id: not found
    assert client.get(f"/wall/v1/photos/{'ab' * 32}").status_code == 404
    assert client.get(f"/wall/v1/photos/{public_id(b'server key', 'cd' * 32)}").status_code == 404
    assert client.get(f"/wall/v2/photos/{photo}").status_code == 404
    nf = client.get("/wall/nope")
    assert nf.status_code == 404 and "没有找到这个回音壁" in nf.text
    assert client.get("/wall/%3Cscript%3E").status_code == 404


def test_a_character_no_font_has_still_gives_a_pdf(tmp_path):
    from fontTools.ttLib import TTFont

    _, path = embeddable_font("东风村\U00030000")  # U+30000 (Extension G): in no installed font
    cmap = TTFont(str(path)).getBestCmap()
    assert all(ord(c) in cmap for c in "东风村")


def test_page_and_pdf_show_the_same_items(tmp_path):
    import re

    town = Town()
    for k, (solved, satisfied) in enumerate([(True, True), (True, False), (False, False)]):
        iss = town.issue("g1", f"私有{k}", cst(2026, 3, 2 + k))
        town.event(iss, "assign", cst(2026, 3, 3 + k), unit="u-build", deadline="2026-03-20")
        town.event(iss, "resolve", cst(2026, 3, 10 + k), reply="内部答复")
        town.recheck(iss, cst(2026, 3, 15 + k), solved, satisfied)
        town.event(iss, "publish", cst(2026, 3, 16 + k), public_title=f"事项{k}", public_text=f"公开答复{k}")
    wall = build_echo_wall(Dataset.from_records(town.records), "v1", as_of=date(2026, 3, 31))
    page = render_html(wall)
    out = tmp_path / "w.pdf"
    write_echo_wall_pdf(wall, out)
    flat = "".join(_pdftotext(out).split())
    titles = re.findall(r"<h2>(.*?)</h2>", page)
    verdicts = re.findall(r'<p class="verdict">(.*?)</p>', page)
    assert titles == ["事项2", "事项1", "事项0"]  # newest first
    assert verdicts == ["居民评价：未解决，不满意", "居民评价：已解决，不满意", "居民评价：已解决，满意"]
    positions = [flat.index(x) for x in titles]
    assert positions == sorted(positions)  # same order in the PDF
    for v in verdicts:
        assert v in flat
    assert "内部答复" not in page and "内部答复" not in flat
    assert flat.count("已回访") == 2 and "已派单" in flat  # the "not solved" one went back to the unit


def test_wording_published_before_the_guard_is_masked_or_withheld():
    """Data published before the server's guard (or by hand): the page masks what it can
    and withholds what it cannot; a category naming a care tag shows only its parent."""
    town = Town()
    town.records.append({"id": "c-allow", "kind": "category", "grid": None,
                         "fields": {"name": "低保救助", "parent": "c-env"}, "stamps": {}})
    town.household("g2", "王秀英", "东风村5组8号", members=["欧阳明月"])  # another grid, same village
    iss = town.issue("g1", "x", cst(2026, 3, 2), category="c-allow")
    town.event(iss, "publish", cst(2026, 3, 3), public_title="独居老人家门口的路灯",
               public_text="欧 阳 明 月反映的问题已解决，电话一三八一二三四五六七八")
    page = render_html(build_echo_wall(Dataset.from_records(town.records), "v1"))
    for leak in ("独居", "欧", "一三八", "低保", "王秀英"):
        assert leak not in page, leak
    assert "公开说明正在更新" in page and "环境卫生" in page
