"""Hybrid logical clock (HLC): wall time + counter + node.

A stamp is a string that sorts the way stamps compare: ``WWWWWWWWWWWWW-CCCC-node``
(13 digits of milliseconds, 4 hex digits of counter, the node id). Comparing two stamps as
strings compares (wall, counter, node), which is the total order merge uses.

The clock never goes backwards: it keeps the highest stamp it has issued or seen, and the
caller persists ``last`` so this holds across restarts. A device whose wall clock jumps back
keeps counting from its last stamp. ``offset_ms`` (told by the server) corrects a device clock
that is far off.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_COUNTER = 0xFFFF
# The server clamps a stamp further ahead of its time than this (a wrong device clock must
# not win a merge); a device drops such a value of its own once acked (sync.merge).
CLAMP_AHEAD_MS = 5 * 60 * 1000
_STAMP_RE = re.compile(r"^([0-9]{13})-([0-9a-f]{4})-([A-Za-z0-9_.:-]{1,64})$")


@dataclass(frozen=True, order=True)
class Stamp:
    wall_ms: int
    counter: int
    node: str

    def __str__(self) -> str:
        return f"{self.wall_ms:013d}-{self.counter:04x}-{self.node}"

    @classmethod
    def parse(cls, text: str) -> Stamp:
        m = _STAMP_RE.fullmatch(text) if isinstance(text, str) else None
        if not m:
            raise ValueError(f"not a clock stamp: {text!r}")
        return cls(int(m.group(1)), int(m.group(2), 16), m.group(3))


def is_stamp(text: object) -> bool:
    return isinstance(text, str) and bool(_STAMP_RE.fullmatch(text))


def stamp_wall_ms(text: str) -> int:
    return int(text[:13])


def make_stamp(wall_ms: int, counter: int, node: str) -> str:
    return str(Stamp(wall_ms, counter, node))


class HybridClock:
    """Issues stamps for one node. Not thread safe; one clock per store."""

    def __init__(
        self,
        node: str,
        last: str | None = None,
        offset_ms: int = 0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if not _STAMP_RE.fullmatch(f"0000000000000-0000-{node}"):
            raise ValueError(f"bad clock node id: {node!r}")
        self.node = node
        self.offset_ms = offset_ms
        self._wall = wall
        self._last = Stamp.parse(last) if last else Stamp(0, 0, node)

    @property
    def last(self) -> str:
        """The highest stamp issued or observed; persist it to stay monotonic across restarts."""
        return str(self._last)

    def wall_ms(self) -> int:
        return int(self._wall() * 1000) + self.offset_ms

    def now(self) -> str:
        """A new stamp, strictly greater than every stamp issued or observed before."""
        wall = self.wall_ms()
        last = self._last
        if wall > last.wall_ms:
            nxt = Stamp(wall, 0, self.node)
        elif last.counter < MAX_COUNTER:
            nxt = Stamp(last.wall_ms, last.counter + 1, self.node)
        else:
            nxt = Stamp(last.wall_ms + 1, 0, self.node)
        self._last = nxt
        return str(nxt)

    def observe(self, stamp: str) -> None:
        """Take a remote stamp into account so later local stamps sort after it."""
        s = Stamp.parse(stamp)
        if (s.wall_ms, s.counter) > (self._last.wall_ms, self._last.counter):
            self._last = Stamp(s.wall_ms, s.counter, self.node)
