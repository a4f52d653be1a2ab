"""County staff on the staff screens (issue 14), in the harness: register a 12345 hotline
problem (routed to the grid of its village or household, the caller's contact private),
issue a county 督办卡 with its own deadline, 转办, the board's channel and county filters and
badges, figures by township ranked."""

from __future__ import annotations

import asyncio
from typing import Any

from harness import Harness
from staff_seed import CLOCK, event, issue, ref

from app.device import Device
from app.services import Services
from app.ui.app import make_main
from sync import workflow as wf
from sync.changes import new_record


def make_county_staff(services: Services) -> None:
    services.store.meta_set("profile", {**services.profile, "role": "county_staff"})


def county(services: Services) -> dict[str, str]:
    """青山县: 青山镇 (东村: two grids) and 绿水镇 (东村 as well, one grid; 南村 without a grid)."""
    ids = {"c": ref(services, "county", {"name": "青山县"})}
    ids["t1"] = ref(services, "township", {"name": "青山镇", "county": ids["c"]})
    ids["t2"] = ref(services, "township", {"name": "绿水镇", "county": ids["c"]})
    ids["v1"] = ref(services, "village", {"name": "东村", "township": "青山镇", "township_id": ids["t1"]})
    ids["v2"] = ref(services, "village", {"name": "东村", "township": "绿水镇", "township_id": ids["t2"]})
    ids["v3"] = ref(services, "village", {"name": "南村", "township": "绿水镇", "township_id": ids["t2"]})
    ids["g1b"] = ref(services, "grid", {"name": "东村二网格", "village": ids["v1"]})
    ids["g1a"] = ref(services, "grid", {"name": "东村一网格", "village": ids["v1"]})
    ids["g2"] = ref(services, "grid", {"name": "东村网格", "village": ids["v2"]})
    ids["u-county"] = ref(services, "unit", {"name": "县水利局", "level": "county", "county": ids["c"]})
    ids["u-town"] = ref(services, "unit", {"name": "镇水务站", "level": "township", "township": ids["t1"]})
    hh, _ = new_record("household", ids["g1b"], {"village": ids["v1"], "address": "东村3组8号", "head": "王大伯"},
                       CLOCK, "worker-1")  # lives in 东村's second grid
    services.store.apply_remote([hh], None)
    ids["hh"] = hh["id"]
    return ids


def run(device: Device, scenario: Any, *, route: str = "/board", width: int = 1280) -> None:
    make_county_staff(device.services)

    async def go() -> None:
        h = await Harness.start(make_main(device), route=route, width=width, height=800)
        try:
            await scenario(h)
        finally:
            await h.close()

    asyncio.run(go())


def _issues(services: Services) -> list[dict]:
    return services.store.all("issue")


def test_register_a_hotline_problem_routed_to_its_village_grid_then_issue_a_county_card(device, services):
    ids = county(services)

    async def scenario(h: Harness) -> None:
        await h.tap("board-register")
        assert h.route == "/register"
        # two 东村 in the county: the villages read 乡镇 / 村
        labels = [o.text for o in h.by_key("f:village").options]
        assert "青山镇 / 东村" in labels and "绿水镇 / 东村" in labels
        assert [o.key for o in h.by_key("f:source").options][:2] == ["hotline", "petition"]
        assert "grid" not in [o.key for o in h.by_key("f:source").options]  # not a channel staff register
        await h.tap("register-save")  # nothing filled in: every reason shown, nothing saved
        assert _issues(services) == []
        assert h.has_key("form-errors") and "请选择所在的村" in h.screen_text()
        await h.type("f:external_no", "QT-20261201-7")
        await h.type("f:title", "夜间施工噪音")
        await h.type("f:description", "工地22点后仍在施工")
        await h.select("f:village", ids["v2"])
        assert "绿水镇 / 东村 / 东村网格" in h.by_key("register-route").value
        await h.type("f:contact_name", "王先生")
        await h.type("f:contact_phone", "138 1234 5678")
        await h.tap("register-save")
        [rec] = _issues(services)
        f = rec["fields"]
        assert rec["grid"] == ids["g2"]
        assert (f["source"], f["external_no"], f["village"], f["contact_phone"], f["reporter_visibility"]) == (
            "hotline", "QT-20261201-7", ids["v2"], "13812345678", "hidden")
        assert h.route == f"/board/{rec['id']}"
        assert "12345热线 · QT-20261201-7" in h.by_key("issue-source").value
        assert "王先生 13812345678" in h.by_key("issue-contact").value
        [report] = services.store.all("issue_event")
        assert (report["fields"]["type"], report["fields"]["role"]) == ("report", "county_staff")
        # the county 督办卡: its own level, deadline and number
        assert "act:county_supervise" in h.keys("act:")
        await h.tap("act:county_supervise")
        await h.select("act-f:level", "3")
        await h.type("act-f:deadline", "2020-01-06")
        await h.type("act-f:card_no", "县督〔2026〕1号")
        await h.tap("act-save")
        st = wf.fold(rec, services.store.all("issue_event"))
        assert (st.county_level, st.county_deadline, st.county_card) == (3, "2020-01-06", "县督〔2026〕1号")
        line = h.by_key("issue-county-card").value
        assert "3级" in line and "县督〔2026〕1号" in line and "超期" in line

    run(device, scenario)


