"""Model-based: three grid workers' devices and a township staff client edit the same
records under random network faults (cuts, lost responses, stalls, 503s) against the real
server; afterwards every replica holds the identical state, nothing lost, nothing doubled."""

from __future__ import annotations

import itertools
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from sync.client.engine import SyncEngine
from sync.client.replica import MemoryReplica
from sync.records import ValidationError
from tests.support.linkemu import FaultProxy
from tests.support.server import RealServer, enroll_user, new_team, photo_blob

_counter = itertools.count()


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    s = RealServer(tmp_path_factory.mktemp("conv"))
    yield s
    s.stop()


OPS = st.lists(
    st.tuples(st.integers(0, 3), st.sampled_from(["create", "edit", "edit", "photo", "sync", "sync"]),
              st.integers(0, 50), st.integers(0, 1000)),
    min_size=4, max_size=25,
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS, seed=st.integers(0, 2**16))
def test_devices_and_staff_converge_under_faults(real, ops, seed):
    tag = str(next(_counter))
    grid, users = new_team(real, tag)
    rng = random.Random(seed)
    actors = []
    proxies = []
    for uid in [*users.values(), real.org.users["staff"]]:
        en = enroll_user(real, uid)
        rep = MemoryReplica(en.device_id, actor=en.user["id"])
        p = FaultProxy(("127.0.0.1", real.port), seed=rng.randint(0, 2**16))
        p.set_chaos(cut=0.15, drop_response=0.1, stall=0.02, http_error=0.05)
        eng = SyncEngine(rep, p.url, en.token, sleep=lambda s: None, rng=random.Random(seed),
                         read_timeout=0.5, deadline_s=2.0, max_attempts=3, batch_size=4,
                         pull_limit=7, chunk_size=8 * 1024, adaptive=False)
        actors.append((rep, eng))
        proxies.append(p)
    made: list[str] = []
    created: list[str] = []
    photos: list[str] = []
    try:
        for who, op, n, v in ops:
            rep, eng = actors[who]
            known = sorted(rid for rid, r in rep.records.items() if r["kind"] == "household" and r["grid"] == grid)
            if op == "create" or (op in ("edit", "photo") and not known):
                c = rep.create("household", grid, {"village": real.org.village, "address": f"{n}号", "head": f"户主{v}"})
                created.append(c["id"])
                made.append(c["change_id"])
            elif op == "edit":
                try:
                    c = rep.update(known[n % len(known)], {"note": f"改{v}", "member_count": v % 10})
                    made.append(c["change_id"])
                except ValidationError:
                    pass
            elif op == "photo":
                data = photo_blob(rng.randint(100, 20_000))
                sha = rep.add_photo(data)
                c = rep.create("photo", grid, {"sha256": sha, "size": len(data), "width": 4, "height": 3,
                                               "attached_to": {"kind": "household", "id": known[n % len(known)]}})
                made.append(c["change_id"])
                photos.append(sha)
            else:
                eng.sync_once()  # may fail under faults: that is the point
        for p in proxies:
            p.set_chaos()  # the tower comes back
        for _rep, eng in actors:  # and a slow answer on a busy CI machine is not a stall
            eng.transport.read_timeout, eng.transport.deadline_s, eng.transport.max_attempts = 30, 60, 6
        for _ in range(2):
            for _rep, eng in actors:
                rep_ = eng.sync_once()
                assert rep_.ok, rep_.error
        states = []
        for rep, _eng in actors:
            assert rep.outbox_size() == 0 and rep.refused_changes() == []
            assert rep.photos_to_upload() == [] and rep.missing_photos() == []
            states.append({k: v for k, v in rep.state().items() if v["grid"] == grid})
        server = {k: v for k, v in real.state().items() if v["grid"] == grid}
        assert all(s == server for s in states)  # identical everywhere
        assert set(created) <= set(server)  # nothing lost
        with real.engine.connect() as conn:
            got = [r[0] for r in conn.execute(text("SELECT change_id FROM applied_changes"))]
        mine = [c for c in got if c in set(made)]
        assert sorted(mine) == sorted(made)  # each change applied exactly once
        assert all(real.blobs.has(s) for s in photos)
        for rep, _ in actors:
            assert all(rep.photos.get(s) is not None for s in photos)
    finally:
        for p in proxies:
            p.close()
        for _, eng in actors:
            eng.transport.close()
