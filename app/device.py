"""The composition root: the one place that builds a device (its store, the field services,
the staff services and the sync service) from a data folder. ``gridwall app``, ``gridwall
demo`` and the tests' fixtures all open a device here; nothing attaches itself to anything
else afterwards."""

from __future__ import annotations

import gc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.services import Services
from app.services.inbox import InboxService
from app.services.staff import StaffServices
from app.services.syncing import SyncService
from app.store import Store


@dataclass
class Device:
    """One data folder, opened: shared by every session (browser tab) of the app."""

    services: Services
    staff: StaffServices
    sync: SyncService
    inbox: InboxService

    @property
    def store(self) -> Store:
        return self.services.store

    def close(self) -> None:
        """Stop syncing and close the store (the runner thread must not write after)."""
        self.sync.stop()
        self.services.close()


def open_device(data_dir: Path | str, *, upload_dir: Path | None = None, **sync_options: Any) -> Device:
    """Open (or create) the device store in ``data_dir`` and build everything on it.

    ``upload_dir``: where the browser view puts picked files. ``sync_options`` go to
    ``SyncService`` (``server_hint``, ``background``, ``timing``, transport options)."""
    services = Services.open(data_dir)
    # The store's records are plain acyclic dicts, millions of objects at township size: keep
    # the cyclic collector from scanning them again and again (a full collection in the
    # middle of a board query cost 0.6 s at 50,000 issues); refcounting still frees them.
    gc.freeze()
    try:
        services.upload_dir = upload_dir
        return Device(services=services, staff=StaffServices(services),
                      sync=SyncService(services, **sync_options), inbox=InboxService(services))
    except BaseException:
        services.close()
        raise