def test_the_household_decides_the_grid_and_a_grid_less_village_is_refused(device, services):
    ids = county(services)

    async def scenario(h: Harness) -> None:
        await h.go("/register")
        await h.type("f:title", "院墙开裂")
        await h.select("f:village", ids["v1"])
        assert "东村一网格" in h.by_key("register-route").value  # the first of the village's grids
        await h.select("f:household", ids["hh"])
        assert "东村二网格" in h.by_key("register-route").value  # the household's own grid
        await h.select("f:village", ids["v3"])  # 南村 has no grid: said at once, and refused
        assert not h.has_key("f:household") or h.by_key("f:household").value in (None, "")
        assert "还没有网格" in h.by_key("register-route").value
        await h.tap("register-save")
        assert _issues(services) == [] and "还没有网格" in h.screen_text()
        await h.select("f:village", ids["v1"])
        await h.select("f:household", ids["hh"])
        await h.select("f:reporter_visibility", "anonymous")
        await h.tap("register-save")
        [rec] = _issues(services)
        assert rec["grid"] == ids["g1b"] and rec["fields"]["household"] == ids["hh"]
        assert rec["fields"]["reporter_visibility"] == "anonymous"

    run(device, scenario)


def test_a_repeated_hotline_number_is_refused(device, services):
    ids = county(services)
    issue(services, ids["g2"], "早先登记的", source="hotline", external_no="QT-1", village=ids["v2"])

    async def scenario(h: Harness) -> None:
        await h.go("/register")
        await h.type("f:external_no", "QT-1")
        await h.type("f:title", "又来一遍")
        await h.select("f:village", ids["v2"])
        await h.tap("register-save")
        assert len(_issues(services)) == 1 and "已登记过" in str(h.by_key("f:external_no").error)

    run(device, scenario)


def test_board_shows_the_channel_and_county_cards_and_filters_by_them(device, services):
    ids = county(services)
    hot = issue(services, ids["g2"], "噪音", source="hotline", village=ids["v2"])
    mine = issue(services, ids["g1a"], "路灯不亮")
    late = issue(services, ids["g1a"], "井盖缺失")
    event(services, late, "assign", {"unit": ids["u-town"], "deadline": "2099-12-31"})
    event(services, late, "county_supervise", {"level": 2, "deadline": "2020-01-10"}, role="county_staff")
    event(services, late, "transfer", {"unit": ids["u-county"], "deadline": "2099-12-31", "reason": "县局职责"})

    def shown(h: Harness) -> set[str]:
        return {k.split(":", 1)[1] for k in h.keys("board:")}

    async def scenario(h: Harness) -> None:
        assert shown(h) == {hot, mine, late}
        text = h.screen_text()
        assert "12345热线" in text and "县督2级·超期" in text and "县水利局" in text
        await h.select("filter-source", "hotline")
        assert shown(h) == {hot}
        await h.select("filter-source", "grid")
        assert shown(h) == {mine, late}
        await h.select("filter-source", "")
        await h.tap("filter-county-supervised")
        assert shown(h) == {late}
        await h.tap("filter-county-supervised")
        await h.tap("filter-due-soon")
        assert shown(h) == {late}  # its county card is late

    run(device, scenario)


def test_figures_by_township_ranked(device, services):
    ids = county(services)
    a = issue(services, ids["g2"], "绿水镇的问题")
    event(services, a, "accept", {})
    issue(services, ids["g1a"], "青山镇的问题")

    async def scenario(h: Harness) -> None:
        await h.tap("group:township")
        assert "青山镇" in h.screen_text() and "绿水镇" in h.screen_text()
        assert not h.has_key("group:county")  # one county: no by-county grouping offered
        await h.tap("rank:response_rate")
        text = h.screen_text()
        assert "第1名 绿水镇" in text  # accepted at once: 100 %; 青山镇 not yet due, no value
        assert "第2名" not in text

    run(device, scenario, route="/figures")


def test_a_township_device_has_no_county_card(device, services):
    ids = county(services)
    iid = issue(services, ids["g1a"], "路灯不亮")
    services.store.meta_set("profile", {**services.profile, "role": "township_staff"})

    async def scenario(h: Harness) -> None:
        await h.go(f"/board/{iid}")
        assert "act:assign" in h.keys("act:") and "act:county_supervise" not in h.keys("act:")

    async def go() -> None:
        h = await Harness.start(make_main(device), route="/board", width=1280, height=800)
        try:
            await scenario(h)
        finally:
            await h.close()

    asyncio.run(go())


def test_appeal_types_are_reference_data_old_issues_keep_their_names(device, services):
    ids = county(services)
    ref(services, "appeal", {"name": "咨询", "order": 1})  # a pulled default (its own id here)
    praise = ref(services, "appeal", {"name": "表扬", "order": 6})
    gone = ref(services, "appeal", {"name": "旧类型", "order": 7, "retired": True})
    old = issue(services, ids["g1a"], "早先的表扬", appeal_type=gone)
    assert [name for _id, name in services.appeals()] == ["咨询", "表扬"]  # retired: not offered
    assert services.issue(old)["appeal_label"] == "旧类型"  # still named on the old issue

    async def scenario(h: Harness) -> None:
        await h.go("/register")
        assert praise in [o.key for o in h.by_key("f:appeal_type").options]
        await h.type("f:title", "表扬网格员")
        await h.select("f:village", ids["v1"])
        await h.select("f:appeal_type", praise)
        await h.tap("register-save")
        [new] = [r for r in _issues(services) if r["fields"]["title"] == "表扬网格员"]
        assert new["fields"]["appeal_type"] == praise

    run(device, scenario)
