"""Many devices at once: nothing lost, nothing doubled; the feed never skips a late commit."""

from __future__ import annotations

import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

from sync.server import admin, auth, feed
from tests.support.server import Org, RunningServer, enroll_device, household


def test_twenty_devices_pushing_at_once(server: RunningServer, org: Org) -> None:
    devices = [enroll_device(server, "张网格" if i % 2 else "李网格") for i in range(20)]
    batches = []
    for d in devices:
        grid, village = (org.grid_a, org.village_a) if d.grids == [org.grid_a] else (org.grid_b, org.village_b)
        batches.append([household(d, grid, village, head=f"户{i}")[1] for i in range(15)])

    def push(i: int) -> list[str]:
        d, batch = devices[i], batches[i]
        statuses = [a["status"] for a in d.sync(batch).json()["acks"]]
        # the response was "lost": send it all again, interleaved with the others
        statuses += [a["status"] for a in d.sync(batch[::-1]).json()["acks"]]
        return statuses

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(push, range(20)))
    for statuses in results:
        assert statuses == ["applied"] * 15 + ["duplicate"] * 15
    ids = {c["id"] for b in batches for c in b}
    assert server.count("applied_changes") == len(ids) == 300
    staff = enroll_device(server, "赵干部")
    pulled = [r["id"] for r in staff.pull_all() if r["kind"] == "household"]
    assert sorted(pulled) == sorted(ids)


def test_reader_sees_every_committed_change_exactly_once(server: RunningServer, org: Org) -> None:
    """Writers hold their transaction open for a random time after taking sequence numbers
    (a late commit); a reader pulling all the time must neither skip nor repeat a record."""
    staff = enroll_device(server, "赵干部")
    staff.pull_all()
    writers = [enroll_device(server, "张网格") for _ in range(4)]
    principal = server.run(auth.principal_for_user, writers[0].user_id)
    written: set[str] = set()
    lock = threading.Lock()
    stop = threading.Event()
    rng = random.Random(7)

    def write(w, rounds: int) -> None:  # type: ignore[no-untyped-def]
        for _ in range(rounds):
            batch = [household(w, org.grid_a, org.village_a)[1] for _ in range(rng.randint(1, 5))]
            with server.engine.begin() as conn:
                acks = feed.apply_changes(conn, principal, batch)
                time.sleep(rng.random() * 0.03)  # commit late
            assert all(a["status"] == "applied" for a in acks)
            with lock:
                written.update(c["id"] for c in batch)

    seen: list[str] = []

    def read() -> None:
        while not stop.is_set():
            r = staff.sync(pull_limit=7).json()
            seen.extend(x["id"] for x in r["records"] if x["kind"] == "household")
            staff.cursor = r["cursor"]

    reader = threading.Thread(target=read)
    reader.start()
    threads = [threading.Thread(target=write, args=(w, 12)) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    reader.join()
    seen.extend(x["id"] for x in staff.pull_all() if x["kind"] == "household")
    assert len(seen) == len(set(seen)), "a record was delivered twice"
    assert set(seen) == written, "a committed record was skipped"


def test_one_code_raced_by_ten_phones_enrolls_exactly_one(server: RunningServer, org: Org) -> None:
    _, code = server.run(admin.create_enrollment, "张网格")
    barrier = threading.Barrier(10)

    def try_enroll(_: int) -> int:
        barrier.wait()
        return requests.post(f"{server.api}/enroll", json={"code": code}, timeout=60).status_code

    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(try_enroll, range(10)))
    assert sorted(statuses) == [200] + [403] * 9
