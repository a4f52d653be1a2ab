"""The admin's reference data over HTTP (``/api/v1/reference``, sync/server/refdata.py): list,
add or edit, retire units, categories (with their deadline rules), sources and appeal types.
The staff screen 基础数据 calls it; devices then get the change by their next pull."""

from __future__ import annotations

from typing import Any

import requests

from sync.client.transport import API
from sync.i18n import t


class RefAdminError(ValueError):
    """The server could not be reached or refused; the message says what to do."""


class RefAdmin:
    def __init__(self, server: str, token: str, *, timeout: float = 30.0,
                 session: requests.Session | None = None) -> None:
        base = server.rstrip("/")
        self.base = base if base.endswith(API) else f"{base}{API}"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.timeout = timeout
        self.http = session or requests.Session()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            r = self.http.request(method, f"{self.base}{path}", json=body, headers=self.headers,
                                  timeout=self.timeout)
        except requests.RequestException as exc:
            raise RefAdminError(t("client.refadmin.connect", reason=type(exc).__name__)) from None
        try:
            doc = r.json()
        except ValueError:
            doc = {}
        if r.status_code != 200:
            raise RefAdminError(str(doc.get("detail") or t("client.refadmin.status", status=r.status_code)))
        return doc

    def entries(self, kind: str) -> list[dict[str, Any]]:
        return list(self._call("GET", f"/reference/{kind}").get("entries") or [])

    def save(self, kind: str, rid: str, fields: dict[str, Any]) -> str:
        return str(self._call("PUT", f"/reference/{kind}/{rid}", {"fields": fields})["id"])

    def retire(self, kind: str, rid: str) -> None:
        self._call("POST", f"/reference/{kind}/{rid}/retire")
