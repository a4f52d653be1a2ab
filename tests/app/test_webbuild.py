"""`gridwall app build`: the static site the phone's browser runs (no CDN, only what one
browser needs, Python packages inside the app archive, our service worker), its version,
and how it refuses bad output folders."""

from __future__ import annotations

import json
import re
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app import webbuild
from app.cli import app as gridwall


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> webbuild.BuildResult:
    return webbuild.build(tmp_path_factory.mktemp("phone") / "build")


def _archive(out: Path) -> dict[str, bytes]:
    with tarfile.open(out / "app.tar.gz", "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def test_the_page_loads_only_local_files_and_our_service_worker(built: webbuild.BuildResult) -> None:
    out = built.out
    index = (out / "index.html").read_text(encoding="utf-8")
    # defect 1 of flet-web 1.0.5: a module worker cannot import a bare specifier
    assert 'flet.pyodideUrl="./pyodide/pyodide.mjs";' in index
    assert 'flet.webRenderer="canvaskit";' in index and 'flet.entrypointBaseUrl="/app/";' in index
    assert '<base href="/app/">' in index and f'data-build="{built.version}"' in index
    assert "gridwall-boot.js" in index and 'src="flutter_bootstrap.js"' not in index
    assert not re.search(r"https?://", index.split("<!-- fletAppConfig -->")[0] + index.split("</script>")[-1])
    boot = (out / "flutter_bootstrap.js").read_text(encoding="utf-8")
    # Flutter's worker unregisters itself and would take our scope: the loader is not given one
    assert not re.search(r"serviceWorkerSettings:\s*\{", boot) and "_flutter.loader.load({" in boot
    assert 'flutterConfig.canvasKitVariant = "full";' in boot
    assert "navigator.storage.persist" in (out / "gridwall-boot.js").read_text(encoding="utf-8")
    # the CJK font is Flutter's default family, so no fallback font is fetched for Chinese
    # drawn before the theme arrives, and Roboto is not fetched at all
    fonts = json.loads((out / "assets" / "FontManifest.json").read_text(encoding="utf-8"))
    [cjk] = [f for f in fonts if f["family"] == "Roboto"]
    assert (out / "assets" / cjk["fonts"][0]["asset"]).stat().st_size > 1_000_000
    # every font the manifest names is in the build (Flutter loads them all at every start)
    for family in fonts:
        for f in family["fonts"]:
            assert (out / "assets" / f["asset"]).is_file(), f
    assert not [f for f in fonts if f["family"].startswith(("KaTeX", "packages/cupertino"))]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["start_url"] == manifest["scope"] == "/app/" and manifest["name"] == "网格通"


def test_only_the_files_one_browser_needs(built: webbuild.BuildResult) -> None:
    names = {p.relative_to(built.out).as_posix() for p in built.out.rglob("*") if p.is_file()}
    for needed in ("main.dart.js", "canvaskit/canvaskit.wasm", "pyodide/pyodide.asm.wasm",
                   "pyodide/python_stdlib.zip", "python.js", "gridwall-worker.js",
                   "app.tar.gz", "sw.js", "build.json"):
        assert needed in names, needed
    for unused in ("main.dart.wasm", "main.dart.mjs", "canvaskit/skwasm.wasm", "flutter.js.map",
                   "canvaskit/chromium/canvaskit.wasm", "flutter_service_worker.js",
                   "python-worker.js", "pyodide/pyodide-lock.json", "assets/fonts/roboto.woff2"):
        assert unused not in names, unused
    assert not [n for n in names if n.endswith((".symbols", ".whl", ".exe"))]
    info = json.loads((built.out / "build.json").read_text(encoding="utf-8"))
    assert set(info["files"]) == names - {"build.json"}
    assert info["bytes"] == sum((built.out / f).stat().st_size for f in info["files"])
    assert 0 < info["gzip_bytes"] < info["bytes"] < 60_000_000


def test_the_service_worker_precaches_every_file_of_this_version(built: webbuild.BuildResult) -> None:
    sw = (built.out / "sw.js").read_text(encoding="utf-8")
    assert f'const VERSION = "{built.version}";' in sw and 'const BASE = "/app/";' in sw
    files = json.loads(re.search(r"const FILES = (\[.*?\]);", sw, re.S).group(1))
    on_disk = {p.relative_to(built.out).as_posix() for p in built.out.rglob("*") if p.is_file()}
    assert set(files) == on_disk - {"sw.js", "build.json"}


def test_the_app_archive_holds_our_code_and_pure_python_packages(built: webbuild.BuildResult) -> None:
    files = _archive(built.out)
    assert "from app.browser import prepare, run" in files["main.py"].decode()
    assert json.loads(files["gridwall_build.json"]) == {"version": built.version}
    for needed in ("app/browser.py", "app/ui/app.py", "app/locale/phone.json", "sync/records.py",
                   "__pypackages__/flet/__init__.py", "__pypackages__/msgpack/fallback.py",
                   "__pypackages__/tinydb/__init__.py", "__pypackages__/pypinyin/__init__.py"):
        assert needed in files, needed
    # no native code (it cannot run in wasm), no server, no micropip list to fetch
    assert not [n for n in files if n.endswith((".so", ".pyd"))]
    assert not [n for n in files if n.startswith(("sync/server/", "tests/"))]
    assert "requirements.txt" not in files and "pyproject.toml" not in files


def test_an_up_to_date_build_is_kept_and_the_version_follows_the_inputs(
        built: webbuild.BuildResult, tmp_path: Path) -> None:
    again = webbuild.build(built.out)
    assert not again.built and again.version == built.version
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("x = 1\n")
    b.write_text("y = 1\n")
    v1 = webbuild.input_version([("src/a.py", a), ("src/b.py", b)])
    assert v1 == webbuild.input_version([("src/a.py", a), ("src/b.py", b)])
    b.write_text("y = 2\n")
    assert webbuild.input_version([("src/a.py", a), ("src/b.py", b)]) != v1


def test_cli_builds_and_refuses_a_folder_that_is_not_a_build(built: webbuild.BuildResult, tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(gridwall, ["app", "build", "--out", str(built.out)])
    assert ok.exit_code == 0 and built.version in ok.output, ok.output
    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    bad = runner.invoke(gridwall, ["app", "build", "--out", str(precious)])
    assert bad.exit_code == 1
    assert "不是手机版构建目录" in bad.output and "Traceback" not in bad.output
    assert (precious / "notes.txt").read_text() == "keep me"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".mine")]  # no leftovers


