"""The sha256 shape, once: photos and bundles are named by the sha256 of their bytes, written
as 64 lower-case hex digits (records, the API, bundles, the device store)."""

from __future__ import annotations

import re

SHA256_PATTERN = r"^[0-9a-f]{64}$"  # for pydantic fields and path parameters
SHA256_RE = re.compile(SHA256_PATTERN)


def is_sha256(value: object) -> bool:
    """True for a sha256 as gridwall writes it (64 lower-case hex digits)."""
    return isinstance(value, str) and SHA256_RE.fullmatch(value) is not None
