"""Small untruths the field app told (issue 9, finding 8), each checked where it was seen:
a save message on the screen it is about only, saying only what is true; required markers
from the shared model; one 其他 chip; times in China time."""

from __future__ import annotations

import datetime as dt

from harness import Harness
from test_visits import add_household

from app.services import fmt_date, fmt_time
from sync.chinatime import CHINA_TZ


async def _save_visit(h: Harness, hid: str, demand: str | None = None) -> str:
    await h.go("/visits/new")
    await h.type("household-search", "wjg")
    await h.tap(f"pick-household:{hid}")
    if demand:
        await h.tap("demand-add")
        await h.type("d0:title", demand)
    await h.tap("save")
    assert h.route.startswith("/visits/") and h.route != "/visits/new"
    return h.route.rsplit("/", 1)[1]


def test_visit_saved_message_says_only_what_is_true_and_only_on_the_visit(run_app, services):
    hid = add_household(services)

    async def scenario(h: Harness) -> None:
        await _save_visit(h, hid)
        assert h.by_key("notice-text").value == "走访已保存"  # no "新增 0 条问题"
        # straight on to 报问题: the visit's message stays with the visit
        await h.go("/issues/new")
        assert not h.has_key("notice")
        await _save_visit(h, hid, demand="屋顶漏雨需维修")
        assert h.by_key("notice-text").value == "走访已保存，新增 1 条问题"
        # a demand saved as a wish is counted as a wish
        await h.go("/visits/new")
        await h.type("household-search", "wjg")
        await h.tap(f"pick-household:{hid}")
        for i, (kind, title) in enumerate((("problem", "路灯不亮"), ("wish", "想要一辆轮椅"))):
            await h.tap("demand-add")
            await h.tap(f"d{i}-kind:{kind}")
            await h.type(f"d{i}:title", title)
        await h.tap("save")
        assert h.by_key("notice-text").value == "走访已保存，新增 1 条问题、1 个微心愿"

    run_app(scenario)


def test_the_saved_message_does_not_speak_for_the_sync_state(run_app, services):
    async def scenario(h: Harness) -> None:
        await h.go("/issues/new")
        await h.type("f:title", "村口路灯不亮")
        await h.tap("save")
        text = h.by_key("notice-text").value
        assert text == "已保存" and "同步" not in text  # 同步 and the record's badge say that
        await h.go("/sync")
        assert not h.has_key("notice")

    run_app(scenario)


def test_required_markers_come_from_the_shared_model(run_app, services):
    hid = add_household(services)

    async def scenario(h: Harness) -> None:
        await h.go("/visits/new")
        assert h.by_key("household-search").label == "走访住户 *"  # a visit needs its household
        await h.tap("save")
        assert h.by_key("household-search").error  # ... and validation agrees
        await h.go("/issues/new")
        assert h.by_key("household-search").label == "关联住户"  # an issue may have none
        assert "可不选" not in h.screen_text() and "走访住户" not in h.screen_text()
        assert h.by_key("f:title").label == "标题 *"
        await h.type("f:title", "村口路灯不亮")
        await h.tap("save")
        iid = h.route.rsplit("/", 1)[1]
        assert services.issue(iid)["household_label"] == ""  # saved without one
        await h.go(f"/households/{hid}/edit")
        assert h.by_key("f:head").label.endswith(" *") and not h.by_key("f:phone").label.endswith("*")

    run_app(scenario)


def _other_chips(h: Harness) -> list[str]:
    return [k for k in h.keys("cat:") + h.keys("subcat:")
            if "其他" in " ".join(str(getattr(c.label, "value", "")) for c in [h.by_key(k)])]


def test_one_other_chip_in_the_category_tree(run_app, services):
    async def scenario(h: Harness) -> None:
        await h.go("/issues/new")
        assert _other_chips(h) == ["cat:other"]
        await h.tap("cat:other")
        assert _other_chips(h) == ["cat:other"] and not h.keys("subcat:")
        await h.tap("cat:env")
        assert _other_chips(h) == ["cat:other"] and "subcat:env.garbage" in h.keys("subcat:")
        # 环境卫生 with no child is saved as the category itself (其他 within it)
        await h.type("f:title", "河边有垃圾")
        await h.tap("save")
        iid = h.route.rsplit("/", 1)[1]
        assert services.store.get("issue", iid)["fields"]["category"] == "env"

    run_app(scenario)


def test_times_shown_are_china_time_whatever_the_machines_zone(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        ms = int(dt.datetime(2026, 3, 31, 16, 30, tzinfo=dt.UTC).timestamp() * 1000)  # 00:30 in Beijing
        assert fmt_time(ms) == "2026-04-01 00:30"
        assert fmt_date(ms) == "2026-04-01"
        assert dt.datetime.fromtimestamp(ms / 1000, CHINA_TZ).utcoffset() == dt.timedelta(hours=8)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_flutter_locale_follows_the_language_setting(run_app, services):
    """Flutter's own words (screen-reader "Tab 1 of 5", pickers) come from the page locale."""

    async def scenario(h: Harness) -> None:
        cfg = h.page.locale_configuration
        assert cfg is not None and cfg.current_locale.language_code == "zh"
        assert cfg.current_locale in cfg.supported_locales
        await h.go("/settings")
        await h.tap("lang:en")
        assert h.page.locale_configuration.current_locale.language_code == "en"
        await h.tap("lang:zh")
        assert h.page.locale_configuration.current_locale.language_code == "zh"

    run_app(scenario)


def _small_targets(h: Harness) -> list[str]:
    import flet as ft

    from app.ui.widgets import TAP

    small = []
    for c in h.all(where=lambda c: isinstance(c, (ft.Chip, ft.TextButton, ft.IconButton, ft.OutlinedButton,
                                                  ft.FilledButton, ft.FilledTonalButton))):
        if (c.height or 0) < TAP:
            small.append(f"{type(c).__name__}({c.key})")
    return small


def test_touch_targets_are_at_least_48_px_on_the_phone(run_app, services):
    hid = add_household(services)

    async def scenario(h: Harness) -> None:
        for route in ("/issues", "/issues/new", "/visits/new", f"/households/{hid}", f"/households/{hid}/edit",
                      "/households", "/settings"):
            await h.go(route)
            for key in ("demand-add", "member-add"):
                if h.has_key(key):
                    await h.tap(key)
            assert not _small_targets(h), (route, _small_targets(h))

    run_app(scenario)
