"""Knowledge lives once: the sha256 shape, China time, canonical JSON and the time inside an id
each have one home under sync/; nothing in sync/ or app/ restates them."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# (what, a pattern that restates it, the one file allowed to hold it)
ONCE = [
    ("the sha256 shape", re.compile(r"\{64\}"), "sync/hashes.py"),
    ("China's offset", re.compile(r"hours\s*=\s*8|CHINA_TZ\s*=|def china_today|def china_time"), "sync/chinatime.py"),
    ("canonical JSON", re.compile(r"sort_keys=True[^\n]*separators|def _canon\b"), "sync/canon.py"),
    ("the time inside an id", re.compile(r"\[:12\],\s*16"), "sync/ids.py"),
]


def test_each_piece_of_knowledge_has_one_home():
    files = [p for d in ("sync", "app") for p in (ROOT / d).rglob("*.py")]
    assert len(files) > 50
    found = {what: sorted(str(p.relative_to(ROOT)) for p in files if pattern.search(p.read_text(encoding="utf-8")))
             for what, pattern, _home in ONCE}
    assert found == {what: [home] for what, _pattern, home in ONCE}
