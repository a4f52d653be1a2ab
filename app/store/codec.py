"""Decoding the store's JSON files (and writing its caches).

orjson where it is installed (the township PC and the server: a county's 233 MB of records
decode in 1.1 s instead of 2.9 s), the standard library where it is not (Pyodide in the
phone's browser and the APK have no orjson build, so it stays out of their dependencies). The
two read the same documents the same way; a file only the standard parser accepts (a NaN
written by Python's ``json``) is still read by it.
"""

from __future__ import annotations

import json
from typing import Any

try:
    import orjson
except ImportError:  # the phone: the standard parser
    orjson = None


def loads(raw: bytes | str) -> Any:
    """The JSON value in ``raw``; raises ``json.JSONDecodeError`` or ``UnicodeDecodeError``
    as ``json.loads`` does."""
    if orjson is not None:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # let the standard parser decide, and word the error
    return json.loads(raw)


def dumps(value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON (string keys, JSON types only): for caches beside the
    store that only this code reads back (``ledger-lines.json``: 29 MB at 50,000 issues)."""
    if orjson is not None:
        return orjson.dumps(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
