"""The field app's static build (``gridwall app build``) served at ``/app/``.

Same origin as ``/api/v1``, so the app in the phone's browser syncs without CORS. The server
only serves files: what they are is the build's business. App routes (``/app/households``)
get the page; ``.wasm``/``.mjs`` get the content types browsers insist on; every response is
``no-cache`` (revalidated by ETag), because the file names are not content-hashed and the
service worker, not the HTTP cache, is what keeps the app for offline use.
"""

from __future__ import annotations

import mimetypes
import os
from pathlib import Path
from typing import Any

MOUNT = "/app"
# Where `gridwall app build` writes by default (a checkout's build/phone), unless
# GRIDWALL_APP_DIR says otherwise.
DEFAULT_APP_DIR = Path(os.getenv("GRIDWALL_APP_DIR") or Path(__file__).resolve().parents[2] / "build" / "phone")

mimetypes.add_type("application/wasm", ".wasm")  # WebAssembly.compileStreaming requires it
mimetypes.add_type("text/javascript", ".mjs")  # module scripts and workers require a JS type
mimetypes.add_type("font/otf", ".otf")


def phone_app(folder: Path) -> Any:
    """An ASGI app serving ``folder`` (may not exist yet: then a clear 404 until it is built)."""
    from starlette.exceptions import HTTPException
    from starlette.responses import PlainTextResponse
    from starlette.staticfiles import StaticFiles

    class PhoneAppFiles(StaticFiles):
        async def check_config(self) -> None:
            pass  # the folder may be built (or rebuilt, swapped in whole) while the server runs

        async def get_response(self, path: str, scope: Any) -> Any:
            if not (folder / "index.html").is_file():
                return PlainTextResponse(
                    "The field app is not built on this server: run `gridwall app build`.\n"
                    "手机版尚未构建：请运行 gridwall app build。\n", status_code=404)
            try:
                resp = await super().get_response(path, scope)
            except HTTPException as exc:
                if exc.status_code != 404 or not _is_app_route(folder, path):
                    raise
                resp = await super().get_response("index.html", scope)
            resp.headers["Cache-Control"] = "no-cache"
            return resp

    return PhoneAppFiles(directory=folder, html=True, check_dir=False)


def _is_app_route(folder: Path, path: str) -> bool:
    """``households/new`` is a route of the app (the page answers it); ``assets/NOTICES`` or
    ``x.js`` that is missing is a missing file (404), never the page in its place."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return True
    return "." not in parts[-1] and not (folder / parts[0]).is_dir()
