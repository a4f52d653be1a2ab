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
