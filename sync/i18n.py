"""The message catalog: every user-facing string goes through ``t(key, **params)``.

Catalogs are JSON files, one per part (``sync/locale/model.json``, ``app/locale/ui.json`` ...),
each mapping a key to its text per language::

    {"model.required": {"zh": "请填写{field}", "en": "{field} is required"}}

Chinese (``zh``) is the default and must be present for every key; a language that lacks a
key falls back to Chinese. A missing key returns the key itself, so it shows up in tests.

The language is per context (a ``ContextVar``), not per process: a PC serving several browser
sessions shows each its own language. ``set_language`` sets it for the current context (the
CLI, a test, a thread). A host whose code runs in tasks it does not create (Flet runs each
event of a session in a fresh task, copied from the connection's context, not the session's)
registers ``set_language_source``: it names the current context's language when it knows it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path

DEFAULT_LANG = "zh"
LANGS = ("zh", "en")

_dirs: list[Path] = [Path(__file__).parent / "locale"]
_catalog: dict[str, dict[str, str]] | None = None
_lang: ContextVar[str | None] = ContextVar("gridwall_language", default=None)
_source: Callable[[], str | None] | None = None


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
    """The language of the current context (and of the tasks it starts from now on)."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(LANGS)}")
    _lang.set(lang)


def set_language_source(source: Callable[[], str | None] | None) -> None:
    """Who knows the language of a context better than the context itself: ``source()``
    returns it, or None where it does not know (then the context's own language holds)."""
    global _source
    _source = source


def language() -> str:
    """The host's answer for this context first (a Flet session's own language), else the
    context's own, else Chinese."""
    lang = _source() if _source is not None else None
    return lang or _lang.get() or DEFAULT_LANG


def t(key: str, lang: str | None = None, **params: object) -> str:
    """The text for key in lang (default: the current language), with {params} filled in."""
    entry = catalog().get(key)
    if entry is None:
        return key
    text = entry.get(lang or language()) or entry.get(DEFAULT_LANG) or key
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError):
            return text
    return text