def test_home_screen_icons_are_the_apps(built: webbuild.BuildResult) -> None:
    from PIL import Image

    for name, size in (("icons/icon-512.png", 512), ("icons/icon-192.png", 192), ("favicon.png", 32)):
        with Image.open(built.out / name) as im:
            assert im.size == (size, size)
            assert im.convert("RGB").getpixel((2, 2)) == (198, 40, 40), name  # the app's red


def test_the_browser_start_imports_only_what_the_build_ships() -> None:
    """What the phone build's start imports must be in the app archive or Python's standard
    library (no Pillow, typer, rich or the server in the browser)."""
    import subprocess
    import sys

    code = (
        "import sys, json\n"
        "import app.browser, app.ui.app, app.device, app.services, app.services.syncing\n"
        "from app.ui.screens.staff import STAFF_ROUTES\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    import os

    env = dict(os.environ, MSGPACK_PUREPYTHON="1")  # as in the browser (no C extension there)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=webbuild.ROOT, env=env)
    loaded = set(json.loads(out.stdout))
    import importlib.metadata as md

    # besides ours: setuptools' hook and compiled charset-normalizer's runtime, in this venv only
    shipped = {"app", "sync", "_distutils_hack", "cython_runtime"}
    for dist in webbuild.BROWSER_DISTS:
        top = md.distribution(dist).read_text("top_level.txt")
        shipped |= set(top.split()) if top else {dist.replace("-", "_")}
    foreign = sorted(m for m in loaded - shipped - set(sys.stdlib_module_names) - webbuild.OPTIONAL_NOT_SHIPPED
                     if not m.startswith("_"))
    assert not foreign, foreign


# Node.js runs the build's own Pyodide here: the worker's archive reader writes app.tar.gz into
# Pyodide's in-memory file system as in the browser, then Python checks the bytecode.
NODE_CHECK = r"""
import path from "node:path";
import fs from "node:fs";
import vm from "node:vm";
import { pathToFileURL } from "node:url";
const [build, worker] = process.argv.slice(2);
const ctx = { self: {}, console, Blob, Response, DecompressionStream, TextDecoder };
vm.createContext(ctx);
vm.runInContext(fs.readFileSync(worker, "utf8"), ctx);
const { loadPyodide } = await import(pathToFileURL(path.join(build, "pyodide/pyodide.mjs")).href);
// the lock file header our python.js hands the worker
const lock = fs.readFileSync(path.join(build, "python.js"), "utf8").match(/lockFileContents: (.*),\n/)[1];
const pyodide = await loadPyodide({ indexURL: path.join(build, "pyodide") + "/",
                                    stdLibURL: path.join(build, "pyodide/python_stdlib.zip"),
                                    lockFileContents: JSON.parse(lock) });
const tar = await ctx.unpackTarGzBytes(fs.readFileSync(path.join(build, "app.tar.gz")));
ctx.unpackTar(pyodide.FS, tar, pyodide.FS.cwd());
pyodide.registerJsModule("flet_js", {});
console.log(await pyodide.runPythonAsync(`
import importlib.util, json, os, sys, zipfile
bad, n, files = [], 0, {}
for root, dirs, names in os.walk("."):
    for name in names:
        p = os.path.join(root, name)[2:]
        files[p] = os.path.getsize(p)
        if name.endswith(".py"):
            pyc = importlib.util.cache_from_source(p)
            try:
                data = open(pyc, "rb").read()
            except OSError:
                bad.append("no pyc: " + p)
                continue
            src = open(p, "rb").read()
            n += 1
            if data[:4] != importlib.util.MAGIC_NUMBER or data[4:8] != bytes([1, 0, 0, 0]) \
                    or data[8:16] != importlib.util.source_hash(src):
                bad.append("stale or foreign pyc: " + p)
stdlib = next(p for p in sys.path if p.endswith(".zip"))
with zipfile.ZipFile(stdlib) as z:
    names = set(z.namelist())
    missing = [m for m in names if m.endswith(".py") and m + "c" not in names]
before = {k for k in files if k.endswith(".pyc")}
sys.path.insert(0, "__pypackages__")
import app.browser, app.ui.app, flet
after = {os.path.join(r, x)[2:] for r, _, xs in os.walk(".") for x in xs if x.endswith(".pyc")}
json.dumps({"checked": n, "bad": bad, "stdlib_missing": missing, "files": files,
            "written_at_import": sorted(after - before),
            "from_stdlib_zip": json.__spec__.origin.startswith(stdlib)})
`));
"""


def test_the_phone_imports_bytecode_compiled_by_its_own_pyodide(
        built: webbuild.BuildResult, tmp_path: Path) -> None:
    """Every module of the app archive and of the standard library ships with the .pyc that
    Pyodide's CPython accepts (its magic number, the source's hash, unchecked), and importing
    the app compiles nothing; the worker's JavaScript unpacks the archive whole."""
    # a test machine has Node.js (scripts/setup.sh installs it): never skipped
    assert webbuild.node() is not None, "Node.js is missing: run scripts/setup.sh --test"
    import subprocess

    assert built.bytecode
    script = tmp_path / "check.mjs"
    script.write_text(NODE_CHECK)
    run = subprocess.run([webbuild.node(), str(script), str(built.out),
                          str(built.out / "gridwall-worker.js")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["checked"] > 500 and got["bad"] == [] and got["stdlib_missing"] == []
    assert got["written_at_import"] == []  # every import found its bytecode valid
    assert got["from_stdlib_zip"]
    # the JavaScript reader unpacked exactly what the archive holds, byte for byte in size
    expected = {n: len(d) for n, d in _archive(built.out).items()}
    assert got["files"] == expected
