"""联户 in the field app: register a member, pair them with a household from either side, see
them on the household page, name them on a visit, unpair."""

from __future__ import annotations

from harness import Harness

from app.services import Services


def test_register_pair_visit_with_member_and_unpair(run_app, services: Services):
    hid, errors = services.save_household({"head": "王建国", "address": "东风村3组12号"})
    assert not errors
    other, errors = services.save_member({"name": "赵秀英", "duty": "party_member"})
    assert not errors

    async def scenario(h: Harness) -> None:
        await h.nav(1)
        await h.tap("open-members")
        assert h.route == "/households/members" and h.has_key(f"member:{other}")
        await h.tap("people-add")
        await h.tap("save")  # nothing typed: the name is asked for, nothing saved
        assert h.by_key("f:name").error and len(services.members()) == 1
        await h.type("f:name", "李明")
        await h.tap("member-duty:household_lead")
        await h.tap("member-app:yes")
        await h.type("f:phone", "13812345678")
        await h.tap("save")
        mid = h.route.rsplit("/", 1)[1]
        rec = services.store.get("member", mid)["fields"]
        assert rec["name"] == "李明" and rec["duty"] == "household_lead" and rec["uses_app"] is True
        assert "联户长" in h.by_key("member-summary").value and "使用App" in h.by_key("member-summary").value
        # pair from the member's page
        await h.type("household-search", "wjg")
        await h.tap(f"pick-household:{hid}")
        assert h.has_key(f"member-household:{hid}")
        assert [p["fields"] for p in services.store.all("pairing")] == [{"member": mid, "household": hid}]
        # and from the household's page
        await h.go(f"/households/{hid}")
        assert h.has_key(f"hh-member:{mid}") and not h.has_key(f"hh-member:{other}")
        await h.tap("hh-pair")
        assert not h.has_key(f"pair-member:{mid}")  # already looks after it: not offered again
        await h.tap(f"pair-member:{other}")
        assert h.route == f"/households/{hid}"
        assert h.has_key(f"hh-member:{mid}") and h.has_key(f"hh-member:{other}")
        assert "赵秀英" in h.screen_text()
        # a visit names the member who came along; the household's own come first, starred
        await h.tap("hh-new-visit")
        assert "★ 李明" in h.screen_text()
        await h.tap(f"visit-companion:{mid}")
        await h.tap("save")
        vid = h.route.rsplit("/", 1)[1]
        assert services.store.get("visit", vid)["fields"]["companion"] == mid
        assert "李明" in h.by_key("visit-companion").value
        # unpair on the member's page: the link is deleted (and syncs as a delete)
        await h.go(f"/households/members/{mid}")
        await h.tap(f"unpair:{hid}")
        assert not h.has_key(f"member-household:{hid}")
        assert [m["id"] for m in services.household_members(hid)] == [other]
        assert len(services.store.all("pairing", include_deleted=True)) == 2

    run_app(scenario)


def test_member_list_searches_by_pinyin_initials(run_app, services: Services):
    for name in ("李明", "赵秀英"):
        assert services.save_member({"name": name, "duty": "party_member"})[0]

    async def scenario(h: Harness) -> None:
        await h.go("/households/members")
        await h.type("member-query", "zxy")
        assert h.keys("member:") and len(h.keys("member:")) == 1
        assert "赵秀英" in h.screen_text() and "李明" not in h.screen_text()

    run_app(scenario)


def test_the_demo_grid_has_a_register_with_pairings_and_member_visits(services: Services):
    from app.demo_seed import MEMBERS, seed_demo

    seed_demo(services.store, services.grid_id, services.user_id, services.profile["village_id"],
              households=40, rng_seed=7, photos=0)
    members = services.members()
    assert [(m["name"], m["household_count"]) for m in sorted(members, key=lambda m: m["name"])] == \
        sorted((name, n) for name, _duty, _app, n in MEMBERS)
    report = services.pairing_report()
    assert report.total.households == 40 and report.total.paired == sum(n for *_x, n in MEMBERS)
    assert report.total.unpaired_ids  # some households are still without anyone, as in a village
    assert sum(report.total.member_visits.values()) > 0
    assert all(v["fields"].get("companion") in {m["id"] for m in members} for v in services.store.all("visit")
               if v["fields"].get("companion"))


def test_a_member_leaves_the_register_with_their_links(run_app, services: Services):
    hid, _ = services.save_household({"head": "王建国", "address": "东风村3组12号"})
    mid, _ = services.save_member({"name": "李明", "duty": "party_member"})
    assert services.pair(mid, hid) == {}

    async def scenario(h: Harness) -> None:
        await h.go(f"/households/members/{mid}")
        await h.tap("member-remove")  # the first tap only asks
        assert services.member(mid) is not None and "再点一次" in h.screen_text()
        await h.tap("member-remove")
        assert h.route == "/households/members" and not h.has_key(f"member:{mid}")
        assert services.member(mid) is None and services.household_members(hid) == []
        assert services.pairing_report().total.paired == 0
        assert all(p["fields"].get("_deleted") for p in services.store.all("pairing", include_deleted=True))

    run_app(scenario)
