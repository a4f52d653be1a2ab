"""Errors the server logic raises; the HTTP layer turns them into problem+json, the CLI into
one clear line. The text comes from the catalog (``sync/locale/server.json``)."""

from __future__ import annotations

from sync.i18n import t


class ServerError(Exception):
    """A refusal with an HTTP status, a stable code and a catalog message."""

    def __init__(self, status: int, code: str, key: str, **params: object) -> None:
        self.status = status
        self.code = code
        self.key = key
        self.params = params
        self.extra: dict[str, object] = {}
        super().__init__(t(key, **params))

    def message(self, lang: str | None = None) -> str:
        return t(self.key, lang=lang, **self.params)
