"""Lists at grid size: 问题墙 and 走访 draw a page of rows (再显示 adds the next), 住户 draws the
first rows with the count of all matches, and 首页 counts every due household and every issue
waiting for a re-check while drawing only the first rows."""

from __future__ import annotations

from harness import Harness
from test_issues import resolved_issue

from app.ui.screens.home import DUE_SHOWN, RECHECK_SHOWN
from app.ui.screens.issues import PAGE as ISSUE_PAGE
from app.ui.screens.visits import PAGE as VISIT_PAGE


def _rows(h: Harness, prefix: str) -> int:
    return len(h.keys(prefix))


def test_issue_wall_and_visits_draw_a_page_at_a_time(run_app, services):
    hid, _ = services.save_household({"head": "王建国", "address": "幸福村1组1号"})
    n_issues, n_visits = ISSUE_PAGE + 30, VISIT_PAGE + 5
    for i in range(n_issues):
        services.save_issue({"title": f"路灯{i}", "category": "infra.lighting"}, [])
    for i in range(n_visits):
        services.save_visit({"household": hid, "kind": "routine", "seen": f"第{i}次"}, [], [])

    async def scenario(h: Harness) -> None:
        await h.nav(3)
        assert _rows(h, "issue:") == ISSUE_PAGE
        assert h.by_key("status:all").label.value.endswith(str(n_issues))
        assert h.by_key("issues-more").content == "再显示 30 条"
        await h.tap("issues-more")
        assert _rows(h, "issue:") == n_issues and not h.has_key("issues-more")
        await h.nav(2)
        assert _rows(h, "visit:") == VISIT_PAGE
        await h.tap("visits-more")
        assert _rows(h, "visit:") == n_visits and not h.has_key("visits-more")

    run_app(scenario)


def test_home_counts_all_and_draws_the_first(run_app, services):
    for i in range(DUE_SHOWN + 4):
        services.save_household({"head": f"李{i}", "address": f"幸福村2组{i}号"})
    waiting = [resolved_issue(services) for _ in range(RECHECK_SHOWN + 2)]

    async def scenario(h: Harness) -> None:
        assert h.by_key("home-due").content.controls[0].value == str(DUE_SHOWN + 4)
        assert h.by_key("home-recheck").content.controls[0].value == str(len(waiting))
        assert _rows(h, "due:") == DUE_SHOWN and _rows(h, "recheck:") == RECHECK_SHOWN

    run_app(scenario)


def test_household_list_counts_every_match(run_app, services):
    from app.ui.screens.households import LIST_LIMIT

    for i in range(LIST_LIMIT + 7):
        services.save_household({"head": f"张{i}", "address": f"幸福村3组{i}号"})

    async def scenario(h: Harness) -> None:
        await h.nav(1)
        assert _rows(h, "household:") == LIST_LIMIT
        assert str(LIST_LIMIT + 7) in h.by_key("household-count").value
        await h.type("household-query", "z")  # 张 by its pinyin initial
        assert _rows(h, "household:") == LIST_LIMIT

    run_app(scenario)
