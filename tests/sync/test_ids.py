"""UUIDv7 ids: format, version and variant bits, time order, ordering within a millisecond."""

import uuid

import pytest

from sync import ids
from sync.ids import id_time_ms, is_id, new_id


@pytest.fixture
def fresh(monkeypatch):
    """Start the id generator's memory from scratch; restored after the test so the ids
    made here (some in the future) do not shift the ids other tests make."""
    monkeypatch.setattr(ids, "_last_ms", 0)
    monkeypatch.setattr(ids, "_seq", 0)


def test_new_id_is_a_uuid7():
    value = new_id()
    assert is_id(value)
    parsed = uuid.UUID(value)
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert str(parsed) == value  # lower case, canonical


def test_id_carries_its_millisecond(fresh):
    assert id_time_ms(new_id(now_ms=1_790_000_123_456)) == 1_790_000_123_456


def test_ids_are_strictly_increasing_within_one_millisecond_and_when_the_clock_goes_back(fresh):
    ms = 1_890_000_000_000
    ids = [new_id(now_ms=ms) for _ in range(5000)]  # more than the 12-bit counter holds
    ids += [new_id(now_ms=ms - 60_000) for _ in range(10)]  # the clock went back a minute
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert id_time_ms(ids[-1]) >= ms


def test_is_id_rejects_other_shapes():
    assert not is_id(str(uuid.uuid4()))
    assert not is_id(new_id().upper())
    assert not is_id(new_id()[:-1])
    assert not is_id(None) and not is_id(12)


def test_a_trailing_newline_is_not_part_of_a_valid_id_stamp_or_reference():
    from sync.clock import is_stamp
    from sync.hashes import is_sha256
    from sync.records import is_ref

    assert not is_id(new_id() + "\n")
    assert not is_stamp("1732435200000-0000-node\n")
    assert not is_sha256("a" * 64 + "\n")
    assert not is_ref("v1\n")
