"""Photos processed wherever the app runs, through one awaitable: ``sync.photos`` (Pillow) in
a worker thread on a PC or a phone, the browser's own image APIs (``app.browser_photos``)
inside the phone's browser, where there is no Pillow. Both keep ``sync.photo_contract``:
the same limits, refusals and messages, sizes and naming by sha256."""

from __future__ import annotations

import asyncio

from app import runtime
from sync.photo_contract import ProcessedPhoto


async def process_photo(data: bytes) -> ProcessedPhoto:
    """The stored JPEG and thumbnail of picked bytes; raises ``PhotoError``."""
    if runtime.IN_BROWSER:
        from app import browser_photos

        return await browser_photos.process_photo(data)
    from sync import photos  # Pillow: loaded when the first photo comes

    return await asyncio.to_thread(photos.process_photo, data)
