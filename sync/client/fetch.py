"""Fetch every record in a token's scope from the server: a read-only pull over the sync protocol.

The report CLI (``sync.reports.cli``) uses it, so the report modules themselves stay pure.

A staff token's scope is its township, so a full pull (POST /api/v1/sync with no changes,
paging until ``more`` is false; docs/protocol.md) gives every record of the township,
reference data included. Nothing is pushed and nothing is stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests

from sync.client.transport import API
from sync.i18n import t


class FetchError(ValueError):
    """The server could not be reached or refused; the message says what to do."""


def _detail(r: requests.Response) -> str:
    try:
        body = r.json()
        return str(body.get("detail") or body.get("title") or r.text[:200])
    except ValueError:
        return r.text[:200]


def pull_records(
    server: str,
    token: str,
    *,
    timeout: float = 60.0,
    page: int = 500,
    session: requests.Session | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[dict]:
    """Every record in the token's scope (latest version of each), by paging a pull."""
    base = server.rstrip("/")
    url = f"{base}{API}/sync" if not base.endswith(API) else f"{base}/sync"
    http = session or requests.Session()
    headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "gzip"}
    cursor: str = "0"
    records: dict[str, dict] = {}
    while True:
        body = {"device_time_ms": int(time.time() * 1000), "cursor": cursor, "changes": [], "pull_limit": page}
        try:
            r = http.post(url, json=body, headers=headers, timeout=timeout)
        except requests.RequestException as exc:
            raise FetchError(t("reports.error.connect", server=server, reason=type(exc).__name__)) from None
        if r.status_code in (401, 403):
            raise FetchError(t("reports.error.token", status=r.status_code))
        if r.status_code != 200:
            raise FetchError(t("reports.error.server", status=r.status_code, detail=_detail(r)))
        try:
            data = r.json()
            got = data["records"]
            more = bool(data["more"])
            new_cursor = str(data["cursor"])
        except (ValueError, KeyError, TypeError) as exc:
            raise FetchError(t("reports.error.bad_response", detail=type(exc).__name__)) from None
        for rec in got:
            if isinstance(rec, dict) and "id" in rec:
                records[str(rec["id"])] = rec  # a later page holds a newer version
        if progress:
            progress(len(records))
        if not more:
            return list(records.values())
        if new_cursor == cursor and not got:
            # a server that says "more" but moves nowhere would loop forever
            raise FetchError(t("reports.error.bad_response", detail="cursor"))
        cursor = new_cursor
