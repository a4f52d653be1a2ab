"""The wall's lookup by public code and its open counts: public facts only, rate-limited."""

from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from sync.public_code import public_code
from sync.reports.echo_wall import build_echo_wall, open_counts
from sync.reports.lookup import find_by_code
from sync.reports.model import Dataset, all_facts
from sync.server.throttle import Throttle
from sync.server.wall import make_wall_router
from tests.support.reports_factory import march_town

# what must never show on a lookup: the worker's wording, names, phone, address, reporter, ids
PRIVATE = ["张三丰家门口路灯坏了", "晚上看不见路", "张三丰", "13812345678", "东风村3组18号", "李网格员",
           "村西水渠堵塞", "上游还堵着", "镇村建办已更换路灯两盏，张三丰"]  # fmt: skip


@pytest.fixture(scope="module")
def town():
    return march_town()


@pytest.fixture(scope="module")
def ds(town):
    return Dataset.from_records(town[0].records)


def test_open_counts_cover_every_problem_not_only_the_published(ds):
    facts = all_facts(ds)
    c = open_counts(facts, "v1", date(2026, 4, 1))
    # v1: c and d wait to be accepted, b is re-checked (not closed), a is closed; e is a wish
    assert c.groups == {"waiting": 2, "working": 0, "recheck": 0, "closing": 1}
    assert c.open == 3 and c.closed_year == 1
    assert c.text() == "本村在办问题 3 件（待受理 2，办理中 0，已办结待回访 0，已回访待销号 1），今年已销号 1 件。"
    assert open_counts(facts, "v2", date(2026, 4, 1)).groups["working"] == 1  # f, with a unit
    wall = build_echo_wall(ds, "v1", as_of=date(2026, 4, 1))
    assert wall.counts == c and len(wall.items) == 1  # only a is published


def test_find_by_code_gives_status_and_public_reply_only(ds, town):
    facts = all_facts(ds)
    a, b = town[1]["a"], town[1]["b"]
    [hit] = find_by_code(ds, facts, "v1", public_code(a["id"]).lower().replace("-", " "))
    assert hit.status == "已销号" and hit.code == public_code(a["id"])
    assert hit.reply.startswith("镇村建办已更换路灯两盏，＊＊家门口")  # the published wording, masked
    assert hit.verdict == "居民评价：已解决，满意"
    assert hit.category == "道路交通/路灯" and hit.reported_on == date(2026, 3, 2)
    [hb] = find_by_code(ds, facts, "v1", public_code(b["id"]))
    assert hb.reply == ""  # unpublished: no reply shown, although the unit replied 已清淤
    assert find_by_code(ds, facts, "v2", public_code(a["id"])) == []  # another village


def _client(records, throttle=None):
    app = FastAPI()
    app.include_router(make_wall_router(lambda village: records, None, key=b"k", throttle=throttle))
    return TestClient(app)


def test_wall_page_has_the_counts_and_the_form(town):
    r = _client(town[0].records).get("/wall/v1")
    assert "本村在办问题 3 件" in r.text
    assert 'action="/wall/v1/lookup"' in r.text and 'name="code"' in r.text
    assert "<script" not in r.text and "form-action 'self'" in r.headers["content-security-policy"]


def test_lookup_route(town):
    client = _client(town[0].records)
    a = town[1]["a"]
    r = client.get("/wall/v1/lookup", params={"code": public_code(a["id"])})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert "已销号" in r.text and "＊＊家门口恢复照明" in r.text and 'id="back-to-wall"' in r.text
    for s in PRIVATE + [a["id"]]:
        assert s not in r.text, s
    bad = client.get("/wall/v1/lookup", params={"code": "ABC"})
    assert bad.status_code == 404 and "查询码不对" in bad.text
    miss = client.get("/wall/v2/lookup", params={"code": public_code(a["id"])})
    assert miss.status_code == 404 and "本村没有查询码为" in miss.text
    esc = client.get("/wall/v1/lookup", params={"code": '"><script>x</script>'})
    assert "<script>x" not in esc.text and "&lt;script&gt;" in esc.text
    assert client.get("/wall/nope/lookup", params={"code": "x"}).status_code == 404
    assert client.get("/wall/v1/lookup", params={"code": "x" * 41}).status_code == 422


def test_lookups_that_match_nothing_are_throttled_per_address(town):
    client = _client(town[0].records, Throttle(3, 600.0))
    a = town[1]["a"]
    for _ in range(5):  # typos (the check letter catches them) cost nothing
        assert client.get("/wall/v1/lookup", params={"code": "K7QM-3XPA"}).status_code == 404
    assert client.get("/wall/v1/lookup", params={"code": public_code(a["id"])}).status_code == 200
    others = [public_code(f"not-an-issue-{i}") for i in range(3)]
    for code in others:
        assert client.get("/wall/v1/lookup", params={"code": code}).status_code == 404
    r = client.get("/wall/v1/lookup", params={"code": public_code(a["id"])})  # even the right one waits
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0 and "查询次数太多" in r.text
    assert client.get("/wall/v1").status_code == 200  # the wall itself stays open


def test_the_callers_private_contact_never_shows():
    """A hotline problem carries the caller's name and phone (private fields, docs/model.md
    "County"): neither the wall nor the lookup shows them, published or not."""
    town, p = march_town()
    a = p["a"]
    a["fields"].update({"contact_name": "钱来电", "contact_phone": "13955556666", "source": "hotline"})
    client = _client(town.records)
    pages = [client.get("/wall/v1").text,
             client.get("/wall/v1/lookup", params={"code": public_code(a["id"])}).text,
             client.get("/wall/v1/lookup", params={"code": public_code(p["c"]["id"])}).text]
    for page in pages:
        assert "钱来电" not in page and "13955556666" not in page
