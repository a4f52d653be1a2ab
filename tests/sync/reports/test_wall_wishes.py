"""The village's echo-wall page lists the open wishes staff published (in their public wording,
nothing private) as a call to come forward, and the fulfilled ones with their photos."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from sync.reports.echo_wall import build_echo_wall, public_id, render_html
from sync.reports.model import Dataset
from sync.server.wall import make_wall_router
from tests.support.reports_factory import Town, cst


def town_with_wishes() -> tuple[Town, dict]:
    town = Town()
    h = town.household("g1", "王秀兰", "东风村3组12号", phone="13812345678", care_tags=["独居老人"])
    radio = town.issue("g1", "王秀兰想要一台收音机", cst(2026, 3, 2), kind="wish", household=h,
                       description="王秀兰独居，电话13812345678")
    town.event(radio, "publish", cst(2026, 3, 3), public_title="一位老人想要一台收音机",
               public_text="愿意帮忙的请联系网格员。")
    chair = town.issue("g1", "想要一辆轮椅", cst(2026, 3, 4), kind="wish", household=h)
    town.event(chair, "assign", cst(2026, 3, 5), unit="u-build", deadline="2026-03-20")
    town.event(chair, "publish", cst(2026, 3, 5), public_title="需要一辆轮椅", public_text="已派给镇村建办，也欢迎认领。")
    books = town.issue("g1", "孩子想要课外书", cst(2026, 3, 6), kind="wish", household=h)
    town.event(books, "claim", cst(2026, 3, 7), role="grid_worker", actor="w1", by="镇团委")
    town.event(books, "fulfil", cst(2026, 3, 9), role="grid_worker", actor="w1", photos=["ab" * 32], note="已送到")
    town.event(books, "publish", cst(2026, 3, 10), public_title="课外书送到了", public_text="镇团委认领并送到。")
    hidden = town.issue("g1", "想要一副老花镜", cst(2026, 3, 8), kind="wish", household=h)  # not published
    return town, {"radio": radio, "chair": chair, "books": books, "hidden": hidden}


def test_open_wishes_come_first_as_a_call_and_fulfilled_ones_show_their_photos():
    town, _ids = town_with_wishes()
    wall = build_echo_wall(Dataset.from_records(town.records), "v1", key=b"k")
    by_title = {it.title: it for it in wall.items}
    assert set(by_title) == {"一位老人想要一台收音机", "需要一辆轮椅", "课外书送到了"}  # the unpublished one stays off
    assert by_title["一位老人想要一台收音机"].open_wish and by_title["需要一辆轮椅"].open_wish
    assert not by_title["课外书送到了"].open_wish and by_title["课外书送到了"].photos == (public_id(b"k", "ab" * 32),)
    page = render_html(wall, "/wall/v1/photos/{photo}")
    assert page.index("等待认领的微心愿（2个）") < page.index("一位老人想要一台收音机") < page.index("课外书送到了")
    assert "请联系网格员或村委会" in page and "/wall/v1/photos/" in page
    for private in ("王秀兰", "13812345678", "3组12号", "独居", "老花镜"):
        assert private not in page, private


def test_the_server_page_lists_the_open_wish():
    town, _ids = town_with_wishes()
    app = FastAPI()
    app.include_router(make_wall_router(lambda village: town.records, {"ab" * 32: b"\xff\xd8jpeg"}.get, key=b"k"))
    r = TestClient(app).get("/wall/v1")
    assert r.status_code == 200 and "等待认领的微心愿" in r.text and "需要一辆轮椅" in r.text
    assert "王秀兰" not in r.text
