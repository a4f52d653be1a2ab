"""Where a visit or an issue is made: the device's position, when it gives one.

Asked once, in the background, when a form opens (Flet's Geolocator service: the browser's
geolocation in the browser builds, the phone's location service in the Android app), so the
fix is usually there by the time the worker has filled the form. A save never waits for it:
it takes the fix if it has come. A refused permission, no fix, or no geolocation at all (a PC)
means the record saves without a location, with no dialog. Browsers give a position only to
secure pages (https, or localhost).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

import flet as ft

log = logging.getLogger(__name__)
FIX_TIMEOUT_S = 30.0  # a phone outdoors gets a GPS fix in seconds; indoors it may never come
MAX_ACCURACY_M = 100_000  # the record's limit; a fix vaguer than that says nothing useful


class Position:
    """One request for the device's position, started when a form opens."""

    def __init__(self) -> None:
        self.task: asyncio.Task[dict[str, Any] | None] | None = None
        self.geo: Any = None
        try:
            import flet_geolocator as fg

            self.geo = fg.Geolocator()  # a service: registered with the page as it is made
        except Exception as exc:  # noqa: BLE001 - no geolocation here: records save without
            log.info("no geolocation: %s", exc)

    def start(self) -> None:
        if self.task is None and self.geo is not None:
            self.task = asyncio.get_running_loop().create_task(self._fix())

    async def _fix(self) -> dict[str, Any] | None:
        import flet_geolocator as fg

        try:
            status = await self.geo.get_permission_status()
            if status == fg.GeolocatorPermissionStatus.DENIED:
                status = await self.geo.request_permission()
            if status == fg.GeolocatorPermissionStatus.DENIED_FOREVER:
                return None
            conf = fg.GeolocatorConfiguration(time_limit=ft.Duration(seconds=int(FIX_TIMEOUT_S)))
            pos = await asyncio.wait_for(self.geo.get_current_position(conf), FIX_TIMEOUT_S + 5)
        except Exception as exc:  # noqa: BLE001 - refused, no fix, timed out: save without
            log.info("no position: %s", exc)
            return None
        return as_location(pos.latitude, pos.longitude, pos.accuracy, pos.timestamp)

    def now(self) -> dict[str, Any] | None:
        """The fix if it has come (never waits), else None."""
        if self.task is None or not self.task.done() or self.task.cancelled():
            return None
        return self.task.result()

    def add_to(self, fields: dict[str, Any]) -> dict[str, Any]:
        """``fields`` with ``location`` when there is a fix."""
        loc = self.now()
        return {**fields, "location": loc} if loc else fields


def as_location(lat: float | None, lon: float | None, accuracy: float | None,
                when: datetime | None) -> dict[str, Any] | None:
    """The record's ``location`` value (sync.records): degrees to 6 places (~0.1 m),
    accuracy in metres, ``at`` the fix's time in epoch ms."""
    if lat is None or lon is None or (accuracy is not None and accuracy > MAX_ACCURACY_M):
        return None
    loc: dict[str, Any] = {"lat": round(float(lat), 6), "lon": round(float(lon), 6)}
    if accuracy is not None and accuracy >= 0:
        loc["accuracy"] = round(float(accuracy), 1)
    if isinstance(when, datetime):
        loc["at"] = int(when.timestamp() * 1000)
    return loc


def use_position() -> Position:
    """The device's position for the record this form makes, asked for when it opens."""
    ref = ft.use_ref(None)
    if ref.current is None:
        ref.current = Position()
    pos: Position = ref.current
    ft.use_effect(pos.start, [])
    return pos
