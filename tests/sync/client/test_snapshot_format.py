"""The starter pack's payload (sync/snapshot.py) gives back exactly the records it was given."""

from __future__ import annotations

import lzma

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync import snapshot as fmt

stamps = st.builds(lambda w, c, n: f"{w:013d}-{c:04x}-{n}", st.integers(1_600_000_000_000, 1_900_000_000_000),
                   st.integers(0, 0xFFFF), st.sampled_from(["dev-a", "dev-b", "server"]))
names = st.sampled_from(["head", "phone", "household", "title", "note", "_deleted", "data"])
values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False) | st.text(max_size=8)
    | st.sampled_from(["东村", "grid-1", "grid-2"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


@st.composite
def record(draw: st.DrawFn) -> dict:
    fields = draw(st.dictionaries(names, values, max_size=5))
    rec = {"id": draw(st.uuids()).hex, "kind": draw(st.sampled_from(["visit", "household", "issue"])),
           "grid": draw(st.sampled_from([None, "g1", "g2"])), "fields": fields,
           "stamps": {k: draw(stamps) for k in fields}, "seq": draw(st.integers(1, 10**9))}
    if draw(st.booleans()):
        rec["bases"] = {k: draw(st.none() | stamps) for k in fields}
    if draw(st.integers(0, 9)) == 0:
        rec["seen"] = {k: {"dev-c": draw(stamps)} for k in fields}
    if draw(st.integers(0, 19)) == 0:
        del rec["grid"]
    if draw(st.integers(0, 19)) == 0 and fields:
        rec["stamps"][next(iter(fields))] = "not a stamp"
    return rec


@settings(max_examples=150, deadline=None)
@given(st.lists(record(), max_size=30, unique_by=lambda r: r["seq"]))
def test_roundtrip_is_exact_in_feed_order(recs: list[dict]) -> None:
    want = sorted(recs, key=lambda r: r["seq"])
    assert fmt.decode(fmt.encode(recs)) == want
    for codec in ("zlib", "lzma"):
        assert fmt.unpack(fmt.pack(recs, codec)) == want


def test_damaged_or_foreign_payloads_are_refused() -> None:
    recs = [{"id": f"r{i}", "kind": "visit", "grid": "g", "fields": {"n": i}, "stamps": {"n": "1764000000000-0000-a"},
             "bases": {"n": None}, "seq": i + 1} for i in range(50)]
    blob = fmt.pack(recs)
    with pytest.raises(fmt.SnapshotError):
        fmt.unpack(b"q" + blob[1:])  # unknown codec
    with pytest.raises(fmt.SnapshotError):
        fmt.unpack(blob[: len(blob) // 2] + b"\0" * 10)
    with pytest.raises(fmt.SnapshotError):  # well compressed, but not our shape
        fmt.unpack(b"x" + lzma.compress(b'{"v": 1, "kinds": {"visit": {"n": 3}}}'))
    with pytest.raises(fmt.SnapshotError):  # another version
        fmt.unpack(b"x" + lzma.compress(b'{"v": 2, "kinds": {}}'))
    with pytest.raises(fmt.SnapshotError):  # a bomb: inflates past the limit
        fmt.unpack(b"x" + lzma.compress(b" " * 100_000), max_inflated=10_000)
