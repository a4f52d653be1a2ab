"""No private name crosses a module of the app: no ``from x import _name``, and no ``obj._name``
unless this module defines ``_name`` itself (its own class's attribute, its own helper). A
name another module needs is public, or the need is a seam in the wrong place."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _defined_here(tree: ast.AST) -> set[str]:
    """Private names this module defines: functions, classes, names and attributes it assigns."""
    out: set[str] = set()
    for n in ast.walk(tree):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(n.name)
        elif isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store):
            out.add(n.attr)
        elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
            out.add(n.id)
    return {x for x in out if _private(x)}


def private_crossings(folder: Path, root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        mine = _defined_here(tree)
        where = path.relative_to(root)
        for n in ast.walk(tree):
            if isinstance(n, ast.ImportFrom):
                found += [f"{where}:{n.lineno}: from {n.module} import {a.name}"
                          for a in n.names if _private(a.name)]
            elif isinstance(n, ast.Attribute) and _private(n.attr) and n.attr not in mine:
                found.append(f"{where}:{n.lineno}: .{n.attr} (defined in another module)")
    return found


def test_no_private_name_crosses_a_module_of_the_app():
    assert private_crossings(ROOT / "app") == []


def test_the_check_sees_both_kinds_of_crossing(tmp_path):
    (tmp_path / "a.py").write_text("from b import _helper\n\ndef f(services):\n    return services._edit()\n")
    (tmp_path / "b.py").write_text("class B:\n    def __init__(self):\n        self._own = 1\n\n"
                                   "    def g(self, other):\n        return other._own\n")
    assert private_crossings(tmp_path, tmp_path) == ["a.py:1: from b import _helper",
                                                     "a.py:4: ._edit (defined in another module)"]
