"""Canonical JSON, once: sorted keys, no spaces, UTF-8 text kept. Equal values give equal
strings, so merge and the workflow order and compare values by it."""

from __future__ import annotations

import json
from typing import Any


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
