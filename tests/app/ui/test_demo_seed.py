"""The demo grid is made from code and looks like real work; `gridwall app` rejects bad input."""

from __future__ import annotations

import subprocess
import sys

from harness import Harness

from app.demo_seed import seed_demo


def test_seed_demo_makes_a_realistic_grid(services):
    counts = seed_demo(services.store, services.grid_id, services.user_id,
                       services.profile["village_id"], households=40, rng_seed=7)
    assert counts["household"] == 40
    assert counts["visit"] >= 80 and counts["photo"] >= 4
    heads = [h["title"] for h in services.households()]
    assert len(set(heads)) == 40 and all(len(x) >= 2 for x in heads)
    assert sum(1 for h in services.households() if h["tags"]) >= 10
    statuses = set(services.issue_counts())
    assert {"submitted", "assigned", "resolved", "closed", "claimed", "fulfilled"} <= statuses
    assert not [r for r in services.issues() if r["flagged"]]
    # today's two visits are local work waiting in the outbox, the rest came "from the server"
    assert services.outbox()["by_kind"].get("visit") == 2
    assert services.today()["due"] and services.today()["recheck"]


# What an office expects of a register: (relation to the head) -> how much older or younger.
_GAP = {"配偶": (-10, 10), "儿子": (18, 45), "女儿": (18, 45), "儿媳": (16, 48), "女婿": (16, 48),
        "孙子": (36, 80), "孙女": (36, 80), "母亲": (-50, -16), "父亲": (-50, -16)}
# Which unit takes which category (sync.reference.UNITS), as a township office would send it.
_HANDLERS = {"infra.lighting": {"town-power"}, "infra.power": {"town-power"},
             "infra.water": {"town-water"}, "infra.road": {"village-committee", "town-office"},
             "env.garbage": {"town-env"}, "env.sewage": {"town-env"}, "env.noise": {"town-env", "town-safety"},
             "livelihood.allowance": {"town-civil"}, "livelihood.medical": {"town-civil"},
             "livelihood.children": {"town-civil"}, "livelihood.elderly": {"town-civil"},
             "safety.dispute": {"town-safety", "village-committee"}, "safety.fire": {"town-safety", "town-power"},
             # a dispatched wish (派单) goes to civil affairs or the village committee
             "wish.goods": {"town-civil", "village-committee"}, "wish.service": {"town-civil", "village-committee"}}


def test_seeded_households_and_dispatches_are_what_an_office_would_find_normal(services):
    year = 2026
    seed_demo(services.store, services.grid_id, services.user_id, services.profile["village_id"],
              households=80, rng_seed=11, photos=0, now_ms=1_780_000_000_000)  # 2026-05
    for h in services.store.all("household"):
        f = h["fields"]
        members, tags = f["members"], set(f["care_tags"])
        assert members[0]["relation"] == "户主" and members[0]["name"] == f["head"], f
        assert f["member_count"] == len(members)
        head_born = members[0]["birth_year"]
        ages = [year - m["birth_year"] for m in members]
        assert all(0 <= a <= 100 for a in ages), f
        for m in members[1:]:
            low, high = _GAP[m["relation"]]
            assert low <= m["birth_year"] - head_born <= high, (m, head_born, tags)
        relations = {m["relation"] for m in members}
        if "高龄老人" in tags:
            assert max(ages) >= 80, f
        if "独居老人" in tags:
            assert len(members) == 1 and ages[0] >= 60, f
        if "空巢老人" in tags:
            assert ages[0] >= 60 and not relations & {"儿子", "女儿", "孙子", "孙女"}, f
        if "留守儿童" in tags:
            assert any(year - m["birth_year"] < 16 for m in members if m["relation"] in ("孙子", "孙女")), f
            assert not relations & {"儿子", "女儿", "儿媳", "女婿"}, f  # the parents work away
        assert len(tags & {"独居老人", "空巢老人", "留守儿童", "特困供养"}) <= 1, f
    issues = {i["id"]: i["fields"] for i in services.store.all("issue")}
    assigns = [e["fields"] for e in services.store.all("issue_event") if e["fields"]["type"] == "assign"]
    assert assigns
    for e in assigns:
        category = issues[e["issue"]]["category"]
        assert e["data"]["unit"] in _HANDLERS[category], (issues[e["issue"]]["title"], e["data"])


def test_seed_is_deterministic(tmp_path):
    from app.services import Services

    heads = []
    for name in ("a", "b"):
        svc = Services.open(tmp_path / name)
        seed_demo(svc.store, "grid-1", "user-1", "village-1", households=12, rng_seed=3, photos=0,
                  now_ms=1_780_000_000_000)
        heads.append(sorted(h["title"] for h in svc.households()))
        svc.close()
    assert heads[0] == heads[1]


def test_app_opens_on_the_seeded_grid(run_app, services):
    seed_demo(services.store, services.grid_id, services.user_id, services.profile["village_id"],
              households=15, photos=2)

    async def scenario(h: Harness) -> None:
        assert h.keys("due:") and h.keys("recheck:")
        await h.nav(3)
        assert len(h.keys("issue:")) >= 6
        await h.nav(1)
        assert len(h.keys("household:")) == 15

    run_app(scenario)


def test_cli_rejects_a_bad_port_with_a_clear_message(tmp_path):
    r = subprocess.run([sys.executable, "-m", "app.cli", "app", "--data", str(tmp_path), "--port", "0"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "端口 0" in r.stderr and "Traceback" not in r.stderr
