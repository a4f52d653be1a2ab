"""Dependencies point one way: app -> sync, and inside sync/ floor by floor (docs/architecture.md).

The import graph is built with ast over every module under sync/, imports inside functions
included (a lazy import must not hide a loop).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SYNC = ROOT / "sync"
FORBIDDEN = ("app", "flet", "flet_web")

# The floors, lowest first: a module may import its own floor and the floors below, never one
# above. A name is a module or a folder (every module under it); the longest name that matches
# places a module. On a floor marked apart, different names may not import each other.
FLOORS: list[tuple[str, tuple[str, ...], bool]] = [
    ("base", ("sync", "sync.ids", "sync.clock", "sync.i18n", "sync.fileio", "sync.hashes", "sync.canon",
              "sync.chinatime", "sync.reference", "sync.workdays", "sync.cli_numbers", "sync.public_code",
              "sync.voice", "sync.enroll_link"), False),  # sync.voice: limits and checks of voice notes (no codec)
    ("schema", ("sync.records",), False),  # record kinds, fields, validation
    ("changes", ("sync.changes", "sync.merge", "sync.workflow", "sync.registry", "sync.photos", "sync.photo_contract",
                 "sync.public_guard", "sync.bundles", "sync.snapshot", "sync.intake", "sync.inbox"),
     False),  # sync.bundles holds the bundle format only; sync.snapshot a starter pack's payload
    # Pure: figures, ledger, echo-wall pages over lists of records. Below the server because
    # the server serves the echo wall and its front page (sync/server/wall.py, front.py).
    ("reports", ("sync.reports",), False),
    ("ends", ("sync.client", "sync.server"), True),  # the device and the server never import each other
    # The one module that composes: `gridwall report` fetches over HTTP (sync.client.fetch)
    # and exports with the pure report modules.
    ("commands", ("sync.reports.cli",), False),
]
# What "pure" means for reports: no HTTP, no database, no sockets.
IMPURE = ("requests", "httpx", "urllib.request", "socket", "sqlalchemy", "fastapi", "starlette", "uvicorn")


@functools.cache
def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(SYNC.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imported(name: str, path: Path) -> set[str]:
    """Every absolute module name ``name`` imports (anywhere in the file), relative ones resolved."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            subs = {f"{base}.{a.name}" for a in node.names}  # `from sync.server import feed`
            known = subs & set(_modules())
            out.update(known)
            if known != subs:  # names from the package itself, not (only) its submodules
                out.add(base)
    return out


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {name: {m for m in _imported(name, path) if m in mods and m != name} for name, path in mods.items()}


def _place(module: str) -> tuple[int, str]:
    """(floor index, the name that placed it)."""
    best: tuple[int, str] | None = None
    for i, (_, names, _apart) in enumerate(FLOORS):
        for n in names:
            if (module == n or module.startswith(n + ".") or n == "sync") and (best is None or len(n) > len(best[1])):
                best = (i, n)
    assert best is not None, module
    return best


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _folder(module: str, mods: dict[str, Path]) -> str:
    return module if mods[module].name == "__init__.py" else module.rpartition(".")[0]


def test_sync_never_imports_app_or_flet():
    files = sorted(SYNC.rglob("*.py"))
    assert len(files) > 20  # the scan sees the package
    bad = [(f.relative_to(ROOT), name) for f in files for name in _imported("sync.x", f)
           if name.split(".")[0] in FORBIDDEN]
    assert bad == []


def test_every_module_stands_on_a_stated_floor():
    # "sync" places the top-level package only; a new top-level module must be given a floor.
    stray = [m for m in _modules() if _place(m)[1] == "sync" and m != "sync"]
    assert stray == [], f"add these to FLOORS: {stray}"


def test_no_import_goes_up_a_floor_or_across_an_apart_floor():
    bad = []
    for module, targets in _graph().items():
        (floor, room) = _place(module)
        for target in targets:
            (t_floor, t_room) = _place(target)
            if t_floor > floor:
                bad.append(f"{module} ({FLOORS[floor][0]}) imports {target} ({FLOORS[t_floor][0]})")
            elif t_floor == floor and FLOORS[floor][2] and t_room != room:
                bad.append(f"{module} imports {target}: {room} and {t_room} stay apart")
    assert bad == []


def test_no_loop_between_modules():
    assert _cycles(_graph()) == []


def test_no_loop_between_folders():
    mods = _modules()
    folders: dict[str, set[str]] = {}
    for module, targets in _graph().items():
        src = _folder(module, mods)
        folders.setdefault(src, set()).update(f for t in targets if (f := _folder(t, mods)) != src)
    assert _cycles(folders) == []


def test_reports_stay_pure():
    mods = _modules()
    bad = [(m, name) for m, path in mods.items() if FLOORS[_place(m)[0]][0] == "reports"
           for name in _imported(m, path) if name.split(".")[0] in {i.split(".")[0] for i in IMPURE}
           and any(name == i or name.startswith(i + ".") for i in IMPURE)]
    assert bad == []


def test_the_checks_see_a_loop_and_an_upward_import():
    # The rules are only as good as the graph: a known loop and a known upward edge are caught.
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _place("sync.records")[0] < _place("sync.merge")[0] < _place("sync.server.feed")[0]
    assert _place("sync.reports.cli")[0] > _place("sync.client.fetch")[0]
    assert "sync.server.feed" in _imported("sync.server.bundles", SYNC / "server" / "bundles.py")


def test_no_private_name_crosses_a_module():
    # A name with a leading underscore is its module's own; another module reaching for it
    # (imported, or as module._name) couples the two behind the contract's back.
    bad = []
    for module, path in _modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sync"):
                bad += [f"{module} imports {node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
                aliases.update(a.asname or a.name for a in node.names)
            elif isinstance(node, ast.Import):
                aliases.update(a.asname or a.name.split(".")[0] for a in node.names if a.name.startswith("sync"))
        bad += [f"{module} uses {node.value.id}.{node.attr}" for node in ast.walk(tree)
                if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                and node.attr.startswith("_") and not node.attr.startswith("__")]
    assert bad == []
