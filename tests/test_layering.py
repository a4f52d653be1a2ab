"""Dependencies point one way: app -> sync. Nothing under sync/ imports app or Flet."""

import ast
from pathlib import Path

SYNC = Path(__file__).resolve().parents[1] / "sync"
FORBIDDEN = ("app", "flet", "flet_web")


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_sync_never_imports_app_or_flet():
    files = sorted(SYNC.rglob("*.py"))
    assert len(files) > 20  # the scan sees the package
    bad = [(f.relative_to(SYNC.parent), name) for f in files for name in _imports(f)
           if name.split(".")[0] in FORBIDDEN]
    assert bad == []
