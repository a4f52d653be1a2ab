"""The starter pack on the phone's browser (docs/starter-pack.md): the engine on asyncio reads
whole answers, so it asks for the pack in ranges (``starter.download_steps``), keeps each
beside the store, and after a cut asks only for what it lacks. Real HTTP on 127.0.0.1, the
real server, the async transport of the browser's tests, the link emulator's cuts."""

from __future__ import annotations

import asyncio

import pytest
import requests

from sync.client import starter
from sync.client.engine import SyncEngine
from sync.client.replica import MemoryReplica
from tests.support.linkemu import Fault
from tests.sync.client.test_async_engine import LoopEngine, async_transport
from tests.sync.client.test_starter import SNAP, _new, _state, big  # noqa: F401 - the fixture

CHUNK = 1024  # small ranges, so a grid's pack of a few KB takes several


@pytest.fixture
def loop():
    lp = asyncio.new_event_loop()
    yield lp
    lp.close()


@pytest.fixture
def phone(loop, monkeypatch):
    """phone(replica, url, enrolment, **rules): an engine on the async transport."""
    monkeypatch.setattr(starter, "CHUNK", CHUNK)
    made: list[LoopEngine] = []

    def make(rep, url, en, **rules) -> LoopEngine:
        rules.setdefault("read_timeout", 5.0)
        rules.setdefault("deadline_s", 10.0)
        e = LoopEngine(rep, url, en.token, device_id=en.device_id, secret=en.secret,
                       transport=async_transport(url, en.token, [], **rules))
        e.loop = loop
        made.append(e)
        return e

    yield make
    for e in made:
        loop.run_until_complete(e.transport.fetch.client.aclose())


def _size(big, en) -> int:  # noqa: F811 - big is the fixture
    return len(requests.get(big.url + SNAP, headers={"Authorization": f"Bearer {en.token}"}, timeout=30).content)


def test_the_phone_starts_from_the_pack_in_ranges_and_converges(big, phone):  # noqa: F811
    a, ea = _new(big, "w2")
    size = _size(big, ea)
    eng = phone(a, big.url, ea)
    rep = eng.sync_once()
    assert rep.ok, rep.error
    ranges = -(-size // CHUNK)
    assert ranges >= 3 and eng.transport.stats.by_path[SNAP] == ranges
    assert rep.pages <= 2  # the offer, then one page of what is past the pack
    b, eb = _new(big, "w3")
    assert SyncEngine(b, big.url, eb.token, pull_limit=20, adaptive=False).sync_once().ok
    assert _state(a) == _state(b) and a.cursor() == b.cursor() and len(a.records) >= 160
    again = eng.sync_once()
    assert again.ok and again.requests == 1 and eng.transport.stats.by_path[SNAP] == ranges


def test_a_cut_ends_the_sync_and_the_next_asks_only_for_the_rest(big, phone, proxy_for, tmp_path):  # noqa: F811
    a, ea = _new(big, "w2", path=tmp_path / "a.json")
    size = _size(big, ea)
    p = proxy_for(big.url)
    p.add(Fault.cut("down", size // 2, match=b"GET /api/v1/snapshot"))
    rep = phone(a, p.url, ea, max_attempts=1).sync_once()  # one attempt: the cut ends this sync
    assert not rep.ok and rep.error.code == "offline"
    held = starter.partial_path(a).stat().st_size
    assert 0 < held < size and held % CHUNK == 0 and a.records == {} and a.cursor() is None
    # after a restart: a new replica on the same file, a new engine
    b = MemoryReplica(a.node, path=tmp_path / "a.json", actor=a.actor)
    eng = phone(b, p.url, ea)
    rep = eng.sync_once()
    assert rep.ok, rep.error
    assert eng.transport.stats.by_path[SNAP] == -(-(size - held) // CHUNK)  # only the ranges it lacked
    assert not starter.partial_path(b).exists()
    c, ec = _new(big, "w3")
    assert SyncEngine(c, big.url, ec.token).sync_once().ok
    assert _state(b) == _state(c)


def test_a_cut_within_one_sync_costs_at_most_one_range(big, phone, proxy_for):  # noqa: F811
    a, ea = _new(big, "w2")
    size = _size(big, ea)
    p = proxy_for(big.url)
    p.add(Fault.cut("down", size // 3, match=b"GET /api/v1/snapshot"))
    eng = phone(a, p.url, ea, backoff_base_s=0.01)
    rep = eng.sync_once()
    assert rep.ok, rep.error
    assert eng.transport.stats.by_path[SNAP] == -(-size // CHUNK) + 1  # the cut range again
    assert rep.bytes_received < size + CHUNK + 6000  # the pack, one range again, a page and headers


def test_a_partial_of_a_pack_the_server_no_longer_has_starts_over_in_ranges(big, phone, tmp_path):  # noqa: F811
    """What it holds is of another pack (the server built a newer one meanwhile): it must not
    be sent the whole new pack in one answer (a 2G link may never finish it), and must not
    splice the two: it starts over, range by range."""
    a, ea = _new(big, "w2", path=tmp_path / "a.json")
    size = _size(big, ea)
    part = starter.partial_path(a)
    part.write_bytes(b"PK" + b"\0" * (3 * CHUNK - 2))  # three ranges of an older pack
    a.meta_set(starter.META, {"etag": '"0123-an-older-pack"'})
    eng = phone(a, big.url, ea)
    rep = eng.sync_once()
    assert rep.ok, rep.error
    assert eng.transport.stats.by_path[SNAP] == 1 + -(-size // CHUNK)  # one range lost, then the pack
    assert rep.bytes_received < size + CHUNK + 6000
    c, ec = _new(big, "w3")
    assert SyncEngine(c, big.url, ec.token).sync_once().ok
    assert _state(a) == _state(c)


def test_a_whole_pack_held_but_not_applied_is_not_fetched_again(big, phone, tmp_path):  # noqa: F811
    a, ea = _new(big, "w2", path=tmp_path / "a.json")
    r = requests.get(big.url + SNAP, headers={"Authorization": f"Bearer {ea.token}"}, timeout=30)
    starter.partial_path(a).write_bytes(r.content)  # as if the sync ended before applying it
    a.meta_set(starter.META, {"etag": r.headers["ETag"]})
    eng = phone(a, big.url, ea)
    rep = eng.sync_once()
    assert rep.ok, rep.error
    assert eng.transport.stats.by_path[SNAP] == 1  # a 416 saying it is all there
    assert rep.bytes_received < 6000 and len(a.records) >= 160
