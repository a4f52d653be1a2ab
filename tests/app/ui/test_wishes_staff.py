"""微心愿 on the staff side: the board lists wishes open first and the most urgent first, staff
dispatch one (派单) and it runs late like a problem, an open wish can be put on the echo wall
for people to come forward, and the wish figures by village and claimant kind."""

from __future__ import annotations

from harness import Harness
from staff_seed import event, issue, make_staff, ref, township
from test_staff_screens import run_staff


def wishes(services) -> dict[str, str]:  # type: ignore[no-untyped-def]
    ids = township(services)
    east = ids["g-east"]
    ids["radio"] = issue(services, east, "想要收音机", issue_kind="wish", category="wish.goods")
    ids["chair"] = issue(services, east, "想要轮椅", issue_kind="wish", category="wish.goods", urgency="critical")
    ids["haircut"] = issue(services, ids["g-west"], "想理发", issue_kind="wish", category="wish.service",
                           urgency="urgent")
    ids["books"] = issue(services, east, "想要课外书", issue_kind="wish", category="wish.study", urgency="critical")
    ids["lee"] = ref(services, "claimant", {"name": "志愿者小李", "claimant_kind": "volunteer"}, east)
    event(services, ids["books"], "claim", {"claimant": ids["lee"], "by": "志愿者小李"}, role="grid_worker",
          actor="worker-1")
    event(services, ids["books"], "fulfil", {"note": "送到"}, role="grid_worker", actor="worker-1")
    return ids


def test_board_wishes_in_work_order_dispatch_and_wall(device):
    services = device.services
    make_staff(services, enrolled=True)
    staff = device.staff
    ids = wishes(services)
    rows = staff.board({"kind": "wish"})["rows"]
    # open first; among open the most urgent first, then by kind; the fulfilled one last
    assert [r["id"] for r in rows] == [ids["chair"], ids["haircut"], ids["radio"], ids["books"]]
    assert staff.act(ids["radio"], "assign", {"unit": ids["u-power"], "deadline": "2020-01-10"}) == {}
    row = next(r for r in staff.board({"kind": "wish", "status": "assigned"})["rows"])
    assert row["id"] == ids["radio"] and row["overdue"] and row["unit_name"] == "供电所"
    # an open wish is offered for the echo wall with a call to come forward, and can be published
    items = {i["id"]: i for i in staff.wall_items()}
    assert "愿意帮忙" in items[ids["chair"]]["public_text"]
    assert staff.publish(ids["chair"], "需要一辆轮椅", items[ids["chair"]]["public_text"]) == {}


def test_wish_figures_screen(device, services):
    ids = wishes(services)

    async def scenario(h: Harness) -> None:
        await h.go("/figures")
        await h.tap("open-wishes")
        assert h.route == "/figures/wishes"
        assert h.by_key("wish-total:wishes_collected-value").value == "4"
        assert h.by_key("wish-total:wishes_fulfilled-value").value == "1"
        assert h.by_key("wish-total:wishes_fulfilled-n").value == "N=4"
        assert "1 个" in h.by_key("wish-c-volunteer:counts").value
        assert h.by_key(f"wish-v-{ids['v-west']}:wishes_collected-value").value == "1"
        assert h.has_key(f"claimant-row:{ids['lee']}") and "志愿者小李 · 志愿者" in h.screen_text()

    run_staff(device, scenario)


def test_the_demo_has_claimants_a_dispatched_wish_and_one_on_the_wall(services):
    from app.demo_seed import CLAIMANTS, seed_demo
    from sync import workflow as wf

    seed_demo(services.store, services.grid_id, services.user_id, services.profile["village_id"],
              households=40, rng_seed=7, photos=0)
    assert sorted(c["name"] for c in services.claimants()) == sorted(n for n, _k in CLAIMANTS)
    states = {}
    for w in services.issues(kind="wish"):
        st = wf.fold(services.store.get("issue", w["id"]), services.events_by_issue().get(w["id"], []))
        states[w["title"]] = (st.state, st.published)
        assert not st.flagged
    assert ("collected", True) in states.values() and ("assigned", False) in states.values()
    report = services.wish_report()
    assert report.total.claimed >= 2 and report.total.fulfilled >= 1
    assert sum(g.claimed for g in report.claimants) == report.total.claimed
    assert next(g for g in report.claimants if g.key == "unregistered").claimed == 0


def test_staff_register_a_claimant_for_a_grid_and_claim_with_it(device, services):
    ids = wishes(services)

    async def scenario(h: Harness) -> None:
        await h.go("/figures/wishes")
        await h.tap("claimant-new-save")  # no name: refused, nothing registered
        assert h.by_key("claimant-new-name").error and len(services.claimants()) == 1
        await h.type("claimant-new-name", "镇红十字会")
        await h.select("claimant-new-grid", ids["g-west"])
        await h.tap("claimant-new-save")
        [red_cross] = [c for c in services.claimants() if c["name"] == "镇红十字会"]
        assert (red_cross["kind"], red_cross["grid"]) == ("unit", ids["g-west"])
        assert h.has_key(f"claimant-row:{red_cross['id']}")
        # the west wish can now be claimed by it on the act screen
        await h.go(f"/board/{ids['haircut']}")
        await h.tap("act:claim")
        await h.select("act-f:claimant", red_cross["id"])
        await h.tap("act-save")
        assert services.issue(ids["haircut"])["claimed_by"] == "镇红十字会"

    run_staff(device, scenario)
