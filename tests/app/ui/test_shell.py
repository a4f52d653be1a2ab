"""App shell: first screen, bottom navigation between tabs, settings and language switch."""

from __future__ import annotations

from harness import Harness


def test_first_screen_is_home_with_bottom_navigation(run_app):
    async def scenario(h: Harness) -> None:
        assert h.route == "/"
        assert "今日工作" in h.screen_text()
        bar = h.top.navigation_bar
        assert bar is not None and bar.selected_index == 0
        assert [d.label for d in bar.destinations] == ["首页", "住户", "走访", "问题墙", "同步"]

    run_app(scenario)


def test_tabs_switch_views(run_app):
    async def scenario(h: Harness) -> None:
        for index, route, title in [(1, "/households", "住户"), (2, "/visits", "走访记录"),
                                    (3, "/issues", "问题墙"), (4, "/sync", "同步"), (0, "/", "今日工作")]:
            await h.nav(index)
            assert h.route == route
            assert h.top.appbar.title.value == title
            assert h.top.navigation_bar.selected_index == index

    run_app(scenario)


def test_language_switch_changes_every_label_and_persists(run_app, services):
    async def scenario(h: Harness) -> None:
        await h.tap("open-settings")
        assert h.route == "/settings"
        await h.tap("lang:en")
        assert h.top.appbar.title.value == "Settings"
        await h.back()
        assert h.route == "/"
        assert h.top.appbar.title.value == "Today"
        assert [d.label for d in h.top.navigation_bar.destinations][1] == "Households"
        assert services.language() == "en"
        await h.tap("open-settings")
        await h.tap("lang:zh")
        await h.back()
        assert h.top.appbar.title.value == "今日工作"

    run_app(scenario)


def test_settings_show_data_folder(run_app, services):
    async def scenario(h: Harness) -> None:
        await h.go("/settings")
        assert str(services.store.data_dir.resolve()) in h.by_key("data-dir").value

    run_app(scenario)


def test_english_covers_forms_and_validation_messages(run_app, services):
    async def scenario(h: Harness) -> None:
        await h.go("/settings")
        await h.tap("lang:en")
        await h.go("/households/new")
        assert h.top.appbar.title.value == "Add household"
        assert h.by_key("f:head").label == "Head of household *"
        await h.type("f:phone", "12345")
        err = h.by_key("f:phone").error or ""
        assert err and not any("\u4e00" <= ch <= "\u9fff" for ch in err), err

    run_app(scenario)


def test_two_sessions_in_one_process_keep_their_own_language(device, services):
    """A PC serving two browser tabs: one switches to English, the other stays in Chinese,
    in what they render and in what their handlers say (a validation message is made in the
    event handler's own task), at the same time."""
    import asyncio

    from app.ui.app import make_main

    def has_chinese(text: str) -> bool:
        return any("\u4e00" <= ch <= "\u9fff" for ch in text)

    async def scenario() -> None:
        a = await Harness.start(make_main(device))
        b = await Harness.start(make_main(device))
        try:
            await a.go("/settings")
            await a.tap("lang:en")
            await b.go("/households/new")  # B acts after A switched
            await a.go("/households/new")
            assert a.top.appbar.title.value == "Add household"
            assert b.top.appbar.title.value == "新增住户"
            await a.type("f:phone", "12345")
            await b.type("f:phone", "12345")
            a_err, b_err = a.by_key("f:phone").error or "", b.by_key("f:phone").error or ""
            assert a_err and not has_chinese(a_err), a_err
            assert "电话" in b_err, b_err
            await b.back()  # a dirty form asks before it is left, each in its own language
            await a.back()
            assert has_chinese(b.dialog_text()) and not has_chinese(a.dialog_text())
            await a.tap("leave-discard")
            await b.tap("leave-discard")
            assert a.top.appbar.title.value == "Households"
            assert b.top.appbar.title.value == "住户"
        finally:
            await a.close()
            await b.close()
        # the device remembers the last choice for the next session; the CLI's language is its own
        assert services.language() == "en"
        c = await Harness.start(make_main(device))
        try:
            assert c.top.appbar.title.value == "Today"
        finally:
            await c.close()

    asyncio.run(scenario())
    from sync.i18n import t

    assert t("ui.settings.title") == "设置"  # no session here: the process's own language
