"""The public code (查询码) of a problem: short, read out loud, typed into the wall's lookup.

Why derived and not allocated. Issues are created on phones that are offline for days, and by
staff desks and bulk imports at the same time; an allocated number (a counter per township)
would need every creator to ask one place first, or would collide when two offline phones took
the same next number. So the code is a pure function of the issue's id (a UUIDv7 made on the
device, 74 random bits): every device, the server and a printed 回执 compute the same code with
no field to sync, no migration, and old issues have codes too.

Shape: ``K7QM-3XPD``: 7 characters from a 31-letter alphabet without 0 O 1 I L (nothing that
reads as another character on paper or when spoken), then a check character (weighted sum
mod 31, a prime: every single wrong character and every swap of two neighbours is caught, so
a misread code says "check the code" instead of showing somebody else's problem).

Collisions. 31**7 ≈ 2.75e10 codes: among the 10,000 problems a village might have in a decade
the chance that two share a code is about 1 in 550 (n²/2N), and across a county's 238 villages
a shared code may occur somewhere. The lookup is per village and shows every match, each with
public facts only, so a collision shows two entries, never a wrong one or a private one.
Guessing: with 10,000 problems a random code hits one with p ≈ 4e-7, and misses are
rate-limited per address (sync/server/wall.py).
"""

from __future__ import annotations

import hashlib
import unicodedata

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # 31 characters: no 0 O 1 I L
BODY = 7
LENGTH = BODY + 1  # with the check character
_BASE = len(ALPHABET)
_INDEX = {c: i for i, c in enumerate(ALPHABET)}


def _check(body: str) -> str:
    return ALPHABET[sum((i + 1) * _INDEX[c] for i, c in enumerate(body)) % _BASE]


def public_code(issue_id: str) -> str:
    """The issue's code, grouped for reading: ``XXXX-XXXX``."""
    n = int.from_bytes(hashlib.sha256(f"gridwall public code {issue_id}".encode()).digest()[:8], "big")
    body = ""
    for _ in range(BODY):
        n, r = divmod(n, _BASE)
        body += ALPHABET[r]
    raw = body + _check(body)
    return f"{raw[:4]}-{raw[4:]}"


def normalize(text: str) -> str:
    """What a resident typed, as the code's 8 characters: full-width forms folded, upper
    case, spaces and dashes dropped (``k7qm 3xpd`` -> ``K7QM3XPD``)."""
    folded = unicodedata.normalize("NFKC", text or "").upper()
    return "".join(c for c in folded if c.isalnum())


def is_valid(text: str) -> bool:
    """True when ``text`` (after ``normalize``) has the code's shape and its check character."""
    s = normalize(text)
    return len(s) == LENGTH and all(c in _INDEX for c in s) and _check(s[:BODY]) == s[BODY]


def same_code(text: str, issue_id: str) -> bool:
    return normalize(text) == normalize(public_code(issue_id))
