"""The server's own pages besides the echo walls: ``GET /`` (what this server is) and
``GET /wall`` (the villages, each linking to its echo wall). Plain HTML, no script, Chinese
from the catalog, in the echo wall's style.

The server mounts them with ``make_front_router(engine)``. The apps' addresses are not the
server's to know: ``gridwall server --app-url NAME=URL`` puts them in ``app.state.app_links``
(a list of (name, url)); without any, the page says how to open the app.
"""

from __future__ import annotations

import html
from importlib import metadata
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from sync.i18n import t
from sync.reports.echo_wall import PAGE_CSS
from sync.server import db

API_DOCS = "/api/v1/docs"
OPENAPI = "/api/v1/openapi.json"
HEALTH = "/api/v1/health"
_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "Cache-Control": "no-cache"}
_LIST_CSS = "ul{padding-left:1.2em}li{margin:4px 0}section{margin:0 0 16px}h2 small{color:#555;font-weight:normal}"


def version() -> str:
    """The installed gridwall version ("dev" when run from a source tree not installed)."""
    try:
        return metadata.version("gridwall")
    except metadata.PackageNotFoundError:
        return "dev"


def parse_app_link(value: str) -> tuple[str, str]:
    """``NAME=URL`` or a bare ``URL`` (then the URL is its own name)."""
    name, sep, url = value.partition("=")
    if sep and "://" not in name and url:
        return name.strip(), url.strip()
    return value.strip(), value.strip()


def townships(engine: Any) -> list[tuple[str, list[tuple[str, str]]]]:
    """(township name, [(village id, village name)]) in name order."""
    with engine.connect() as conn:
        towns = conn.execute(select(db.townships.c.id, db.townships.c.name).order_by(db.townships.c.name)).all()
        rows = conn.execute(select(db.villages.c.id, db.villages.c.name, db.villages.c.township)
                            .order_by(db.villages.c.name)).all()
    return [(name, [(vid, vname) for vid, vname, town in rows if town == tid]) for tid, name in towns]


def _page(title: str, body: list[str]) -> str:
    e = html.escape
    return "\n".join([
        "<!doctype html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title><style>{PAGE_CSS}{_LIST_CSS}</style></head><body><main>",
        *body,
        f'<footer>{e(t("reports.front.footer", version=version()))}</footer></main></body></html>',
    ])


def _villages(towns: list[tuple[str, list[tuple[str, str]]]]) -> list[str]:
    e = html.escape
    if not any(villages for _name, villages in towns):
        return [f'<p class="empty">{e(t("reports.front.no_villages"))}</p>']
    out = []
    for name, villages in towns:
        out.append(f"<section><h2>{e(name)} <small>{e(t('reports.front.village_count', n=len(villages)))}</small></h2><ul>")
        out += [f'<li><a href="/wall/{e(vid)}">{e(t("reports.front.wall_of", village=vname))}</a></li>'
                for vid, vname in villages]
        out.append("</ul></section>")
    return out


def render_front(towns: list[tuple[str, list[tuple[str, str]]]], app_links: list[tuple[str, str]]) -> str:
    """``/``: which townships this server holds, its version, the echo walls, the apps, the API."""
    e = html.escape
    names = "、".join(name for name, _v in towns) or t("reports.front.no_township")
    title = t("reports.front.title", townships=names)
    body = [f"<header><h1>{e(title)}</h1>",
            f'<p class="sub">{e(t("reports.front.about", version=version()))}</p></header>',
            f"<section><h2>{e(t('reports.front.walls'))}</h2>"]
    body += _villages(towns)
    body.append("</section>")
    body.append(f"<section><h2>{e(t('reports.front.apps'))}</h2>")
    if app_links:
        body.append("<ul>" + "".join(f'<li><a href="{e(url)}">{e(name)}</a> <small>{e(url)}</small></li>'
                                     for name, url in app_links) + "</ul>")
    else:
        body.append(f"<p>{e(t('reports.front.no_apps'))}</p>")
    body.append("</section>")
    body.append(f"<section><h2>{e(t('reports.front.api'))}</h2><ul>"
                f'<li><a href="{API_DOCS}">{e(t("reports.front.api_docs"))}</a></li>'
                f'<li><a href="{OPENAPI}">{e(t("reports.front.openapi"))}</a></li>'
                f'<li><a href="{HEALTH}">{e(t("reports.front.health"))}</a></li></ul></section>')
    return _page(title, body)


def render_wall_index(towns: list[tuple[str, list[tuple[str, str]]]]) -> str:
    """``/wall``: every village, each linking to its echo wall."""
    e = html.escape
    title = t("reports.front.walls")
    body = [f"<header><h1>{e(title)}</h1>",
            f'<p class="sub"><a href="/">{e(t("reports.front.home"))}</a></p></header>', *_villages(towns)]
    return _page(title, body)


def make_front_router(engine: Any) -> APIRouter:
    """The routes ``/`` and ``/wall`` over the server's database."""
    router = APIRouter(tags=["pages"])

    @router.get("/", response_class=HTMLResponse, summary="服务器首页 what this server is")
    def front(request: Request) -> HTMLResponse:
        links = list(getattr(request.app.state, "app_links", None) or [])
        return HTMLResponse(render_front(townships(engine), links), headers=_HEADERS)

    @router.get("/wall", response_class=HTMLResponse, summary="各村回音壁 the villages' echo walls")
    def wall_index() -> HTMLResponse:
        return HTMLResponse(render_wall_index(townships(engine)), headers=_HEADERS)

    return router
