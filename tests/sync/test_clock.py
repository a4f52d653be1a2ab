"""HybridClock: monotonic across wall-clock jumps and restarts, observe, offset; stamp order."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.clock import MAX_COUNTER, HybridClock, Stamp, is_stamp, make_stamp, stamp_wall_ms


class Wall:
    """A wall clock the test sets by hand (seconds)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self) -> float:
        return self.seconds


def test_stamp_format_and_parse_round_trip():
    s = make_stamp(1_790_000_000_123, 10, "dev-1")
    assert s == "1790000000123-000a-dev-1"
    assert is_stamp(s) and stamp_wall_ms(s) == 1_790_000_000_123
    assert Stamp.parse(s) == Stamp(1_790_000_000_123, 10, "dev-1")
    for bad in ("", "123-0000-x", "1790000000123-00g0-x", "1790000000123-0000-", None, 5):
        assert not is_stamp(bad)
    with pytest.raises(ValueError):
        Stamp.parse("not a stamp")


def test_bad_node_is_refused():
    with pytest.raises(ValueError):
        HybridClock("手机 1")
    with pytest.raises(ValueError):
        HybridClock("")


def test_now_increases_when_the_wall_clock_stands_still_or_goes_back():
    wall = Wall(1_790_000_000.0)
    c = HybridClock("a", wall=wall)
    seen = [c.now(), c.now()]
    wall.seconds -= 3600  # the phone's clock jumps back an hour
    seen += [c.now(), c.now()]
    wall.seconds += 7200
    seen.append(c.now())
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert [Stamp.parse(s).counter for s in seen] == [0, 1, 2, 3, 0]
    assert stamp_wall_ms(seen[2]) == 1_790_000_000_000  # kept counting from the last stamp


def test_counter_overflow_moves_to_the_next_millisecond():
    c = HybridClock("a", last=make_stamp(5000, MAX_COUNTER, "a"), wall=Wall(1.0))
    assert c.now() == make_stamp(5001, 0, "a")


def test_observe_a_remote_stamp_from_the_future():
    c = HybridClock("phone", wall=Wall(1_000.0))  # a phone in 1970
    remote = make_stamp(1_790_000_000_000, 7, "server")
    c.observe(remote)
    mine = c.now()
    assert mine > remote and Stamp.parse(mine).node == "phone"
    c.observe(make_stamp(5, 0, "old"))  # an old stamp changes nothing
    assert c.now() > mine


def test_restart_with_persisted_last_stays_monotonic():
    wall = Wall(1_790_000_000.0)
    first = HybridClock("a", wall=wall)
    stamps = [first.now() for _ in range(3)]
    wall.seconds -= 86_400  # after the restart the wall clock is a day behind
    again = HybridClock("a", last=first.last, wall=wall)
    assert again.now() > stamps[-1]


def test_offset_corrects_a_clock_that_is_far_off():
    wall = Wall(1_000_000_000.0)  # 2001
    c = HybridClock("a", offset_ms=790_000_000_000, wall=wall)
    assert c.wall_ms() == 1_790_000_000_000
    assert stamp_wall_ms(c.now()) == 1_790_000_000_000


@settings(max_examples=200, deadline=None)
@given(
    st.tuples(st.integers(0, 9_999_999_999_999), st.integers(0, MAX_COUNTER), st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True)),
    st.tuples(st.integers(0, 9_999_999_999_999), st.integers(0, MAX_COUNTER), st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True)),
)
def test_string_order_is_stamp_order(x, y):
    sx, sy = make_stamp(*x), make_stamp(*y)
    assert (sx < sy) == (Stamp(*x) < Stamp(*y))
    assert (sx == sy) == (x == y)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(-10_000, 10_000).map(lambda d: ("tick", d)), st.integers(0, 2_000_000).map(lambda w: ("observe", w))), max_size=30))
def test_stamps_strictly_increase_whatever_happens(steps):
    wall = Wall(1_790_000_000.0)
    c = HybridClock("a", wall=wall)
    last = c.now()
    for op, value in steps:
        if op == "tick":
            wall.seconds += value / 1000
        else:
            c.observe(make_stamp(1_789_999_000_000 + value, 3, "b"))
        stamp = c.now()
        assert stamp > last and stamp == c.last
        last = stamp
