"""Bounded soak: devices and staff edit the same records for many rounds under random faults
(cuts, lost responses, stalls, 503s, the tower going away), with bundles mixed in; at the end
every replica must equal the server, with nothing lost and nothing doubled.

    .venv/bin/python benchmarks/soak.py [--rounds 300] [--seed 1]

Prints the fault counts, the sync outcomes, and the final check. Exit status 1 on divergence.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from sync.client.bundles import apply_return, export_bundle  # noqa: E402
from sync.client.engine import SyncEngine  # noqa: E402
from sync.records import RECORD_KINDS, ValidationError  # noqa: E402
from sync.server.bundles import import_bundle  # noqa: E402
from tests.support.linkemu import FaultProxy  # noqa: E402
from tests.support.server import RealServer, photo_blob  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as d:
        real = RealServer(Path(d) / "srv")
        actors = []
        try:
            for who in ("w1", "w2", "w3", "staff"):
                rep, en = real.device(who)
                p = FaultProxy(("127.0.0.1", real.port), seed=rng.randint(0, 2**31))
                p.set_chaos(cut=0.12, drop_response=0.08, stall=0.02, http_error=0.05, refuse=0.03)
                eng = SyncEngine(rep, p.url, en.token, sleep=lambda s: None, rng=random.Random(rng.random()),
                                 read_timeout=0.5, deadline_s=2.0, max_attempts=3, batch_size=5, pull_limit=9,
                                 chunk_size=8 * 1024, adaptive=False)
                actors.append((who, rep, en, eng, p))
            made: list[str] = []
            outcomes = {"ok": 0, "failed": 0, "bundles": 0}
            t0 = time.perf_counter()
            for _ in range(args.rounds):
                who, rep, en, eng, p = rng.choice(actors)
                homes = sorted(r for r, v in rep.records.items() if v["kind"] == "household")
                op = rng.random()
                if op < 0.25 or not homes:
                    made.append(real.household(rep, head=f"户主{rng.randint(0, 9999)}")["change_id"])
                elif op < 0.6:
                    try:
                        made.append(rep.update(rng.choice(homes), {"note": f"改{rng.randint(0, 99)}"})["change_id"])
                    except ValidationError:
                        pass
                elif op < 0.68:
                    data = photo_blob(rng.randint(1000, 40_000))
                    sha = rep.add_photo(data)
                    made.append(rep.create("photo", real.org.grid, {
                        "sha256": sha, "size": len(data), "width": 4, "height": 3,
                        "attached_to": {"kind": "household", "id": rng.choice(homes)}})["change_id"])
                elif op < 0.72:
                    # Sneakernet: export, import (sometimes twice), apply the return bundle.
                    path = Path(d) / f"{who}-{rng.randint(0, 10**9)}.gwb"
                    export_bundle(rep, path, device_id=en.device_id, user=en.user["id"], secret=bytes.fromhex(en.secret))
                    for _ in range(rng.choice([1, 2])):
                        res = import_bundle(real.engine, real.blobs, path.read_bytes())
                    apply_return(rep, res.return_bundle, device_id=en.device_id, secret=bytes.fromhex(en.secret))
                    outcomes["bundles"] += 1
                elif op < 0.74:
                    p.cut_all()
                else:
                    outcomes["ok" if eng.sync_once().ok else "failed"] += 1
            for *_, eng, p in actors:
                p.set_chaos()
                eng.transport.read_timeout, eng.transport.deadline_s, eng.transport.max_attempts = 30, 60, 6
            for _ in range(2):
                for *_, eng, _p in actors:
                    r = eng.sync_once()
                    assert r.ok, r.error
            elapsed = time.perf_counter() - t0
            server = {k: v for k, v in real.state().items() if v["kind"] in RECORD_KINDS}
            with real.engine.connect() as conn:
                applied = sorted(r[0] for r in conn.execute(text("SELECT change_id FROM applied_changes")))
            problems = []
            for who, rep, *_ in actors:
                mine = {k: v for k, v in rep.state().items() if v["kind"] in RECORD_KINDS}
                if mine != server:
                    problems.append(f"{who}: state differs from the server")
                if rep.outbox_size() or rep.refused_changes():
                    problems.append(f"{who}: outbox {rep.outbox_size()}, refused {len(rep.refused_changes())}")
            if applied != sorted(made):
                problems.append(f"applied {len(applied)} changes, made {len(made)}")
            faults: dict[str, int] = {}
            for *_, p in actors:
                for f in p.stats.faults_fired:
                    k = f.split()[0]
                    faults[k] = faults.get(k, 0) + 1
            print(f"rounds {args.rounds}, seed {args.seed}, {elapsed:.1f} s")
            print(f"changes made {len(made)}, applied once each: {applied == sorted(made)}; records {len(server)}")
            print(f"syncs ok {outcomes['ok']}, failed under faults {outcomes['failed']}, bundles {outcomes['bundles']}")
            print("faults fired:", ", ".join(f"{k} {v}" for k, v in sorted(faults.items())))
            print("RESULT:", "converged, nothing lost or doubled" if not problems else "; ".join(problems))
            return 1 if problems else 0
        finally:
            for *_, eng, p in actors:
                p.close()
                eng.transport.close()
            real.stop()


if __name__ == "__main__":
    raise SystemExit(main())
