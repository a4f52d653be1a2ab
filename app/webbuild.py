"""``gridwall app build``: the field app as a static site that runs in the phone's browser.

Python runs in the browser (Pyodide, in a web worker), so the phone needs no server to work:
the central server serves this folder at ``/app/`` once, the service worker keeps it, and from
then on the app opens with the network off. Everything comes from this machine, no internet:

- the Flutter web client and the Pyodide runtime from the ``flet-web`` package, only the files
  one browser uses (the CanvasKit renderer with JavaScript, one CanvasKit variant that every
  browser can run; not the skwasm/wasm builds, debug symbols or micropip);
- ``app.tar.gz``: our ``app`` and ``sync`` code and, unpacked under ``__pypackages__``, the
  pure-Python packages the field app imports, copied from this environment's installed
  distributions (msgpack without its C extension: its own pure-Python fallback), so micropip
  never runs and no request leaves the server;
- the bundled CJK font, registered as Flutter's default family (so it never fetches a
  fallback font);
- our service worker (``sw.js``), boot script and Python worker, written from ``app/web``:
  the worker starts at once and loads Pyodide, the app's imports and the device store while
  the page loads Flutter (flet-web's starts only when Flutter has loaded).

Two defects of flet-web 1.0.5's ``--no-cdn`` output are fixed here: the bare
``pyodide/pyodide.mjs`` specifier (a module worker cannot import it; ``./pyodide/...`` works)
and Flutter's own service worker (it unregisters itself and would replace ours).

The build's version is a hash of its inputs; an up-to-date build is left alone.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.metadata as metadata
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from app.main import ROOT, bundled_font, cli
from app.runtime import PAGE_EVENTS
from sync.i18n import t

WEB_TEMPLATES = Path(__file__).resolve().parent / "web"
BASE_HREF = "/app/"  # where the central server serves the build (same origin as /api/v1)
PYODIDE_VERSION = "314.0.7"  # the runtime flet-web 1.0.5 ships
BUILD_FILE = "build.json"
BUILD_INFO = "gridwall_build.json"  # inside app.tar.gz: read by app.runtime
FORMAT = 1  # bump when the layout of a build changes

# Files of flet-web's web folder that one browser needs (paths relative to it).
WEB_FILES = (
    "index.html", "flutter.js", "flutter_bootstrap.js", "main.dart.js",
    "favicon.png", "manifest.json",
    "canvaskit/canvaskit.js", "canvaskit/canvaskit.wasm",
    "pyodide/pyodide.mjs", "pyodide/pyodide.asm.mjs", "pyodide/pyodide.asm.wasm",
    "pyodide/python_stdlib.zip",
)
PYODIDE_LOCK = "pyodide/pyodide-lock.json"  # its header only goes into our python.js
WEB_DIRS = ("icons", "assets")
SKIP_ASSETS = (
    "assets/packages/media_kit/",  # video player scripts: the app shows no video
    # Fonts Flutter loads at every start although the app draws nothing with them: math in
    # Markdown (KaTeX), Cupertino icons; and Roboto (the CJK font stands in, DEFAULT_FAMILY).
    "assets/packages/flutter_math_fork/", "assets/packages/cupertino_icons/",
    "assets/fonts/roboto.woff2",
)
# Distributions the field app imports in the browser (flet's own needs on Emscripten are
# repath, six and msgpack; flet-geolocator for the position on visits and issues;
# flet-audio-recorder and flet-audio for voice notes; requests and its helpers because the
# sync engine imports it).
BROWSER_DISTS = ("flet", "flet-geolocator", "flet-audio-recorder", "flet-audio", "repath", "six", "msgpack", "tinydb", "pypinyin",
                 "requests", "urllib3", "idna", "certifi", "charset-normalizer",
                 "chinesecalendar", "filelock")
# Imported where installed, with a standard-library fallback, and left out of the phone
# (Pyodide and the APK have no build of them): orjson (app/store/codec.py).
OPTIONAL_NOT_SHIPPED = frozenset({"orjson"})
OUR_PACKAGES = ("app", "sync")
SKIP_OURS = ("sync/server/", "app/webbuild.py")  # server side: never in a phone
# Flutter's web engine draws text with no font family of its own (e.g. the first frames,
# before the app's theme has arrived) in "Roboto", and fetches Roboto from its fallback-font
# folder unless the font manifest names a "Roboto" family. Registering the CJK font under
# that name covers both: no Roboto download, and no Noto Sans SC fallback fetched for
# Chinese drawn before the theme (Google's split files, 404 here).
DEFAULT_FAMILY = "Roboto"
# The worker awaits prepare() while the page loads Flutter and calls run() when it connects.
ENTRY = "from app.browser import prepare, run  # noqa: F401\n"
APP_ICON = ROOT / "assets" / "icon.png"  # made by scripts/make_icon.py
ICON_NAMES = ("icon-192.png", "icon-512.png", "icon-maskable-192.png", "icon-maskable-512.png",
              "apple-touch-icon-192.png")


class BuildError(Exception):
    """A build that cannot be made, in plain words (what is missing, what to do)."""


@dataclass
class BuildResult:
    out: Path
    version: str
    built: bool  # False: the folder already held this version
    bytes: int
    gzip_bytes: int
    files: int
    bytecode: bool  # precompiled .pyc shipped (Node.js was here to make them)


def flet_web_dir() -> Path:
    import flet_web

    return Path(flet_web.__file__).resolve().parent / "web"


def default_build_dir() -> Path:
    from sync.server.phone_app import DEFAULT_APP_DIR

    return DEFAULT_APP_DIR


def _our_files() -> Iterator[tuple[str, Path]]:
    for pkg in OUR_PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*")):
            rel = path.relative_to(ROOT).as_posix()
            if (path.is_file() and path.suffix in (".py", ".json") and "__pycache__" not in rel
                    and not rel.startswith(SKIP_OURS)):
                yield rel, path


def _dist_files(name: str) -> Iterator[tuple[str, Path]]:
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        raise BuildError(t("phone.build.missing_dist", name=name)) from None
    for f in sorted(dist.files or [], key=str):
        rel = str(f).replace(os.sep, "/")
        if rel.startswith("..") or "__pycache__" in rel or rel.endswith((".so", ".pyd", ".pyc")):
            continue  # compiled code cannot run in wasm; every one we ship has a Python fallback
        if ".dist-info/" in rel and not rel.endswith(("METADATA", "top_level.txt")):
            continue
        path = Path(dist.locate_file(f))
        if path.is_file():
            yield rel, path


def _web_files(web: Path) -> Iterator[tuple[str, Path]]:
    for rel in WEB_FILES:
        if not (web / rel).is_file():
            raise BuildError(t("phone.build.missing_web", path=web / rel))
        yield rel, web / rel
    for d in WEB_DIRS:
        for path in sorted((web / d).rglob("*")):
            rel = path.relative_to(web).as_posix()
            if path.is_file() and not rel.startswith(SKIP_ASSETS):
                yield rel, path


def _inputs(web: Path, font: Path) -> list[tuple[str, Path]]:
    files = [(f"web/{r}", p) for r, p in _web_files(web)] + [(f"web/{PYODIDE_LOCK}", web / PYODIDE_LOCK)]
    files += [(f"src/{r}", p) for r, p in _our_files()]
    for name in BROWSER_DISTS:
        files += [(f"pkg/{r}", p) for r, p in _dist_files(name)]
    files += [(f"tpl/{p.name}", p) for p in sorted(WEB_TEMPLATES.glob("*")) if p.is_file()]
    files.append((f"font/{font.name}", font))
    files.append(("icon/icon.png", APP_ICON))
    files.append(("build/webbuild.py", Path(__file__)))
    return files


def input_version(files: list[tuple[str, Path]], salt: str = "") -> str:
    h = hashlib.sha256(f"format {FORMAT}\n{salt}\n".encode())
    for rel, path in files:
        h.update(rel.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:12]


def _app_files(version: str) -> dict[str, bytes]:
    """What app.tar.gz holds: the entry module, our code, the pure-Python packages (under
    __pypackages__)."""
    files = {"main.py": ENTRY.encode(), BUILD_INFO: json.dumps({"version": version}).encode()}
    for rel, path in _our_files():
        files[rel] = path.read_bytes()
    for name in BROWSER_DISTS:
        for rel, path in _dist_files(name):
            files[f"__pypackages__/{rel}"] = path.read_bytes()
    return files


def node() -> str | None:
    """Node.js, which runs Pyodide at build time to compile the bytecode (None: not here)."""
    return shutil.which("node")


def _compile(files: dict[str, bytes], web: Path, work: Path) -> tuple[dict[str, bytes], bytes]:
    """``files`` plus their ``__pycache__/*.cpython-314.pyc``, and Pyodide's standard library
    with its bytecode, both compiled by Pyodide itself under Node.js (compile-pyc.mjs)."""
    stage, stdlib = work / "app", work / "python_stdlib.zip"
    for rel, data in files.items():
        (stage / rel).parent.mkdir(parents=True, exist_ok=True)
        (stage / rel).write_bytes(data)
    cmd = [node() or "node", str(WEB_TEMPLATES / "compile-pyc.mjs"), str(web / "pyodide"),
           str(stage), str(stdlib)]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0 or not stdlib.is_file():
        last = (run.stderr.strip().splitlines() or ["?"])[-1]
        raise BuildError(t("phone.build.compile_failed", reason=last))
    out = {p.relative_to(stage).as_posix(): p.read_bytes() for p in stage.rglob("*") if p.is_file()}
    return out, stdlib.read_bytes()


def _app_archive(files: dict[str, bytes]) -> bytes:
    """app.tar.gz from ``files`` (sorted, no times: the same inputs give the same bytes), read
    by the worker's JavaScript (gridwall-worker.js) at every start."""
    buf = io.BytesIO()
    # ustar: the worker's JavaScript reader knows that layout (no pax or GNU extensions)
    with (gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as gz,
          tarfile.open(fileobj=gz, mode="w", format=tarfile.USTAR_FORMAT) as tar):
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(files[name]), 0, 0o644
            tar.addfile(info, io.BytesIO(files[name]))
    return buf.getvalue()


def _patch_index(index: Path, version: str) -> None:
    from flet.controls.types import RouteUrlStrategy, WebRenderer
    from flet_web.patch_index import patch_index_html

    patch_index_html(str(index), base_href=BASE_HREF, app_name=t("ui.app.title"),
                     app_description=t("phone.manifest.description"), pyodide=True,
                     pyodide_script_path="main.py", pyodide_version=PYODIDE_VERSION,
                     app_package_url="app.tar.gz", web_renderer=WebRenderer.CANVAS_KIT,
                     route_url_strategy=RouteUrlStrategy.PATH, no_cdn=True)
    html = index.read_text(encoding="utf-8")
    # Defect 1: a module worker cannot import a bare specifier; make it relative.
    html = _replace_once(html, 'flet.pyodideUrl="pyodide/pyodide.mjs";',
                         'flet.pyodideUrl="./pyodide/pyodide.mjs";', index)
    # Our boot script registers the service worker, asks for persistent storage, then loads
    # Flutter (instead of the async flutter_bootstrap.js tag).
    html = _replace_once(html, '<script src="flutter_bootstrap.js" async></script>',
                         f'<script src="gridwall-boot.js?v={version}"></script>', index)
    html = html.replace('<html>', f'<html lang="zh-CN" data-build="{version}">', 1)
    index.write_text(html, encoding="utf-8")


def _patch_bootstrap(path: Path) -> None:
    js = path.read_text(encoding="utf-8")
    # Flutter's service worker unregisters itself and would take our scope: never load it.
    js, n = re.subn(r"\n\s*serviceWorkerSettings:\s*\{[^}]*\},", "", js, count=1)
    if n != 1:
        raise BuildError(t("phone.build.patch_failed", path=path.name))
    # One CanvasKit for every browser (the "chromium" variant only runs in Chromium).
    js = _replace_once(js, "_flutter.loader.load({",
                       'flutterConfig.canvasKitVariant = "full";\n_flutter.loader.load({', path)
    path.write_text(js, encoding="utf-8")


def _patch_font_manifest(path: Path, asset: str) -> None:
    """Only the fonts the build ships, and the CJK font as Flutter's default family."""
    fonts = [f for f in json.loads(path.read_text(encoding="utf-8"))
             if not any(f"assets/{a['asset']}".startswith(SKIP_ASSETS) for a in f["fonts"])]
    fonts.append({"family": DEFAULT_FAMILY, "fonts": [{"asset": asset}]})
    path.write_text(json.dumps(fonts), encoding="utf-8")


def _python_bridge(out: Path, web: Path, version: str) -> None:
    """Our python.js (the page side) and worker in place of flet-web's. Pyodide gets its lock
    file's header inline: no package comes from Pyodide's index (the lock lists only packages
    this build does not ship), so there is nothing to fetch and parse."""
    lock = json.loads((web / PYODIDE_LOCK).read_text(encoding="utf-8"))
    header = json.dumps({"info": lock["info"], "packages": {}})
    js = (WEB_TEMPLATES / "gridwall-python.js").read_text(encoding="utf-8")
    js = _replace_once(js, "__LOCK__", header, out / "python.js")
    (out / "python.js").write_text(js.replace("__VERSION__", version), encoding="utf-8")
    shutil.copyfile(WEB_TEMPLATES / "gridwall-worker.js", out / "gridwall-worker.js")


def _our_icons(out: Path) -> None:
    """The app's icon (assets/icon.png) in place of Flet's, at the sizes the page names."""
    from PIL import Image

    with Image.open(APP_ICON) as icon:
        for name in (*ICON_NAMES, "favicon.png"):
            target = out / name if name == "favicon.png" else out / "icons" / name
            with Image.open(target) as old:
                size = old.size
            icon.convert("RGB").resize(size, Image.LANCZOS).save(target, optimize=True)


def _patch_manifest(path: Path) -> None:
    m = json.loads(path.read_text(encoding="utf-8"))
    m.update(name=t("ui.app.title"), short_name=t("ui.app.title"),
             description=t("phone.manifest.description"), start_url=BASE_HREF, scope=BASE_HREF,
             theme_color="#C62828", lang="zh-CN")
    path.write_text(json.dumps(m, ensure_ascii=False, indent=2), encoding="utf-8")


def _replace_once(text: str, old: str, new: str, where: Path) -> str:
    if text.count(old) != 1:
        raise BuildError(t("phone.build.patch_failed", path=where.name))
    return text.replace(old, new)


def _precache_list(out: Path) -> list[str]:
    """Every file of the build the page or the worker loads (paths relative to the build)."""
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                  if p.is_file() and p.name not in ("sw.js", BUILD_FILE))


def build(out: Path | None = None, *, force: bool = False, bytecode: bool | None = None) -> BuildResult:
    """Make (or keep, when up to date) the static build in ``out``; atomic: the folder is
    swapped in whole, so a server serving it never sees half a build. ``bytecode``: ship
    precompiled .pyc (default: when Node.js is here to compile them)."""
    out = (out or default_build_dir()).resolve()
    if out.is_dir() and read_build(out) is None and any(out.iterdir()):
        raise BuildError(t("phone.build.not_a_build", path=out))  # never replace someone's folder
    font = bundled_font()
    if font is None:
        raise BuildError(t("ui.cli.no_font"))
    if not APP_ICON.is_file():
        raise BuildError(t("phone.build.no_icon", path=APP_ICON))
    web = flet_web_dir()
    inputs = _inputs(web, font)
    if bytecode is None:
        bytecode = node() is not None
    version = input_version(inputs, salt=f"bytecode {bytecode}")
    old = read_build(out)
    if old and old.get("version") == version and not force:
        return BuildResult(out, version, False, old["bytes"], old["gzip_bytes"], len(old["files"]),
                           old.get("bytecode", False))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.{version}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        for rel, path in _web_files(web):
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, tmp / rel)
        # The CJK font is in Flutter's font manifest, so it is loaded before the first frame.
        shutil.copyfile(font, tmp / "assets" / "fonts" / font.name)
        _patch_font_manifest(tmp / "assets" / "FontManifest.json", f"fonts/{font.name}")
        _patch_index(tmp / "index.html", version)
        _patch_bootstrap(tmp / "flutter_bootstrap.js")
        _patch_manifest(tmp / "manifest.json")
        _our_icons(tmp)
        app_files = _app_files(version)
        if bytecode:
            with tempfile.TemporaryDirectory(prefix="gridwall-pyc-") as work:
                app_files, stdlib = _compile(app_files, web, Path(work))
            (tmp / "pyodide" / "python_stdlib.zip").write_bytes(stdlib)
        (tmp / "app.tar.gz").write_bytes(_app_archive(app_files))
        boot = (WEB_TEMPLATES / "gridwall-boot.js").read_text(encoding="utf-8")
        boot = boot.replace("__BASE__", BASE_HREF).replace("__EVENTS__", PAGE_EVENTS)
        (tmp / "gridwall-boot.js").write_text(boot, encoding="utf-8")
        _python_bridge(tmp, web, version)
        files = _precache_list(tmp)
        sw = (WEB_TEMPLATES / "sw.js").read_text(encoding="utf-8")
        sw = sw.replace("__VERSION__", version).replace("__BASE__", BASE_HREF)
        sw = sw.replace("__FILES__", json.dumps(files, indent=1))
        (tmp / "sw.js").write_text(sw, encoding="utf-8")
        sizes = {f: (tmp / f).stat().st_size for f in [*files, "sw.js"]}
        gz = sum(len(gzip.compress((tmp / f).read_bytes(), 6)) for f in sizes)
        info = {"version": version, "format": FORMAT, "base": BASE_HREF, "files": sizes,
                "bytes": sum(sizes.values()), "gzip_bytes": gz, "bytecode": bytecode}
        (tmp / BUILD_FILE).write_text(json.dumps(info, indent=1), encoding="utf-8")
        _swap(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BuildResult(out, version, True, info["bytes"], gz, len(sizes), bytecode)


def _swap(tmp: Path, out: Path) -> None:
    """Replace ``out`` with ``tmp``: rename the old one aside, the new one in, drop the old."""
    trash = out.parent / f".{out.name}.old"
    shutil.rmtree(trash, ignore_errors=True)
    if out.exists():
        out.rename(trash)
    tmp.rename(out)
    shutil.rmtree(trash, ignore_errors=True)


def read_build(out: Path) -> dict | None:
    try:
        return json.loads((out / BUILD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@cli.command("build")
def build_command(
    out: Annotated[Path | None, typer.Option("--out", help=t("phone.build.help_out"))] = None,
    force: Annotated[bool, typer.Option("--force", help=t("phone.build.help_force"))] = False,
) -> None:
    """Make the static build of the field app that runs in the phone's browser."""
    try:
        typer.echo(t("phone.build.working"))
        r = build(out, force=force)
    except BuildError as exc:
        typer.echo(f"{t('phone.build.error')}: {exc}", err=True)
        raise typer.Exit(1) from None
    key = "phone.build.done" if r.built else "phone.build.up_to_date"
    typer.echo(t(key, out=r.out, version=r.version, files=r.files,
                 mb=round(r.bytes / 1e6, 1), gz_mb=round(r.gzip_bytes / 1e6, 1)))
    if not r.bytecode:
        typer.echo(t("phone.build.no_bytecode"))
