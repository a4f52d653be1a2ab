"""Issue 14's "Done when", in chromium, from what `gridwall demo` sets up (``app.demo.prepare``:
the county of three townships, the server, every demo device enrolled and synced):

county staff (吴建华's desk, 1366x768) register a 12345 hotline problem in 青山镇 / 东风村 →
after sync it is on the grid worker's phone (张晓燕, 390x844) → county staff issue a 督办卡 and
print it (the PDF downloaded, checked by text) → accept, dispatch, the unit's answer (办结) →
the worker re-checks on the phone → staff 销号 → the resident looks it up by its public code
on 东风村's echo-wall page (status only: no title, no caller) → the month's 工作简报 with the
ranking exported as PDF and XLSX, checked against the bulletin of the desk's store.

Every screenshot is checked (screencheck: expected controls present, no empty grey box)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from app.demo import COUNTY_STAFF, FIELD_USER, TOWNSHIP, VILLAGES, prepare, sync_device
from app.services import Services
from sync import workflow as wf
from sync.public_code import public_code
from tests.support.browser import AppServer, Phone
from tests.support.net import free_port

pytestmark = pytest.mark.browser

DESK = {"width": 1366, "height": 768}
TITLE = "东风村三组路口积水"
CALLER, CALLER_PHONE = "钱先生", "13905710031"
CARD = "青县督〔2026〕21号"
VILLAGE = next(iter(VILLAGES))  # 东风村: 张晓燕's village


def _download(phone: Phone, button: str, to: Path) -> Path:
    with phone.page.expect_download(timeout=120_000) as dl:
        phone.page.get_by_role("button", name=button).click()
    got = dl.value
    path = to / got.suggested_filename
    got.save_as(path)
    return path


def _pdf_text(path: Path) -> str:
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    return "".join(out.split())


def _pick(phone: Phone, key: str, option: str) -> None:
    """Open a dropdown by clicking the field itself, then its option."""
    box = phone.page.locator(f'[flt-semantics-identifier="{key}"]').bounding_box()
    phone.page.mouse.click(box["x"] + 40, box["y"] + box["height"] / 2)
    phone.wait_for("button", option, timeout_s=30)
    phone.tap("button", option, exact=True)


def _issue(device: Path) -> tuple[dict, wf.IssueState]:
    svc = Services.open(device)
    try:
        [issue] = [r for r in svc.store.all("issue") if r["fields"].get("title") == TITLE]
        return issue, wf.fold(issue, [e for e in svc.store.all("issue_event") if e["fields"]["issue"] == issue["id"]])
    finally:
        svc.close()


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.support.fontkit import assets_with_font

    # the journey's own words drawn in the app's font subset
    return assets_with_font(tmp_path_factory.mktemp("assets"), extra_text=TITLE + CALLER + CARD + "疏通排水沟路口不再")


def test_county_journey_from_the_demo(browser, assets, tmp_path):
    root = tmp_path / "demo"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    info, server = prepare(root, port, households=5)
    desk_dir, field_dir = Path(info.devices[COUNTY_STAFF]), Path(info.devices[FIELD_USER])
    files = tmp_path / "downloads"
    files.mkdir()
    try:
        # 1. County staff register a 12345 call on the desk.
        app = AppServer(desk_dir, assets).start()
        try:
            desk = Phone(browser).open(app.url, viewport=DESK, ready=("heading", "工单台"))
            page = desk.page
            desk.tap("button", "登记问题")
            page.get_by_role("heading", name="登记问题（热线、信访等）").wait_for(timeout=30_000)
            desk.type_into("来源编号", "QS12345-20261201-0007")
            desk.type_into("标题 *", TITLE)
            _pick(desk, "f:village", f"{TOWNSHIP} / {VILLAGE}")
            page.get_by_text(f"将分派到：{TOWNSHIP} / {VILLAGE} / ", exact=False).wait_for(timeout=30_000)
            desk.type_into("联系人", CALLER)
            desk.type_into("联系电话", CALLER_PHONE)
            desk.shot("county-journey-register", expect=(("button", "登记并分派"),))
            desk.tap("button", "登记并分派")
            page.get_by_role("heading", name="办理工单").wait_for(timeout=60_000)
            desk.close()
        finally:
            app.stop()
        issue, st = _issue(desk_dir)
        assert issue["fields"]["source"] == "hotline" and issue["fields"]["contact_phone"] == CALLER_PHONE
        grid = issue["grid"]

        # 2. After sync it is on the grid worker's phone (the worker's own grid).
        assert sync_device(desk_dir, url, info, COUNTY_STAFF).ok
        assert sync_device(field_dir, url, info, FIELD_USER).ok
        assert info.grids[next(iter(VILLAGES[VILLAGE]))[0]] == grid  # the village's first grid: 张晓燕's
        app = AppServer(field_dir, assets).start()
        try:
            phone = Phone(browser).open(app.url)
            phone.tap("tab", "问题墙")
            phone.wait_for("button", TITLE, timeout_s=60)
            phone.shot("county-journey-phone-sees-it", expect=(("button", TITLE),))
            phone.close()
        finally:
            app.stop()

        # 3. The county's 督办卡, printed; accept, dispatch, the unit's answer.
        app = AppServer(desk_dir, assets).start()
        try:
            desk = Phone(browser).open(app.url, viewport=DESK, ready=("heading", "工单台"))
            page = desk.page
            desk.wait_for("button", TITLE)
            desk.tap("button", TITLE)
            page.get_by_role("heading", name="办理工单").wait_for(timeout=60_000)
            desk.tap("button", "县级督办", exact=True)
            desk.type_into("督办卡编号", CARD)
            desk.tap("button", "确认县级督办")
            page.get_by_text(f"督办卡 {CARD}", exact=False).first.wait_for(timeout=30_000)
            desk.shot("county-journey-card", expect=(("button", "打印督办卡"),))
            card = _pdf_text(_download(desk, "打印督办卡", files))
            for text in ("督办卡", CARD, TITLE, "县级"):
                assert text in card, (text, card)
            assert CALLER_PHONE not in card
            desk.tap("button", "受理", exact=True)
            desk.tap("button", "确认受理")
            desk.wait_for("button", "派单")
            desk.tap("button", "派单", exact=True)
            _pick(desk, "act-f:unit", "县住建局")
            desk.type_into("办结时限（年-月-日）", "2099-03-02")
            desk.tap("button", "确认派单")
            desk.wait_for("button", "办结")
            desk.tap("button", "办结", exact=True)
            desk.type_into("办理答复", "已疏通排水沟，路口不再积水")
            desk.tap("button", "确认办结")
            desk.wait_for("button", "留言")
            desk.shot("county-journey-resolved")
            desk.close()
        finally:
            app.stop()
        assert sync_device(desk_dir, url, info, COUNTY_STAFF).ok

        # 4. The worker's 回头看 on the phone.
        assert sync_device(field_dir, url, info, FIELD_USER).ok
        assert _issue(field_dir)[1].state == "resolved"
        app = AppServer(field_dir, assets).start()
        try:
            phone = Phone(browser).open(app.url)
            phone.tap("tab", "问题墙")  # the newest on top (首页's re-check list may be longer than a screen)
            phone.wait_for("button", TITLE, timeout_s=60)
            phone.tap("button", TITLE)
            phone.wait_for("button", "记录回访结果")
            yes = phone.page.get_by_role("checkbox", name="是", exact=True)
            yes.nth(0).click()
            phone.page.wait_for_timeout(500)
            yes.nth(1).click()
            phone.page.wait_for_timeout(500)
            phone.shot("county-journey-recheck", expect=(("button", "记录回访结果"),))
            phone.tap("button", "记录回访结果")
            phone.page.get_by_role("button", name="记录回访结果").wait_for(state="detached", timeout=60_000)
            phone.close()
        finally:
            app.stop()
        assert _issue(field_dir)[1].state == "rechecked"
        assert sync_device(field_dir, url, info, FIELD_USER).ok
        assert sync_device(desk_dir, url, info, COUNTY_STAFF).ok
        assert _issue(desk_dir)[1].state == "rechecked"

        # 5. 销号 on the desk.
        app = AppServer(desk_dir, assets).start()
        try:
            desk = Phone(browser).open(app.url, viewport=DESK, ready=("heading", "工单台"))
            page = desk.page
            desk.wait_for("button", TITLE)
            desk.tap("button", TITLE)
            page.get_by_role("heading", name="办理工单").wait_for(timeout=60_000)
            desk.wait_for("button", "销号")
            desk.tap("button", "销号", exact=True)
            desk.tap("button", "确认销号")
            page.get_by_text("已办结", exact=False).first.wait_for(timeout=30_000)
            desk.close()
        finally:
            app.stop()
        _issue_now, st = _issue(desk_dir)
        assert st.state == "closed" and st.county_card == CARD and (st.solved, st.satisfied) == (True, True)
        assert sync_device(desk_dir, url, info, COUNTY_STAFF).ok

        # 6. The resident's lookup on 东风村's echo-wall page: status only.
        code = public_code(issue["id"])
        wall = Phone(browser)  # a plain HTML page (no script): opened as a resident's phone does
        wall.page.goto(f"{url}/wall/{info.villages[VILLAGE]}")
        wall.page.fill("#code", code)
        wall.page.get_by_role("button", name="查询办理进度").click()
        wall.page.get_by_text(code).first.wait_for(timeout=30_000)
        text = wall.page.inner_text("body")
        wall.shot("county-journey-lookup")
        wall.close()
        assert "已办结" in text or "已销号" in text, text
        for private in (TITLE, CALLER, CALLER_PHONE, "QS12345"):
            assert private not in text

        # 7. The month's 工作简报 with the ranking, as PDF and XLSX.
        app = AppServer(desk_dir, assets).start()
        try:
            desk = Phone(browser).open(app.url, viewport=DESK, ready=("heading", "工单台"))
            desk.tap("button", "统计")
            desk.tap("button", "工作简报")
            desk.wait_for("button", "导出简报 PDF", timeout_s=120)
            desk.shot("county-journey-bulletin", expect=(("button", "导出简报 PDF"), ("button", "导出 XLSX")))
            pdf = _download(desk, "导出简报 PDF", files)
            xlsx = _download(desk, "导出 XLSX", files)
            desk.close()
        finally:
            app.stop()
    finally:
        server.terminate()
        server.wait(10)

    from datetime import date

    from openpyxl import load_workbook

    svc = Services.open(desk_dir)
    try:
        from app.services.staff import StaffServices

        b = StaffServices(svc).reports.bulletin(date.today().strftime("%Y-%m"))
    finally:
        svc.close()
    assert b.reported >= 1 and {r.label for r in b.townships} >= {TOWNSHIP, "绿水镇", "白云镇"}
    flat = _pdf_text(pdf)
    assert f"本期上报{b.reported}件" in flat or str(b.reported) in flat
    for r in b.townships:
        assert r.label in flat
    wb = load_workbook(xlsx)
    rows = {row[1]: row for row in wb["乡镇三率排名"].iter_rows(min_row=3, values_only=True)}
    assert {k: v[0] for k, v in rows.items() if k in {r.label for r in b.townships}} == {
        r.label: r.rank or "—" for r in b.townships}  # a township with nothing to rate is not ranked
    ours = next(r for r in b.townships if r.label == TOWNSHIP)
    assert rows[TOWNSHIP][3] == ours.figures["response_rate"].denominator
