"""A writer process for the crash test: saves (or applies pulled pages) until it is killed.

    python -m tests.app.store.crash_writer save DATA_DIR SEED   prints "<record id> <change id> <n>" after each save returns
    python -m tests.app.store.crash_writer pull DATA_DIR SEED   prints "<page>" after each apply_remote returns

The parent SIGKILLs it at random moments and checks that everything printed is in the store.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from app.store import Store
from tests.app.store.store_helpers import load_merger, make_change

PAGE_SIZE = 12
BASE_MS = 1767225600000  # 2026-01-01


def det_id(rng: random.Random, ms: int) -> str:
    """A UUIDv7 made from a seeded generator, so the parent can rebuild every page."""
    h = f"{ms:012x}7{rng.getrandbits(12):03x}{0x8 | rng.getrandbits(2):x}{rng.getrandbits(60):015x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def new_ids(seed: int, n: int) -> list[str]:
    """Ids of the records first seen on page n (spread over ten months)."""
    rng = random.Random(seed * 100003 + n)
    return [det_id(rng, BASE_MS + rng.randrange(0, 300) * 86400000) for _ in range(PAGE_SIZE)]


def page(seed: int, n: int) -> list[dict]:
    """Page n of a pretend change feed: new visits, plus edits of records from earlier pages."""
    rng = random.Random(-seed - n)
    ids = new_ids(seed, n)
    recs = []
    for i in range(PAGE_SIZE):
        rid = ids[i]
        if n > 1 and i % 4 == 3:
            rid = rng.choice(new_ids(seed, rng.randrange(1, n)))  # a later edit
        stamp = f"{BASE_MS + n * 1000 + i:013d}-0000-server"
        recs.append({
            "id": rid, "kind": "visit", "grid": "g1",
            "fields": {"page": n, "note": f"第{n}页第{i}条"},
            "stamps": {"page": stamp, "note": stamp},
        })
    return recs


def run_save(store: Store, seed: int) -> None:
    rng = random.Random(seed)
    mine: list[tuple[str, str]] = [
        (r["kind"], r["id"]) for k in ("visit", "household") for r in store.all(k)
    ]
    n = max((r["fields"].get("n", 0) for k in ("visit", "household") for r in store.all(k)),
            default=0)
    while True:
        n += 1
        roll = rng.random()
        if roll < 0.25 and mine:
            kind, rid = rng.choice(mine)
            change = make_change(store, kind, rid=rid, n=n, note=f"修改{n}")
        else:
            kind = "visit" if roll < 0.8 else "household"
            change = make_change(store, kind, n=n, note=f"走访{n}", text="情况良好" * 20)
            mine.append((kind, change["id"]))
        store.save(change)
        sys.stdout.write(f"{change['kind']} {change['id']} {change['change_id']} {n}\n")
        sys.stdout.flush()


def run_pull(store: Store, seed: int) -> None:
    while True:
        n = int(store.cursor() or 0) + 1
        store.apply_remote(page(seed, n), str(n))
        sys.stdout.write(f"{n}\n")
        sys.stdout.flush()


def main() -> None:
    mode, data_dir, seed = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    store = Store.open(data_dir, node="crashdev", merger=load_merger())
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    (run_save if mode == "save" else run_pull)(store, seed)


if __name__ == "__main__":
    main()
