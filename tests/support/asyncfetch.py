"""A CPython ``Fetch`` for ``sync.client.aio.AsyncTransport`` (httpx), so the async transport
and runner are tested against the real server and the link emulator outside a browser.

Like the browser's fetch it has no time limits of its own (the transport's ``wait_for`` is the
limit and a cancelled wait drops the connection), it unzips answers, and it reports an answer
cut inside its headers as a failed fetch."""

from __future__ import annotations

import asyncio

import httpx

from sync.client.aio import FetchError


class _Opened:
    def __init__(self, resp: httpx.Response) -> None:
        self._resp = resp
        self._pieces = resp.aiter_bytes()
        self.status = resp.status_code
        self.headers = {k.lower(): v for k, v in resp.headers.items()}

    async def read(self) -> bytes:
        try:
            return await anext(self._pieces)
        except StopAsyncIteration:
            await self._resp.aclose()
            return b""
        except httpx.HTTPError as exc:
            raise FetchError(str(exc)) from None

    def wire_bytes(self, body_len: int) -> int:
        return self._resp.num_bytes_downloaded or body_len

    def close(self) -> None:
        # An aborted body: drop the connection (the transport stops reading it).
        asyncio.ensure_future(self._resp.aclose())


class HttpxFetch:
    def __init__(self) -> None:
        self.client = httpx.AsyncClient(timeout=None, follow_redirects=False,
                                        limits=httpx.Limits(max_keepalive_connections=2))

    async def open(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> _Opened:
        req = self.client.build_request(method, url, headers=headers, content=body)
        try:
            resp = await self.client.send(req, stream=True)
        except httpx.HTTPError as exc:
            raise FetchError(str(exc)) from None
        return _Opened(resp)

    def close(self) -> None:
        pass  # the client goes with its event loop (tests make one loop per engine)
