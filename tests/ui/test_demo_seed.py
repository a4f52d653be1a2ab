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
