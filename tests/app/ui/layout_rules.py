"""Control combinations Flutter cannot lay out. In a release build each one paints as an
empty grey box (the red error screen of a debug build), so the harness fails on them.

- an ``expand`` child of a wrapping ``Row`` (a Flutter ``Wrap`` has no flex);
- an ``expand`` child of a scrolling ``Column`` / ``Row`` / ``View`` (no bounded length to
  share out along the scroll axis);
- a ``TextField`` / ``Dropdown`` / ``ListTile`` in a plain ``Row`` with neither ``expand`` nor
  a ``width`` (they take all the width there is, and a Row offers unbounded width).
"""

from __future__ import annotations

from typing import Any

import flet as ft
from flet.components.public_utils import unwrap_component
from harness import _key, iter_controls

# Controls that size themselves to the width they are given (infinite in a Row).
_WIDTH_HUNGRY = (ft.TextField, ft.Dropdown, ft.ListTile)


def _expands(c: Any) -> bool:
    return bool(getattr(c, "expand", None))


def _children(c: Any) -> list[Any]:
    return [unwrap_component(x) for x in (getattr(c, "controls", None) or []) if x is not None]


def _hungry(c: Any) -> bool:
    """A width-hungry control, possibly inside wrappers that give it no width of their own."""
    while c is not None:
        if getattr(c, "width", None) is not None or _expands(c):
            return False
        if isinstance(c, _WIDTH_HUNGRY):
            return True
        if isinstance(c, (ft.Container, ft.Semantics)):
            c = unwrap_component(c.content)
            continue
        return False
    return False


def _name(c: Any) -> str:
    key = _key(c)
    return f"{type(c).__name__}({key!r})" if key is not None else type(c).__name__


def layout_faults(root: Any) -> list[str]:
    """One line per control combination under ``root`` that Flutter cannot lay out."""
    faults: list[str] = []
    for c in iter_controls(root):
        kids = _children(c)
        if not kids:
            continue
        if isinstance(c, ft.Row) and c.wrap:
            faults += [f"{_name(k)} has expand inside a wrapping {_name(c)}" for k in kids if _expands(k)]
        elif isinstance(c, (ft.Row, ft.Column, ft.View)) and c.scroll is not None:
            faults += [f"{_name(k)} has expand inside a scrolling {_name(c)}" for k in kids if _expands(k)]
        elif isinstance(c, ft.Row):
            faults += [f"{_name(k)} needs expand or a width inside {_name(c)}" for k in kids if _hungry(k)]
    return faults
