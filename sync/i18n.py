"""The message catalog: every user-facing string goes through ``t(key, **params)``.

Catalogs are JSON files, one per part (``sync/locale/model.json``, ``app/locale/ui.json`` ...),
each mapping a key to its text per language::

    {"model.required": {"zh": "请填写{field}", "en": "{field} is required"}}

Chinese (``zh``) is the default and must be present for every key; a language that lacks a
key falls back to Chinese. A missing key returns the key itself, so it shows up in tests.
"""

from __future__ import annotations

import json
from pathlib import Path

DEFAULT_LANG = "zh"
LANGS = ("zh", "en")

_dirs: list[Path] = [Path(__file__).parent / "locale"]
_catalog: dict[str, dict[str, str]] | None = None
_lang = DEFAULT_LANG


def add_catalog_dir(path: Path) -> None:
    """Register another folder of catalog files (the app adds its own)."""
    global _catalog
    if path not in _dirs:
        _dirs.append(path)
        _catalog = None


def catalog() -> dict[str, dict[str, str]]:
    global _catalog
    if _catalog is None:
        merged: dict[str, dict[str, str]] = {}
        for d in _dirs:
            for f in sorted(d.glob("*.json")):
                merged.update(json.loads(f.read_text(encoding="utf-8")))
        _catalog = merged
    return _catalog


def set_language(lang: str) -> None:
    global _lang
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(LANGS)}")
    _lang = lang


def language() -> str:
    return _lang


def t(key: str, lang: str | None = None, **params: object) -> str:
    """The text for key in lang (default: the current language), with {params} filled in."""
    entry = catalog().get(key)
    if entry is None:
        return key
    text = entry.get(lang or _lang) or entry.get(DEFAULT_LANG) or key
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError):
            return text
    return text
