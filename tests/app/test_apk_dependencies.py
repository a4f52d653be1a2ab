"""The native Android app (`flet build apk`) installs [tool.poetry.dependencies] (Flet reads it
before [project].dependencies, which holds the server's too). That list must cover every
third-party import of what the APK ships (app/ and sync/ minus [tool.flet.app].exclude), hold
nothing else, and agree with [project].dependencies on versions; and nothing shipped may import
what is left out."""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
import tomllib
from pathlib import Path

from app.webbuild import OPTIONAL_NOT_SHIPPED

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
FLET_APP = PYPROJECT["tool"]["flet"]["app"]
# Modules the browser's Pyodide provides (app.browser imports them only there).
PYODIDE_MODULES = {"js", "pyodide", "pyodide_js", "flet_js"}
# Used where installed, with a standard-library fallback (no phone build of them): each import
# must sit in a ``try`` that catches ImportError.
OPTIONAL_ON_DEVICE = OPTIONAL_NOT_SHIPPED


def _name(req: str) -> str:
    return re.split(r"[\s\[<>=!~;]", req.strip(), maxsplit=1)[0].lower().replace("_", "-")


def device_dependencies() -> dict[str, str]:
    deps = PYPROJECT["tool"]["poetry"]["dependencies"]
    return {_name(k): v for k, v in deps.items() if k != "python"}


def _excluded(rel: str) -> bool:
    return any(rel == e or rel.startswith(e.rstrip("/") + "/") for e in FLET_APP["exclude"])


def shipped_modules() -> dict[str, Path]:
    """Dotted module name -> file, for every .py the APK ships."""
    out = {FLET_APP["module"]: ROOT / f"{FLET_APP['module']}.py"}
    for pkg in ("app", "sync"):
        for path in (ROOT / pkg).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if not _excluded(rel):
                out[rel[:-3].replace("/", ".").removesuffix(".__init__")] = path
    return out


def _imports(path: Path) -> set[str]:
    """Every absolute import in the file, at the top or inside a function."""
    names: set[str] = set()
    for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(n, ast.Import):
            names |= {a.name for a in n.names}
        elif isinstance(n, ast.ImportFrom) and n.level == 0 and n.module:
            names.add(n.module)
            names |= {f"{n.module}.{a.name}" for a in n.names}
    return names


def _guarded(path: Path) -> set[str]:
    """Modules imported inside a ``try`` whose handler catches ImportError."""
    names: set[str] = set()
    for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(n, ast.Try) and any(
                isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError")
                for h in n.handlers):
            for stmt in n.body:
                if isinstance(stmt, ast.Import):
                    names |= {a.name for a in stmt.names}
    return names


def test_the_apk_dependencies_cover_every_import_of_what_it_ships() -> None:
    deps = device_dependencies()
    by_module = md.packages_distributions()
    needed: dict[str, set[str]] = {}
    for mod, path in shipped_modules().items():
        for name in _imports(path):
            top = name.split(".")[0]
            if top in sys.stdlib_module_names or top in ("app", "sync", "__future__") \
                    or top in PYODIDE_MODULES:
                continue
            if top in OPTIONAL_ON_DEVICE:
                assert name in _guarded(path), f"{mod} imports {name} without a fallback for the phone"
                continue
            dists = by_module.get(top)
            assert dists, f"{mod} imports {top}, which no installed distribution provides"
            needed.setdefault(_name(dists[0]), set()).add(mod)
    missing = {d: sorted(m) for d, m in needed.items() if d not in deps}
    assert not missing, f"imported on the phone but not in [tool.poetry.dependencies]: {missing}"
    unused = sorted(set(deps) - set(needed))
    assert not unused, f"in [tool.poetry.dependencies] but nothing shipped imports it: {unused}"
    for server_only in ("fastapi", "uvicorn", "sqlalchemy", "psycopg", "alembic", "typer", "rich",
                        *OPTIONAL_ON_DEVICE):
        assert server_only not in deps


def test_nothing_shipped_imports_what_the_apk_leaves_out() -> None:
    shipped = shipped_modules()
    left_out = {
        p.relative_to(ROOT).as_posix()[:-3].replace("/", ".").removesuffix(".__init__")
        for pkg in ("app", "sync") for p in (ROOT / pkg).rglob("*.py")
        if _excluded(p.relative_to(ROOT).as_posix())}
    bad = sorted(f"{mod} imports {name}" for mod, path in shipped.items() for name in _imports(path)
                 if name in left_out or any(name.startswith(f"{x}.") for x in left_out))
    assert not bad, bad


def test_device_versions_agree_with_the_project() -> None:
    project = {_name(r): r for r in PYPROJECT["project"]["dependencies"]}
    for name, spec in device_dependencies().items():
        if name in project:
            assert project[name].replace(" ", "").endswith(spec.replace(" ", "")), (name, spec, project[name])


def test_the_entry_module_and_permissions() -> None:
    assert (ROOT / f"{FLET_APP['module']}.py").is_file()
    flet = PYPROJECT["tool"]["flet"]
    assert {"camera", "location"} <= set(flet["permissions"])
    android = flet["android"]["permission"]
    assert android["android.permission.ACCESS_BACKGROUND_LOCATION"] is False
