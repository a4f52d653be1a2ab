"""What every router of the server shares: the API prefix, the caller's language, problem+json
answers (for FastAPI handlers and for the raw ASGI middlewares) and the bearer-token
dependency. ``api.py``, the bundles router and any later router import these; none restates
them."""

# No "from __future__ import annotations": FastAPI must see the dependency's types at runtime.

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from starlette.types import Send

from sync.i18n import t
from sync.server import auth, db

PREFIX = "/api/v1"


def request_lang(request: Request) -> str | None:
    """The caller's language from Accept-Language: "en" for English, else None (Chinese)."""
    accept = request.headers.get("accept-language", "")
    return "en" if accept.lower().startswith("en") else None


def problem_body(status: int, code: str, detail: str, **extra: Any) -> dict[str, Any]:
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    return {
        "type": f"https://gridwall/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }


def problem(status: int, code: str, detail: str, retry_after: int = 1, **extra: Any) -> JSONResponse:
    """A problem+json answer (RFC 9457); 429 and 503 say when to retry."""
    body = problem_body(status, code, detail, **extra)
    headers = {"Retry-After": str(retry_after)} if status in (429, 503) else None
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def raw_problem(status: int, code: str, key: str, **params: Any) -> tuple[int, list, bytes]:
    """The same problem+json for the raw ASGI middlewares (they answer before FastAPI)."""
    body = problem_body(status, code, t(key, **params))
    headers = [(b"content-type", b"application/problem+json")]
    if status in (429, 503):
        headers.append((b"retry-after", b"1"))
    return status, headers, json.dumps(body, ensure_ascii=False).encode("utf-8")


async def send_raw(send: Send, status: int, headers: list, body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


_bearer = HTTPBearer(auto_error=False)


def principal_dependency(engine: Engine) -> Callable[..., auth.Principal]:
    """The FastAPI dependency that turns a bearer token into the caller (401/403 as a
    ServerError otherwise); the request log names the caller's device."""

    def principal(
        request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> auth.Principal:
        with db.read_tx(engine) as conn:
            p = auth.authenticate(conn, creds.credentials if creds else None)
        request.state.device = p.device_id
        return p

    return principal
