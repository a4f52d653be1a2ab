"""County staff in chromium at a desk (1366x768, no internet): register a 12345 hotline
problem on 登记问题 (the village picked as 乡镇 / 村, the route shown), then issue a county
督办卡 on it; the board shows the channel and the card."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.browser import AppServer, Phone

pytestmark = pytest.mark.browser

DESK = {"width": 1366, "height": 768}


def _seed(data: Path) -> dict[str, str]:
    from app.services import Services
    from sync.changes import new_record
    from sync.clock import HybridClock

    clock = HybridClock("seed")
    svc = Services.open(data)
    try:
        svc.store.meta_set("profile", {**svc.profile, "role": "county_staff", "user_name": "吴建华"})
        recs = []

        def ref(kind: str, fields: dict) -> str:
            rec, _ = new_record(kind, "county", fields, clock, "server")
            recs.append(rec)
            return rec["id"]

        county = ref("county", {"name": "青山县"})
        t1 = ref("township", {"name": "青山镇", "county": county})
        t2 = ref("township", {"name": "绿水镇", "county": county})
        v1 = ref("village", {"name": "东村", "township": "青山镇", "township_id": t1})
        v2 = ref("village", {"name": "南溪村", "township": "绿水镇", "township_id": t2})
        ref("grid", {"name": "东村一网格", "village": v1})
        ref("grid", {"name": "南溪村第一网格", "village": v2})
        ref("unit", {"name": "县生态环境分局", "level": "county", "county": county})
        svc.store.apply_remote(recs, None)
        return {"v2": v2}
    finally:
        svc.close()


def _pick(phone: Phone, key: str, option: str) -> None:
    """Open a dropdown by clicking the field itself, then its option."""
    box = phone.page.locator(f'[flt-semantics-identifier="{key}"]').bounding_box()
    phone.page.mouse.click(box["x"] + 40, box["y"] + box["height"] / 2)
    phone.wait_for("button", option, timeout_s=20)
    phone.tap("button", option, exact=True)


def test_county_staff_register_a_hotline_problem_and_issue_a_county_card(browser, assets, tmp_path):
    data = tmp_path / "data"
    ids = _seed(data)
    server = AppServer(data, assets).start()
    try:
        phone = Phone(browser)
        phone.open(server.url, viewport=DESK, ready=("heading", "工单台"))
        page = phone.page
        phone.tap("button", "登记问题")
        page.get_by_role("heading", name="登记问题（热线、信访等）").wait_for(timeout=30_000)
        phone.type_into("来源编号", "QS12345-0031")
        phone.type_into("标题 *", "河道垃圾堆积")
        _pick(phone, "f:village", "绿水镇 / 南溪村")
        page.get_by_text("将分派到：绿水镇 / 南溪村 / 南溪村第一网格", exact=False).wait_for(timeout=20_000)
        phone.type_into("联系人", "钱先生")
        phone.type_into("联系电话", "13905710031")
        phone.shot("county-register-1366", expect=(("button", "登记并分派"),))
        phone.tap("button", "登记并分派")
        page.get_by_role("heading", name="办理工单").wait_for(timeout=30_000)
        phone.tap("button", "县级督办", exact=True)
        phone.type_into("督办卡编号", "青县督〔2026〕8号")
        phone.shot("county-card-1366", expect=(("button", "确认县级督办"),))
        phone.tap("button", "确认县级督办")
        page.get_by_text("县级督办 1级 · 督办卡 青县督〔2026〕8号", exact=False).wait_for(timeout=20_000)
        phone.close()
    finally:
        server.stop()

    from app.services import Services
    from sync import workflow as wf

    svc = Services.open(data)
    try:
        [issue] = svc.store.all("issue")
        assert issue["fields"]["village"] == ids["v2"] and issue["fields"]["source"] == "hotline"
        assert issue["fields"]["contact_phone"] == "13905710031"
        st = wf.fold(issue, svc.store.all("issue_event"))
        assert st.county_level == 1 and st.county_card == "青县督〔2026〕8号" and st.county_deadline
    finally:
        svc.close()
